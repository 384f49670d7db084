// Scans along one axis: cumsum, cumprod, logCumSumExp. Output i depends on the inputs up to i
// (from the other end with `reverse`), so each adjoint is a scan of g in the other direction,
// weighted by the local derivative.
import * as tf from '@tensorflow/tfjs-core';
import { defineOp, asTensor, applyToFloat, owning, type Op } from '../op.js';
import { TapegradError, checkOptions, normalizeAxis } from '../errors.js';
import { noGrad } from '../tape.js';
import type { Tensor } from '../tensor.js';
import { add, sub, mul, div, exp, log, abs, where, equal, greater, less, cast, logicalAnd } from './elementwise.js';
import { reshape } from './shape.js';
import { cumReverseByFlip } from '../backend/defects.js';
import { floatPrecision } from '../backend/index.js';

export interface ScanAttrs {
  axis: number;
  exclusive: boolean;
  reverse: boolean;
}
/** Options of cumsum: `exclusive` leaves entry i out of output i; `reverse` scans from the end. */
export interface CumsumOptions {
  exclusive?: boolean;
  reverse?: boolean;
}

/**
 * The public function's shared checks: x a live tensor, the axis in range (−1 and 0 for a scalar,
 * which is scanned as a vector of one), the flags booleans. Returns the tensor and the axis.
 */
function scanArgs(fn: string, x: Tensor, axis: number, flags: Record<string, unknown> = {}): [Tensor, number] {
  const t = asTensor(fn, x);
  if (typeof axis !== 'number') throw new TapegradError(fn, `axis must be an integer, got ${JSON.stringify(axis)}`);
  for (const [k, v] of Object.entries(flags))
    if (v !== undefined && typeof v !== 'boolean') throw new TapegradError(fn, `${k} must be a boolean, got ${v}`);
  return [t, normalizeAxis(fn, axis, Math.max(t.rank, 1))];
}
/** f applied to x, a scalar viewed as a vector of one (TF.js's scans need an axis). */
function onVector(x: Tensor, f: (v: Tensor) => Tensor): Tensor {
  if (x.rank > 0) return f(x);
  const v = reshape(x, [1]);
  const y = f(v);
  return owning(reshape(y, []), [v, y]);
}

// ---- cumsum

const cumsumOp: Op<ScanAttrs> = defineOp<ScanAttrs>({
  name: 'cumsum',
  forward: ([x], a) =>
    cumReverseByFlip('sum', x.dtype === 'bool' ? tf.cast(x, 'int32') : x, a.axis, a.exclusive, a.reverse),
  // ∂yᵢ/∂xⱼ = [j ≤ i] ([j < i] if exclusive): g summed from the other end
  vjp: (g, _x, _y, a) => [() => cumsumOp([g], { ...a, reverse: !a.reverse })],
});
/**
 * Running sums along `axis`: yᵢ = Σ_{j ≤ i} xⱼ; `exclusive`: Σ_{j < i} xⱼ (y₀ = 0); `reverse`: from
 * the end. bool is summed as int32. PyTorch `torch.cumsum` (whose exclusive/reverse forms are
 * `cumsum − x` and `flip`), JAX `jnp.cumsum`, TF `tf.math.cumsum`.
 */
export function cumsum(x: Tensor, axis: number, opts: CumsumOptions = {}): Tensor {
  checkOptions('cumsum', opts, ['exclusive', 'reverse']);
  const [t, ax] = scanArgs('cumsum', x, axis, { exclusive: opts.exclusive, reverse: opts.reverse });
  const attrs = { axis: ax, exclusive: opts.exclusive ?? false, reverse: opts.reverse ?? false };
  return onVector(t, (v) => cumsumOp([v], attrs));
}
cumsum.rule = cumsumOp.rule;

// ---- cumprod

const cumprodOp = defineOp<{ axis: number }>({
  name: 'cumprod',
  // in a tidy: the int32 copy of a bool x is freed
  forward: ([x], { axis }) => tf.tidy(() => tf.cumprod(x.dtype === 'bool' ? tf.cast(x, 'int32') : x, axis)),
  // ∂L/∂xₖ = Σ_{i≥k} gᵢ Π_{j≤i, j≠k} xⱼ, without dividing by a zero: Σ_{i≥k} gᵢyᵢ / xₖ where xₖ ≠ 0;
  // at the first and second zero of a slice, the reversed sum of g·cumprod(x with that zero set to
  // 1); at later zeros 0 (every product there keeps two zeros). Each form is a polynomial in the
  // other entries, so the adjoint can itself be differentiated at zeros.
  vjp: (g, [x], y, { axis }) => [
    () => {
      const isZero = equal(x, 0);
      const before = noGrad(() => cumsum(cast(isZero, 'float32'), axis, { exclusive: true }));
      const first = logicalAnd(isZero, equal(before, 0));
      const second = logicalAnd(isZero, equal(before, 1));
      const back = (t: Tensor) => cumsum(t, axis, { reverse: true });
      const withOne = (zero: Tensor) => back(mul(g, cumprod(where(zero, 1, x), axis)));
      const atNonZero = div(back(mul(g, y)), where(isZero, 1, x));
      return where(isZero, where(first, withOne(first), where(second, withOne(second), 0)), atNonZero);
    },
  ],
});
/**
 * Running products along `axis`: yᵢ = Π_{j ≤ i} xⱼ; the gradient is exact at zeros (no division
 * by them). PyTorch `torch.cumprod`, JAX `jnp.cumprod`.
 */
