// TF.js 4.22's wasm Sigmoid flushes results below float32's smallest normal number (2⁻¹²⁶, x below
// about −87.3) to 0, where float32 still holds σ(x) as a subnormal down to x ≈ −103.3: silu's and
// mish's adjoints, which multiply by σ(x), were 0 there. The replacement runs TF.js's kernel and
// redoes the entries it left below 2⁻¹²⁶ as eˣ in float64, rounded once: σ(x) = eˣ/(1 + eˣ) and
// 1 + eˣ is 1 in float64 there.
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { replaceWasmKernel, type WasmHeapBackend } from './wasm-kernel-replacement.js';

/** float32's smallest normal number. */
const SMALLEST_NORMAL = 2 ** -126;

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
        for (let i = 0; i < ys.length; i++) if (ys[i] < SMALLEST_NORMAL) ys[i] = Math.exp(xs[i]);
        return out;
      },
  );
}
