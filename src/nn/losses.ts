// Losses, all reducing by mean unless told ({ reduction: 'sum' | 'none' }), as PyTorch.
// crossEntropy, mseLoss and l1Loss live with the ops (ops/nn.ts); huber and logistic losses here.
import * as tf from '@tensorflow/tfjs-core';
import { TapegradError, checkOptions, fmtShape, normalizeAxis } from '../errors.js';
import { Tensor } from '../tensor.js';
import { asTensor, owning } from '../op.js';
import {
  sub,
  mul,
  div,
  add,
  neg,
  abs,
  clip,
  softplus,
  log,
  exp,
  sqrt,
  relu,
  maximum,
  minimum,
  where,
  greater,
} from '../ops/elementwise.js';
import { sum, norm } from '../ops/reduce.js';
import { broadcastShapes, broadcastTo } from '../ops/shape.js';
import { checkSameShape, reduceLoss, type Reduction } from '../ops/nn.js';

export { crossEntropy, mseLoss, l1Loss, type CrossEntropyOptions, type Reduction } from '../ops/nn.js';

/**
 * Huber loss: ½d² where |d| ≤ δ, δ(|d| − ½δ) beyond, with d = input − target (δ = 1 by default).
 * Written as c·(d − ½c) with c = clip(d, −δ, δ), whose gradient is c: d inside, ±δ outside.
 * PyTorch `torch.nn.functional.huber_loss`, JAX `optax.huber_loss`.
 */
export function huberLoss(input: Tensor, target: Tensor, opts: { delta?: number; reduction?: Reduction } = {}): Tensor {
  checkOptions('huberLoss', opts, ['delta', 'reduction']);
  const x = asTensor('huberLoss', input, 'the input');
  const t = asTensor('huberLoss', target, 'the target');
  checkSameShape('huberLoss', x, t);
  const delta = opts.delta ?? 1;
  if (!(delta > 0)) throw new TapegradError('huberLoss', `delta must be positive, got ${delta}`);
  const d = sub(x, t);
  const c = clip(d, -delta, delta);
  const half = mul(c, 0.5);
  const rest = sub(d, half);
  return reduceLoss('huberLoss', mul(c, rest), opts.reduction ?? 'mean', [d, c, half, rest]);
}

/**
 * Binary cross-entropy of logits z against targets t ∈ [0, 1]: −t log σ(z) − (1−t) log(1−σ(z)),
 * computed stably as softplus(z) − t·z (TF.js's softplus does not overflow); its gradient σ(z) − t
 * is exact everywhere, z = 0 included.
 * PyTorch `torch.nn.functional.binary_cross_entropy_with_logits`, JAX `optax.sigmoid_binary_cross_entropy`.
 */
export function binaryCrossEntropyWithLogits(
  logits: Tensor,
  target: Tensor,
  opts: { reduction?: Reduction } = {},
): Tensor {
  checkOptions('binaryCrossEntropyWithLogits', opts, ['reduction']);
  const z = asTensor('binaryCrossEntropyWithLogits', logits, 'the logits');
  const t = asTensor('binaryCrossEntropyWithLogits', target, 'the target');
  checkSameShape('binaryCrossEntropyWithLogits', z, t);
  if (t.dtype !== 'float32')
    throw new TapegradError('binaryCrossEntropyWithLogits', `targets must be float32 in [0, 1], got ${t.dtype}`);
  const sp = softplus(z);
  const tz = mul(t, z);
  return reduceLoss('binaryCrossEntropyWithLogits', sub(sp, tz), opts.reduction ?? 'mean', [sp, tz]);
}

/** Collects a loss's intermediates, so that the result owns (and frees) them. */
function scope(): [<T extends Tensor>(t: T) => T, Tensor[]] {
  const hidden: Tensor[] = [];
  return [(t) => (hidden.push(t), t), hidden];
}

function checkReduction(fn: string, reduction: Reduction | undefined): Reduction {
  const r = reduction ?? 'mean';
  if (r !== 'mean' && r !== 'sum' && r !== 'none')
    throw new TapegradError(fn, `reduction must be 'mean', 'sum' or 'none', got '${r}'`);
  return r;
}

function floatInput(fn: string, x: Tensor, what: string): Tensor {
  const t = asTensor(fn, x, what);
  if (t.dtype !== 'float32') throw new TapegradError(fn, `${what} must be float32, got ${t.dtype}`);
  return t;
}

