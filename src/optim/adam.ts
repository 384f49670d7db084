// Adam and AdamW (Kingma & Ba; Loshchilov & Hutter), in PyTorch's conventions.
import type * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '../tensor.js';
import { checkLR } from './schedules.js';
import {
  Optimizer,
  type OptimizerOptions,
  type ParamGroup,
  type ParamGroupSpec,
  type StepItem,
  type Update,
} from './optimizer.js';
import { nonNegative, checkBetas } from './checks.js';
import { adamStep, adamStepWithRow, adamUpdateMulti, hasFused, packedMoments } from '../backend/fused.js';
import { isTracing } from '../tape.js';

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
  /** One kernel for every parameter where the backend has the multi-tensor kernel (cpu, wasm) and no group uses amsgrad. */
  protected override exactStepValues(): boolean {
    return hasFused('adamMultiUpdate') && !this.paramGroups.some((g) => g.amsgrad);
  }

  protected override stepValues(lr: number, t: number, o: ParamGroup<AdamOptions>): number[] {
    const [beta1, beta2] = o.betas!;
    const bc1 = 1 - beta1 ** t;
    const bc2 = 1 - beta2 ** t;
    if (this.exactStepValues()) return [lr, bc1, bc2];
    return [lr, bc1, bc2, lr / bc1, 1 / Math.sqrt(bc2), 1 - lr * o.weightDecay!];
  }

  protected override updateAll(items: StepItem<AdamOptions>[], values: () => tf.Tensor): Update[] {
    if (this.exactStepValues()) {
      // zeros on the first step; state made in another form (m and v apart, or webgl's corrected) converted
      const moments = items.map((it) => packedMoments(it.param, it.state, this.attrs(it.lr, it.t, it.group)));
      const g = items.map((it) => it.group);
      const out = adamUpdateMulti(
        items.map((it) => it.param),
        items.map((it) => it.grad),
        moments,
        values(),
        {
          decoupled: this.decoupled,
          beta1: g.map((o) => o.betas![0]),
          beta2: g.map((o) => o.betas![1]),
          eps: g.map((o) => o.eps!),
          weightDecay: g.map((o) => o.weightDecay!),
        },
      );
      return items.map((_, i) => ({ param: out.params[i], state: { moments: out.moments[i] } }));
    }
    // the fused kernel where the backend has one (not for amsgrad), else its reference (kernels/adam-update.ts)
    if (!isTracing())
      return items.map((it) => {
        const out = adamStep(it.param, it.grad, it.state, this.attrs(it.lr, it.t, it.group));
        return { param: out.param, state: out.state as Record<string, tf.Tensor> };
      });
    // traced: the step's numbers from values() (a row per parameter), fed afresh at each replay
    const rows = values();
    return items.map((it, i) => {
      const out = adamStepWithRow(it.param, it.grad, it.state, rows, i, this.attrs(it.lr, it.t, it.group));
      return { param: out.param, state: out.state as Record<string, tf.Tensor> };
    });
  }

  private attrs(lr: number, t: number, o: ParamGroup<AdamOptions>) {
    const [beta1, beta2] = o.betas!;
    return {
      lr,
      beta1,
      beta2,
      eps: o.eps!,
      weightDecay: o.weightDecay!,
      decoupled: this.decoupled,
      step: t,
      amsgrad: o.amsgrad!,
    };
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
