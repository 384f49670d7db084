// A 3×3 convolution of stride 1 as Winograd's F(2×2, 3×3), a WebAssembly SIMD loop over a wasm
// backend's heap: each 2×2 block of outputs (a tile) from the 4×4 patch of xₚ under it, by 16
// products of transformed values instead of 36, so 2.25 times fewer multiply-adds than the direct
// sums. With U = G·g·Gᵀ (the filter transformed, per input and output channel: 16 values) and
// V = Bᵀ·d·B (the patch d transformed, per input channel), the tile is Y = Aᵀ·M·A, where
// M[ξ] = Σ_c V[ξ, c]·U[ξ, c, o] for each of the 16 positions ξ:
//
//   Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1], G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1], Aᵀ = [1 1 1 0; 0 1 −1 −1].
//
//   winograd(xp, corners, outs, u, bias, y, block, tileFrom, tileTo, cin, cout, rowBytes, outRowBytes,
//   hasBias, flagAt): tiles tileFrom … tileTo − 1 (a multiple of 4 apart), four at a time: their
//   patches transformed into `block` (V: [16, 4, cin]), the 16 products into the rest of it (M:
//   [16, 4, cout], tiles of 4 tiles × 8 channels, as the direct loop's), and Y = bias + Aᵀ·M·A
//   written to y. corners[t] is the byte offset in xp of tile t's patch; outs[t] the byte offset
//   in y of its first output, with bit 2 set for a tile to write, bit 0 when it has a second column
//   of outputs and bit 1 a second row (the last tiles of an odd side have one). cin a multiple of 4,
//   cout of 8; rowBytes are xp's bytes a row, outRowBytes y's. Writes 1 to flagAt if an output is
//   not finite (the caller then runs the direct sums: the transforms' differences turn ±∞ into NaN),
//   else 0.
//
//   winogradFilterGrad(…): the filter gradient as the adjoint of the same form, w̄ = Gᵀ·(Σ_t V_t ⊙
//   A·dY_t·Aᵀ)·G summed over the tiles t (see the function below); addInto adds its chunks' sums.
//
// The values are the convolution's within float32 rounding, not the direct sums' bits.
import {
  type Code,
  f32x4,
  I32,
  i32,
  i32x4,
  local,
  V128,
  v128,
  when,
  whileBelow,
  type WasmFunction,
} from './wasm-encoder.js';
import { simdModule } from './wasm-simd-module.js';

const get = local.get;
const inc = local.increment;

/** The locals that the input transform reads and writes, in the calling function's numbering. */
interface InputTransformLocals {
  XP: number;
  CORNERS: number;
  BLOCK: number;
  ROW_BYTES: number;
  T: number;
  K: number;
  CB: number;
  CORNER: number;
  V_AT: number;
  C_BYTES: number;
  /** the bytes from one ξ's [tiles, cin] block of V to the next */
  XI_BYTES: number;
  D: number[];
  P: number[];
}

/**
 * V[ξ, k, c…c+3] = (Bᵀ·d·B)[ξ] for tile T + K, four channels at a time: the forward convolution and
 * the filter gradient transform their input patches alike.
 */
function inputTransform(l: InputTransformLocals): Code {
  const { XP, CORNERS, BLOCK, ROW_BYTES, T, K, CB, CORNER, V_AT, C_BYTES, XI_BYTES, D, P } = l;
  const add = f32x4.add;
  const sub = f32x4.sub;
  const at = (base: Code, offset: Code) => i32.add(base, offset);
  return [
    ...local.set(CORNER, i32.add(get(XP), i32.load(at(get(CORNERS), i32.shl(i32.add(get(T), get(K)), i32.const(2)))))),
    ...local.set(V_AT, i32.add(get(BLOCK), i32.mul(get(K), get(C_BYTES)))),
    ...local.set(CB, i32.const(0)),
    ...whileBelow(get(CB), get(C_BYTES), [
      // d[r, s] at the patch's row r, column s
      ...D.flatMap((d, i) =>
        local.set(
          d,
          v128.load(
            at(
              at(get(CORNER), get(CB)),
              i32.add(i32.mul(i32.const(i >> 2), get(ROW_BYTES)), i32.mul(i32.const(i & 3), get(C_BYTES))),
            ),
          ),
        ),
      ),
      // P = Bᵀ·d, column by column
      ...[0, 1, 2, 3].flatMap((s) => {
        const d = (r: number) => get(D[r * 4 + s]);
        const column = [sub(d(0), d(2)), add(d(1), d(2)), sub(d(2), d(1)), sub(d(1), d(3))];
        return column.flatMap((v, r) => local.set(P[r * 4 + s], v));
      }),
      // V[ξ = r·4 + s] = (P·B)[r, s]
      ...[0, 1, 2, 3].flatMap((r) => {
        const p = (s: number) => get(P[r * 4 + s]);
        const row = [sub(p(0), p(2)), add(p(1), p(2)), sub(p(2), p(1)), sub(p(1), p(3))];
        return row.flatMap((v, s) =>
          v128.store(at(at(get(V_AT), get(CB)), i32.mul(i32.const(r * 4 + s), get(XI_BYTES))), v),
        );
      }),
      ...inc(CB, i32.const(16)),
    ]),
  ];
}

