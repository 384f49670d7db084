// RMSprop (Hinton), in PyTorch's conventions (uncentred).
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '../tensor.js';
import { Optimizer, nonNegative, type OptimizerOptions, type Update } from './optimizer.js';

export interface RMSpropOptions extends OptimizerOptions {
  alpha?: number;
  eps?: number;
  momentum?: number;
}

/**
 * g ← g + wd·p,  s ← αs + (1−α)g²,  p ← p − lr·g / (√s + ε);
 * with momentum: b ← μb + g / (√s + ε),  p ← p − lr·b.
 */
export class RMSprop extends Optimizer {
  readonly alpha: number;
  readonly eps: number;
  readonly momentum: number;
  readonly weightDecay: number;
  constructor(params: Tensor[], opts: RMSpropOptions) {
    super('RMSprop', params, opts?.lr);
    this.alpha = nonNegative('RMSprop', 'alpha', opts.alpha ?? 0.99);
    this.eps = nonNegative('RMSprop', 'eps', opts.eps ?? 1e-8);
    this.momentum = nonNegative('RMSprop', 'momentum', opts.momentum ?? 0);
    this.weightDecay = nonNegative('RMSprop', 'weightDecay', opts.weightDecay ?? 0);
  }
  protected update(p: tf.Tensor, grad: tf.Tensor, state: Record<string, tf.Tensor>, lr: number): Update {
    const g = this.weightDecay ? tf.add(grad, tf.mul(p, this.weightDecay)) : grad;
    const sq = tf.mul(tf.square(g), 1 - this.alpha);
    const s = state.s ? tf.add(tf.mul(state.s, this.alpha), sq) : sq;
    const dir = tf.div(g, tf.add(tf.sqrt(s), this.eps));
    if (!this.momentum) return { param: tf.sub(p, tf.mul(dir, lr)), state: { s } };
    const b = state.b ? tf.add(tf.mul(state.b, this.momentum), dir) : dir;
    return { param: tf.sub(p, tf.mul(b, lr)), state: { s, b } };
  }
}
