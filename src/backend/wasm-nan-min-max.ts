// TF.js 4.22's wasm Maximum and Minimum (XNNPACK's) and ClipByValue compare with < and >, so an
// operand that is NaN loses to the other one or to the bound: maximum(1, NaN) was 1 and
// clip(NaN, −1, 1) was −1, where PyTorch and TF.js's cpu give NaN. The replacements run TF.js's
// kernel and, where an input holds a NaN (asked of a SIMD loop over the heap, so that inputs without
// one cost a fraction of the kernel), write NaN to every output entry that reads one.
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { replaceWasmKernel, type WasmHeapBackend } from './kernel-replacement.js';
import { holdsNaN } from './wasm-float-scans.js';

/** out[k] = NaN wherever the input x (broadcast to out's shape) is NaN. */
function spreadNaN(out: Float32Array, outShape: number[], xs: Float32Array, xShape: number[]): void {
  if (xs.length === out.length) {
    for (let k = 0; k < out.length; k++) if (Number.isNaN(xs[k])) out[k] = Number.NaN;
    return;
  }
  if (xs.length === 1) {
    if (Number.isNaN(xs[0])) out.fill(Number.NaN);
    return;
  }
  // x's stride along each of out's axes (0 where x is broadcast), and an odometer over out's index
  const rank = outShape.length;
  const shape = [...new Array(rank - xShape.length).fill(1), ...xShape];
  const strides = new Array<number>(rank).fill(0);
  for (let d = rank - 1, s = 1; d >= 0; d--) {
    strides[d] = shape[d] === 1 ? 0 : s;
    s *= shape[d];
  }
  const index = new Array<number>(rank).fill(0);
  let at = 0;
  for (let k = 0; k < out.length; k++) {
    if (Number.isNaN(xs[at])) out[k] = Number.NaN;
    for (let d = rank - 1; d >= 0; d--) {
      at += strides[d];
      if (++index[d] < outShape[d]) break;
      at -= strides[d] * outShape[d];
      index[d] = 0;
    }
  }
}

/** Replaces wasm's Maximum, Minimum and ClipByValue by TF.js's followed by the NaNs they dropped (once). */
export function fixWasmNaNDroppingMinMax(): void {
  for (const name of ['Maximum', 'Minimum']) {
    replaceWasmKernel(
      name,
      (original): KernelFunc =>
        (args) => {
          const out = original(args) as TensorInfo;
          if (out.dtype !== 'float32') return out;
          const backend = args.backend as WasmHeapBackend;
          const o = backend.typedArrayFromHeap(out) as Float32Array;
          for (const x of [args.inputs.a, args.inputs.b] as TensorInfo[]) {
            const xs = backend.typedArrayFromHeap(x) as Float32Array;
            if (holdsNaN(backend, xs)) spreadNaN(o, out.shape, xs, x.shape);
          }
          return out;
        },
    );
  }
  replaceWasmKernel(
    'ClipByValue',
    (original): KernelFunc =>
      (args) => {
        const out = original(args) as TensorInfo;
        const x = args.inputs.x as TensorInfo;
        if (x.dtype !== 'float32' || out.dtype !== 'float32') return out;
        const backend = args.backend as WasmHeapBackend;
        const xs = backend.typedArrayFromHeap(x) as Float32Array;
        if (holdsNaN(backend, xs)) spreadNaN(backend.typedArrayFromHeap(out) as Float32Array, out.shape, xs, x.shape);
        return out;
      },
  );
}
