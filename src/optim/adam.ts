// Adam and AdamW (Kingma & Ba; Loshchilov & Hutter), in PyTorch's conventions.
import * as tf from '@tensorflow/tfjs-core';
import { TapegradError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { Optimizer, nonNegative, type OptimizerOptions, type Update } from './optimizer.js';
import { hasFused, adamUpdate } from '../../kernels/fused.js';

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
      // webgl/webgpu: one fused kernel (kernels/adam-update.ts), the same formulas
      const [param, m, v] = adamUpdate(p0, grad, state.m ?? tf.zerosLike(p0), state.v ?? tf.zerosLike(p0), {
        lr, beta1: b1, beta2: b2, eps: this.eps, weightDecay: this.weightDecay, decoupled: this.decoupled, step: t,
      });
      return { param, state: { m, v } };
    }
    // cpu/wasm: elementwise ops, with the bias corrections folded into scalars
    let p = p0;
    let g = grad;
    if (this.weightDecay && this.decoupled) p = tf.mul(p, 1 - lr * this.weightDecay);
    else if (this.weightDecay) g = tf.add(g, tf.mul(p, this.weightDecay));
    const m = state.m ? tf.add(tf.mul(state.m, b1), tf.mul(g, 1 - b1)) : tf.mul(g, 1 - b1);
    const v = state.v ? tf.add(tf.mul(state.v, b2), tf.mul(tf.square(g), 1 - b2)) : tf.mul(tf.square(g), 1 - b2);
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
