// The ops of a classifier's last layer: softmax, logSoftmax, crossEntropy, and mseLoss; and batch
// normalisation with batch statistics, BatchNorm's training forward as one op.
import * as tf from '@tensorflow/tfjs-core';
import { defineOp, asTensor, owning } from '../op.js';
import { TapegradError, checkOptions, fmtShape, normalizeAxis } from '../errors.js';
import { Tensor } from '../tensor.js';
import { add, sub, mul, div, exp, square, abs, rsqrt } from './elementwise.js';
import { sum, mean } from './reduce.js';
import { reshape, transpose, stack, unbind } from './shape.js';
import { matmul } from './matrix.js';
import { indexValues } from './indices.js';
import { isGradEnabled } from '../tape.js';
import {
  batchNorm as batchNormFused,
  batchNormGrad,
  hasFused,
  layerNorm as layerNormFused,
  layerNormGrad,
  oneHotRows,
  scaledSoftmax as scaledSoftmaxKernel,
  selfAttention as selfAttentionKernel,
  selfAttentionGrad,
  softmaxGrad,
  softmaxCrossEntropyLoss,
  softmaxCrossEntropyGrad,
} from '../backend/fused.js';

/** How a loss reduces over the batch: 'mean' (the default), 'sum' or 'none'. */
export type Reduction = 'mean' | 'sum' | 'none';

const softmaxOp = defineOp<{ axis: number; scale?: number; causal?: boolean }>({
  name: 'softmax',
  // scale and causal (attention's weights, scaledSoftmax below): softmax(scale·x + M) along the last axis
  forward: ([x], { axis, scale = 1, causal = false }) =>
    scale !== 1 || causal
      ? scaledSoftmaxKernel(x, scale, causal)
      : axis === x.rank - 1
        ? tf.softmax(x)
        : tf.tidy(() => tf.exp(tf.sub(x, tf.logSumExp(x, axis, true)))),
  // ∂y/∂x = (diag(y) − y yᵀ)·scale, so x̄ = scale · y ∘ (g − Σ g∘y) (0 where M is −∞, as y is)
  vjp: (g, _x, y, { axis, scale = 1 }) => [
    () => {
      // one kernel on cpu and wasm along the last axis, when the backward is not recorded
      const d =
        !isGradEnabled() && axis === y.rank - 1 && hasFused('softmaxGrad')
          ? new Tensor(softmaxGrad(g.value, y.value))
          : mul(y, sub(g, sum(mul(g, y), { axis, keepDims: true })));
      return scale === 1 ? d : mul(d, scale);
    },
  ],
});
/** TF.js's softmax refuses int32 and bool in its own words, and its log-softmax gives wrong values for them. */
function floatOnly(fn: string, t: Tensor): void {
  if (t.dtype !== 'float32')
    throw new TapegradError(fn, `the input must be float32, got ${t.dtype} (cast it with tg.cast(x, 'float32'))`);
}
/** e^x / Σ e^x along `axis` (last by default). PyTorch `torch.softmax`, JAX `jax.nn.softmax`. */
export function softmax(x: Tensor, axis = -1): Tensor {
  const t = asTensor('softmax', x);
  floatOnly('softmax', t);
  return softmaxOp([t], { axis: normalizeAxis('softmax', axis, t.rank) });
}
softmax.rule = softmaxOp.rule;

/**
 * softmax(scale·x + M) along the last axis, M the causal mask of the last two axes [L, S] (0 where
 * key j ≤ query i, −∞ after) when `causal`, else 0: attention's weights as one op (the softmax op,
 * its adjoint scaled), one pass on cpu and wasm. scale must be a finite number > 0.
 */
export function scaledSoftmax(x: Tensor, scale: number, causal: boolean): Tensor {
  const t = asTensor('scaledSoftmax', x);
  if (!(Number.isFinite(scale) && scale > 0))
    throw new TapegradError('scaledSoftmax', `scale must be a finite number > 0, got ${scale}`);
  if (t.rank < (causal ? 2 : 1) || t.dtype !== 'float32')
    throw new TapegradError(
      'scaledSoftmax',
      `expected float32 scores [..., L, S]${causal ? '' : ' or [S]'}, got ${t.dtype} ${fmtShape(t.shape)}`,
    );
  return softmaxOp([t], { axis: t.rank - 1, scale, causal });
}

