// The arithmetic several optimizers' update rules share, on raw TF.js tensors (update() runs in a
// tidy, outside the tape).
import * as tf from '@tensorflow/tfjs-core';

/** The gradient with L2 weight decay, g + wd·p: PyTorch's `weight_decay` (AdamW's is decoupled instead). */
export function withL2Decay(p: tf.Tensor, g: tf.Tensor, weightDecay: number): tf.Tensor {
  return weightDecay ? tf.add(g, tf.mul(p, weightDecay)) : g;
}

/** A moving average kept in a parameter's state, β·prev + (1−β)·x, started from zero (prev absent). */
export function movingAverage(prev: tf.Tensor | undefined, x: tf.Tensor, beta: number): tf.Tensor {
  const share = tf.mul(x, 1 - beta);
  return prev ? tf.add(tf.mul(prev, beta), share) : share;
}
