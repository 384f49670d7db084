// Reductions over axes (all axes by default), with keepDims. Adjoints broadcast g back over the
// reduced axes: `expand` reshapes it to the kept-dims shape so that it broadcasts against x.
// sum itself is in shape.ts, beside broadcastTo: each is the other's adjoint.
import * as tf from '@tensorflow/tfjs-core';
import { defineOp, asTensor, applyToFloat, type Op } from '../op.js';
import { TapegradError, checkOptions, normalizeAxes, normalizeAxis, fmtShape } from '../errors.js';
import { noGrad } from '../tape.js';
import { Tensor } from '../tensor.js';
import { sub, mul, div, exp, sign, abs, pow, where, equal, cast, greater } from './elementwise.js';
import { broadcastTo, sum, expand, count, reduction, assertEntries, ofEmpty, REDUCE_OPTIONS } from './shape.js';
import type { ReduceAttrs, ReduceOptions } from './shape.js';
import { argMaxMinOfNaN, maxMinBeyond1e20, prodKeepDimsByReshape } from '../backend/defects.js';
import { sumFast } from '../backend/facts.js';

export { sum, type ReduceOptions } from './shape.js';

const meanOp = defineOp<ReduceAttrs>({
  name: 'mean',
  forward: ([x], a) => ofEmpty(x, a, NaN) ?? sumFast(x, a.axes, a.keepDims, true),
  signature: { kind: 'reduce' },
  // ∂mean/∂x = 1/n
  vjp: (g, [x], _y, a) => [() => broadcastTo(div(expand(g, x, a), count(x, a.axes)), x.shape)],
});
/** The mean over `axis` (every axis by default). PyTorch `torch.mean`, JAX `jnp.mean`. */
export const mean = reduction(meanOp, 'mean', { float: true });

const prodOp = defineOp<ReduceAttrs>({
  name: 'prod',
  forward: ([x], a) =>
    ofEmpty(x, a, 1, x.dtype === 'bool' ? 'int32' : x.dtype) ?? prodKeepDimsByReshape(x, a.axes, a.keepDims),
  signature: { kind: 'reduce', domain: 'moderate' },
  // ∂Πx/∂xᵢ = Π_{j≠i} xⱼ, computed without dividing by a zero. With z zeros in the slice, p the
  // product of its non-zeros and S the sum of its zero entries (0, but with derivative 1 there):
  //   non-zero xᵢ: (p/xᵢ)·[z = 0] + (p/xᵢ)·S·[z = 1]       zero xₖ: p·[z = 1] + p·(S − xₖ)·[z = 2]
  // The S factors are 0 in value; they carry the second derivatives through the zeros
  // (∂²Π/∂xᵢ∂xₖ = Π of the rest), so the adjoint can itself be differentiated at zeros.
  vjp: (g, [x], _y, a) => [
    () => {
      const keep = { axis: a.axes, keepDims: true };
      const isZero = equal(x, 0);
      const z = noGrad(() => sum(cast(isZero, 'float32'), keep));
      const safe = where(isZero, 1, x);
      const p = prod(safe, keep);
      const S = sum(where(isZero, x, 0), keep);
      const atNonZero = mul(div(p, safe), where(equal(z, 0), 1, where(equal(z, 1), S, 0)));
      const atZero = mul(p, where(equal(z, 1), 1, where(equal(z, 2), sub(S, x), 0)));
      return mul(broadcastTo(expand(g, x, a), x.shape), where(isZero, atZero, atNonZero));
    },
  ],
});
/**
 * The product over `axis` (every axis by default); zeros handled in the gradient.
 * PyTorch `torch.prod`, JAX `jnp.prod`.
 */
export const prod = reduction(prodOp, 'prod');

/** max and min: the gradient goes to the entries equal to the result, split evenly among ties. */
function extremum(name: 'max' | 'min'): Op<ReduceAttrs> {
  return defineOp<ReduceAttrs>({
    name,
    // an empty x reaches here only when the output is empty too (assertEntries refuses the rest)
    forward: ([x], a) => ofEmpty(x, a, NaN) ?? maxMinBeyond1e20(name, x, a.axes, a.keepDims),
    signature: { kind: 'reduce' },
    // ∂max/∂xᵢ = [xᵢ = max] / #ties
    vjp: (g, [x], y, a) => [
      () => {
        const hit = noGrad(() => cast(equal(x, expand(y, x, a)), 'float32'));
        const ties = noGrad(() => sum(hit, { axis: a.axes, keepDims: true }));
        return mul(broadcastTo(expand(g, x, a), x.shape), div(hit, ties));
      },
    ],
  });
}
const maxOp = extremum('max');
const minOp = extremum('min');
/** The largest entry over `axis`; the gradient is shared among ties. PyTorch `torch.amax`, JAX `jnp.max`. */
export const max = reduction(maxOp, 'max', { needsEntries: true });
/** The smallest entry over `axis`; the gradient is shared among ties. PyTorch `torch.amin`, JAX `jnp.min`. */
export const min = reduction(minOp, 'min', { needsEntries: true });