const logSoftmaxOp = defineOp<{ axis: number }>({
  name: 'logSoftmax',
  forward: ([x], { axis }) => tf.tidy(() => tf.sub(x, tf.logSumExp(x, axis, true))),
  // y = x − log Σ eˣ: x̄ = g − softmax(x) Σ g, and softmax(x) = eʸ
  vjp: (g, _x, y, { axis }) => [() => sub(g, mul(exp(y), sum(g, { axis, keepDims: true })))],
});
/**
 * x − log Σ eˣ along `axis` (last by default), computed stably.
 * PyTorch `torch.log_softmax`, JAX `jax.nn.log_softmax`.
 */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  const t = asTensor('logSoftmax', x);
  floatOnly('logSoftmax', t);
  return logSoftmaxOp([t], { axis: normalizeAxis('logSoftmax', axis, t.rank) });
}
logSoftmax.rule = logSoftmaxOp.rule;

// Per-row cross-entropy of logits z against target distributions t over the last axis:
// ℓ = −Σ t log softmax(z) = (Σt)·logΣe^z − Σ t z.
const softmaxCrossEntropyOp = defineOp<void>({
  name: 'softmaxCrossEntropy',
  // On webgl and webgpu, one fused pass forward and one backward (kernels/softmax-cross-entropy.ts).
  forward: ([z, t]) => softmaxCrossEntropyLoss(z, t),
  // z̄ = g (softmax(z)·Σt − t);  t̄ = −g log softmax(z)
  vjp: (g, [z, t]) => {
    const ge = () => reshape(g, [...g.shape, 1]);
    return [
      () =>
        !isGradEnabled() && hasFused('softmaxCrossEntropy')
          ? mul(ge(), new Tensor(softmaxCrossEntropyGrad(z.value, t.value)))
          : mul(ge(), sub(mul(softmax(z), sum(t, { axis: -1, keepDims: true })), t)),
      () => mul(ge(), mul(logSoftmax(z), -1)),
    ];
  },
});

// The same against class indices y (int32, the logits' shape without the class axis), t the
// one-hot rows of y, never built on webgl and webgpu: ℓ_r = logΣe^{z_r} − z_{r,y_r}, reduced in the
// op ('mean', 'sum') or kept per row ('none'), so that its gradient is one fused GPU pass.
const sparseSoftmaxCrossEntropyOp = defineOp<{ reduction: Reduction }>({
  name: 'sparseSoftmaxCrossEntropy',
  forward: ([z, y], { reduction }) =>
    tf.tidy(() => {
      const rows = softmaxCrossEntropyLoss(z, y); // the fused kernel, or the composed ops
      // the mean over no samples is NaN, as PyTorch's (TF.js's mean of nothing is 0)
      if (reduction === 'mean') return rows.size === 0 ? tf.scalar(Number.NaN) : tf.mean(rows);
      return reduction === 'sum' ? tf.sum(rows) : rows;
    }),
  // z̄ = s·g·(softmax(z) − onehot(y)), s = 1/rows for a mean; the indices have no gradient
  vjp: (g, [z, y], _l, { reduction }) => [
    () => {
      const scale = reduction === 'mean' ? 1 / Math.max(1, y.size) : 1;
      if (!isGradEnabled() && hasFused('softmaxCrossEntropy'))
        return new Tensor(softmaxCrossEntropyGrad(z.value, y.value, { upstream: g.value, scale }));
      const d = mul(
        reduction === 'none' ? reshape(g, [...g.shape, 1]) : g,
        sub(softmax(z), new Tensor(oneHotRows(y.value, z.shape[z.rank - 1]))),
      );
      return scale === 1 ? d : mul(d, scale);
    },
    null,
  ],
});
function checkReduction(fn: string, reduction: Reduction): Reduction {
  if (reduction !== 'mean' && reduction !== 'sum' && reduction !== 'none')
    throw new TapegradError(fn, `reduction must be 'mean', 'sum' or 'none', got '${reduction}'`);
  return reduction;
}
/** The losses reduced; the losses and `hidden` (their intermediates) are freed when the reduction is refused. */
function reduce(fn: string, losses: Tensor, reduction: Reduction, hidden: Tensor[]): Tensor {
  if (reduction !== 'mean' && reduction !== 'sum' && reduction !== 'none') {
    for (const h of [...hidden, losses]) h.dispose();
    checkReduction(fn, reduction);
  }
  if (reduction === 'none') return owning(losses, hidden);
  return owning(reduction === 'mean' ? mean(losses) : sum(losses), [...hidden, losses]);
}

