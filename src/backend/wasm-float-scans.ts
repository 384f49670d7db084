// SIMD scans of a float32 array on the wasm heap for the values that some kernels lose or spoil:
// NaN (XNNPACK's clamps and compares drop it), −∞ (an average pool's sign of a dropped NaN), and
// any NaN or ±∞ (a sum that would multiply one by a padding zero). A scan costs a fraction of the
// kernel it guards, so the common input, which holds none, pays little.
import {
  type Code,
  f32x4,
  I32,
  i32,
  local,
  V128,
  v128,
  whileBelow,
  type WasmFunction,
} from '../../kernels/wasm-encoder.js';
import { heapOf, simdModule } from '../../kernels/wasm-simd-module.js';
import type { WasmHeapBackend } from './kernel-replacement.js';

type Hit = 'NaN' | 'NaNOrMinusInfinity' | 'NonFinite';

/** Whether the float32 lanes of x are a hit, as a lane mask. */
const hits: Record<Hit, (x: Code) => Code> = {
  NaN: (x) => f32x4.ne(x, x),
  NaNOrMinusInfinity: (x) => v128.or(f32x4.ne(x, x), f32x4.eq(x, f32x4.splat(Number.NEGATIVE_INFINITY))),
  // x − x is NaN exactly where x is NaN or ±∞
  NonFinite: (x) => f32x4.ne(f32x4.sub(x, x), f32x4.sub(x, x)),
};

/** any<Hit>(src, count): 1 if one of the `count` float32s at src (a multiple of 4) is a hit. */
function scan(hit: Hit): WasmFunction {
  const [SRC, COUNT, END, ANY, X] = [0, 1, 2, 3, 4];
  const get = local.get;
  const body = [
    ...local.set(END, i32.add(get(SRC), i32.shl(get(COUNT), i32.const(2)))),
    ...whileBelow(get(SRC), get(END), [
      ...local.set(X, v128.load(get(SRC))),
      ...local.set(ANY, v128.or(get(ANY), hits[hit](get(X)))),
      ...local.set(SRC, i32.add(get(SRC), i32.const(16))),
    ]),
    ...v128.anyTrue(get(ANY)),
  ];
  return { name: `any${hit}`, params: [I32, I32], result: I32, locals: [I32, V128, V128], body };
}

type Scan = (src: number, count: number) => number;
const scans = simdModule<Record<`any${Hit}`, Scan>>('float-scans', () => [
  scan('NaN'),
  scan('NaNOrMinusInfinity'),
  scan('NonFinite'),
]);

/** The same tests on one float32, for the entries past the last whole vector. */
const isHit: Record<Hit, (x: number) => boolean> = {
  NaN: Number.isNaN,
  NaNOrMinusInfinity: (x) => Number.isNaN(x) || x === Number.NEGATIVE_INFINITY,
  NonFinite: (x) => !Number.isFinite(x),
};

function holds(hit: Hit, backend: WasmHeapBackend, xs: Float32Array): boolean {
  const m = scans.on(heapOf(backend));
  const whole = m ? xs.length & ~3 : 0;
  if (m?.[`any${hit}`](xs.byteOffset, whole)) return true;
  for (let i = whole; i < xs.length; i++) if (isHit[hit](xs[i])) return true;
  return false;
}

/** Whether xs, a float32 view of `backend`'s heap, holds a NaN (or, `orMinusInfinity`, a −∞). */
export function holdsNaN(backend: WasmHeapBackend, xs: Float32Array, orMinusInfinity = false): boolean {
  return holds(orMinusInfinity ? 'NaNOrMinusInfinity' : 'NaN', backend, xs);
}

/** Whether xs, a float32 view of `backend`'s heap, holds a NaN, +∞ or −∞. */
export function holdsNonFinite(backend: WasmHeapBackend, xs: Float32Array): boolean {
  return holds('NonFinite', backend, xs);
}