/** Options of nllLoss. */
export interface NllLossOptions {
  /** A weight per class, [C] (a constant: no gradient flows to it). */
  weight?: Tensor;
  /** A target equal to it adds nothing to the loss nor to the mean's denominator; −100 by default. */
  ignoreIndex?: number;
  reduction?: Reduction;
}
/**
 * Negative log-likelihood of log-probabilities [..., C] (class axis last, as crossEntropy) at class
 * indices [...] (int32): ℓₙ = −w[yₙ]·x[n, yₙ]; 'mean' divides Σℓₙ by Σw[yₙ] over the targets not ignored.
 * PyTorch `torch.nn.functional.nll_loss` (which puts the class axis second).
 */
export function nllLoss(logProbs: Tensor, targets: Tensor, opts: NllLossOptions = {}): Tensor {
  checkOptions('nllLoss', opts, ['weight', 'ignoreIndex', 'reduction']);
  const fn = 'nllLoss';
  const x = floatInput(fn, logProbs, 'the log-probabilities');
  const y = asTensor(fn, targets, 'the targets');
  if (x.rank < 1 || y.rank !== x.rank - 1 || y.shape.join() !== x.shape.slice(0, -1).join())
    throw new TapegradError(
      fn,
      `targets of shape ${fmtShape(y.shape)} do not fit log-probabilities ${fmtShape(x.shape)}: expected ${fmtShape(x.shape.slice(0, -1))}`,
    );
  if (y.dtype !== 'int32') throw new TapegradError(fn, `targets must be int32 class indices, got ${y.dtype}`);
  const reduction = checkReduction(fn, opts.reduction);
  const C = x.shape[x.rank - 1];
  const ignore = opts.ignoreIndex ?? -100;
  let w: Float32Array | null = null;
  if (opts.weight !== undefined) {
    const wt = asTensor(fn, opts.weight, 'the weight');
    if (wt.rank !== 1 || wt.shape[0] !== C)
      throw new TapegradError(fn, `weight must have shape [${C}] (one per class), got ${fmtShape(wt.shape)}`);
    w = Float32Array.from(wt.value.dataSync());
  }
  const ys = y.value.dataSync();
  // the picked, weighted entries as a constant mask M: ℓ = −Σ_c M ∘ x, whose gradient is −M
  const mask = new Float32Array(ys.length * C);
  let total = 0;
  for (let n = 0; n < ys.length; n++) {
    const c = ys[n];
    if (c === ignore) continue;
    if (!(c >= 0 && c < C)) throw new TapegradError(fn, `class index ${c} at position ${n} is out of range [0, ${C})`);
    const wc = w ? w[c] : 1;
    mask[n * C + c] = wc;
    total += wc;
  }
  const [k, hidden] = scope();
  const M = k(new Tensor(tf.tensor(mask, x.shape)));
  const picked = k(mul(x, M));
  const losses = neg(k(sum(picked, { axis: -1 })));
  if (reduction === 'none') return owning(losses, hidden);
  if (reduction === 'sum') return owning(sum(losses), [...hidden, losses]);
  const s = k(sum(losses));
  // Σw = 0 (every target ignored): the mean 0/0 is NaN, as PyTorch; made explicit, since WebGL's
  // division gives 1 for a/a
  return owning(div(s, total === 0 ? Number.NaN : total), [...hidden, losses]);
}

/**
 * Binary cross-entropy of probabilities p ∈ [0, 1] against targets t: ℓ = −w·(t log p + (1−t) log(1−p)),
 * each log clamped at −100 as PyTorch does, so that p = 0 or 1 gives a finite loss.
 * PyTorch `torch.nn.functional.binary_cross_entropy`.
 */
export function binaryCrossEntropy(
  probs: Tensor,
  targets: Tensor,
  opts: { weight?: Tensor; reduction?: Reduction } = {},
): Tensor {
  const fn = 'binaryCrossEntropy';
  checkOptions(fn, opts, ['weight', 'reduction']);
  const p = floatInput(fn, probs, 'the probabilities');
  const t = floatInput(fn, targets, 'the targets');
  checkSameShape(fn, p, t);
  const w = opts.weight === undefined ? undefined : asTensor(fn, opts.weight, 'the weight');
  const reduction = checkReduction(fn, opts.reduction);
  if (w && broadcastShapes(fn, w.shape, p.shape).join() !== p.shape.join())
    throw new TapegradError(fn, `weight ${fmtShape(w.shape)} does not broadcast to the input ${fmtShape(p.shape)}`);
  const pv = p.value.dataSync();
  const bad = pv.findIndex((v) => !(v >= 0 && v <= 1));
  if (bad >= 0) throw new TapegradError(fn, `probabilities must lie in [0, 1], got ${pv[bad]} at position ${bad}`);
  const [k, hidden] = scope();
  const logP = k(maximum(k(log(p)), -100));
  const log1mP = k(maximum(k(log(k(sub(1, p)))), -100));
  // t log p + (1−t) log(1−p) = t (log p − log(1−p)) + log(1−p)
  const ll = k(add(k(mul(t, k(sub(logP, log1mP)))), log1mP));
  const losses = w ? mul(k(neg(ll)), w) : neg(ll);
  return reduceLoss(fn, losses, reduction, hidden);
}