/** Options of crossEntropy: reduction, label smoothing, class weights, an ignored index and the class axis. */
export interface CrossEntropyOptions {
  reduction?: Reduction;
  /** PyTorch's label_smoothing: the target becomes (1 − ε)·target + ε/C. */
  labelSmoothing?: number;
  /** A weight per class, [C] (a constant: no gradient flows to it); with class indices, 'mean' divides by Σ w[yₙ], as PyTorch. */
  weight?: Tensor;
  /** Class-index targets equal to it add nothing to the loss nor to the mean's denominator (−100 by default, as PyTorch). */
  ignoreIndex?: number;
  /**
   * The logits' class axis: the last by default (channels last, as the rest of tapegrad). PyTorch's
   * is axis 1 ([N, C, d1, …]); give classAxis: 1 for logits laid out that way.
   */
  classAxis?: number;
}
/**
 * Cross-entropy of logits [..., C] against class indices (int32, shape [...]) or class
 * probabilities (float32, shape [..., C]); the mean over samples by default. The class axis is the
 * last unless classAxis says otherwise (PyTorch's is axis 1).
 * PyTorch `torch.nn.functional.cross_entropy`, JAX `optax.softmax_cross_entropy`.
 */
export function crossEntropy(logits: Tensor, labels: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  checkOptions('crossEntropy', opts, ['reduction', 'labelSmoothing', 'weight', 'ignoreIndex', 'classAxis']);
  const z = asTensor('crossEntropy', logits, 'the logits');
  const y = asTensor('crossEntropy', labels, 'the labels');
  if (z.rank < 1 || z.dtype !== 'float32')
    throw new TapegradError(
      'crossEntropy',
      `logits must be float32 of shape [..., C], got ${z.dtype} ${fmtShape(z.shape)}`,
    );
  if (opts.classAxis === undefined) return crossEntropyLast(z, y, opts);
  const axis = normalizeAxis('crossEntropy', opts.classAxis, z.rank);
  if (axis === z.rank - 1) return crossEntropyLast(z, y, opts);
  const probabilities = y.rank === z.rank;
  const expected = probabilities ? z.shape : z.shape.filter((_, i) => i !== axis);
  if (y.shape.join() !== expected.join())
    throw new TapegradError(
      'crossEntropy',
      `labels of shape ${fmtShape(y.shape)} fit neither class indices ${fmtShape(z.shape.filter((_, i) => i !== axis))} nor probabilities ${fmtShape(z.shape)} for logits ${fmtShape(z.shape)} with classAxis ${opts.classAxis}`,
    );
  // the class axis moved last: [N, C, d1, …] → [N, d1, …, C]
  const perm = [...z.shape.keys()].filter((i) => i !== axis).concat(axis);
  const hidden = [transpose(z, perm)];
  if (probabilities) hidden.push(transpose(y, perm));
  let out: Tensor;
  try {
    out = crossEntropyLast(hidden[0], probabilities ? hidden[1] : y, { ...opts, classAxis: undefined });
  } catch (e) {
    hidden.forEach((t) => t.dispose());
    throw e;
  }
  return owning(out, hidden);
}

