// TF.js 4.22's wasm Sigmoid flushes results below float32's smallest normal number (2⁻¹²⁶, x below
// about −87.3) to 0, where float32 still holds σ(x) as a subnormal down to x ≈ −103.3: silu's and
// mish's adjoints, which multiply by σ(x), were 0 there. The replacement runs TF.js's kernel and
// redoes the entries it left below 2⁻¹²⁶ as eˣ in float64, rounded once: σ(x) = eˣ/(1 + eˣ) and
// 1 + eˣ is 1 in float64 there. Whether any entry is that small is asked of a WebAssembly SIMD loop
// over the heap (a module of our own, kernels/wasm-encoder.ts), so that an output without one costs
// a fraction of the kernel, not a JavaScript pass.
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { f32x4, I32, i32, local, V128, v128, whileBelow, type WasmFunction } from '../../kernels/wasm-encoder.js';
import { heapOf, simdModule } from '../../kernels/wasm-simd-module.js';
import { replaceWasmKernel, type WasmHeapBackend } from './kernel-replacement.js';

/** float32's smallest normal number. */
const SMALLEST_NORMAL = 2 ** -126;

/** anyBelowNormal(src, count): 1 if one of the `count` float32s at src (a multiple of 4) is below 2⁻¹²⁶. */
function anyBelowNormal(): WasmFunction {
  const [SRC, COUNT, END, ANY] = [0, 1, 2, 3];
  const get = local.get;
  const body = [
    ...local.set(END, i32.add(get(SRC), i32.shl(get(COUNT), i32.const(2)))),
    ...whileBelow(get(SRC), get(END), [
      ...local.set(ANY, v128.or(get(ANY), f32x4.lt(v128.load(get(SRC)), f32x4.splat(SMALLEST_NORMAL)))),
      ...local.set(SRC, i32.add(get(SRC), i32.const(16))),
    ]),
    ...v128.anyTrue(get(ANY)),
  ];
  return { name: 'anyBelowNormal', params: [I32, I32], result: I32, locals: [I32, V128], body };
}

type AnyBelow = { anyBelowNormal(src: number, count: number): number };
const belowNormal = simdModule<AnyBelow>('below-normal', () => [anyBelowNormal()]);

/** Whether ys, a view of `backend`'s heap, may hold an entry below 2⁻¹²⁶ (true where SIMD cannot say). */
function mayHoldSubnormal(backend: WasmHeapBackend, ys: Float32Array): boolean {
  const m = belowNormal.on(heapOf(backend));
  if (!m) return true;
  const whole = ys.length & ~3;
  if (m.anyBelowNormal(ys.byteOffset, whole)) return true;
  for (let i = whole; i < ys.length; i++) if (ys[i] < SMALLEST_NORMAL) return true;
  return false;
}

/** Replaces wasm's Sigmoid by TF.js's followed by the subnormal results it flushed (once). */
export function fixWasmSigmoidFlushToZero(): void {
  replaceWasmKernel(
    'Sigmoid',
    (sigmoidKernel): KernelFunc =>
      (args) => {
        const out = sigmoidKernel(args) as TensorInfo;
        const x = args.inputs.x as TensorInfo;
        if (x.dtype !== 'float32') return out;
        const backend = args.backend as WasmHeapBackend;
        const xs = backend.typedArrayFromHeap(x) as Float32Array;
        const ys = backend.typedArrayFromHeap(out) as Float32Array;
        if (!mayHoldSubnormal(backend, ys)) return out;
        for (let i = 0; i < ys.length; i++) if (ys[i] < SMALLEST_NORMAL) ys[i] = Math.exp(xs[i]);
        return out;
      },
  );
}
