// wasm's Relu over large float32 tensors as a WebAssembly SIMD loop of our own over the heap,
// shared with the helper thread (kernels/helper-thread.ts) in chunks of entries: TF.js's runs on
// one thread. The same values: y = max(x, +0) (NaN stays NaN, −0 and negative subnormals give +0),
// which is what TF.js's kernel gives but for a NaN with its sign bit set (−x of a NaN), which its
// sign-mask relu turns into 0. Smaller float32 tensors go to TF.js's kernel, and then the NaNs it
// dropped are put back (found by a SIMD scan of x); the entries past the last whole vector go to a
// loop here.
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { replaceWasmKernel, type WasmHeapBackend } from './kernel-replacement.js';
import { f32x4, I32, i32, local, v128, type WasmFunction, whileBelow } from '../../kernels/wasm-encoder.js';
import { heapOf, simdModule } from '../../kernels/wasm-simd-module.js';
import { holdsNaN } from './wasm-float-scans.js';

/** Entries from which the SIMD loop runs, shared with the helper thread (below, TF.js's kernel). */
export const RELU_SHARE_MIN = 1 << 16;

const get = local.get;

/** relu(x, y, count): y = max(x, +0) over `count` entries, a multiple of 4 (byte addresses). */
function relu(): WasmFunction {
  const [X, Y, COUNT, END] = [0, 1, 2, 3];
  return {
    name: 'relu',
    params: [I32, I32, I32],
    result: I32,
    locals: [I32],
    body: [
      ...local.set(END, i32.add(get(X), i32.shl(get(COUNT), i32.const(2)))),
      ...whileBelow(get(X), get(END), [
        // x < 0 ? 0 : x keeps NaN; + 0 turns −0 into +0
        ...v128.store(get(Y), f32x4.add(f32x4.pmax(v128.load(get(X)), f32x4.splat(0)), f32x4.splat(0))),
        ...local.increment(X, i32.const(16)),
        ...local.increment(Y, i32.const(16)),
      ]),
      ...i32.const(0),
    ],
  };
}

const reluModule = simdModule<{ relu: (x: number, y: number, count: number) => number }>('relu', () => [relu()], [
  'relu',
]);
/** The module's bytes. */
export const simdReluModule = reluModule.bytes;
/** Turns the SIMD loop off (and on again): TF.js's kernel runs, for tests and benchmarks to compare. */
export const setSimdRelu = reluModule.setEnabled;

/** Replaces wasm's Relu by the shared SIMD loop on large float32 tensors (once). */
export function speedUpWasmRelu(): void {
  replaceWasmKernel(
    'Relu',
    (original): KernelFunc =>
      (args) => {
        const x = args.inputs.x as TensorInfo;
        const backend = args.backend as WasmHeapBackend;
        const heap = heapOf(backend);
        const size = x.shape.reduce((a, b) => a * b, 1);
        const simd = x.dtype === 'float32' && size >= RELU_SHARE_MIN ? reluModule.on(heap) : null;
        if (!simd) {
          const out = original(args) as TensorInfo;
          if (x.dtype !== 'float32') return out;
          const xs = backend.typedArrayFromHeap(x) as Float32Array;
          if (!holdsNaN(backend, xs)) return out;
          const ys = backend.typedArrayFromHeap(out) as Float32Array;
          for (let i = 0; i < xs.length; i++) if (Number.isNaN(xs[i])) ys[i] = xs[i];
          return out;
        }
        const out = backend.makeOutput(x.shape, 'float32');
        // the views are taken after the allocation: a heap that grew detached the old ones
        const xs = backend.typedArrayFromHeap(x) as Float32Array;
        const ys = backend.typedArrayFromHeap(out) as Float32Array;
        const whole = size & ~3;
        const entries = (from: number, to: number) => [xs.byteOffset + 4 * from, ys.byteOffset + 4 * from, to - from];
        const helper = reluModule.helper(heap);
        if (helper) helper.range('relu', whole, 4, entries);
        else simd.relu(xs.byteOffset, ys.byteOffset, whole);
        for (let i = whole; i < size; i++) ys[i] = Math.max(xs[i], 0);
        return out;
      },
  );
}