function winograd(): WasmFunction {
  const params = 'XP CORNERS OUTS U BIAS Y BLOCK TILE_FROM TILE_TO CIN COUT ROW_BYTES OUT_ROW_BYTES HAS_BIAS FLAG_AT';
  const [XP, CORNERS, OUTS, U, BIAS, Y, BLOCK, TILE_FROM, TILE_TO, CIN, COUT, ROW_BYTES, OUT_ROW_BYTES, HAS_BIAS] =
    params.split(' ').map((_, i) => i);
  const FLAG_AT = 14;
  const ints = 'T K CB XI O C CORNER V_AT M_BLOCK U_AT OUT Y_AT C_BYTES COUT_BYTES A_AT XI_BYTES M_TILE_BYTES M_AT';
  const [T, K, CB, XI, O, C, CORNER, V_AT, M_BLOCK, U_AT, OUT, Y_AT, C_BYTES, COUT_BYTES, A_AT, XI_BYTES] = ints
    .split(' ')
    .map((_, i) => 15 + i);
  const [M_TILE_BYTES, M_AT] = [31, 32];
  const D = Array.from({ length: 16 }, (_, i) => 33 + i);
  const P = Array.from({ length: 16 }, (_, i) => 49 + i);
  const ACC = Array.from({ length: 8 }, (_, i) => 65 + i);
  const [U0, U1, AV, BAD, B] = [73, 74, 75, 76, 77];
  // the bytes from tile 0's entries in V to tile k's
  const TILE_STEP = [-1, 78, 79, 80];
  const add = f32x4.add;
  const sub = f32x4.sub;
  const at = (base: Code, offset: Code) => i32.add(base, offset);

  // phase 1: V = Bᵀ·d·B for tile k, stored V [16, 4 tiles, cin]
  const transformIn = inputTransform({
    XP,
    CORNERS,
    BLOCK,
    ROW_BYTES,
    T,
    K,
    CB,
    CORNER,
    V_AT,
    C_BYTES,
    XI_BYTES,
    D,
    P,
  });

  // phase 2: M[ξ, k, o…o+7] = Σ_c V[ξ, k, c]·U[ξ, c, o…o+7], the four tiles together, stored
  // M [4 tiles, cout / 4, 16, 4 channels], so that the output transform reads a tile's 16 at constant offsets
  const product: Code = [
    ...local.set(O, i32.const(0)),
    ...whileBelow(get(O), get(COUT_BYTES), [
      ...ACC.flatMap((a) => local.set(a, f32x4.splat(0))),
      ...local.set(U_AT, at(at(get(U), i32.mul(get(XI), i32.mul(get(CIN), get(COUT_BYTES)))), get(O))),
      ...local.set(A_AT, at(get(BLOCK), i32.mul(get(XI), get(XI_BYTES)))),
      ...local.set(C, i32.const(0)),
      ...whileBelow(get(C), get(CIN), [
        ...local.set(U0, v128.load(get(U_AT))),
        ...local.set(U1, v128.load(get(U_AT), 16)),
        ...[0, 1, 2, 3].flatMap((k) => [
          ...local.set(AV, v128.load32Splat(k ? at(get(A_AT), get(TILE_STEP[k])) : get(A_AT))),
          ...local.set(ACC[2 * k], add(get(ACC[2 * k]), f32x4.mul(get(AV), get(U0)))),
          ...local.set(ACC[2 * k + 1], add(get(ACC[2 * k + 1]), f32x4.mul(get(AV), get(U1)))),
        ]),
        ...inc(U_AT, get(COUT_BYTES)),
        ...inc(A_AT, i32.const(4)),
        ...inc(C, i32.const(1)),
      ]),
      // channels o…o+3 of tile k at k·cout·16 + o·16 + ξ·16 bytes, o+4…o+7 256 bytes on
      ...local.set(M_AT, at(get(M_BLOCK), i32.shl(i32.add(get(XI), get(O)), i32.const(4)))),
      ...[0, 1, 2, 3].flatMap((k) => {
        const place = at(get(M_AT), i32.mul(i32.const(k), get(M_TILE_BYTES)));
        return [...v128.store(place, get(ACC[2 * k])), ...v128.store(place, get(ACC[2 * k + 1]), 256)];
      }),
      ...inc(O, i32.const(32)),
    ]),
  ];

  // phase 3: y = bias + Aᵀ·M·A for tile k, four channels at a time
  const transformOut: Code = [
    ...local.set(OUT, i32.load(at(get(OUTS), i32.shl(i32.add(get(T), get(K)), i32.const(2))))),
    ...when(i32.and(get(OUT), i32.const(4)), [
      ...local.set(Y_AT, i32.add(get(Y), i32.and(get(OUT), i32.const(-8)))),
      ...local.set(O, i32.const(0)),
      ...whileBelow(get(O), get(COUT_BYTES), [
        ...local.set(M_AT, at(at(get(M_BLOCK), i32.mul(get(K), get(M_TILE_BYTES))), i32.shl(get(O), i32.const(4)))),
        ...D.flatMap((d, xi) => local.set(d, v128.load(get(M_AT), 16 * xi))),
        // P = Aᵀ·M, rows 0 and 1
        ...[0, 1, 2, 3].flatMap((s) => [
          ...local.set(P[s], add(add(get(D[s]), get(D[4 + s])), get(D[8 + s]))),
          ...local.set(P[4 + s], sub(sub(get(D[4 + s]), get(D[8 + s])), get(D[12 + s]))),
        ]),
        ...local.set(B, v128.select(v128.load(at(get(BIAS), get(O))), f32x4.splat(0), get(HAS_BIAS))),
        // ACC[2r + s] = bias + (P·A)[r, s]
        ...[0, 1].flatMap((r) => {
          const p = (s: number) => get(P[r * 4 + s]);
          return [
            ...local.set(ACC[2 * r], add(get(B), add(add(p(0), p(1)), p(2)))),
            ...local.set(ACC[2 * r + 1], add(get(B), sub(sub(p(1), p(2)), p(3)))),
          ];
        }),
        // an output not finite makes BAD NaN (x·0 is NaN for ±∞ and NaN, ±0 otherwise)
        ...ACC.slice(0, 4).flatMap((a) => local.set(BAD, add(get(BAD), f32x4.mul(get(a), f32x4.splat(0))))),
        ...v128.store(at(get(Y_AT), get(O)), get(ACC[0])),
        ...when(i32.and(get(OUT), i32.const(1)), v128.store(at(at(get(Y_AT), get(O)), get(COUT_BYTES)), get(ACC[1]))),
        ...when(i32.and(get(OUT), i32.const(2)), [
          ...v128.store(at(at(get(Y_AT), get(O)), get(OUT_ROW_BYTES)), get(ACC[2])),
          ...when(
            i32.and(get(OUT), i32.const(1)),
            v128.store(at(at(at(get(Y_AT), get(O)), get(OUT_ROW_BYTES)), get(COUT_BYTES)), get(ACC[3])),
          ),
        ]),
        ...inc(O, i32.const(16)),
      ]),
    ]),
  ];

  const body: Code = [
    ...local.set(C_BYTES, i32.shl(get(CIN), i32.const(2))),
    ...local.set(COUT_BYTES, i32.shl(get(COUT), i32.const(2))),
    ...local.set(XI_BYTES, i32.shl(get(C_BYTES), i32.const(2))),
    ...local.set(M_TILE_BYTES, i32.shl(get(COUT_BYTES), i32.const(4))),
    ...[1, 2, 3].flatMap((k) => local.set(TILE_STEP[k], i32.mul(i32.const(k), get(C_BYTES)))),
    // V: 16 × 4 × cin floats, then M
    ...local.set(M_BLOCK, i32.add(get(BLOCK), i32.shl(get(C_BYTES), i32.const(6)))),
    ...local.set(BAD, f32x4.splat(0)),
    ...local.set(T, get(TILE_FROM)),
    ...whileBelow(get(T), get(TILE_TO), [
      ...local.set(K, i32.const(0)),
      ...whileBelow(get(K), i32.const(4), [...transformIn, ...inc(K, i32.const(1))]),
      ...local.set(XI, i32.const(0)),
      ...whileBelow(get(XI), i32.const(16), [...product, ...inc(XI, i32.const(1))]),
      ...local.set(K, i32.const(0)),
      ...whileBelow(get(K), i32.const(4), [...transformOut, ...inc(K, i32.const(1))]),
      ...inc(T, i32.const(4)),
    ]),
    ...i32.store(get(FLAG_AT), i32.eqz(i32x4.allTrue(f32x4.eq(get(BAD), get(BAD))))),
    ...i32.const(0),
  ];
  return {
    name: 'winograd',
    params: new Array(15).fill(I32),
    result: I32,
    locals: [...new Array(18).fill(I32), ...new Array(45).fill(V128), I32, I32, I32],
    body,
  };
}

