// Sorting along an axis: sort is one primitive, the values gathered by the sorting permutation σ
// (found outside the tape, int32), whose adjoint gathers g by σ⁻¹. topk and median are slices of
// it, so their gradients reach the selected entries through slice's and sort's adjoints.
import * as tf from '@tensorflow/tfjs-core';
import { defineOp, asTensor, owning, type Op } from '../op.js';
import { TapegradError, checkOptions, normalizeAxis, fmtShape } from '../errors.js';
import { Tensor } from '../tensor.js';
import { gatherLastAxisByFlatIndex } from '../backend/defects.js';
import { where } from './elementwise.js';
import { reshape, slice, keptShape } from './shape.js';

/** Options of sort: the axis (the last by default) and the order (ascending by default). */
export interface SortOptions {
  axis?: number;
  descending?: boolean;
}
/** Options of topk: the axis (the last by default) and whether the k largest (default) or smallest are taken. */
export interface TopkOptions {
  axis?: number;
  largest?: boolean;
}
/** Options of median: the axis (none: every entry) and keepDims. */
export interface MedianOptions {
  axis?: number;
  keepDims?: boolean;
}
/** Sorted values (differentiable) and where each came from along the axis (int32, not differentiable). */
export interface SortResult {
  values: Tensor;
  indices: Tensor;
}

/** `axis` moved last (and back): TF.js's TopK and batched gather work on the last axis. */
function lastAxisPerm(rank: number, axis: number): number[] {
  const perm = [...Array(rank).keys()].filter((i) => i !== axis);
  perm.push(axis);
  return perm;
}
function inverse(perm: number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}
function alongLast(x: tf.Tensor, axis: number, f: (t: tf.Tensor) => tf.Tensor): tf.Tensor {
  if (axis === x.rank - 1) return f(x);
  const perm = lastAxisPerm(x.rank, axis);
  return tf.transpose(f(tf.transpose(x, perm)), inverse(perm));
}

/**
 * The permutation (int32) that sorts x along `axis`, stable: equal entries keep their order, in
 * both directions (TF.js's TopK breaks ties by the lower index). NaN sorts as +∞ (last ascending,
 * first descending), tied with +∞ by position.
 */
function sortingPermutation(x: tf.Tensor, axis: number, descending: boolean): tf.Tensor {
  // nothing to sort (wasm's TopK of nothing divides by zero)
  if (x.size === 0) return tf.zeros(x.shape, 'int32');
  return tf.tidy(() =>
    alongLast(x, axis, (t) => {
      const n = t.shape[t.rank - 1];
      let key = t.dtype === 'float32' ? tf.where(tf.isNaN(t), tf.fill(t.shape, Infinity), t) : t;
      if (key.dtype === 'bool') key = tf.cast(key, 'int32');
      return tf.topk(descending ? key : tf.neg(key), n).indices;
    }),
  );
}

/** x gathered along `axis` at int32 indices of x's shape except along the axis. */
function gatherAlong(x: tf.Tensor, indices: tf.Tensor, axis: number): tf.Tensor {
  return tf.tidy(() => {
    if (axis === x.rank - 1) return gatherLastAxisByFlatIndex(x, indices);
    const perm = lastAxisPerm(x.rank, axis);
    const out = gatherLastAxisByFlatIndex(tf.transpose(x, perm), tf.transpose(indices, perm));
    return tf.transpose(out, inverse(perm));
  });
}

const sortOp: Op<{ axis: number }> = defineOp<{ axis: number }>({
  name: 'sort',
  forward: ([x, perm], { axis }) => gatherAlong(x, perm, axis),
  // yᵢ = x_σ(i): x̄ = g gathered by σ⁻¹ (a permutation's adjoint is its inverse), itself a sort op
  vjp: (g, [, perm], _y, { axis }) => [
    () => {
      const inv = new Tensor(sortingPermutation(perm.value, axis, false));
      return owning(sortOp([g, inv], { axis }), [inv]);
    },
    null,
  ],
});

/** The checks sort and topk share: a tensor, an axis in range (−1 or 0 for a scalar), a boolean flag. */
function sortArgs(fn: string, x: Tensor, axis: unknown, flag: [string, unknown]): [Tensor, number] {
  const t = asTensor(fn, x);
  if (typeof axis !== 'number') throw new TapegradError(fn, `axis must be an integer, got ${JSON.stringify(axis)}`);
  if (flag[1] !== undefined && typeof flag[1] !== 'boolean')
    throw new TapegradError(fn, `${flag[0]} must be a boolean, got ${JSON.stringify(flag[1])}`);
  return [t, normalizeAxis(fn, axis, Math.max(t.rank, 1))];
}

/** values = x gathered by the permutation (the op, owning its hidden copy of it) and the indices. */
function sorted(t: Tensor, axis: number, descending: boolean): SortResult {
  if (t.rank === 0) {
    const v = reshape(t, [1]);
    const r = sorted(v, 0, descending);
    const values = owning(reshape(r.values, []), [v, r.values]);
    const indices = new Tensor(tf.reshape(r.indices.value, []));
    r.indices.dispose();
    return { values, indices };
  }
  const perm = sortingPermutation(t.value, axis, descending);
  const indices = new Tensor(tf.clone(perm));
  const hidden = new Tensor(perm);
  return { values: owning(sortOp([t, hidden], { axis }), [hidden]), indices };
}

