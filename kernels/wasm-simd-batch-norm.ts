// Batch normalisation's two passes (kernels/batch-norm.ts) as WebAssembly SIMD loops over a wasm
// backend's heap, four channels at a time: each f32x4 of a row is widened to two f64x2 halves and
// goes through the same float64 operations, in the same order, as batch-norm.ts's loops, so the
// results are the same bits. Channels last: x is [rows, C]; the loops take the first `cb` bytes of
// each row (C rounded down to a multiple of 4, times 4), batch-norm.ts's loops the channels left.
//
//   sums(x, dy, rowFrom, rowTo, C, cb, acc) and sumsWithDy(...): over rows rowFrom … rowTo − 1, per
//   block of BLOCK_ROWS rows from rowFrom and per channel, Σ (x − x₀) and Σ (x − x₀)² (x₀ the
//   channel's entry in row 0), with dy also Σ dy and Σ dy·(x − x₀), each block's sum added to acc's
//   float64 arrays [sx C][sxx C][sg C][sgx C].
//   affine(out, x, u, rows, C, cb, coef): out = (x − m)·a + b; affineWithU: out = a·(u − b − (x − m)·k),
//   per channel, from coef's float64 coefficients by groups of four channels: [m 4][a 4][b 4][k 4] a group.
// Arguments are byte addresses in the heap (acc and coef 8-byte aligned), and counts. Groups of
// rows summed into accumulators of their own (batch-norm.ts adds them up in order), and shares of
// the affine pass's rows (out, x and u moved on), can run on the helper thread.
import { type Code, f32x4, f64x2, I32, i32, local, V128, v128, type WasmFunction, whileBelow } from './wasm-encoder.js';
import { simdModule } from './wasm-simd-module.js';

/** Rows a block of the sums holds; batch-norm.ts's blocks, so that the sums add up in the same order. */
export const BLOCK_ROWS = 256;

const get = local.get;
const inc = local.increment;
/** The high two float32 lanes of `v` moved to the low two. */
const high = v128.swapHalves;
const join = f32x4.demote4;
/** acc[address] += v, a float64 pair. */
const addTo = (address: Code, v: Code): Code => v128.store(address, f64x2.add(v128.load(address), v));

