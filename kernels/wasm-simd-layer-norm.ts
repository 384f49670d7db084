// Layer normalisation's forward and backward (kernels/layer-norm.ts) as WebAssembly SIMD loops over a
// wasm backend's heap, a row at a time, four entries of it at a time: each f32x4 is widened to two
// f64x2 halves that go through the same float64 operations, in the same order, as layer-norm.ts's
// loops, so the results are the same bits. Rows of C entries, C a multiple of 4 (the loops take the
// other widths). The loops sum a row in four partial sums, one per entry index mod 4, joined as
// (s₀ + s₂) + (s₁ + s₃): here lanes of the two halves' accumulators, added, then swapped and added.
//
//   forward(x, w, b, y, rows, C, n, eps): y = ((x − μ)·r)·w + b, μ the row's mean, r = 1/√(σ² + ε),
//     σ² the mean of (x − μ)² (two passes);
//   backward(dy, x, w, dx, acc, rows, C, n, eps): μ and r again, then per row Σg and Σg·x̂ (g = dy·w,
//     x̂ = (x − μ)·r), dx = r·((g − Σg/n) − x̂·Σg·x̂/n), and per column acc's float64 arrays
//     [Σ dy·x̂ C][Σ dy C] added to row after row.
// Arguments are byte addresses in the heap (acc 8-byte aligned), counts, and n = C and ε as float64.
import {
  type Code,
  F64,
  f32x4,
  f64x2,
  I32,
  i32,
  local,
  V128,
  v128,
  type WasmFunction,
  whileBelow,
} from './wasm-encoder.js';
import { simdModule } from './wasm-simd-module.js';

const get = local.get;
const int = i32.const;
const inc = local.increment;
/** The two float64 (or high two float32) lanes of `v` swapped (moved to the low half). */
const swap = v128.swapHalves;
const lo = f64x2.promoteLow;
const hi = f64x2.promoteHigh;
const join = f32x4.demote4;
/** The sum of the four partial sums in the lanes of `l` (entries 0, 1 mod 4) and `h` (2, 3), in both lanes. */
const total = (into: number, l: number, h: number): Code => [
  ...local.set(into, f64x2.add(get(l), get(h))),
  ...local.set(into, f64x2.add(get(into), swap(get(into)))),
];

/** The locals both functions use beyond their parameters, by name: i32 first, then v128. */
interface RowLocals {
  X: number;
  ROW: number;
  END: number;
  J: number;
  CB: number;
  N: number;
  EPS: number;
  V: number;
  AL: number;
  AH: number;
  MU: number;
  R: number;
  DL: number;
  DH: number;
}

/** μ and r of the row at ROW into MU and R (every lane), in two passes over its CB bytes. */
function rowMoments(l: RowLocals): Code {
  const pass = (acc: (half: Code, into: number) => Code): Code => [
    ...local.set(l.AL, f64x2.splat(0)),
    ...local.set(l.AH, f64x2.splat(0)),
    ...local.set(l.J, int(0)),
    ...whileBelow(get(l.J), get(l.CB), [
      ...local.set(l.V, v128.load(i32.add(get(l.ROW), get(l.J)))),
      ...acc(lo(get(l.V)), l.AL),
      ...acc(hi(get(l.V)), l.AH),
      ...inc(l.J, int(16)),
    ]),
  ];
  const nv = f64x2.splatOf(get(l.N));
  return [
    ...pass((x, into) => local.set(into, f64x2.add(get(into), x))),
    ...total(l.MU, l.AL, l.AH),
    ...local.set(l.MU, f64x2.div(get(l.MU), nv)),
    ...pass((x, into) => [
      ...local.set(l.DL, f64x2.sub(x, get(l.MU))),
      ...local.set(into, f64x2.add(get(into), f64x2.mul(get(l.DL), get(l.DL)))),
    ]),
    ...total(l.R, l.AL, l.AH),
    ...local.set(
      l.R,
      f64x2.div(f64x2.splat(1), f64x2.sqrt(f64x2.add(f64x2.div(get(l.R), nv), f64x2.splatOf(get(l.EPS))))),
    ),
  ];
}