export function cumprod(x: Tensor, axis: number): Tensor {
  const [t, ax] = scanArgs('cumprod', x, axis);
  return onVector(t, (v) => cumprodOp([v], { axis: ax }));
}
cumprod.rule = cumprodOp.rule;

// ---- logCumSumExp

const logCumSumExpOp: Op<{ axis: number; reverse: boolean }> = defineOp<{ axis: number; reverse: boolean }>({
  name: 'logCumSumExp',
  forward: ([x], { axis, reverse }) => logCumSumExpScan(x, axis, reverse),
  // ∂yᵢ/∂xⱼ = e^(xⱼ − yᵢ) for j ≤ i. x̄ⱼ = Σ_{i≥j} gᵢ e^(xⱼ−yᵢ) = e^(xⱼ + log Σ_{i≥j} gᵢ e^(−yᵢ)), the
  // inner sum a reversed logCumSumExp of log|gᵢ| − yᵢ, once for g > 0 and once for g < 0, so that
  // nothing overflows. Terms with yᵢ = −∞ (x −∞ up to i) are left out: x̄ is 0 there, not NaN.
  vjp: (g, [x], y, { axis, reverse }) => [
    () => {
      const none = lowest();
      const live = noGrad(() => greater(y, none));
      const part = (sign: 1 | -1): Tensor => {
        const on = logicalAnd(live, sign > 0 ? greater(g, 0) : less(g, 0));
        const terms = where(on, sub(log(where(on, abs(g), 1)), y), none);
        return exp(add(x, logCumSumExpOp([terms], { axis, reverse: !reverse })));
      };
      return sub(part(1), part(-1));
    },
  ],
});
/** −∞, or in half precision (which has no ∞ on WebGL) its lowest number: e to it is 0 either way. */
const lowest = () => (floatPrecision().name === 'float16' ? -65504 : -Infinity);

/**
 * log Σ_{j ≤ i} e^(xⱼ) along `axis`, computed stably: a scan of log-add-exp steps (no shift by a
 * maximum, which would underflow the entries far below it), −∞ entries add nothing. Where x is −∞
 * up to i, the gradient is 0 where PyTorch's is NaN. PyTorch `torch.logcumsumexp`, JAX
 * `jax.lax.cumlogsumexp`.
 */
export function logCumSumExp(x: Tensor, axis: number): Tensor {
  const [t, ax] = scanArgs('logCumSumExp', x, axis);
  return applyToFloat(t, (f) => onVector(f, (v) => logCumSumExpOp([v], { axis: ax, reverse: false })));
}
logCumSumExp.rule = logCumSumExpOp.rule;

/**
 * yᵢ = log Σ_{j≤i} e^(xⱼ) by ⌈log₂ n⌉ doubling steps, y ← logAddExp(y, y shifted by d along the
 * axis), d = 1, 2, 4 …; logAddExp(a, b) = m + log1p(e^−|a−b|), m = max(a, b), taken as m itself
 * where m is ±∞ (−∞ − −∞ would be NaN).
 */
function logCumSumExpScan(x: tf.Tensor, axis: number, reverse: boolean): tf.Tensor {
  const n = x.shape[axis];
  return tf.tidy(() => {
    let y = reverse ? tf.reverse(x, axis) : x;
    for (let d = 1; d < n; d *= 2) {
      // entries i < d have nothing d before them: they keep y (no −∞ padding, which half-float
      // WebGL textures would turn into NaN)
      const begin = x.shape.map(() => 0);
      const head = tf.slice(
        y,
        begin,
        x.shape.map((s, i) => (i === axis ? d : s)),
      );
      const shifted = tf.concat(
        [
          head,
          tf.slice(
            y,
            begin,
            x.shape.map((s, i) => (i === axis ? n - d : s)),
          ),
        ],
        axis,
      );
      const m = tf.maximum(y, shifted);
      const sum = tf.add(m, tf.log1p(tf.exp(tf.neg(tf.abs(tf.sub(y, shifted))))));
      const position = tf.reshape(
        tf.range(0, n, 1, 'int32'),
        x.shape.map((s, i) => (i === axis ? n : 1)),
      );
      y = tf.where(tf.greaterEqual(position, d), tf.where(tf.isFinite(m), sum, m), y);
    }
    return reverse ? tf.reverse(y, axis) : tf.clone(y);
  });
}