const logSumExpOp = defineOp<ReduceAttrs>({
  name: 'logSumExp',
  forward: ([x], a) => ofEmpty(x, a, -Infinity) ?? logSumExpShifted(x, a),
  signature: { kind: 'reduce' },
  // ∂ log Σ eˣ / ∂xᵢ = e^(xᵢ − y) (the softmax over the reduced axes)
  vjp: (g, [x], y, a) => [() => mul(expand(g, x, a), exp(sub(x, expand(y, x, a))))],
});
/** ln Σ eˣ over `axis`, computed stably. PyTorch `torch.logsumexp`, JAX `jax.nn.logsumexp`. */
export const logSumExp = reduction(logSumExpOp, 'logSumExp', { float: true });

/**
 * log Σ eˣ = m + log Σ e^(x−m), with the shift m = max x taken as 0 where it is ±∞: a slice of
 * −∞ gives −∞ and one holding +∞ gives +∞ (TF.js's logSumExp shifts by ±∞ itself: ∞ − ∞ = NaN).
 */
function logSumExpShifted(x: tf.Tensor, { axes, keepDims }: ReduceAttrs): tf.Tensor {
  return tf.tidy(() => {
    const m = tf.max(x, axes, true);
    const shift = tf.where(tf.isFinite(m), m, tf.zerosLike(m));
    const y = tf.add(tf.log(tf.sum(tf.exp(tf.sub(x, shift)), axes, true)), shift);
    return keepDims
      ? y
      : tf.reshape(
          y,
          x.shape.filter((_, i) => !axes.includes(i)),
        );
  });
}

const varianceOp = defineOp<ReduceAttrs & { correction: number }>({
  name: 'variance',
  signature: { kind: 'reduce' },
  forward: ([x], { axes, keepDims, correction }) =>
    tf.tidy(() => {
      const n = axes.reduce((k, ax) => k * x.shape[ax], 1);
      const d = tf.sub(x, tf.mean(x, axes, true));
      return tf.div(tf.sum(tf.square(d), axes, keepDims), n - correction);
    }),
  // ∂var/∂xᵢ = 2(xᵢ − x̄)/(n − correction)  (the mean's own dependence on xᵢ sums to zero)
  vjp: (g, [x], _y, a) => [
    () =>
      mul(
        expand(g, x, a),
        div(mul(sub(x, mean(x, { axis: a.axes, keepDims: true })), 2), count(x, a.axes) - a.correction),
      ),
  ],
});
/**
 * Variance over axes; `correction` 0 (default, as NumPy and JAX) is the population variance, 1 is PyTorch's unbiased
 * one.
 * PyTorch `torch.var`, JAX `jnp.var`.
 */
export function variance(x: Tensor, options?: ReduceOptions & { correction?: number }): Tensor {
  const t = asTensor('variance', x);
  const opts = checkOptions('variance', options, [...REDUCE_OPTIONS, 'correction']);
  const axes = normalizeAxes('variance', opts.axis, t.rank);
  if (t.dtype !== 'float32') return applyToFloat(t, (f) => variance(f, opts));
  const correction = opts.correction ?? 0;
  if (typeof correction !== 'number' || !Number.isFinite(correction))
    throw new TapegradError('variance', `correction must be a finite number, got ${JSON.stringify(correction)}`);
  if (count(t, axes) - correction <= 0) {
    throw new TapegradError(
      'variance',
      `needs more than ${correction} entries per reduced slice, got ${count(t, axes)}`,
    );
  }
  return varianceOp([t], { axes, keepDims: opts.keepDims ?? false, correction });
}
variance.rule = varianceOp.rule;

