// TF.js 4.22's wasm Sin, Cos and Log1p are wrong near 0 and near the zeros of sin and cos:
// Log1p computes log(1 + x) in float32 (19% off at 1e−7, 0 below 6e−8); Sin mishandles negative
// and tiny arguments (sin(−1e−8) = +1.7e−7, sin(−1e−6) 22% off, sin(1e−20) = 0) and reduces by a
// float32 π (sin(π) 73% off, cos(±π/2) of the wrong sign); Sign is 0 for |x| below about 5e−7
// (sign(1e−7) = 0, so the gradient of abs vanished there). The replacements work on the wasm
// heap: Log1p in float64 with JavaScript's Math, as the cpu backend does, rounded once to float32,
// and Sign as cpu's and PyTorch's (0 for ±0 and NaN); Sin and Cos by float32-sin-cos.ts's method,
// as accurate once rounded and faster than Math's, in wasm SIMD (wasm-simd-sin-cos.ts) where the
// engine has it, else in JavaScript.
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { cosFloat32, sinFloat32 } from './float32-sin-cos.js';
import { sinCosOnHeap } from './wasm-simd-sin-cos.js';
import { replaceWasmKernel, type WasmHeapBackend } from './kernel-replacement.js';
import { heapOf } from '../../kernels/wasm-simd-module.js';

type Loop = (xs: Float32Array, ys: Float32Array, backend: WasmHeapBackend) => void;
const map =
  (f: (x: number) => number): Loop =>
  (xs, ys) => {
    for (let i = 0; i < xs.length; i++) ys[i] = f(xs[i]);
  };
const sinCos =
  (f: 'sin' | 'cos', js: typeof sinFloat32): Loop =>
  (xs, ys, backend) => {
    const memory = heapOf(backend);
    if (!memory || !sinCosOnHeap(memory, f, xs, ys)) js(xs, ys);
  };
const EXACT: Record<string, Loop> = {
  Sin: sinCos('sin', sinFloat32),
  Cos: sinCos('cos', cosFloat32),
  Log1p: map(Math.log1p),
  Sign: map((x) => (x > 0 ? 1 : x < 0 ? -1 : 0)),
};

/** Replaces wasm's Sin, Cos, Log1p and Sign by accurate kernels over the heap (once). */
export function fixWasmInexactUnaryKernels(): void {
  for (const [name, f] of Object.entries(EXACT)) {
    replaceWasmKernel(
      name,
      (original): KernelFunc =>
        (args) => {
          const x = args.inputs.x as TensorInfo;
          if (x.dtype !== 'float32') return original(args);
          const backend = args.backend as WasmHeapBackend;
          const out = backend.makeOutput(x.shape, 'float32');
          // the views are taken after the allocation: a heap that grew detached the old ones
          f(backend.typedArrayFromHeap(x) as Float32Array, backend.typedArrayFromHeap(out) as Float32Array, backend);
          return out;
        },
    );
  }
}