export interface SimdWinograd {
  winograd(...args: number[]): number;
}

/** The module: its function also on the helper thread. */
export const winogradConv = simdModule<SimdWinograd>('winograd', () => [winograd()], ['winograd']);
/** The module's bytes. */
export const winogradModule = winogradConv.bytes;
/** Turns the Winograd form off (and on again): the direct sums run, for tests and benchmarks to compare. */
export const setWinogradConv = winogradConv.setEnabled;

/** Bytes of block scratch a call of winograd takes: V [16, 4, cin] and M [16, 4, cout]. */
export const winogradBlockBytes = (cin: number, cout: number) => 4 * 64 * (cin + cout);

/**
 * U = G·g·Gᵀ for each input channel c and output channel o, written [16, cin, cout] into u from the
 * filter w [3, 3, cin, cout], in float64 and rounded once.
 */
export function winogradFilter(w: Float32Array, cin: number, cout: number, u: Float32Array): void {
  const plane = cin * cout;
  for (let e = 0; e < plane; e++) {
    const [g0, g1, g2, g3, g4, g5, g6, g7, g8] = [0, 1, 2, 3, 4, 5, 6, 7, 8].map((k) => w[k * plane + e]);
    // t = G·g (4 × 3), row by row; then U = t·Gᵀ (4 × 4)
    const t = [
      [g0, g1, g2],
      [0.5 * (g0 + g3 + g6), 0.5 * (g1 + g4 + g7), 0.5 * (g2 + g5 + g8)],
      [0.5 * (g0 - g3 + g6), 0.5 * (g1 - g4 + g7), 0.5 * (g2 - g5 + g8)],
      [g6, g7, g8],
    ];
    for (let r = 0; r < 4; r++) {
      const [t0, t1, t2] = t[r];
      u[r * 4 * plane + e] = t0;
      u[(r * 4 + 1) * plane + e] = 0.5 * (t0 + t1 + t2);
      u[(r * 4 + 2) * plane + e] = 0.5 * (t0 - t1 + t2);
      u[(r * 4 + 3) * plane + e] = t2;
    }
  }
}