/**
 * Sorts along `axis` (the last by default), ascending unless `descending`: the values, whose
 * gradient goes back to the entry each came from, and their indices (int32). Stable in both
 * directions (ties keep their order, as PyTorch's CPU sort and `stable=True`). NaN sorts as +∞
 * (last ascending), tied with +∞ by position; PyTorch puts NaN after +∞. PyTorch `torch.sort`,
 * JAX `jnp.sort`/`jnp.argsort`.
 */
export function sort(x: Tensor, opts: SortOptions = {}): SortResult {
  checkOptions('sort', opts, ['axis', 'descending']);
  const [t, axis] = sortArgs('sort', x, opts.axis ?? -1, ['descending', opts.descending]);
  return sorted(t, axis, opts.descending ?? false);
}
sort.rule = sortOp.rule;

/**
 * The k largest entries along `axis` (the last by default), or the k smallest with
 * `largest: false`, in order, and their indices (int32): the first k of a stable sort, so ties
 * come in index order (PyTorch's order among ties is unspecified). The gradient goes to the
 * selected entries. It sorts the whole axis (n log n). PyTorch `torch.topk`, JAX `jax.lax.top_k`.
 */
export function topk(x: Tensor, k: number, opts: TopkOptions = {}): SortResult {
  checkOptions('topk', opts, ['axis', 'largest']);
  const [t, axis] = sortArgs('topk', x, opts.axis ?? -1, ['largest', opts.largest]);
  const n = t.rank === 0 ? 1 : t.shape[axis];
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 0 || k > n)
    throw new TapegradError(
      'topk',
      `k must be an integer in [0, ${n}] (the length of axis ${axis} of ${fmtShape(t.shape)}), got ${k}`,
    );
  const all = sorted(t, axis, opts.largest ?? true);
  if (t.rank === 0 || k === n) return all;
  const begin = t.shape.map(() => 0);
  const size = t.shape.map((d, i) => (i === axis ? k : d));
  const values = owning(slice(all.values, begin, size), [all.values]);
  const indices = new Tensor(tf.slice(all.indices.value, begin, size));
  all.indices.dispose();
  return { values, indices };
}

/**
 * The median along `axis` (every entry when none is given): for an even count, the lower of the
 * two middle values, as PyTorch. The gradient goes to the one selected entry (the middle of a
 * stable sort; PyTorch's `median(dim)` picks the same entry among ties, its `median()` without a
 * dim shares the gradient among ties). A slice holding NaN gives NaN, as PyTorch. PyTorch
 * `torch.median` (the values), JAX `jnp.median` (which averages the two middle values).
 */
export function median(x: Tensor, opts: MedianOptions = {}): Tensor {
  checkOptions('median', opts, ['axis', 'keepDims']);
  const t = asTensor('median', x);
  if (opts.axis !== undefined && typeof opts.axis !== 'number')
    throw new TapegradError('median', `axis must be an integer, got ${JSON.stringify(opts.axis)}`);
  const keepDims = opts.keepDims ?? false;
  const made: Tensor[] = [];
  const flat = opts.axis === undefined ? reshape(t, [t.size]) : t;
  if (flat !== t) made.push(flat);
  const axis = opts.axis === undefined ? 0 : normalizeAxis('median', opts.axis, Math.max(t.rank, 1));
  const n = flat.rank === 0 ? 1 : flat.shape[axis];
  if (n === 0) {
    made.forEach((m) => m.dispose());
    throw new TapegradError('median', `cannot reduce over an empty axis: shape ${fmtShape(t.shape)}, axis ${axis}`);
  }
  const { values, indices } = sorted(flat, axis, false);
  indices.dispose();
  made.push(values);
  const mid = Math.floor((n - 1) / 2);
  const picked =
    flat.rank === 0
      ? values
      : slice(
          values,
          flat.shape.map((_, i) => (i === axis ? mid : 0)),
          flat.shape.map((d, i) => (i === axis ? 1 : d)),
        );
  if (picked !== values) made.push(picked);
  const axes = opts.axis === undefined ? [...Array(t.rank).keys()] : t.rank === 0 ? [] : [axis];
  const shape = keepDims ? keptShape(t.shape, axes) : t.shape.filter((_, i) => !axes.includes(i));
  const value = reshape(picked, shape);
  made.push(value);
  if (t.dtype !== 'float32' || value.size === 0) return owning(value, made.slice(0, -1));
  // NaN anywhere in the slice makes the median NaN (sorting puts it last, where the middle may not reach)
  const nan = new Tensor(
    tf.tidy(() => tf.reshape(tf.any(tf.isNaN(flat.value), flat.rank === 0 ? undefined : axis), shape)),
  );
  made.push(nan);
  const out = where(nan, NaN, value);
  return owning(out, made);
}