const stdOp = defineOp<ReduceAttrs & { correction: number }>({
  name: 'std',
  signature: { kind: 'reduce' },
  forward: ([x], { axes, keepDims, correction }) =>
    tf.tidy(() => {
      const n = axes.reduce((k, ax) => k * x.shape[ax], 1);
      const d = tf.sub(x, tf.mean(x, axes, true));
      return tf.sqrt(tf.div(tf.sum(tf.square(d), axes, keepDims), n - correction));
    }),
  // ∂std/∂xᵢ = (xᵢ − x̄)/((n − correction)·std); 0 where std = 0 (x constant: a subgradient, as PyTorch's)
  vjp: (g, [x], y, a) => [
    () => {
      const ye = expand(y, x, a);
      const nonzero = greater(ye, 0);
      const centred = sub(x, mean(x, { axis: a.axes, keepDims: true }));
      const d = div(centred, mul(where(nonzero, ye, 1), count(x, a.axes) - a.correction));
      return mul(expand(g, x, a), where(nonzero, d, 0));
    },
  ],
});
/**
 * Standard deviation over axes: √variance. `correction` 1 (default, as PyTorch: the unbiased
 * estimate's root) or 0 (the population's, NumPy's and JAX's default); note that `variance`
 * defaults to 0. At a constant slice (std 0) the gradient is 0, as PyTorch's. More than
 * `correction` entries per slice are needed (PyTorch gives NaN). PyTorch `torch.std`, JAX `jnp.std`.
 */
export function std(x: Tensor, options?: ReduceOptions & { correction?: number }): Tensor {
  const t = asTensor('std', x);
  const opts = checkOptions('std', options, [...REDUCE_OPTIONS, 'correction']);
  const axes = normalizeAxes('std', opts.axis, t.rank);
  if (t.dtype !== 'float32') return applyToFloat(t, (f) => std(f, opts));
  const correction = opts.correction ?? 1;
  if (typeof correction !== 'number' || !(correction >= 0))
    throw new TapegradError('std', `correction must be a non-negative number, got ${JSON.stringify(correction)}`);
  if (count(t, axes) - correction <= 0) {
    throw new TapegradError('std', `needs more than ${correction} entries per reduced slice, got ${count(t, axes)}`);
  }
  return stdOp([t], { axes, keepDims: opts.keepDims ?? false, correction });
}
std.rule = stdOp.rule;

const normOp = defineOp<ReduceAttrs & { ord: number }>({
  name: 'norm',
  signature: { kind: 'reduce' },
  forward: ([x], { axes, keepDims, ord }) =>
    ofEmpty(x, { axes, keepDims }, 0) ??
    tf.tidy(() => {
      const a = tf.abs(x);
      if (ord === Infinity) return tf.max(a, axes, keepDims);
      if (ord === 1) return tf.sum(a, axes, keepDims);
      if (ord === 2) return tf.sqrt(tf.sum(tf.square(x), axes, keepDims));
      return tf.pow(tf.sum(tf.pow(a, ord), axes, keepDims), 1 / ord);
    }),
  // ∂‖x‖ₚ/∂xᵢ = sign(xᵢ)|xᵢ|^(p−1) / ‖x‖ₚ^(p−1); p = 2: x/‖x‖ (0 at x = 0); p = ∞: the max entries share it
  vjp: (g, [x], y, a) => [
    () => {
      const ge = expand(g, x, a);
      const ye = expand(y, x, a);
      if (a.ord === 1) return mul(ge, sign(x));
      if (a.ord === Infinity) {
        const hit = noGrad(() => cast(equal(abs(x), ye), 'float32'));
        const ties = noGrad(() => sum(hit, { axis: a.axes, keepDims: true }));
        return mul(mul(ge, sign(x)), div(hit, ties));
      }
      const nonzero = greater(ye, 0);
      const safeY = where(nonzero, ye, 1);
      const d = a.ord === 2 ? div(x, safeY) : div(mul(sign(x), pow(abs(x), a.ord - 1)), pow(safeY, a.ord - 1));
      return mul(ge, where(nonzero, d, 0));
    },
  ],
});
/**
 * The vector p-norm over axes (all by default): ord 2 (default), 1, Infinity, or any p ≥ 1.
 * PyTorch `torch.linalg.vector_norm`, JAX `jnp.linalg.norm`.
 */
