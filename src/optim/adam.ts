// Adam and AdamW (Kingma & Ba; Loshchilov & Hutter), in PyTorch's conventions.
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '../tensor.js';
import { checkLR } from './schedules.js';
import { Optimizer, nonNegative, checkBetas, type OptimizerOptions, type ParamGroup, type ParamGroupSpec, type Update } from './optimizer.js';
import { hasFused, adamUpdatePacked } from '../../kernels/fused.js';

/** Options of Adam and AdamW: betas (β₁, β₂) and ε. */
export interface AdamOptions extends OptimizerOptions {
  betas?: [number, number];
  eps?: number;
  /** Divide by the largest second moment so far, max(v̂) (Reddi et al.; default false). */
  amsgrad?: boolean;
}

/**
 * m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,
 * p ← p − (lr / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + ε).
 * Adam's weightDecay is L2 (g ← g + wd·p); AdamW's is decoupled (p ← p − lr·wd·p first).
 * PyTorch `torch.optim.Adam`, JAX `optax.adam`.
 */
export class Adam extends Optimizer<AdamOptions> {
  protected decoupled = false;
  constructor(params: Tensor[] | ParamGroupSpec<AdamOptions>[], opts: AdamOptions, name = 'Adam') {
    super(name, params, opts);
  }
  protected resolveOptions(fn: string, o: Partial<AdamOptions>): Required<AdamOptions> {
    return {
      lr: checkLR(fn, o.lr),
      betas: checkBetas(fn, o.betas ?? [0.9, 0.999]),
      eps: nonNegative(fn, 'eps', o.eps ?? 1e-8),
      weightDecay: nonNegative(fn, 'weightDecay', o.weightDecay ?? (this.name === 'AdamW' ? 0.01 : 0)),
      amsgrad: o.amsgrad ?? false,
    };
  }
  protected update(p0: tf.Tensor, grad: tf.Tensor, state: Record<string, tf.Tensor>, lr: number, t: number, o: ParamGroup<AdamOptions>): Update {
    const [b1, b2] = o.betas!;
    const eps = o.eps!;
    const wd = o.weightDecay!;
    if (hasFused('adamUpdate') && !o.amsgrad) {
      // webgl/webgpu: the fused kernel (kernels/adam-update.ts), the same formulas; its moments
      // are one packed [m, v] tensor, so that one GPU pass updates both
      const moments = state.moments ?? (state.m ? tf.stack([state.m, state.v]) : tf.zeros([2, ...p0.shape]));
      const [param, next] = adamUpdatePacked(p0, grad, moments, {
        lr, beta1: b1, beta2: b2, eps, weightDecay: wd, decoupled: this.decoupled, step: t,
      });
      return { param, state: { moments: next } };
    }
    // cpu/wasm: elementwise ops, with the bias corrections folded into scalars; the moments so
    // far may be packed (by a fused backend, if the parameters moved from one)
    const [m0, v0] = state.moments ? tf.unstack(state.moments) : [state.m, state.v];
    let p = p0;
    let g = grad;
    if (wd && this.decoupled) p = tf.mul(p, 1 - lr * wd);
    else if (wd) g = tf.add(g, tf.mul(p, wd));
    const m = m0 ? tf.add(tf.mul(m0, b1), tf.mul(g, 1 - b1)) : tf.mul(g, 1 - b1);
    const v = v0 ? tf.add(tf.mul(v0, b2), tf.mul(tf.square(g), 1 - b2)) : tf.mul(tf.square(g), 1 - b2);
    const stepSize = lr / (1 - b1 ** t);
    const vMax = o.amsgrad ? (state.vMax ? tf.maximum(state.vMax, v) : v) : null;
    const denom = tf.add(tf.mul(tf.sqrt(vMax ?? v), 1 / Math.sqrt(1 - b2 ** t)), eps);
    const param = tf.sub(p, tf.mul(tf.div(m, denom), stepSize));
    return { param, state: vMax ? { m, v, vMax } : { m, v } };
  }
}

/**
 * Adam with decoupled weight decay (default 0.01): p ← p − lr·wd·p, then the Adam step.
 * PyTorch `torch.optim.AdamW`, JAX `optax.adamw`.
 */
export class AdamW extends Adam {
  constructor(params: Tensor[] | ParamGroupSpec<AdamOptions>[], opts: AdamOptions) {
    super(params, opts, 'AdamW');
    this.decoupled = true;
  }
}