function crossEntropyLast(z: Tensor, y: Tensor, opts: CrossEntropyOptions): Tensor {
  const C = z.shape[z.rank - 1];
  if (C === 0)
    throw new TapegradError('crossEntropy', `logits need at least one class, got shape ${fmtShape(z.shape)}`);
  const eps = opts.labelSmoothing ?? 0;
  if (!(eps >= 0 && eps <= 1)) throw new TapegradError('crossEntropy', `labelSmoothing must be in [0, 1], got ${eps}`);
  const reduction = checkReduction('crossEntropy', opts.reduction ?? 'mean');
  let weight: Tensor | null = null;
  if (opts.weight !== undefined) {
    weight = asTensor('crossEntropy', opts.weight, 'the weight');
    if (weight.rank !== 1 || weight.shape[0] !== C || weight.dtype !== 'float32')
      throw new TapegradError(
        'crossEntropy',
        `weight must be float32 of shape [${C}] (one per class), got ${weight.dtype} ${fmtShape(weight.shape)}`,
      );
  }
  const ignore = opts.ignoreIndex ?? -100;
  if (!Number.isInteger(ignore))
    throw new TapegradError('crossEntropy', `ignoreIndex must be an integer, got ${JSON.stringify(opts.ignoreIndex)}`);
  const hidden: Tensor[] = [];
  let target: Tensor;
  if (y.shape.join() === z.shape.join() && y.rank === z.rank) {
    if (y.dtype !== 'float32')
      throw new TapegradError('crossEntropy', `probability labels must be float32, got ${y.dtype}`);
    if (opts.ignoreIndex !== undefined)
      throw new TapegradError('crossEntropy', 'ignoreIndex applies to class-index labels only, not to probabilities');
    target = y;
  } else {
    if (y.shape.join() !== z.shape.slice(0, -1).join() || y.rank !== z.rank - 1) {
      throw new TapegradError(
        'crossEntropy',
        `labels of shape ${fmtShape(y.shape)} fit neither class indices ${fmtShape(z.shape.slice(0, -1))} nor probabilities ${fmtShape(z.shape)} for logits ${fmtShape(z.shape)}`,
      );
    }
    if (y.dtype !== 'int32')
      throw new TapegradError('crossEntropy', `class-index labels must be int32, got ${y.dtype}`);
    const values = indexValues(y.value);
    const bad = values ? values.findIndex((v) => v !== ignore && (v < 0 || v >= C)) : -1;
    if (values && bad >= 0)
      throw new TapegradError(
        'crossEntropy',
        `class index ${values[bad]} at position ${bad} is out of range [0, ${C})`,
      );
    const ignored = opts.ignoreIndex !== undefined || (values ? values.includes(ignore) : false);
    if (weight || ignored) return weightedCrossEntropy(z, y, weight, ignore, eps, reduction);
    if (eps === 0) return sparseSoftmaxCrossEntropyOp([z, y], { reduction });
    target = new Tensor(oneHotRows(y.value, C));
    hidden.push(target);
  }
  if (eps > 0) {
    const scaled = mul(target, 1 - eps);
    const smoothed = add(scaled, eps / C);
    hidden.push(scaled, smoothed);
    target = smoothed;
  }
  if (weight) {
    // −Σ_c w_c t_c log softmax(z)_c; the mean is over samples, as PyTorch's for probabilities
    target = mul(target, weight);
    hidden.push(target);
  }
  return reduce('crossEntropy', softmaxCrossEntropyOp([z, target]), reduction, hidden);
}

/**
 * Class-index cross-entropy with class weights w (ones if none) and an ignored index, as PyTorch:
 * ℓₙ = −Σ_c Mₙc log softmax(zₙ)_c with Mₙc = (1 − ε)·w[yₙ]·[c = yₙ] + (ε/C)·w_c, Mₙ = 0 where yₙ is
 * ignored; 'mean' divides Σℓₙ by Σ w[yₙ] over the targets not ignored (NaN if there are none).
 * M is a constant built with TF.js ops, so the labels are never read back from a GPU.
 */
