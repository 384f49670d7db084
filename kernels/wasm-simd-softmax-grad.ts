// softmax's adjoint (kernels/softmax-grad.ts) as a WebAssembly SIMD loop over a wasm backend's heap, a
// row at a time, four entries of it at a time: each f32x4 widened to two f64x2 halves that go through
// the same float64 operations, in the same order, as softmax-grad.ts's loop, so the results are the
// same bits. Rows of C entries, C a multiple of 4 (the loop takes the other widths).
//
//   grad(dy, y, dx, rows, C, scale): per row s = Σ dy·y, in four partial sums (entry index mod 4)
//     joined as (s₀ + s₂) + (s₁ + s₃) (the lanes of the halves' accumulators added, then swapped and
//     added); dx = y·(dy − s), rounded to float32, times the float32 scale (attention's scores' scale:
//     the product a scaled softmax's adjoint takes next; 1 leaves dx as it is).
// Arguments are byte addresses in the heap, counts, and the scale as float32.
import {
  type Code,
  F32,
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

function grad(): WasmFunction {
  const [DY, Y, DX, ROWS, C, SCALE] = [0, 1, 2, 3, 4, 5];
  const [ROW, END, J, CB, DY_OFF, DX_OFF] = Array.from({ length: 6 }, (_, i) => 6 + i);
  const [G, V, AL, AH, S, SC] = Array.from({ length: 6 }, (_, i) => 12 + i);
  const load = [
    ...local.set(V, v128.load(i32.add(get(ROW), get(J)))),
    ...local.set(G, v128.load(i32.add(i32.add(get(ROW), get(J)), get(DY_OFF)))),
  ];
  // dx = y·(dy − s)
  const entry = (y: Code, g: Code) => f64x2.mul(y, f64x2.sub(g, get(S)));
  const row = [
    ...local.set(AL, f64x2.splat(0)),
    ...local.set(AH, f64x2.splat(0)),
    ...local.set(J, int(0)),
    ...whileBelow(get(J), get(CB), [
      ...load,
      ...local.set(AL, f64x2.add(get(AL), f64x2.mul(lo(get(G)), lo(get(V))))),
      ...local.set(AH, f64x2.add(get(AH), f64x2.mul(hi(get(G)), hi(get(V))))),
      ...inc(J, int(16)),
    ]),
    ...local.set(S, f64x2.add(get(AL), get(AH))),
    ...local.set(S, f64x2.add(get(S), swap(get(S)))),
    ...local.set(J, int(0)),
    ...whileBelow(get(J), get(CB), [
      ...load,
      ...v128.store(
        i32.add(i32.add(get(ROW), get(J)), get(DX_OFF)),
        f32x4.mul(f32x4.demote4(entry(lo(get(V)), lo(get(G))), entry(hi(get(V)), hi(get(G)))), get(SC)),
      ),
      ...inc(J, int(16)),
    ]),
  ];
  return {
    name: 'grad',
    params: [...new Array(5).fill(I32), F32],
    result: I32,
    locals: [...new Array(6).fill(I32), ...new Array(6).fill(V128)],
    body: [
      ...local.set(SC, f32x4.splatOf(get(SCALE))),
      ...local.set(DY_OFF, i32.sub(get(DY), get(Y))),
      ...local.set(DX_OFF, i32.sub(get(DX), get(Y))),
      ...local.set(CB, i32.shl(get(C), int(2))),
      ...local.set(ROW, get(Y)),
      ...local.set(END, i32.add(get(Y), i32.mul(get(ROWS), get(CB)))),
      ...whileBelow(get(ROW), get(END), [...row, ...inc(ROW, get(CB))]),
      ...int(0),
    ],
  };
}

interface SoftmaxGradSimd {
  grad(dy: number, y: number, dx: number, rows: number, c: number, scale: number): number;
}

const softmaxGrad = simdModule<SoftmaxGradSimd>('softmax-grad', () => [grad()], ['grad']);
/** The module's bytes. */
export const softmaxGradModule = softmaxGrad.bytes;
/** Turns the SIMD loop off (and on again), so that tests and benchmarks can run the JavaScript one beside it. */
export const setSimdSoftmaxGrad = softmaxGrad.setEnabled;
/** The module on `heap`, or null (no heap: the cpu backend; no wasm SIMD; turned off). */
export const simdSoftmaxGrad = softmaxGrad.on;
/** The helper thread for the module on `heap` (it takes a share of the rows), or null. */
export const simdSoftmaxGradHelper = softmaxGrad.helper;
/** Keeps the module's work off the helper thread (and lets it on again), for tests and benchmarks to compare. */
export const setSharedSoftmaxGrad = softmaxGrad.setShared;
// off by default: attention's products and rows are too small for waking the helper thread to pay
setSharedSoftmaxGrad(false);