function sums(withDy: boolean): WasmFunction {
  const [X, G, ROW_FROM, ROW_TO, C, CB, ACC] = [0, 1, 2, 3, 4, 5, 6];
  const [ROW_BYTES, END, START, STOP, CG, P, PEND, G_OFF, CH, BLOCK_BYTES] = [7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
  const [SHL, SHH, V, DL, DH, S1L, S1H, S2L, S2H, GL, GH, T1L, T1H, T2L, T2H] = Array.from(
    { length: 15 },
    (_, i) => 17 + i,
  );
  const { add, sub, mul } = f64x2;
  const zero = f64x2.splat(0);
  // the float64 array `which` of acc (0: sx, 1: sxx, 2: sg, 3: sgx), at this group's channels, + half
  const at = (which: number, half: number) =>
    i32.add(
      i32.add(get(ACC), i32.mul(get(CH), i32.const(which))),
      i32.add(i32.shl(get(CG), i32.const(1)), i32.const(half)),
    );
  const row = [
    ...local.set(V, v128.load(get(P))),
    ...local.set(DL, sub(f64x2.promoteLow(get(V)), get(SHL))),
    ...local.set(DH, sub(f64x2.promoteLow(high(get(V))), get(SHH))),
    ...local.set(S1L, add(get(S1L), get(DL))),
    ...local.set(S1H, add(get(S1H), get(DH))),
    ...local.set(S2L, add(get(S2L), mul(get(DL), get(DL)))),
    ...local.set(S2H, add(get(S2H), mul(get(DH), get(DH)))),
    ...(withDy
      ? [
          ...local.set(V, v128.load(i32.add(get(P), get(G_OFF)))),
          ...local.set(GL, f64x2.promoteLow(get(V))),
          ...local.set(GH, f64x2.promoteLow(high(get(V)))),
          ...local.set(T1L, add(get(T1L), get(GL))),
          ...local.set(T1H, add(get(T1H), get(GH))),
          ...local.set(T2L, add(get(T2L), mul(get(GL), get(DL)))),
          ...local.set(T2H, add(get(T2H), mul(get(GH), get(DH)))),
        ]
      : []),
    ...inc(P, get(ROW_BYTES)),
  ];
  const group = [
    // x₀: the channels' entries in the first row
    ...local.set(V, v128.load(i32.add(get(X), get(CG)))),
    ...local.set(SHL, f64x2.promoteLow(get(V))),
    ...local.set(SHH, f64x2.promoteLow(high(get(V)))),
    ...[S1L, S1H, S2L, S2H, T1L, T1H, T2L, T2H].flatMap((l) => local.set(l, zero)),
    ...local.set(P, i32.add(get(START), get(CG))),
    ...local.set(PEND, i32.add(get(STOP), get(CG))),
    ...whileBelow(get(P), get(PEND), row),
    ...addTo(at(0, 0), get(S1L)),
    ...addTo(at(0, 16), get(S1H)),
    ...addTo(at(1, 0), get(S2L)),
    ...addTo(at(1, 16), get(S2H)),
    ...(withDy
      ? [
          ...addTo(at(2, 0), get(T1L)),
          ...addTo(at(2, 16), get(T1H)),
          ...addTo(at(3, 0), get(T2L)),
          ...addTo(at(3, 16), get(T2H)),
        ]
      : []),
    ...inc(CG, i32.const(16)),
  ];
  const body = [
    ...local.set(ROW_BYTES, i32.shl(get(C), i32.const(2))),
    // CH: the bytes of one float64 array of acc
    ...local.set(CH, i32.shl(get(C), i32.const(3))),
    ...local.set(G_OFF, i32.sub(get(G), get(X))),
    ...local.set(BLOCK_BYTES, i32.mul(get(ROW_BYTES), i32.const(BLOCK_ROWS))),
    ...local.set(END, i32.add(get(X), i32.mul(get(ROW_TO), get(ROW_BYTES)))),
    ...local.set(START, i32.add(get(X), i32.mul(get(ROW_FROM), get(ROW_BYTES)))),
    ...whileBelow(get(START), get(END), [
      // START + min(the block's bytes, the bytes left): no address past END, nor past 4 GiB
      ...local.set(STOP, i32.sub(get(END), get(START))),
      ...local.set(STOP, i32.add(get(START), i32.minU(get(STOP), get(BLOCK_BYTES)))),
      ...local.set(CG, i32.const(0)),
      ...whileBelow(get(CG), get(CB), group),
      ...local.set(START, get(STOP)),
    ]),
    ...i32.const(0),
  ];
  return {
    name: withDy ? 'sumsWithDy' : 'sums',
    params: new Array(7).fill(I32),
    result: I32,
    locals: [...new Array(10).fill(I32), ...new Array(15).fill(V128)],
    body,
  };
}

function affine(withU: boolean): WasmFunction {
  const [OUT, X, U, ROWS, C, CB, COEF] = [0, 1, 2, 3, 4, 5, 6];
  const [ROW_BYTES, END, R, CG, K, OUT_OFF, U_OFF] = [7, 8, 9, 10, 11, 12, 13];
  const [V, XL, XH, UV] = [14, 15, 16, 17];
  const { add, sub, mul } = f64x2;
  // coefficient `which` (0: m, 1: a, 2: b, 3: k) of this group's four channels, + half: coef holds
  // them by groups of four channels, [m 4][a 4][b 4][k 4] (128 bytes) a group, at constant offsets
  const c = (which: number, half: number) => v128.load(get(K), 32 * which + half);
  const lane = (xd: Code, u: Code, half: number) =>
    withU
      ? // a·(u − b − (x − m)·k)
        mul(c(1, half), sub(sub(u, c(2, half)), mul(sub(xd, c(0, half)), c(3, half))))
      : // (x − m)·a + b
        add(mul(sub(xd, c(0, half)), c(1, half)), c(2, half));
  const group = [
    ...local.set(V, v128.load(i32.add(get(R), get(CG)))),
    ...local.set(XL, f64x2.promoteLow(get(V))),
    ...local.set(XH, f64x2.promoteLow(high(get(V)))),
    ...(withU ? local.set(UV, v128.load(i32.add(i32.add(get(R), get(CG)), get(U_OFF)))) : []),
    ...local.set(K, i32.add(get(COEF), i32.shl(get(CG), i32.const(3)))),
    ...v128.store(
      i32.add(i32.add(get(R), get(CG)), get(OUT_OFF)),
      join(lane(get(XL), f64x2.promoteLow(get(UV)), 0), lane(get(XH), f64x2.promoteLow(high(get(UV))), 16)),
    ),
    ...inc(CG, i32.const(16)),
  ];
  const body = [
    ...local.set(ROW_BYTES, i32.shl(get(C), i32.const(2))),
    ...local.set(OUT_OFF, i32.sub(get(OUT), get(X))),
    ...local.set(U_OFF, i32.sub(get(U), get(X))),
    ...local.set(END, i32.add(get(X), i32.mul(get(ROWS), get(ROW_BYTES)))),
    ...local.set(R, get(X)),
    ...whileBelow(get(R), get(END), [
      ...local.set(CG, i32.const(0)),
      ...whileBelow(get(CG), get(CB), group),
      ...inc(R, get(ROW_BYTES)),
    ]),
    ...i32.const(0),
  ];
  return {
    name: withU ? 'affineWithU' : 'affine',
    params: new Array(7).fill(I32),
    result: I32,
    locals: [...new Array(7).fill(I32), ...new Array(4).fill(V128)],
    body,
  };
}

type Sums = (x: number, dy: number, rowFrom: number, rowTo: number, c: number, cb: number, acc: number) => number;
type Affine = (out: number, x: number, u: number, rows: number, c: number, cb: number, coef: number) => number;
interface BatchNormSimd {
  sums: Sums;
  sumsWithDy: Sums;
  affine: Affine;
  affineWithU: Affine;
}

const batchNorm = simdModule<BatchNormSimd>(
  'batch-norm',
  () => [sums(false), sums(true), affine(false), affine(true)],
  ['sums', 'sumsWithDy', 'affine', 'affineWithU'],
);
/** The module's bytes. */
export const batchNormModule = batchNorm.bytes;
/** Turns the SIMD loops off (and on again), so that tests and benchmarks can run the JavaScript ones beside them. */
export const setSimdBatchNorm = batchNorm.setEnabled;
/** The module on `heap`, or null (no heap: the cpu backend; no wasm SIMD; turned off). */
export const simdBatchNorm = batchNorm.on;
/** The helper thread that shares the loops (the sums' groups of rows, the affine pass's rows), or null. */
export const simdBatchNormHelper = batchNorm.helper;
/** Keeps the loops off the helper thread (and lets them on again), for benchmarks to compare. */
export const setSharedBatchNorm = batchNorm.setShared;