function weightedCrossEntropy(
  z: Tensor,
  y: Tensor,
  weight: Tensor | null,
  ignore: number,
  eps: number,
  reduction: Reduction,
): Tensor {
  const C = z.shape[z.rank - 1];
  const [M, denominator] = tf.tidy(() => {
    const valid = tf.notEqual(y.value, tf.scalar(ignore, 'int32'));
    const validF = tf.expandDims(tf.cast(valid, 'float32'), -1);
    const safe = tf.where(valid, y.value, tf.zerosLike(y.value));
    const onehot = tf.mul(tf.reshape(tf.oneHot(tf.reshape(safe, [-1]), C), z.shape), validF);
    const w = weight ? weight.value : tf.ones([C]);
    const picked = tf.sum(tf.mul(onehot, w), -1, true); // w[yₙ], 0 where ignored
    let m = tf.mul(onehot, tf.mul(picked, 1 - eps));
    if (eps > 0) m = tf.add(m, tf.mul(tf.mul(w, eps / C), validF));
    const total = tf.sum(picked);
    // 0/0 made NaN explicitly: WebGL's division gives 1 for a/a
    return [m, tf.where(tf.equal(total, 0), tf.scalar(Number.NaN), total)];
  });
  const hidden = [new Tensor(M), new Tensor(denominator)];
  const lp = logSoftmax(z);
  const picked = mul(lp, hidden[0]);
  const rows = sum(picked, { axis: -1 });
  hidden.push(lp, picked);
  const losses = mul(rows, -1);
  hidden.push(rows);
  if (reduction === 'none') return owning(losses, hidden);
  const total = sum(losses);
  hidden.push(losses);
  if (reduction === 'sum') return owning(total, hidden);
  hidden.push(total);
  return owning(div(total, hidden[1]), hidden);
}

/** A loss's input and target: the same shape, and numbers (a bool one would be refused by sub, under its name). */
function checkSameShape(fn: string, a: Tensor, b: Tensor): void {
  if (a.shape.join() !== b.shape.join() || a.rank !== b.rank) {
    throw new TapegradError(fn, `input ${fmtShape(a.shape)} and target ${fmtShape(b.shape)} differ in shape`);
  }
  if (a.dtype === 'bool' || b.dtype === 'bool')
    throw new TapegradError(
      fn,
      `input (${a.dtype}) and target (${b.dtype}) must be numbers, not bool; cast them first`,
    );
}

/**
 * Mean squared error (reduction 'mean' by default, as PyTorch). Shapes must match.
 * PyTorch `torch.nn.functional.mse_loss`, JAX `optax.squared_error`.
 */
export function mseLoss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  checkOptions('mseLoss', opts, ['reduction']);
  const x = asTensor('mseLoss', input, 'the input');
  const t = asTensor('mseLoss', target, 'the target');
  checkSameShape('mseLoss', x, t);
  const d = sub(x, t);
  return reduce('mseLoss', square(d), opts.reduction ?? 'mean', [d]);
}

/** Mean absolute error. PyTorch `torch.nn.functional.l1_loss`. */
export function l1Loss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  checkOptions('l1Loss', opts, ['reduction']);
  const x = asTensor('l1Loss', input, 'the input');
  const t = asTensor('l1Loss', target, 'the target');
  checkSameShape('l1Loss', x, t);
  const d = sub(x, t);
  return reduce('l1Loss', abs(d), opts.reduction ?? 'mean', [d]);
}

