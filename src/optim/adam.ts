// Adam and AdamW (Kingma & Ba; Loshchilov & Hutter), in PyTorch's conventions.
import * as tf from '@tensorflow/tfjs-core';
import { TapegradError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { Optimizer, nonNegative, type OptimizerOptions, type Update } from './optimizer.js';
import { hasFused, adamUpdatePacked } from '../../kernels/fused.js';

export interface AdamOptions extends OptimizerOptions {
  betas?: [number, number];
  eps?: number;
}

/**
 * m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,
 * p ← p − (lr / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + ε).
 * Adam's weightDecay is L2 (g ← g + wd·p); AdamW's is decoupled (p ← p − lr·wd·p first).
 */
export class Adam extends Optimizer {
  readonly betas: [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  protected decoupled = false;
  constructor(params: Tensor[], opts: AdamOptions, name = 'Adam') {
    super(name, params, opts?.lr);
    this.betas = opts.betas ?? [0.9, 0.999];
    this.betas.forEach((b, i) => {
      if (!(b >= 0 && b < 1)) throw new TapegradError(name, `betas[${i}] must be in [0, 1), got ${b}`);
    });
    this.eps = nonNegative(name, 'eps', opts.eps ?? 1e-8);
    this.weightDecay = nonNegative(name, 'weightDecay', opts.weightDecay ?? (name === 'AdamW' ? 0.01 : 0));
  }
  protected update(p0: tf.Tensor, grad: tf.Tensor, state: Record<string, tf.Tensor>, lr: number, t: number): Update {
    const [b1, b2] = this.betas;
    if (hasFused('adamUpdate')) {
      // webgl/webgpu: the fused kernel (kernels/adam-update.ts), the same formulas; its moments
      // are one packed [m, v] tensor, so that one GPU pass updates both
      const moments = state.moments ?? (state.m ? tf.stack([state.m, state.v]) : tf.zeros([2, ...p0.shape]));
      const [param, next] = adamUpdatePacked(p0, grad, moments, {
        lr, beta1: b1, beta2: b2, eps: this.eps, weightDecay: this.weightDecay, decoupled: this.decoupled, step: t,
      });
      return { param, state: { moments: next } };
    }
    // cpu/wasm: elementwise ops, with the bias corrections folded into scalars; the moments so
    // far may be packed (by a fused backend, if the parameters moved from one)
    const [m0, v0] = state.moments ? tf.unstack(state.moments) : [state.m, state.v];
    let p = p0;
    let g = grad;
    if (this.weightDecay && this.decoupled) p = tf.mul(p, 1 - lr * this.weightDecay);
    else if (this.weightDecay) g = tf.add(g, tf.mul(p, this.weightDecay));
    const m = m0 ? tf.add(tf.mul(m0, b1), tf.mul(g, 1 - b1)) : tf.mul(g, 1 - b1);
    const v = v0 ? tf.add(tf.mul(v0, b2), tf.mul(tf.square(g), 1 - b2)) : tf.mul(tf.square(g), 1 - b2);
    const stepSize = lr / (1 - b1 ** t);
    const denom = tf.add(tf.mul(tf.sqrt(v), 1 / Math.sqrt(1 - b2 ** t)), this.eps);
    return { param: tf.sub(p, tf.mul(tf.div(m, denom), stepSize)), state: { m, v } };
  }
}

/** Adam with decoupled weight decay (default 0.01): p ← p − lr·wd·p, then the Adam step. */
export class AdamW extends Adam {
  constructor(params: Tensor[], opts: AdamOptions) {
    super(params, opts, 'AdamW');
    this.decoupled = true;
  }
}
