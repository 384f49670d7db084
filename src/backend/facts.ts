// What the TF.js backends do differently that is not wrong, only slow or unavailable somewhere:
// the one place the op rules ask about it, so that no op names a backend.
import * as tf from '@tensorflow/tfjs-core';

/**
 * Whether values can be read synchronously (dataSync) here: webgpu in Node (Dawn) has no
 * synchronous read at all.
 */
export function hasSyncRead(): boolean {
  return !(
    tf.getBackend() === 'webgpu' && typeof (globalThis as { OffscreenCanvas?: unknown }).OffscreenCanvas === 'undefined'
  );
}

/**
 * Whether reading a few numbers back is cheap enough for a value check (a singular matrix): not on
 * webgpu, whose synchronous read goes through a canvas (slow, and zeros in headless Chromium on
 * SwiftShader).
 */
export function checksByReadBack(): boolean {
  return tf.getBackend() !== 'webgpu';
}

/**
 * The values of `t` without a GPU read: webgpu keeps a tensor's values on the CPU until its first
 * use on the GPU, so those are returned, and null once they live only on the GPU. Elsewhere a
 * plain synchronous read.
 */
export function valuesWithoutGpuRead(t: tf.Tensor): ArrayLike<number> | null {
  if (tf.getBackend() !== 'webgpu') return t.dataSync();
  const backend = tf.engine().backend as unknown as {
    tensorMap?: { get(id: object): { values?: ArrayLike<number> | null } | undefined };
  };
  return backend.tensorMap?.get(t.dataId)?.values ?? null;
}

/**
 * Whether matMul with a transpose flag is slow here: on wasm it runs an order of magnitude slower than a
 * transpose followed by a plain matMul, so the transposes are better made explicit.
 */
export function transposeFlagsSlow(): boolean {
  return tf.getBackend() === 'wasm';
}

/**
 * broadcastTo in the fastest form for the backend: TF.js's is a Tile, far slower on wasm than a
 * broadcasting add of zeros (the same values) for float32.
 */
export function broadcastToFast(x: tf.Tensor, shape: number[]): tf.Tensor {
  return tf.getBackend() === 'wasm' && x.dtype === 'float32'
    ? tf.tidy(() => tf.add(x, tf.zeros(shape)))
    : tf.broadcastTo(x, shape);
}
