// Adamax, NAdam and RAdam: Adam's relatives, in PyTorch's conventions (L2 weight decay: g ← g + wd·p).
import * as tf from '@tensorflow/tfjs-core';
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
import { movingAverage, withL2Decay } from './update-math.js';
import { nonNegative, checkBetas } from './checks.js';

/** Options of Adamax and RAdam: betas (β₁, β₂) and ε. */
export interface AdamVariantOptions extends Partial<OptimizerOptions> {
  betas?: [number, number];
  eps?: number;
}
type Full<X> = Required<X> & OptimizerOptions;

function resolveCommon(fn: string, o: Partial<AdamVariantOptions>, lr: number): Full<AdamVariantOptions> {
  return {
    lr: checkLR(fn, o.lr ?? lr),
    betas: checkBetas(fn, o.betas ?? [0.9, 0.999]),
    eps: nonNegative(fn, 'eps', o.eps ?? 1e-8),
    weightDecay: nonNegative(fn, 'weightDecay', o.weightDecay ?? 0),
  };
}

/**
 * Adam with the infinity norm: m ← β₁m + (1−β₁)g,  u ← max(β₂u, |g| + ε),
 * p ← p − (lr / (1−β₁ᵗ))·m/u. PyTorch's torch.optim.Adamax (lr 2e-3 by default).
 */
export class Adamax extends Optimizer<Full<AdamVariantOptions>> {
  constructor(params: Tensor[] | ParamGroupSpec<AdamVariantOptions>[], opts: AdamVariantOptions = {}) {
    super('Adamax', params, opts as Full<AdamVariantOptions>);
  }
  protected resolveOptions(fn: string, o: Partial<AdamVariantOptions>): Full<AdamVariantOptions> {
    return resolveCommon(fn, o, 2e-3);
  }
  /** The bias-corrected rate, lr / (1 − β₁ᵗ). */
  protected override stepValues(lr: number, t: number, o: ParamGroup<Full<AdamVariantOptions>>): number[] {
    return [lr / (1 - o.betas[0] ** t)];
  }
  protected override rule(
    { param: p, grad, state, group: o }: StepItem<Full<AdamVariantOptions>>,
    [rate]: (number | tf.Tensor)[],
  ): Update {
    const [b1, b2] = o.betas;
    const g = withL2Decay(p, grad, o.weightDecay);
    const m = movingAverage(state.m, g, b1);
    const gAbs = tf.add(tf.abs(g), o.eps);
    const u = state.u ? tf.maximum(tf.mul(state.u, b2), gAbs) : gAbs;
    return { param: tf.sub(p, tf.mul(tf.div(m, u), rate)), state: { m, u } };
  }
}

/** Options of NAdam: those of Adam and the momentum decay ψ. */
export interface NAdamOptions extends AdamVariantOptions {
  /** ψ in μₜ = β₁(1 − ½·0.96^(tψ)) (default 4e-3). */
  momentumDecay?: number;
}

/**
 * Adam with Nesterov momentum (Dozat): μₜ = β₁(1 − ½·0.96^(tψ)), Πₜ = μ₁⋯μₜ,
 * m and v as Adam's, d = √(v / (1−β₂ᵗ)) + ε,
 * p ← p − lr(1−μₜ)/(1−Πₜ)·g/d − lr·μₜ₊₁/(1−Πₜμₜ₊₁)·m/d. PyTorch's torch.optim.NAdam (lr 2e-3).
 */