/** batchNorm's ε, and who is told the batch statistics (BatchNorm's running statistics). */
export interface BatchNormAttrs {
  eps: number;
  /** Called by the forward with each channel's mean and biased variance (freed after the call). */
  onStats?: (mean: tf.Tensor, variance: tf.Tensor) => void;
}
// y = x̂·w + b, x̂ = (x − μ)/√(σ² + ε), μ and σ² (biased) each channel's mean and variance over
// every axis but the last (channels last); inputs x [..., C], w and b [C].
const batchNormOp = defineOp<BatchNormAttrs>({
  name: 'batchNorm',
  forward: ([x, w, b], { eps, onStats }) =>
    tf.tidy(() => {
      const [y, mean, variance] = batchNormFused(x, w, b, eps);
      onStats?.(mean, variance);
      return y;
    }),
  // b̄ = Σ g, w̄ = Σ g·x̂, x̄ = (w/s)·(g − b̄/M − x̂·w̄/M), s = √(σ² + ε), M entries per channel
  vjp: (g, [x, w], _y, { eps }) => {
    if (!isGradEnabled()) {
      // one kernel on cpu and wasm gives all three
      let parts: tf.Tensor[] | null = null;
      const part = (i: number) => () => new Tensor((parts ??= batchNormGrad(g.value, x.value, w.value, eps))[i]);
      return [part(0), part(1), part(2)];
    }
    // recorded (createGraph): the same in tapegrad ops, to be differentiated again
    const axis = [...Array(x.rank - 1).keys()];
    const M = x.size / Math.max(1, w.size);
    let terms: { inv: Tensor; xhat: Tensor; dw: Tensor; db: Tensor } | null = null;
    const get = () => {
      if (terms) return terms;
      const d = sub(x, mean(x, { axis }));
      const inv = rsqrt(add(mean(square(d), { axis }), eps));
      const xhat = mul(d, inv);
      terms = { inv, xhat, dw: sum(mul(g, xhat), { axis }), db: sum(g, { axis }) };
      return terms;
    };
    return [
      () => {
        const { inv, xhat, dw, db } = get();
        return mul(mul(w, inv), sub(sub(g, div(db, M)), mul(xhat, div(dw, M))));
      },
      () => get().dw,
      () => get().db,
    ];
  },
});

// y = x̂·w + b, x̂ = (x − μ)/√(σ² + ε), μ and σ² (biased) each row's mean and variance over the last
// w.rank axes; inputs x [..., S], w and b of shape S.
const layerNormOp = defineOp<{ eps: number }>({
  name: 'layerNorm',
  forward: ([x, w, b], { eps }) => layerNormFused(x, w, b, eps),
  // b̄ = Σ g, w̄ = Σ g·x̂ over the rows; x̄ = (gw − mean(gw) − x̂·mean(gw·x̂))/s along each row, s = √(σ² + ε)
  vjp: (g, [x, w], _y, { eps }) => {
    if (!isGradEnabled()) {
      // one kernel on cpu and wasm gives all three
      let parts: tf.Tensor[] | null = null;
      const part = (i: number) => () => new Tensor((parts ??= layerNormGrad(g.value, x.value, w.value, eps))[i]);
      return [part(0), part(1), part(2)];
    }
    // recorded (createGraph): the same in tapegrad ops, to be differentiated again
    const row = { axis: [...Array(w.rank).keys()].map((i) => x.rank - w.rank + i), keepDims: true };
    const lead = [...Array(x.rank - w.rank).keys()];
    const overRows = (t: Tensor) => (lead.length ? sum(t, { axis: lead }) : t);
    let terms: { inv: Tensor; xhat: Tensor } | null = null;
    const get = () => {
      if (terms) return terms;
      const d = sub(x, mean(x, row));
      const inv = rsqrt(add(mean(square(d), row), eps));
      terms = { inv, xhat: mul(d, inv) };
      return terms;
    };
    return [
      () => {
        const { inv, xhat } = get();
        const gw = mul(g, w);
        return mul(inv, sub(sub(gw, mean(gw, row)), mul(xhat, mean(mul(gw, xhat), row))));
      },
      () => overRows(mul(g, get().xhat)),
      () => overRows(g),
    ];
  },
});

// ---- self-attention's heads

/** selfAttention's attrs: the number of heads, the scores' scale and causality. */
export interface SelfAttentionAttrs {
  heads: number;
  scale: number;
  causal: boolean;
}
/**
 * The weights softmax(scale·q·kᵀ + M) that selfAttention's forward wrote beside its output while
 * recording, by the output's value: its adjoint reads them rather than computing them again. The
 * output owns them (freed with it).
 */
