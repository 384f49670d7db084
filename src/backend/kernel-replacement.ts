// Replacing one of TF.js's kernels (wasm's, and cpu's few) by tapegrad's: the kernel's config
// stays, its function becomes a wrapper of TF.js's own, which it still calls for the inputs it
// leaves alone. TF.js's function is kept for the tests that run it to see whether its defect is
// still there.
import * as tf from '@tensorflow/tfjs-core';
import type { KernelBackend, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { WasmBackend } from '../../kernels/wasm-simd-module.js';

/** What the replacement kernels use of TF.js's wasm backend, whose class is not exported. */
export interface WasmHeapBackend extends KernelBackend, WasmBackend {
  makeOutput(
    shape: number[],
    dtype: tf.DataType,
    memoryOffset?: number,
    values?: tf.backend_util.BackendValues,
  ): TensorInfo;
}

const originals = new Map<string, KernelFunc>();

/** Registers wrap(TF.js's function) as `backend`'s kernel `name`, once: later calls change nothing. */
export function replaceKernel(backend: string, name: string, wrap: (original: KernelFunc) => KernelFunc): void {
  const config = tf.getKernel(name, backend);
  const key = `${backend}/${name}`;
  if (!config || originals.has(key)) return;
  originals.set(key, config.kernelFunc);
  tf.unregisterKernel(name, backend);
  tf.registerKernel({ ...config, kernelFunc: wrap(config.kernelFunc) });
}

/** TF.js's own kernel `name` of `backend` where tapegrad replaced it, for the tests that compare the two. */
export function originalKernel(backend: string, name: string): KernelFunc | undefined {
  return originals.get(`${backend}/${name}`);
}

/** replaceKernel on wasm. */
export function replaceWasmKernel(name: string, wrap: (original: KernelFunc) => KernelFunc): void {
  replaceKernel('wasm', name, wrap);
}

/** originalKernel of wasm. */
export function originalWasmKernel(name: string): KernelFunc | undefined {
  return originalKernel('wasm', name);
}
