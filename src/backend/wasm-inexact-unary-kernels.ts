// TF.js 4.22's wasm Sin, Cos and Log1p are wrong near 0 and near the zeros of sin and cos:
// Log1p computes log(1 + x) in float32 (19% off at 1e−7, 0 below 6e−8); Sin mishandles negative
// and tiny arguments (sin(−1e−8) = +1.7e−7, sin(−1e−6) 22% off, sin(1e−20) = 0) and reduces by a
// float32 π (sin(π) 73% off, cos(±π/2) of the wrong sign); Sign is 0 for |x| below about 5e−7
// (sign(1e−7) = 0, so the gradient of abs vanished there). The replacements loop over the wasm
// heap: Log1p and Sign in float64 with JavaScript's Math, as the cpu backend does, rounded once to
// float32; Sin and Cos with float32-sin-cos.ts, as accurate once rounded and faster than Math's.
import * as tf from '@tensorflow/tfjs-core';
import type { KernelBackend, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { cosFloat32, sinFloat32 } from './float32-sin-cos.js';

interface WasmBackendLike extends KernelBackend {
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

type Loop = (xs: Float32Array, ys: Float32Array) => void;
const map =
  (f: (x: number) => number): Loop =>
  (xs, ys) => {
    for (let i = 0; i < xs.length; i++) ys[i] = f(xs[i]);
  };
const EXACT: Record<string, Loop> = {
  Sin: sinFloat32,
  Cos: cosFloat32,
  Log1p: map(Math.log1p),
  Sign: map(Math.sign),
};
const originals = new Map<string, KernelFunc>();

/** Replaces wasm's Sin, Cos, Log1p and Sign by JavaScript loops over the heap (once). */
export function fixWasmInexactUnaryKernels(): void {
  for (const [name, f] of Object.entries(EXACT)) {
    const config = tf.getKernel(name, 'wasm');
    if (!config || originals.has(name)) continue;
    const original = config.kernelFunc;
    originals.set(name, original);
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({
      ...config,
      kernelFunc: (args) => {
        const x = args.inputs.x as TensorInfo;
        if (x.dtype !== 'float32') return original(args);
        const backend = args.backend as WasmBackendLike;
        const out = backend.makeOutput(x.shape, 'float32');
        // the views are taken after the allocation: a heap that grew detached the old ones
        f(backend.typedArrayFromHeap(x) as Float32Array, backend.typedArrayFromHeap(out) as Float32Array);
        return out;
      },
    });
  }
}

/** TF.js's own wasm kernel, for the test that tells when it becomes right. */
export function rawWasmKernel(name: 'Sin' | 'Cos' | 'Log1p' | 'Sign'): KernelFunc | undefined {
  return originals.get(name);
}