const attentionWeights = new WeakMap<tf.Tensor, tf.Tensor>();
// o_h = softmax(scale·q_h·k_hᵀ + M)·v_h for each head h, q, k and v side by side in qkv [N, L, 3E], o [N, L, E]
const selfAttentionOp = defineOp<SelfAttentionAttrs>({
  name: 'selfAttention',
  forward: ([qkv], { heads, scale, causal }) => {
    const [o, w] = selfAttentionKernel(qkv, heads, scale, causal);
    if (isGradEnabled()) attentionWeights.set(o, w);
    else w.dispose();
    return o;
  },
  // w̄_h = ō_h·v_hᵀ, v̄_h = w_hᵀ·ō_h, s̄ = scale·w∘(w̄ − Σ w̄∘w) along each row, q̄_h = s̄·k_h, k̄_h = s̄ᵀ·q_h
  vjp: (g, [qkv], o, { heads, scale, causal }) => [
    () => {
      if (!isGradEnabled()) {
        // one kernel on cpu and wasm, from the weights the forward wrote (or computes them again)
        const saved = attentionWeights.get(o.value);
        return new Tensor(
          tf.tidy(() => {
            const w = saved && !saved.isDisposed ? saved : selfAttentionKernel(qkv.value, heads, scale, causal)[1];
            return selfAttentionGrad(g.value, qkv.value, w, scale);
          }),
        );
      }
      // recorded (createGraph): the same in tapegrad ops, the weights computed again on the tape
      const [N, L, E3] = qkv.shape;
      const [q, k, v] = unbind(transpose(reshape(qkv, [N, L, 3, heads, E3 / 3 / heads]), [2, 0, 3, 1, 4]));
      const w = scaledSoftmax(matmul(q, k, { transposeB: true }), scale, causal);
      const gh = transpose(reshape(g, [N, L, heads, E3 / 3 / heads]), [0, 2, 1, 3]);
      const dw = matmul(gh, v, { transposeB: true });
      const ds = mul(mul(w, sub(dw, sum(mul(dw, w), { axis: 3, keepDims: true }))), scale);
      const parts = [matmul(ds, k), matmul(ds, q, { transposeA: true }), matmul(w, gh, { transposeA: true })];
      return reshape(transpose(stack(parts), [1, 3, 0, 2, 4]), [N, L, E3]);
    },
  ],
});

/**
 * Multi-head self-attention's heads in one op, from the input projection's output qkv [N, L, 3E]
 * (q, k and v side by side along the last axis, head h in entries h·D … h·D + D − 1 of each, D =
 * E/heads) to o [N, L, E], the heads' softmax(scale·q_h·k_hᵀ + M)·v_h side by side (M the causal mask,
 * 0 where key j ≤ query i and −∞ after, when `causal`): MultiheadAttention's forward where a kernel
 * computes it (cpu and wasm), the heads read and written in place. Not a public function.
 */
export const selfAttention = Object.assign(
  (qkv: Tensor, heads: number, scale: number, causal: boolean): Tensor => {
    const t = asTensor('selfAttention', qkv);
    if (!(Number.isFinite(scale) && scale > 0))
      throw new TapegradError('selfAttention', `scale must be a finite number > 0, got ${scale}`);
    if (t.rank !== 3 || t.dtype !== 'float32' || !(Number.isInteger(heads) && heads > 0) || t.shape[2] % (3 * heads))
      throw new TapegradError(
        'selfAttention',
        `expected float32 qkv [N, L, 3E] with E a multiple of heads (${heads}), got ${t.dtype} ${fmtShape(t.shape)}`,
      );
    const o = selfAttentionOp([t], { heads, scale, causal });
    // the weights the forward wrote: kept with the output while its graph may read them
    const w = attentionWeights.get(o.value);
    if (w && !o.node) {
      attentionWeights.delete(o.value);
      w.dispose();
    } else if (w && !o.owned.includes(w)) o.owned.push(w);
    return o;
  },
  { rule: selfAttentionOp.rule },
);

// the fused losses crossEntropy picks between, and BatchNorm's and LayerNorm's forward, registered under their
// own names
export {
  softmaxCrossEntropyOp as softmaxCrossEntropy,
  sparseSoftmaxCrossEntropyOp as sparseSoftmaxCrossEntropy,
  batchNormOp as batchNorm,
  layerNormOp as layerNorm,
};
export { checkSameShape, reduce as reduceLoss };
