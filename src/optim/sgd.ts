// SGD with momentum, Nesterov momentum and (L2) weight decay, in PyTorch's conventions.
import * as tf from '@tensorflow/tfjs-core';
import { TapegradError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { Optimizer, nonNegative, type OptimizerOptions, type Update } from './optimizer.js';

export interface SGDOptions extends OptimizerOptions {
  momentum?: number;
  nesterov?: boolean;
}

/**
 * g ← g + wd·p;  v ← μv + g (v = g on the first step);  p ← p − lr·v, or with Nesterov
 * p ← p − lr·(g + μv).
 */
export class SGD extends Optimizer {
  readonly momentum: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;
  constructor(params: Tensor[], opts: SGDOptions) {
    super('SGD', params, opts?.lr);
    this.momentum = nonNegative('SGD', 'momentum', opts.momentum ?? 0);
    this.weightDecay = nonNegative('SGD', 'weightDecay', opts.weightDecay ?? 0);
    this.nesterov = opts.nesterov ?? false;
    if (this.nesterov && this.momentum === 0) throw new TapegradError('SGD', 'nesterov needs a momentum > 0');
  }
  protected update(p: tf.Tensor, grad: tf.Tensor, state: Record<string, tf.Tensor>, lr: number): Update {
    const g = this.weightDecay ? tf.add(grad, tf.mul(p, this.weightDecay)) : grad;
    if (!this.momentum) return { param: tf.sub(p, tf.mul(g, lr)), state: {} };
    const v = state.v ? tf.add(tf.mul(state.v, this.momentum), g) : tf.clone(g);
    const dir = this.nesterov ? tf.add(g, tf.mul(v, this.momentum)) : v;
    return { param: tf.sub(p, tf.mul(dir, lr)), state: { v } };
  }
}