export class NAdam extends Optimizer<Full<NAdamOptions>> {
  constructor(params: Tensor[] | ParamGroupSpec<NAdamOptions>[], opts: NAdamOptions = {}) {
    super('NAdam', params, opts as Full<NAdamOptions>);
  }
  protected resolveOptions(fn: string, o: Partial<NAdamOptions>): Full<NAdamOptions> {
    return { ...resolveCommon(fn, o, 2e-3), momentumDecay: nonNegative(fn, 'momentumDecay', o.momentumDecay ?? 4e-3) };
  }
  /**
   * The gradient's and the momentum's rates, lr(1−μₜ)/(1−Πₜ) and lr·μₜ₊₁/(1−Πₜμₜ₊₁), and 1−β₂ᵗ;
   * advances the parameter's Πₜ (scalars.muProduct).
   */
  protected override stepValues(
    lr: number,
    t: number,
    o: ParamGroup<Full<NAdamOptions>>,
    scalars: Record<string, number>,
  ): number[] {
    const [b1, b2] = o.betas;
    const mu = b1 * (1 - 0.5 * 0.96 ** (t * o.momentumDecay));
    const muNext = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * o.momentumDecay));
    const muProduct = (scalars.muProduct ?? 1) * mu;
    scalars.muProduct = muProduct;
    return [(lr * (1 - mu)) / (1 - muProduct), (lr * muNext) / (1 - muProduct * muNext), 1 - b2 ** t];
  }
  protected override rule(
    { param: p, grad, state, group: o }: StepItem<Full<NAdamOptions>>,
    [gradRate, momentumRate, bc2]: (number | tf.Tensor)[],
  ): Update {
    const [b1, b2] = o.betas;
    const g = withL2Decay(p, grad, o.weightDecay);
    const m = movingAverage(state.m, g, b1);
    const v = movingAverage(state.v, tf.square(g), b2);
    const denom = tf.add(tf.sqrt(tf.div(v, bc2)), o.eps);
    const step = tf.add(tf.mul(g, gradRate), tf.mul(m, momentumRate));
    return { param: tf.sub(p, tf.div(step, denom)), state: { m, v } };
  }
}

/**
 * Rectified Adam (Liu et al.): m, v as Adam's; ρ∞ = 2/(1−β₂) − 1, ρₜ = ρ∞ − 2tβ₂ᵗ/(1−β₂ᵗ); while
 * ρₜ ≤ 5, p ← p − lr·m/(1−β₁ᵗ); after, the Adam step scaled by
 * r = √((ρₜ−4)(ρₜ−2)ρ∞ / ((ρ∞−4)(ρ∞−2)ρₜ)). PyTorch's torch.optim.RAdam (lr 1e-3).
 */
export class RAdam extends Optimizer<Full<AdamVariantOptions>> {
  constructor(params: Tensor[] | ParamGroupSpec<AdamVariantOptions>[], opts: AdamVariantOptions = {}) {
    super('RAdam', params, opts as Full<AdamVariantOptions>);
  }
  protected resolveOptions(fn: string, o: Partial<AdamVariantOptions>): Full<AdamVariantOptions> {
    return resolveCommon(fn, o, 1e-3);
  }
  /** Whether step t is rectified (ρₜ > 5): the two forms run different kernels. */
  protected override stepForm(t: number, o: ParamGroup<Full<AdamVariantOptions>>): unknown {
    return rectified(t, o.betas[1]);
  }
  /** lr/(1−β₁ᵗ), lr·r/(1−β₁ᵗ) (0 while ρₜ ≤ 5) and √(1−β₂ᵗ). */
  protected override stepValues(lr: number, t: number, o: ParamGroup<Full<AdamVariantOptions>>): number[] {
    const [b1, b2] = o.betas;
    const bc1 = 1 - b1 ** t;
    const { rho, rhoInf, bc2 } = radamRho(t, b2);
    const rect = rho > 5 ? Math.sqrt(((rho - 4) * (rho - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rho)) : 0;
    return [lr / bc1, (lr * rect) / bc1, Math.sqrt(bc2)];
  }
  protected override rule(
    { param: p, grad, state, group: o, t }: StepItem<Full<AdamVariantOptions>>,
    [rate, rectifiedRate, sqrtBc2]: (number | tf.Tensor)[],
  ): Update {
    const [b1, b2] = o.betas;
    const g = withL2Decay(p, grad, o.weightDecay);
    const m = movingAverage(state.m, g, b1);
    const v = movingAverage(state.v, tf.square(g), b2);
    if (!rectified(t, b2)) return { param: tf.sub(p, tf.mul(m, rate)), state: { m, v } };
    const adaptive = tf.div(sqrtBc2, tf.add(tf.sqrt(v), o.eps));
    return { param: tf.sub(p, tf.mul(tf.mul(m, adaptive), rectifiedRate)), state: { m, v } };
  }
}

/** Whether RAdam's step t is rectified: ρₜ > 5. */
function rectified(t: number, b2: number): boolean {
  return radamRho(t, b2).rho > 5;
}

/** RAdam's ρ∞ = 2/(1−β₂) − 1 and ρₜ = ρ∞ − 2tβ₂ᵗ/(1−β₂ᵗ), with 1 − β₂ᵗ. */
function radamRho(t: number, b2: number): { rho: number; rhoInf: number; bc2: number } {
  const bc2 = 1 - b2 ** t;
  const rhoInf = 2 / (1 - b2) - 1;
  return { rho: rhoInf - (2 * t * b2 ** t) / bc2, rhoInf, bc2 };
}
