// TF.js 4.22's cpu Elu computes eˣ − 1 for x < 0, in float64 and rounded: below |x| ≈ 1e−8 the
// cancellation exceeds float32's precision (elu(−1e−15) is 0.1% off, elu(−1e−30) is 0). expm1
// is exact there; wasm's kernel is right.
import * as tf from '@tensorflow/tfjs-core';

/** elu(x) = x for x > 0, eˣ − 1 otherwise; accurate near 0 on every backend. */
export function elu(x: tf.Tensor): tf.Tensor {
  if (tf.getBackend() !== 'cpu') return tf.elu(x);
  return tf.tidy(() => tf.where(tf.greater(x, 0), x, tf.expm1(tf.minimum(x, 0))));
}
