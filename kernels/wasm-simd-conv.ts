// A convolution's filter gradient as a WebAssembly SIMD loop over a wasm backend's heap:
// w̄[r, o] = Σ_{n,i,j} xₚ[n, i·sh + a, j·sw + b, c]·dy[n, i, j, o] for each row r = (a·kw + b)·Cin + c
// of the filter seen as [kh·kw·Cin, Cout], xₚ being x with its padding written out. Each row reads
// xₚ at a fixed offset from the pixel's window corner, so the window matrix is never formed: a tile
// of 4 rows × 8 output channels keeps its sums in registers over one image's pixels, and dy is read
// where it lies (XNNPACK's convolution, which the filter gradient ran as before, packs its filter —
// here dy, the size of an activation — afresh at every call).
//
//   filterGrad(xp, dy, dw, offsets, rowFrom, rowTo, cout, images, ho, wo, imageBytes, rowStep, colStep)
//   adds image after image into dw's rows rowFrom … rowTo − 1 (dw [rows, cout], zeroed by the
//   caller); offsets[r] is row r's byte offset from a window corner in xp; rowStep and colStep are
//   the bytes between the corners of neighbouring outputs down and across, imageBytes between images.
//
// Each entry of dw adds the float32 products x·dy in the order n, i, j, rounding each product and
// each sum to float32 (conv2d-filter-grad.ts's JavaScript loop does the same, for the same bits).
// The rows split freely between threads: each entry is one thread's.
import { type Code, f32x4, I32, i32, local, V128, v128, whileBelow, type WasmFunction } from './wasm-encoder.js';
import { simdModule } from './wasm-simd-module.js';

const get = local.get;
const inc = local.increment;

function filterGrad(): WasmFunction {
  const [XP, DY, DW, OFFSETS, ROW_FROM, ROW_TO, COUT, IMAGES, HO, WO, IMAGE_BYTES, ROW_STEP, COL_STEP] = Array.from(
    { length: 13 },
    (_, i) => i,
  );
  const [N, R, J, OH, OW, P, D, X_IMAGE, DY_IMAGE, DY_IMAGE_BYTES, C_BYTES, DW_AT, X_ROW, D_ROW, D_ROW_BYTES] =
    Array.from({ length: 15 }, (_, i) => 13 + i);
  const O = [28, 29, 30, 31];
  const [DV0, DV1, AV] = [32, 33, 34];
  const ACC = Array.from({ length: 8 }, (_, i) => 35 + i);
  const DVS = [DV0, DV1];
  /**
   * Rows R … R + rows − 1 and columns J … J + 4·width − 1 (width 0: the one column J, in every
   * lane), summed over one image's pixels onto what dw holds.
   */
  const tile = (rows: number, width: number): Code => {
    const lanes = Math.max(width, 1);
    const acc = (r: number, w: number) => ACC[r * lanes + w];
    const each = (f: (r: number, w: number) => Code): Code =>
      Array.from({ length: rows }, (_, r) => Array.from({ length: lanes }, (_, w) => f(r, w))).flat(2);
    const at = (r: number) => i32.add(get(DW_AT), i32.mul(i32.const(r), get(C_BYTES)));
    return [
      ...local.set(DW_AT, i32.add(i32.add(get(DW), i32.mul(get(R), get(C_BYTES))), i32.shl(get(J), i32.const(2)))),
      ...each((r, w) => local.set(acc(r, w), width ? v128.load(at(r), 16 * w) : v128.load32Splat(at(r)))),
      ...local.set(X_ROW, get(X_IMAGE)),
      ...local.set(D_ROW, i32.add(get(DY_IMAGE), i32.shl(get(J), i32.const(2)))),
      ...local.set(OH, i32.const(0)),
      ...whileBelow(get(OH), get(HO), [
        ...local.set(P, get(X_ROW)),
        ...local.set(D, get(D_ROW)),
        ...local.set(OW, i32.const(0)),
        ...whileBelow(get(OW), get(WO), [
          ...Array.from({ length: lanes }, (_, w) =>
            local.set(DVS[w], width ? v128.load(get(D), 16 * w) : v128.load32Splat(get(D))),
          ).flat(),
          ...Array.from({ length: rows }, (_, r) => [
            ...local.set(AV, v128.load32Splat(i32.add(get(P), get(O[r])))),
            ...Array.from({ length: lanes }, (_, w) =>
              local.set(acc(r, w), f32x4.add(get(acc(r, w)), f32x4.mul(get(AV), get(DVS[w])))),
            ).flat(),
          ]).flat(),
          ...inc(P, get(COL_STEP)),
          ...inc(D, get(C_BYTES)),
          ...inc(OW, i32.const(1)),
        ]),
        ...inc(X_ROW, get(ROW_STEP)),
        ...inc(D_ROW, get(D_ROW_BYTES)),
        ...inc(OH, i32.const(1)),
      ]),
      ...each((r, w) => (width ? v128.store(at(r), get(acc(r, w)), 16 * w) : v128.storeLow32(at(r), get(acc(r, w))))),
    ];
  };
  /** Rows R … R + rows − 1 against every column: tiles 8 wide, then 4, then single columns. */
  const rowTile = (rows: number): Code => [
    ...O.slice(0, rows).flatMap((o, r) =>
      local.set(o, i32.load(i32.add(get(OFFSETS), i32.shl(i32.add(get(R), i32.const(r)), i32.const(2))))),
    ),
    ...local.set(J, i32.const(0)),
    ...whileBelow(i32.add(get(J), i32.const(7)), get(COUT), [...tile(rows, 2), ...inc(J, i32.const(8))]),
    ...whileBelow(i32.add(get(J), i32.const(3)), get(COUT), [...tile(rows, 1), ...inc(J, i32.const(4))]),
    ...whileBelow(get(J), get(COUT), [...tile(rows, 0), ...inc(J, i32.const(1))]),
    ...inc(R, i32.const(rows)),
  ];
  const body = [
    ...local.set(C_BYTES, i32.shl(get(COUT), i32.const(2))),
    ...local.set(D_ROW_BYTES, i32.mul(get(WO), get(C_BYTES))),
    ...local.set(DY_IMAGE_BYTES, i32.mul(get(HO), get(D_ROW_BYTES))),
    ...local.set(X_IMAGE, get(XP)),
    ...local.set(DY_IMAGE, get(DY)),
    ...local.set(N, i32.const(0)),
    ...whileBelow(get(N), get(IMAGES), [
      ...local.set(R, get(ROW_FROM)),
      ...whileBelow(i32.add(get(R), i32.const(3)), get(ROW_TO), rowTile(4)),
      ...whileBelow(get(R), get(ROW_TO), rowTile(1)),
      ...inc(X_IMAGE, get(IMAGE_BYTES)),
      ...inc(DY_IMAGE, get(DY_IMAGE_BYTES)),
      ...inc(N, i32.const(1)),
    ]),
    ...i32.const(0),
  ];
  return {
    name: 'filterGrad',
    params: new Array(13).fill(I32),
    result: I32,
    locals: [...new Array(19).fill(I32), ...new Array(11).fill(V128)],
    body,
  };
}

export interface SimdConv {
  filterGrad(...args: number[]): number;
}

/** The module (its filterGrad also on the helper thread). */
export const conv = simdModule<SimdConv>('conv', () => [filterGrad()], ['filterGrad']);
/** The module's bytes. */
export const convModule = conv.bytes;
/** Turns the SIMD loop off (and on again), so that tests and benchmarks can run the JavaScript one beside it. */
export const setSimdConv = conv.setEnabled;
