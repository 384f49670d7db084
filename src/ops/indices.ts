// Integer index tensors (class labels, gather indices) are read back to check their range before
// use. TF.js tensors are immutable, so the values are kept per tensor and read once: using the
// same indices again (every step of a training loop, every evaluation of a gradcheck) reads
// nothing. On webgpu, indices whose values already live on the GPU (computed there, or used
// there before) are not read: that would be a synchronous GPU read, which Node (Dawn) lacks and
// headless Chromium's software WebGPU fails at. Their range goes unchecked, as JAX never checks
// a gather's indices; an index out of range then gives a zero row (gather, one-hot).
import type * as tf from '@tensorflow/tfjs-core';
import { valuesWithoutGpuRead } from '../backend/facts.js';
import { traceHooks } from '../tape.js';

const read = new WeakMap<tf.Tensor, Int32Array>();

/** The values of an int32 tensor, read once per tensor; null where only a GPU read could give them. */
export function indexValues(t: tf.Tensor): Int32Array | null {
  let values = read.get(t);
  if (!values) {
    traceHooks.indexReads++;
    let raw: ArrayLike<number> | null;
    try {
      raw = valuesWithoutGpuRead(t);
    } finally {
      traceHooks.indexReads--;
    }
    if (!raw) return null;
    values = Int32Array.from(raw);
    read.set(t, values);
  }
  traceHooks.onIndexValues?.(t, values);
  return values;
}