/** Tiles whose transforms winogradFilterGrad writes out together before their products. */
export const FILTER_GRAD_GROUP = 32;

/**
 * winogradFilterGrad(xp, corners, dys, dy, du, block, tileFrom, tileTo, cin, cout, rowBytes, dyRowBytes):
 * the filter gradient of the Winograd form, its adjoint: for tiles tileFrom … tileTo − 1 (whole
 * groups of FILTER_GRAD_GROUP), du[ξ, c, o] += Σ_t V_t[ξ, c]·M̄_t[ξ, o], where V_t = Bᵀ·d·B is tile t's
 * 4×4 patch of xp transformed (as the forward's) and M̄_t = A·dY·Aᵀ its 2×2 block of dy spread back to
 * 4×4. corners[t] is the byte offset in xp of tile t's patch; dys[t] the byte offset in dy of its first
 * entry, with bit 2 set for a tile that has outputs, bit 0 for a second column and bit 1 a second row
 * (the others count as zeros). `block` holds a group's V [16, group, cin] and M̄ [16, group, cout]; du
 * is [16, cin, cout], each entry's products added in tile order. cin a multiple of 4, cout of 8.
 * The filter's gradient is then Gᵀ·du·G (winogradFilterGradFinish).
 */
function winogradFilterGrad(): WasmFunction {
  const params = 'XP CORNERS DYS DY DU BLOCK TILE_FROM TILE_TO CIN COUT ROW_BYTES DY_ROW_BYTES';
  const [XP, CORNERS, DYS, DY, DU, BLOCK, TILE_FROM, TILE_TO, CIN, COUT, ROW_BYTES, DY_ROW_BYTES] = params
    .split(' ')
    .map((_, i) => i);
  const ints =
    'T K CB XI O CORNER AT FLAGS C_BYTES COUT_BYTES V_XI_BYTES M_XI_BYTES M_BLOCK V_AT M_AT DU_AT DU_XI_BYTES';
  const [T, K, CB, XI, O, CORNER, AT, FLAGS, C_BYTES, COUT_BYTES, V_XI_BYTES, M_XI_BYTES, M_BLOCK, V_AT, M_AT, DU_AT] =
    ints.split(' ').map((_, i) => 12 + i);
  const DU_XI_BYTES = 28;
  const D = Array.from({ length: 16 }, (_, i) => 29 + i);
  const P = Array.from({ length: 16 }, (_, i) => 45 + i);
  const ACC = Array.from({ length: 8 }, (_, i) => 61 + i);
  const [M0, M1, AV] = [69, 70, 71];
  const add = f32x4.add;
  const sub = f32x4.sub;
  const at = (base: Code, offset: Code) => i32.add(base, offset);
  const group = FILTER_GRAD_GROUP;

  const transformX = inputTransform({
    ...{ XP, CORNERS, BLOCK, ROW_BYTES, T, K, CB, CORNER, V_AT, C_BYTES, D, P },
    XI_BYTES: V_XI_BYTES,
  });

  // M̄[ξ, k, o…o+3] = (A·dY·Aᵀ)[ξ] for tile T + K, A = [1 0; 1 1; 1 −1; 0 −1], four channels at a time
  const [Y00, Y01, Y10, Y11] = D;
  const transformDy: Code = [
    ...local.set(FLAGS, i32.load(at(get(DYS), i32.shl(i32.add(get(T), get(K)), i32.const(2))))),
    ...local.set(AT, i32.add(get(DY), i32.and(get(FLAGS), i32.const(-8)))),
    ...local.set(M_AT, i32.add(get(M_BLOCK), i32.mul(get(K), get(COUT_BYTES)))),
    ...local.set(O, i32.const(0)),
    ...whileBelow(get(O), get(COUT_BYTES), [
      ...[Y00, Y01, Y10, Y11].flatMap((y) => local.set(y, f32x4.splat(0))),
      ...when(i32.and(get(FLAGS), i32.const(4)), [
        ...local.set(Y00, v128.load(at(get(AT), get(O)))),
        ...when(i32.and(get(FLAGS), i32.const(1)), local.set(Y01, v128.load(at(at(get(AT), get(O)), get(COUT_BYTES))))),
        ...when(i32.and(get(FLAGS), i32.const(2)), [
          ...local.set(Y10, v128.load(at(at(get(AT), get(O)), get(DY_ROW_BYTES)))),
          ...when(
            i32.and(get(FLAGS), i32.const(1)),
            local.set(Y11, v128.load(at(at(at(get(AT), get(O)), get(DY_ROW_BYTES)), get(COUT_BYTES)))),
          ),
        ]),
      ]),
      // the rows of A·dY, [p, q] each, then each row times Aᵀ: [p, p + q, p − q, −q]
      ...local.set(P[0], get(Y00)),
      ...local.set(P[1], get(Y01)),
      ...local.set(P[2], add(get(Y00), get(Y10))),
      ...local.set(P[3], add(get(Y01), get(Y11))),
      ...local.set(P[4], sub(get(Y00), get(Y10))),
      ...local.set(P[5], sub(get(Y01), get(Y11))),
      ...local.set(P[6], f32x4.neg(get(Y10))),
      ...local.set(P[7], f32x4.neg(get(Y11))),
      ...[0, 1, 2, 3].flatMap((r) => {
        const [p, q] = [get(P[2 * r]), get(P[2 * r + 1])];
        const row = [p, add(p, q), sub(p, q), f32x4.neg(q)];
        return row.flatMap((v, s) =>
          v128.store(at(at(get(M_AT), get(O)), i32.mul(i32.const(r * 4 + s), get(M_XI_BYTES))), v),
        );
      }),
      ...inc(O, i32.const(16)),
    ]),
  ];

  // du[ξ, c…c+3, o…o+7] += Σ_k V[ξ, k, c…c+3]·M̄[ξ, k, o…o+7], the group's tiles in order
  const rowAt = (r: number) => at(get(DU_AT), i32.mul(i32.const(r), get(COUT_BYTES)));
  const product: Code = [
    ...local.set(DU_AT, at(at(at(get(DU), i32.mul(get(XI), get(DU_XI_BYTES))), i32.mul(get(CB), get(COUT))), get(O))),
    ...[0, 1, 2, 3].flatMap((r) => [
      ...local.set(ACC[2 * r], v128.load(rowAt(r))),
      ...local.set(ACC[2 * r + 1], v128.load(rowAt(r), 16)),
    ]),
    ...local.set(V_AT, at(at(get(BLOCK), i32.mul(get(XI), get(V_XI_BYTES))), get(CB))),
    ...local.set(M_AT, at(at(get(M_BLOCK), i32.mul(get(XI), get(M_XI_BYTES))), get(O))),
    ...local.set(K, i32.const(0)),
    ...whileBelow(get(K), i32.const(group), [
      ...local.set(M0, v128.load(get(M_AT))),
      ...local.set(M1, v128.load(get(M_AT), 16)),
      ...[0, 1, 2, 3].flatMap((r) => [
        ...local.set(AV, v128.load32Splat(get(V_AT), 4 * r)),
        ...local.set(ACC[2 * r], add(get(ACC[2 * r]), f32x4.mul(get(AV), get(M0)))),
        ...local.set(ACC[2 * r + 1], add(get(ACC[2 * r + 1]), f32x4.mul(get(AV), get(M1)))),
      ]),
      ...inc(V_AT, get(C_BYTES)),
      ...inc(M_AT, get(COUT_BYTES)),
      ...inc(K, i32.const(1)),
    ]),
    ...[0, 1, 2, 3].flatMap((r) => [
      ...v128.store(rowAt(r), get(ACC[2 * r])),
      ...v128.store(rowAt(r), get(ACC[2 * r + 1]), 16),
    ]),
  ];

  const body: Code = [
    ...local.set(C_BYTES, i32.shl(get(CIN), i32.const(2))),
    ...local.set(COUT_BYTES, i32.shl(get(COUT), i32.const(2))),
    // a cache line more than a position's values: the 16 positions' stores otherwise fall in one cache set
    ...local.set(V_XI_BYTES, i32.add(i32.mul(i32.const(group), get(C_BYTES)), i32.const(64))),
    ...local.set(M_XI_BYTES, i32.add(i32.mul(i32.const(group), get(COUT_BYTES)), i32.const(64))),
    ...local.set(DU_XI_BYTES, i32.mul(get(CIN), get(COUT_BYTES))),
    ...local.set(M_BLOCK, i32.add(get(BLOCK), i32.shl(get(V_XI_BYTES), i32.const(4)))),
    ...local.set(T, get(TILE_FROM)),
    ...whileBelow(get(T), get(TILE_TO), [
      ...local.set(K, i32.const(0)),
      ...whileBelow(get(K), i32.const(group), [...transformX, ...transformDy, ...inc(K, i32.const(1))]),
      ...local.set(XI, i32.const(0)),
      ...whileBelow(get(XI), i32.const(16), [
        // CB: channel c's byte offset in V's rows (4·c); du's row c is at c·cout·4 = CB·cout
        ...local.set(CB, i32.const(0)),
        ...whileBelow(get(CB), get(C_BYTES), [
          ...local.set(O, i32.const(0)),
          ...whileBelow(get(O), get(COUT_BYTES), [...product, ...inc(O, i32.const(32))]),
          ...inc(CB, i32.const(16)),
        ]),
        ...inc(XI, i32.const(1)),
      ]),
      ...inc(T, i32.const(group)),
    ]),
    ...i32.const(0),
  ];
  return {
    name: 'winogradFilterGrad',
    params: new Array(12).fill(I32),
    result: I32,
    locals: [...new Array(17).fill(I32), ...new Array(43).fill(V128)],
    body,
  };
}