export function norm(x: Tensor, options?: ReduceOptions & { ord?: number | 'fro' }): Tensor {
  const t = asTensor('norm', x);
  const opts = checkOptions('norm', options, [...REDUCE_OPTIONS, 'ord']);
  const ord = opts.ord === 'fro' || opts.ord === undefined ? 2 : opts.ord;
  if (typeof ord !== 'number' || !(ord >= 1))
    throw new TapegradError(
      'norm',
      `ord must be ≥ 1 (or Infinity), got ${typeof ord === 'string' ? `'${ord}'` : String(ord)}`,
    );
  const axes = normalizeAxes('norm', opts.axis, t.rank);
  if (ord === Infinity) assertEntries('norm', t, axes, '∞-norm');
  if (t.dtype !== 'float32') return applyToFloat(t, (f) => norm(f, opts));
  return normOp([t], { axes: normalizeAxes('norm', opts.axis, t.rank), keepDims: opts.keepDims ?? false, ord });
}
norm.rule = normOp.rule;

// ---- argmax and argmin: integer results, so outside the tape (as the comparisons are)

/** Options of argmax and argmin: the axis (none: the flattened tensor) and keepDims. */
export interface ArgOptions {
  /** The axis to search along; without one, the index into the flattened tensor (as PyTorch and JAX). */
  axis?: number;
  keepDims?: boolean;
}
function argExtremum(name: 'argmax' | 'argmin') {
  const kind = name === 'argmax' ? 'max' : 'min';
  return (x: Tensor, options?: ArgOptions): Tensor => {
    const t = asTensor(name, x);
    const opts = checkOptions(name, options, REDUCE_OPTIONS);
    // an empty axis has no extremum; along a non-empty one, an empty tensor has empty indices (as PyTorch)
    const searched = opts.axis === undefined ? t.size : t.shape[normalizeAxis(name, opts.axis, t.rank)];
    if (searched === 0) throw new TapegradError(name, `needs a non-empty tensor, got shape ${fmtShape(t.shape)}`);
    if (opts.axis === undefined) {
      return new Tensor(
        tf.tidy(() => {
          const i = argMaxMinOfNaN(kind, tf.reshape(t.value, [-1]), 0);
          return opts.keepDims
            ? tf.reshape(
                i,
                t.shape.map(() => 1),
              )
            : i;
        }),
      );
    }
    const axis = normalizeAxis(name, opts.axis, t.rank);
    return new Tensor(
      tf.tidy(() =>
        opts.keepDims ? tf.expandDims(argMaxMinOfNaN(kind, t.value, axis), axis) : argMaxMinOfNaN(kind, t.value, axis),
      ),
    );
  };
}
/**
 * The index (int32) of the largest entry along `axis`, the first of ties; not differentiable.
 * PyTorch `torch.argmax`, JAX `jnp.argmax`.
 */
export const argmax = argExtremum('argmax');
/**
 * The index (int32) of the smallest entry along `axis`, the first of ties; not differentiable.
 * PyTorch `torch.argmin`, JAX `jnp.argmin`.
 */
export const argmin = argExtremum('argmin');

// ---- all and any: bool results, so outside the tape (as argmax)

function logicalReduction(name: 'all' | 'any') {
  return (x: Tensor, options?: ReduceOptions): Tensor => {
    const t = asTensor(name, x);
    const opts = checkOptions(name, options, REDUCE_OPTIONS);
    const attrs = { axes: normalizeAxes(name, opts.axis, t.rank), keepDims: opts.keepDims ?? false };
    return new Tensor(
      tf.tidy(() => {
        // of no entries: all is true, any false (TF.js gives false for both)
        const empty = ofEmpty(t.value, attrs, name === 'all' ? 1 : 0, 'int32');
        if (empty) return tf.cast(empty, 'bool');
        const b = t.dtype === 'bool' ? t.value : tf.notEqual(t.value, tf.scalar(0, t.dtype));
        return name === 'all' ? tf.all(b, attrs.axes, attrs.keepDims) : tf.any(b, attrs.axes, attrs.keepDims);
      }),
    );
  };
}
/**
 * Whether every entry over `axis` (every axis by default) is non-zero (bool, not differentiable);
 * true over no entries. NaN counts as non-zero. PyTorch `torch.all`, JAX `jnp.all`.
 */
export const all = logicalReduction('all');
/**
 * Whether any entry over `axis` (every axis by default) is non-zero (bool, not differentiable);
 * false over no entries. NaN counts as non-zero. PyTorch `torch.any`, JAX `jnp.any`.
 */
export const any = logicalReduction('any');