/**
 * Kullback–Leibler divergence of the target from the input, the input being log-probabilities:
 * ℓ = t (log t − x), or with logTarget eᵗ (t − x); 0 where t = 0. 'batchmean' (Σℓ / the first size) is
 * the true KL divergence per sample; 'mean' (the default, as PyTorch) divides by every entry.
 * PyTorch `torch.nn.functional.kl_div`.
 */
export function klDiv(
  input: Tensor,
  target: Tensor,
  opts: { logTarget?: boolean; reduction?: 'batchmean' | Reduction } = {},
): Tensor {
  const fn = 'klDiv';
  checkOptions(fn, opts, ['logTarget', 'reduction']);
  const x = floatInput(fn, input, 'the input');
  const t = floatInput(fn, target, 'the target');
  checkSameShape(fn, x, t);
  const reduction = opts.reduction ?? 'mean';
  if (!['batchmean', 'mean', 'sum', 'none'].includes(reduction))
    throw new TapegradError(fn, `reduction must be 'batchmean', 'mean', 'sum' or 'none', got '${reduction}'`);
  const [k, hidden] = scope();
  let losses: Tensor;
  if (opts.logTarget) losses = mul(k(exp(t)), k(sub(t, x)));
  else {
    // log of 1 where t = 0, so that t log t is 0 there, with a finite gradient
    const safe = k(where(k(greater(t, 0)), t, 1));
    losses = mul(t, k(sub(k(log(safe)), x)));
  }
  if (reduction !== 'batchmean') return reduceLoss(fn, losses, reduction as Reduction, hidden);
  const s = sum(losses);
  return owning(div(s, x.rank === 0 ? 1 : x.shape[0]), [...hidden, losses, s]);
}

/**
 * Smooth L1 loss with d = x − y: ½d²/β where |d| < β, |d| − ½β beyond (β = 1 by default; β = 0 is L1).
 * Written as c·(d − ½c)/β with c = clip(d, −β, β). It is huberLoss divided by β.
 * PyTorch `torch.nn.functional.smooth_l1_loss`.
 */
export function smoothL1Loss(
  input: Tensor,
  target: Tensor,
  opts: { beta?: number; reduction?: Reduction } = {},
): Tensor {
  const fn = 'smoothL1Loss';
  checkOptions(fn, opts, ['beta', 'reduction']);
  const x = asTensor(fn, input, 'the input');
  const t = asTensor(fn, target, 'the target');
  checkSameShape(fn, x, t);
  const reduction = checkReduction(fn, opts.reduction);
  const beta = opts.beta ?? 1;
  if (!(beta >= 0)) throw new TapegradError(fn, `beta must be non-negative, got ${beta}`);
  const [k, hidden] = scope();
  const d = k(sub(x, t));
  if (beta === 0) return reduceLoss(fn, abs(d), reduction, hidden);
  const c = k(clip(d, -beta, beta));
  const losses = div(k(mul(c, k(sub(d, k(mul(c, 0.5)))))), beta);
  return reduceLoss(fn, losses, reduction, hidden);
}

/**
 * Cosine similarity along an axis (1 by default, as PyTorch): a·b / √max(‖a‖²‖b‖², ε²), ε = 1e-8;
 * a and b broadcast.
 * PyTorch `torch.nn.functional.cosine_similarity`.
 */
export function cosineSimilarity(a: Tensor, b: Tensor, opts: { axis?: number; eps?: number } = {}): Tensor {
  checkOptions('cosineSimilarity', opts, ['axis', 'eps']);
  const fn = 'cosineSimilarity';
  const a0 = floatInput(fn, a, 'the first input');
  const b0 = floatInput(fn, b, 'the second input');
  const shape = broadcastShapes(fn, a0.shape, b0.shape);
  const axis = normalizeAxis(fn, opts.axis ?? 1, shape.length);
  const eps = opts.eps ?? 1e-8;
  if (!(eps >= 0)) throw new TapegradError(fn, `eps must be non-negative, got ${eps}`);
  const [k, hidden] = scope();
  // each norm is over the broadcast shape, as PyTorch
  const x = a0.shape.join() === shape.join() && a0.rank === shape.length ? a0 : k(broadcastTo(a0, shape));
  const y = b0.shape.join() === shape.join() && b0.rank === shape.length ? b0 : k(broadcastTo(b0, shape));
  const dot = k(sum(k(mul(x, y)), { axis }));
  const xx = k(sum(k(mul(x, x)), { axis }));
  const yy = k(sum(k(mul(y, y)), { axis }));
  const denom = k(sqrt(k(maximum(k(mul(xx, yy)), eps * eps))));
  return owning(div(dot, denom), hidden);
}