/**
 * addInto(to, from, count, length): to[i] += from_k[i] for the `count` arrays from_k of `length` floats
 * (a multiple of 4) that follow each other at `from`, k ascending, each sum rounded to float32.
 */
function addInto(): WasmFunction {
  const [TO, FROM, COUNT, LENGTH] = [0, 1, 2, 3];
  const [K, I, BYTES] = [4, 5, 6];
  return {
    name: 'addInto',
    params: new Array(4).fill(I32),
    result: I32,
    locals: new Array(3).fill(I32),
    body: [
      ...local.set(BYTES, i32.shl(get(LENGTH), i32.const(2))),
      ...local.set(K, i32.const(0)),
      ...whileBelow(get(K), get(COUNT), [
        ...local.set(I, i32.const(0)),
        ...whileBelow(get(I), get(BYTES), [
          ...v128.store(
            i32.add(get(TO), get(I)),
            f32x4.add(v128.load(i32.add(get(TO), get(I))), v128.load(i32.add(get(FROM), get(I)))),
          ),
          ...inc(I, i32.const(16)),
        ]),
        ...inc(FROM, get(BYTES)),
        ...inc(K, i32.const(1)),
      ]),
      ...i32.const(0),
    ],
  };
}

export interface SimdWinogradFilterGrad {
  winogradFilterGrad(...args: number[]): number;
  addInto(to: number, from: number, count: number, length: number): number;
}

