// TF.js 4.22's wasm Cast to bool keeps the low byte of an int32 and truncates a float32 first:
// −2 becomes 254, 256 becomes false, −0.5 and 0.25 become false. A bool is "not zero" (NaN too),
// so the replacement kernel computes x ≠ 0 with wasm's own NotEqual.
import * as tf from '@tensorflow/tfjs-core';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { replaceWasmKernel, type WasmHeapBackend } from './kernel-replacement.js';

/** Replaces wasm's Cast kernel by one whose casts to bool are x ≠ 0 (once). */
export function fixWasmCastToBool(): void {
  const notEqual = tf.getKernel('NotEqual', 'wasm');
  if (!notEqual) return;
  replaceWasmKernel(
    'Cast',
    (castKernel): KernelFunc =>
      (args) => {
        const x = args.inputs.x as TensorInfo;
        if (args.attrs?.dtype !== 'bool' || x.dtype === 'bool') return castKernel(args);
        const backend = args.backend as WasmHeapBackend;
        const zero = backend.makeOutput(
          [],
          x.dtype,
          undefined,
          x.dtype === 'int32' ? new Int32Array(1) : new Float32Array(1),
        );
        try {
          return notEqual.kernelFunc({ inputs: { a: x, b: zero }, attrs: {}, backend });
        } finally {
          backend.disposeData(zero.dataId);
        }
      },
  );
}