/** Loops over the rows of x: ROW from X, CB bytes a row, `body` for each. */
function eachRow(l: RowLocals, ROWS: number, C: number, body: Code): Code {
  return [
    ...local.set(l.CB, i32.shl(get(C), int(2))),
    ...local.set(l.ROW, get(l.X)),
    ...local.set(l.END, i32.add(get(l.X), i32.mul(get(ROWS), get(l.CB)))),
    ...whileBelow(get(l.ROW), get(l.END), [...body, ...inc(l.ROW, get(l.CB))]),
    ...int(0),
  ];
}

function forward(): WasmFunction {
  const [X, W, B, Y, ROWS, C, N, EPS] = Array.from({ length: 8 }, (_, i) => i);
  const [ROW, END, J, CB, OUT_OFF] = Array.from({ length: 5 }, (_, i) => 8 + i);
  const [V, AL, AH, MU, R, DL, DH, WV, BV] = Array.from({ length: 9 }, (_, i) => 13 + i);
  const l: RowLocals = { X, ROW, END, J, CB, N, EPS, V, AL, AH, MU, R, DL, DH };
  // ((x − μ)·r)·w + b
  const entry = (x: Code, w: Code, b: Code) => f64x2.add(f64x2.mul(f64x2.mul(f64x2.sub(x, get(MU)), get(R)), w), b);
  const row = [
    ...rowMoments(l),
    ...local.set(J, int(0)),
    ...whileBelow(get(J), get(CB), [
      ...local.set(V, v128.load(i32.add(get(ROW), get(J)))),
      ...local.set(WV, v128.load(i32.add(get(W), get(J)))),
      ...local.set(BV, v128.load(i32.add(get(B), get(J)))),
      ...v128.store(
        i32.add(i32.add(get(ROW), get(J)), get(OUT_OFF)),
        join(entry(lo(get(V)), lo(get(WV)), lo(get(BV))), entry(hi(get(V)), hi(get(WV)), hi(get(BV)))),
      ),
      ...inc(J, int(16)),
    ]),
  ];
  return {
    name: 'forward',
    params: [I32, I32, I32, I32, I32, I32, F64, F64],
    result: I32,
    locals: [...new Array(5).fill(I32), ...new Array(9).fill(V128)],
    body: [...local.set(OUT_OFF, i32.sub(get(Y), get(X))), ...eachRow(l, ROWS, C, row)],
  };
}

