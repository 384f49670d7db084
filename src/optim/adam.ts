// Adam and AdamW (Kingma & Ba; Loshchilov & Hutter), in PyTorch's conventions.
import type * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '../tensor.js';
import { checkLR } from './schedules.js';
import {
  Optimizer,
  nonNegative,
  checkBetas,
  type OptimizerOptions,
  type ParamGroup,
  type ParamGroupSpec,
  type Update,
} from './optimizer.js';
import { adamStep } from '../backend/fused.js';

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
  protected update(
    p0: tf.Tensor,
    grad: tf.Tensor,
    state: Record<string, tf.Tensor>,
    lr: number,
    t: number,
    o: ParamGroup<AdamOptions>,
  ): Update {
    // the fused kernel where the backend has one (not for amsgrad), else its reference (kernels/adam-update.ts)
    const [beta1, beta2] = o.betas!;
    const attrs = {
      lr,
      beta1,
      beta2,
      eps: o.eps!,
      weightDecay: o.weightDecay!,
      decoupled: this.decoupled,
      step: t,
      amsgrad: o.amsgrad!,
    };
    const out = adamStep(p0, grad, state, attrs);
    return { param: out.param, state: out.state as Record<string, tf.Tensor> };
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
