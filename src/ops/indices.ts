// Integer index tensors (class labels, gather indices) are read back to check their range before
// use. TF.js tensors are immutable, so the values are kept per tensor and read once: using the
// same indices again (every step of a training loop, every evaluation of a gradcheck) reads
// nothing — on webgpu a second read would be a synchronous GPU read, which Node lacks and headless
// Chromium's software WebGPU fails at.
import type * as tf from '@tensorflow/tfjs-core';

const read = new WeakMap<tf.Tensor, Int32Array>();

/** The values of an int32 tensor, read once per tensor. */
export function indexValues(t: tf.Tensor): Int32Array {
  let values = read.get(t);
  if (!values) {
    values = Int32Array.from(t.dataSync());
    read.set(t, values);
  }
  return values;
}