function backward(): WasmFunction {
  const [DY, X, W, DX, ACC, ROWS, C, N, EPS] = Array.from({ length: 9 }, (_, i) => i);
  const [ROW, END, J, CB, DY_OFF, DX_OFF, A] = Array.from({ length: 7 }, (_, i) => 9 + i);
  const [V, AL, AH, MU, R, DL, DH, GV, WV, SGL, SGH, TL, TH, CA, CX] = Array.from({ length: 15 }, (_, i) => 16 + i);
  const l: RowLocals = { X, ROW, END, J, CB, N, EPS, V, AL, AH, MU, R, DL, DH };
  const nv = f64x2.splatOf(get(N));
  /** acc's float64 array `which` (0: Σ dy·x̂, 1: Σ dy) at J's entries: 2·J bytes in, 16 more for the high half. */
  const at = (which: number, half: number): Code =>
    i32.add(i32.add(get(A), i32.mul(get(CB), int(2 * which))), i32.add(i32.shl(get(J), int(1)), int(half)));
  const addTo = (address: Code, v: Code): Code => v128.store(address, f64x2.add(v128.load(address), v));
  // the entries' x̂ into DL, DH and g = dy·w into GV's place (as f64x2 pairs: AL, AH)
  const load = [
    ...local.set(V, v128.load(i32.add(get(ROW), get(J)))),
    ...local.set(DL, f64x2.mul(f64x2.sub(lo(get(V)), get(MU)), get(R))),
    ...local.set(DH, f64x2.mul(f64x2.sub(hi(get(V)), get(MU)), get(R))),
    ...local.set(GV, v128.load(i32.add(i32.add(get(ROW), get(J)), get(DY_OFF)))),
    ...local.set(WV, v128.load(i32.add(get(W), get(J)))),
    ...local.set(AL, f64x2.mul(lo(get(GV)), lo(get(WV)))),
    ...local.set(AH, f64x2.mul(hi(get(GV)), hi(get(WV)))),
  ];
  const row = [
    ...rowMoments(l),
    ...[SGL, SGH, TL, TH].flatMap((s) => local.set(s, f64x2.splat(0))),
    ...local.set(J, int(0)),
    ...whileBelow(get(J), get(CB), [
      ...load,
      ...local.set(SGL, f64x2.add(get(SGL), get(AL))),
      ...local.set(SGH, f64x2.add(get(SGH), get(AH))),
      ...local.set(TL, f64x2.add(get(TL), f64x2.mul(get(AL), get(DL)))),
      ...local.set(TH, f64x2.add(get(TH), f64x2.mul(get(AH), get(DH)))),
      ...addTo(at(0, 0), f64x2.mul(lo(get(GV)), get(DL))),
      ...addTo(at(0, 16), f64x2.mul(hi(get(GV)), get(DH))),
      ...addTo(at(1, 0), lo(get(GV))),
      ...addTo(at(1, 16), hi(get(GV))),
      ...inc(J, int(16)),
    ]),
    ...total(CA, SGL, SGH),
    ...local.set(CA, f64x2.div(get(CA), nv)),
    ...total(CX, TL, TH),
    ...local.set(CX, f64x2.div(get(CX), nv)),
    // dx = r·((g − Σg/n) − x̂·Σg·x̂/n)
    ...local.set(J, int(0)),
    ...whileBelow(get(J), get(CB), [
      ...load,
      ...v128.store(
        i32.add(i32.add(get(ROW), get(J)), get(DX_OFF)),
        join(
          f64x2.mul(get(R), f64x2.sub(f64x2.sub(get(AL), get(CA)), f64x2.mul(get(DL), get(CX)))),
          f64x2.mul(get(R), f64x2.sub(f64x2.sub(get(AH), get(CA)), f64x2.mul(get(DH), get(CX)))),
        ),
      ),
      ...inc(J, int(16)),
    ]),
  ];
  return {
    name: 'backward',
    params: [I32, I32, I32, I32, I32, I32, I32, F64, F64],
    result: I32,
    locals: [...new Array(7).fill(I32), ...new Array(15).fill(V128)],
    body: [
      ...local.set(DY_OFF, i32.sub(get(DY), get(X))),
      ...local.set(DX_OFF, i32.sub(get(DX), get(X))),
      ...local.set(A, get(ACC)),
      ...eachRow(l, ROWS, C, row),
    ],
  };
}

interface LayerNormSimd {
  forward(x: number, w: number, b: number, y: number, rows: number, c: number, n: number, eps: number): number;
  backward(
    dy: number,
    x: number,
    w: number,
    dx: number,
    acc: number,
    rows: number,
    c: number,
    n: number,
    eps: number,
  ): number;
}

const layerNorm = simdModule<LayerNormSimd>('layer-norm', () => [forward(), backward()], ['forward', 'backward']);
/** The module's bytes. */
export const layerNormModule = layerNorm.bytes;
/** Turns the SIMD loops off (and on again), so that tests and benchmarks can run the JavaScript ones beside them. */
export const setSimdLayerNorm = layerNorm.setEnabled;
/** The module on `heap`, or null (no heap: the cpu backend; no wasm SIMD; turned off). */
export const simdLayerNorm = layerNorm.on;
/** The helper thread for the module on `heap` (it takes a share of the rows), or null. */
export const simdLayerNormHelper = layerNorm.helper;
/** Keeps the module's work off the helper thread (and lets it on again), for tests and benchmarks to compare. */
export const setSharedLayerNorm = layerNorm.setShared;