/**
 * Margin ranking loss for y = ±1 (x1 should rank above x2 where y = 1): ℓ = max(0, −y(x1 − x2) + margin).
 * PyTorch `torch.nn.functional.margin_ranking_loss`.
 */
export function marginRankingLoss(
  input1: Tensor,
  input2: Tensor,
  target: Tensor,
  opts: { margin?: number; reduction?: Reduction } = {},
): Tensor {
  const fn = 'marginRankingLoss';
  checkOptions(fn, opts, ['margin', 'reduction']);
  const x1 = floatInput(fn, input1, 'the first input');
  const x2 = floatInput(fn, input2, 'the second input');
  const y = floatInput(fn, target, 'the target');
  if (
    x1.shape.join() !== x2.shape.join() ||
    x1.shape.join() !== y.shape.join() ||
    x1.rank !== x2.rank ||
    x1.rank !== y.rank
  )
    throw new TapegradError(
      fn,
      `inputs ${fmtShape(x1.shape)}, ${fmtShape(x2.shape)} and target ${fmtShape(y.shape)} differ in shape`,
    );
  const reduction = checkReduction(fn, opts.reduction);
  const margin = opts.margin ?? 0;
  const [k, hidden] = scope();
  const losses = relu(k(sub(margin, k(mul(y, k(sub(x1, x2)))))));
  return reduceLoss(fn, losses, reduction, hidden);
}

/** Options of tripletMarginLoss. */
export interface TripletMarginLossOptions {
  /** 1 by default. */
  margin?: number;
  /** The norm of the distance, 2 by default (p ≥ 1). */
  p?: number;
  /** Added to each difference before its norm, so that the norm is differentiable at 0; 1e-6 by default. */
  eps?: number;
  /** Use the smaller of d(a, n) and d(p, n) as the negative distance (Balntas et al.). */
  swap?: boolean;
  reduction?: Reduction;
}
/**
 * Triplet margin loss over the last axis: ℓ = max(d(a, p) − d(a, n) + margin, 0) with
 * d(u, v) = ‖u − v + ε‖ₚ.
 * PyTorch `torch.nn.functional.triplet_margin_loss`.
 */
export function tripletMarginLoss(
  anchor: Tensor,
  positive: Tensor,
  negative: Tensor,
  opts: TripletMarginLossOptions = {},
): Tensor {
  const fn = 'tripletMarginLoss';
  checkOptions(fn, opts, ['margin', 'p', 'eps', 'swap', 'reduction']);
  const a = floatInput(fn, anchor, 'the anchor');
  const p = floatInput(fn, positive, 'the positive');
  const n = floatInput(fn, negative, 'the negative');
  if (
    a.rank < 1 ||
    a.rank > 2 ||
    a.shape.join() !== p.shape.join() ||
    a.shape.join() !== n.shape.join() ||
    a.rank !== p.rank ||
    a.rank !== n.rank
  )
    throw new TapegradError(
      fn,
      `anchor ${fmtShape(a.shape)}, positive ${fmtShape(p.shape)} and negative ${fmtShape(n.shape)} must share one shape, [D] or [N, D]`,
    );
  const ord = opts.p ?? 2;
  if (!(ord >= 1)) throw new TapegradError(fn, `p must be ≥ 1, got ${ord}`);
  const eps = opts.eps ?? 1e-6;
  const margin = opts.margin ?? 1;
  const reduction = checkReduction(fn, opts.reduction);
  const [k, hidden] = scope();
  const dist = (u: Tensor, v: Tensor) => k(norm(k(add(k(sub(u, v)), eps)), { axis: -1, ord }));
  const dPos = dist(a, p);
  let dNeg = dist(a, n);
  if (opts.swap) dNeg = k(minimum(dNeg, dist(p, n)));
  const losses = relu(k(add(k(sub(dPos, dNeg)), margin)));
  return reduceLoss(fn, losses, reduction, hidden);
}