/** The filter gradient's module (apart from the forward's, each small enough to compile synchronously). */
export const winogradFilterGradConv = simdModule<SimdWinogradFilterGrad>(
  'winogradFilterGrad',
  () => [winogradFilterGrad(), addInto()],
  ['winogradFilterGrad'],
);
/** The module's bytes. */
export const winogradFilterGradModule = winogradFilterGradConv.bytes;
/** Turns the Winograd form of the filter gradient off (and on again): the direct sums run, for tests and benchmarks. */
export const setWinogradFilterGrad = winogradFilterGradConv.setEnabled;

/** Bytes of block scratch a call of winogradFilterGrad takes: V [16, group, cin] and M̄ [16, group, cout]. */
export const winogradFilterGradBlockBytes = (cin: number, cout: number) =>
  16 * (4 * FILTER_GRAD_GROUP * (cin + cout) + 128);

/**
 * The filter's gradient dw [3, 3, cin, cout] = Gᵀ·du·G from du [16, cin, cout], in float64 and
 * rounded once. False where an entry is not finite.
 */
export function winogradFilterGradFinish(du: Float32Array, cin: number, cout: number, dw: Float32Array): boolean {
  const plane = cin * cout;
  let finite = true;
  for (let e = 0; e < plane; e++) {
    // t = Gᵀ·du (3 × 4) column by column, then dw = t·G (3 × 3) row by row
    const t = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    for (let s = 0; s < 4; s++) {
      const d0 = du[s * plane + e];
      const d1 = du[(4 + s) * plane + e];
      const d2 = du[(8 + s) * plane + e];
      const d3 = du[(12 + s) * plane + e];
      t[s] = d0 + 0.5 * (d1 + d2);
      t[4 + s] = 0.5 * (d1 - d2);
      t[8 + s] = 0.5 * (d1 + d2) + d3;
    }
    for (let a = 0; a < 3; a++) {
      const [t0, t1, t2, t3] = [t[4 * a], t[4 * a + 1], t[4 * a + 2], t[4 * a + 3]];
      const at = a * 3 * plane + e;
      dw[at] = t0 + 0.5 * (t1 + t2);
      dw[at + plane] = 0.5 * (t1 - t2);
      dw[at + 2 * plane] = 0.5 * (t1 + t2) + t3;
      finite &&= Number.isFinite(dw[at]) && Number.isFinite(dw[at + plane]) && Number.isFinite(dw[at + 2 * plane]);
    }
  }
  return finite;
}
