// Indexing ops: they move entries to other places (flip, roll, swapAxes), keep some and zero the
// others (tril, triu), read or write a diagonal (diag, diagonal), or read and write at integer
// indices along an axis (takeAlongAxis, scatterAlongAxis). Each is linear in its float operands,
// so each adjoint is the transposed move: flip ↔ flip, roll ↔ roll back, tril ↔ tril,
// diag ↔ diagonal, takeAlongAxis ↔ scatterAlongAxis with 'sum'. oneHot and stopGradient make
// tensors that carry no gradient.
import * as tf from '@tensorflow/tfjs-core';
import { defineOp, asTensor, owning, type Op } from '../op.js';
import { TapegradError, checkOptions, fmtShape, normalizeAxis } from '../errors.js';
import { Tensor } from '../tensor.js';
import { zeros } from '../creation.js';
import { boolAsInt32 } from '../backend/defects.js';
import { assertFits } from '../backend/wasm-heap-limit.js';
import { indexValues } from './indices.js';
import { reshape, transpose, slice, scatterAddRows } from './shape.js';

/** An integer argument, or an error naming the function and the value. */
function integer(fn: string, what: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw new TapegradError(fn, `${what} must be an integer, got ${JSON.stringify(v) ?? String(v)}`);
  return v;
}
/** A list of distinct axes (one number or an array), each normalized to [0, rank). */
function distinctAxes(fn: string, axes: unknown, rank: number): number[] {
  const list = typeof axes === 'number' ? [axes] : axes;
  if (!Array.isArray(list))
    throw new TapegradError(fn, `axes must be an integer or an array of integers, got ${JSON.stringify(axes)}`);
  const out = list.map((a) => normalizeAxis(fn, a, rank));
  const twice = out.find((a, i) => out.indexOf(a) !== i);
  if (twice !== undefined) throw new TapegradError(fn, `axis ${twice} appears twice in ${JSON.stringify(axes)}`);
  return out;
}
/** The row-major strides of a shape. */
function strides(shape: readonly number[]): number[] {
  const s = shape.map(() => 1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}
/** The multi-index of flat position `flat` in `shape`, as "[i,j,k]". */
function position(flat: number, shape: readonly number[]): string {
  return `[${strides(shape).map((s, i) => Math.floor(flat / s) % shape[i])}]`;
}

// ---- flip ↔ flip
const flipOp: Op<{ axes: number[] }> = defineOp<{ axes: number[] }>({
  name: 'flip',
  forward: ([x], { axes }) => (axes.length && x.size ? boolAsInt32(x, (t) => tf.reverse(t, axes)) : tf.clone(x)),
  // a reversal is its own inverse and its own transpose
  vjp: (g, _x, _y, { axes }) => [() => flipOp([g], { axes })],
});
/**
 * Reverses the order of entries along `axes` (one axis or several; every axis when omitted, as
 * NumPy's flip; PyTorch's torch.flip requires them). PyTorch `torch.flip`, JAX `jnp.flip`.
 */
export function flip(x: Tensor, axes?: number | number[]): Tensor {
  const t = asTensor('flip', x);
  const ax = axes === undefined ? [...Array(t.rank).keys()] : distinctAxes('flip', axes, t.rank);
  return flipOp([t], { axes: ax });
}
flip.rule = flipOp.rule;

// ---- roll ↔ roll back
const rollOp: Op<{ shifts: number[]; axes: number[] }> = defineOp<{ shifts: number[]; axes: number[] }>({
  name: 'roll',
  forward: ([x], { shifts, axes }) =>
    tf.tidy(() => {
      let out = x;
      axes.forEach((axis, i) => {
        const n = x.shape[axis];
        const s = n ? ((shifts[i] % n) + n) % n : 0;
        if (s === 0) return;
        // the last s entries move to the front
        const sized = (len: number) => out.shape.map((d, k) => (k === axis ? len : d));
        const head = tf.slice(
          out,
          out.shape.map((_, k) => (k === axis ? n - s : 0)),
          sized(s),
        );
        const tail = tf.slice(
          out,
          out.shape.map(() => 0),
          sized(n - s),
        );
        out = tf.concat([head, tail], axis);
      });
      return out === x ? tf.clone(x) : out;
    }),
  // out[i] = x[i − s]: the adjoint rolls g by −s
  vjp: (g, _x, _y, { shifts, axes }) => [() => rollOp([g], { shifts: shifts.map((s) => -s), axes })],
});
/**
 * Rolls entries along `axes` by `shifts` (entries pushed past the end come back at the front).
 * Without axes, the tensor is rolled as a flat vector and reshaped back, as in PyTorch.
 * PyTorch `torch.roll`, JAX `jnp.roll`.
 */
export function roll(x: Tensor, shifts: number | number[], axes?: number | number[]): Tensor {
  const t = asTensor('roll', x);
  const s = typeof shifts === 'number' ? [shifts] : shifts;
  if (!Array.isArray(s) || s.length === 0 || s.some((k) => !Number.isInteger(k)))
    throw new TapegradError('roll', `shifts must be an integer or an array of integers, got ${JSON.stringify(shifts)}`);
  if (axes === undefined) {
    if (s.length !== 1)
      throw new TapegradError('roll', `without axes, shifts must be one integer, got ${JSON.stringify(shifts)}`);
    const flat = reshape(t, [t.size]);
    const rolled = rollOp([flat], { shifts: s, axes: [0] });
    return owning(reshape(rolled, t.shape), [flat, rolled]);
  }
  const list = typeof axes === 'number' ? [axes] : axes;
  if (!Array.isArray(list) || list.length !== s.length)
    throw new TapegradError(
      'roll',
      `shifts ${JSON.stringify(shifts)} and axes ${JSON.stringify(axes)} must have the same length`,
    );
  return rollOp([t], { shifts: [...s], axes: list.map((a) => normalizeAxis('roll', a, t.rank)) });
}
roll.rule = rollOp.rule;

// ---- tril, triu: keep a triangle of the last two axes, zero the rest
/** The 0/1 mask of entries (i, j) of an m×n matrix with j − i ≤ k (lower) or j − i ≥ k (upper). */
function triangle(m: number, n: number, k: number, lower: boolean, dtype: tf.DataType): tf.Tensor {
  const v = new Int32Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) v[i * n + j] = (lower ? j - i <= k : j - i >= k) ? 1 : 0;
  return tf.tensor(v, [m, n], dtype === 'bool' ? 'bool' : dtype);
}
function keepTriangle(x: tf.Tensor, k: number, lower: boolean): tf.Tensor {
  return tf.tidy(() => {
    const [m, n] = x.shape.slice(-2);
    const mask = triangle(m, n, k, lower, x.dtype);
    return x.dtype === 'bool' ? tf.logicalAnd(x, mask) : tf.mul(x, mask);
  });
}
const trilOp: Op<{ k: number }> = defineOp<{ k: number }>({
  name: 'tril',
  forward: ([x], { k }) => keepTriangle(x, k, true),
  // a mask is its own transpose: the kept entries pass g, the others 0
  vjp: (g, _x, _y, { k }) => [() => trilOp([g], { k })],
});
const triuOp: Op<{ k: number }> = defineOp<{ k: number }>({
  name: 'triu',
  forward: ([x], { k }) => keepTriangle(x, k, false),
  // a mask is its own transpose: the kept entries pass g, the others 0
  vjp: (g, _x, _y, { k }) => [() => triuOp([g], { k })],
});
function triangular(fn: 'tril' | 'triu', x: Tensor, k: number): Tensor {
  const t = asTensor(fn, x);
  integer(fn, 'k', k);
  if (t.rank < 2) throw new TapegradError(fn, `needs a matrix (rank ≥ 2), got ${fmtShape(t.shape)}`);
  return (fn === 'tril' ? trilOp : triuOp)([t], { k });
}
/**
 * The lower triangle of the last two axes (entries with j − i ≤ k), the rest zero; batched over
 * leading axes. PyTorch `torch.tril`, JAX `jnp.tril`.
 */
export function tril(x: Tensor, k = 0): Tensor {
  return triangular('tril', x, k);
}
tril.rule = trilOp.rule;
/**
 * The upper triangle of the last two axes (entries with j − i ≥ k), the rest zero; batched over
 * leading axes. PyTorch `torch.triu`, JAX `jnp.triu`.
 */
export function triu(x: Tensor, k = 0): Tensor {
  return triangular('triu', x, k);
}
triu.rule = triuOp.rule;

// ---- diagonal ↔ diag
/** Where the offset diagonal of an m×n matrix starts and how long it is. */
function diagonalSpan(m: number, n: number, offset: number): { r0: number; c0: number; length: number } {
  const r0 = Math.max(0, -offset);
  const c0 = Math.max(0, offset);
  return { r0, c0, length: Math.max(0, Math.min(m - r0, n - c0)) };
}
/** The flat positions (in an m×n matrix) of its offset diagonal. */
function diagonalPositions(m: number, n: number, offset: number): Int32Array {
  const { r0, c0, length } = diagonalSpan(m, n, offset);
  return Int32Array.from({ length }, (_, i) => (r0 + i) * n + c0 + i);
}
/** diagonal's attributes: which diagonal, of the matrices spanned by which two axes. */
export interface DiagonalAttrs {
  offset: number;
  axis1: number;
  axis2: number;
}
/** The permutation that moves axis1 and axis2 to the end, in that order. */
function diagonalPerm(rank: number, { axis1, axis2 }: DiagonalAttrs): number[] {
  return [...[...Array(rank).keys()].filter((a) => a !== axis1 && a !== axis2), axis1, axis2];
}
const diagonalOp = defineOp<DiagonalAttrs>({
  name: 'diagonal',
  forward: ([x], a) =>
    tf.tidy(() => {
      const moved = tf.transpose(x, diagonalPerm(x.rank, a));
      const [m, n] = [x.shape[a.axis1], x.shape[a.axis2]];
      const rest = moved.shape.slice(0, -2);
      const at = diagonalPositions(m, n, a.offset);
      if (at.length === 0 || moved.size === 0) return tf.zeros([...rest, at.length], x.dtype);
      // the diagonal of each matrix is a strided pick from its flattened entries
      const picked = boolAsInt32(tf.reshape(moved, [-1, m * n]), (t) => tf.gather(t, tf.tensor1d(at, 'int32'), 1));
      return tf.reshape(picked, [...rest, at.length]);
    }),
  // the diagonal's entries get g, the others 0: g scattered onto the diagonal of a zero tensor
  vjp: (g, [x], _y, a) => [
    () => {
      const perm = diagonalPerm(x.rank, a);
      const movedShape = perm.map((p) => x.shape[p]);
      const [m, n] = movedShape.slice(-2);
      const at = new Tensor(tf.tensor1d(diagonalPositions(m, n, a.offset), 'int32'));
      if (at.size === 0 || g.size === 0) {
        at.dispose();
        return zeros(x.shape, { dtype: x.dtype });
      }
      const rows = reshape(g, [-1, at.size]);
      const placed = scatterAddRows(rows, at, 1, m * n);
      const shaped = reshape(placed, movedShape);
      const inverse = perm.map((_, i) => perm.indexOf(i));
      return owning(transpose(shaped, inverse), [at, rows, placed, shaped]);
    },
  ],
});
/**
 * The diagonal at `offset` (above the main one when positive, below when negative) of the matrices
 * spanned by axis1 and axis2; those axes are removed and the diagonal becomes the last axis.
 * PyTorch `torch.diagonal`, JAX `jnp.diagonal`.
 */
export function diagonal(x: Tensor, opts: { offset?: number; axis1?: number; axis2?: number } = {}): Tensor {
  checkOptions('diagonal', opts, ['offset', 'axis1', 'axis2']);
  const t = asTensor('diagonal', x);
  if (t.rank < 2) throw new TapegradError('diagonal', `needs rank ≥ 2, got ${fmtShape(t.shape)}`);
  const offset = integer('diagonal', 'offset', opts.offset ?? 0);
  const axis1 = normalizeAxis('diagonal', opts.axis1 ?? -2, t.rank);
  const axis2 = normalizeAxis('diagonal', opts.axis2 ?? -1, t.rank);
  if (axis1 === axis2)
    throw new TapegradError('diagonal', `axis1 and axis2 must differ, both are axis ${axis1} of ${fmtShape(t.shape)}`);
  return diagonalOp([t], { offset, axis1, axis2 });
}
diagonal.rule = diagonalOp.rule;

const diagOp = defineOp<{ k: number }>({
  name: 'diag',
  forward: ([v], { k }) =>
    tf.tidy(() => {
      const n = v.size + Math.abs(k);
      const at = diagonalPositions(n, n, k);
      if (n === 0) return tf.zeros([0, 0], v.dtype);
      if (at.length === 0) return tf.zeros([n, n], v.dtype);
      return tf.reshape(tf.scatterND(tf.tensor2d(at, [at.length, 1], 'int32'), v, [n * n]), [n, n]);
    }),
  // v lies on the k-th diagonal of the result: v̄ is that diagonal of g
  vjp: (g, _v, _y, { k }) => [() => diagonalOp([g], { offset: k, axis1: 0, axis2: 1 })],
});
/**
 * A vector v becomes the square matrix with v on its k-th diagonal (k > 0 above the main one,
 * k < 0 below) and zeros elsewhere; a matrix gives its k-th diagonal as a vector
 * (diagonal(x, { offset: k })), as PyTorch's torch.diag does both. PyTorch `torch.diag`, JAX `jnp.diag`.
 */
export function diag(x: Tensor, k = 0): Tensor {
  const t = asTensor('diag', x);
  integer('diag', 'k', k);
  if (t.rank === 2) return diagonal(t, { offset: k });
  if (t.rank !== 1)
    throw new TapegradError(
      'diag',
      `needs a vector (to make a matrix) or a matrix (to read its diagonal), got ${fmtShape(t.shape)}`,
    );
  const n = t.shape[0] + Math.abs(k);
  assertFits('diag', [n, n], t.dtype);
  return diagOp([t], { k });
}
diag.rule = diagOp.rule;

/** Exchanges two axes. PyTorch `torch.swapaxes` (`torch.transpose(x, a, b)`), JAX `jnp.swapaxes`. */
export function swapAxes(x: Tensor, axis1: number, axis2: number): Tensor {
  const t = asTensor('swapAxes', x);
  const a = normalizeAxis('swapAxes', axis1, t.rank);
  const b = normalizeAxis('swapAxes', axis2, t.rank);
  const perm = [...Array(t.rank).keys()];
  [perm[a], perm[b]] = [perm[b], perm[a]];
  return transpose(t, perm);
}

// ---- takeAlongAxis ↔ scatterAlongAxis
/**
 * For every position p of the indices, the flat position in a tensor of `shape` that
 * indices[p] addresses along `axis`: Σ_{d≠axis} p_d·stride_d + indices[p]·stride_axis.
 */
function flatPositions(idx: tf.Tensor, shape: readonly number[], axis: number): tf.Tensor {
  return tf.tidy(() => {
    const st = strides(shape);
    const ist = strides(idx.shape);
    const base = Int32Array.from({ length: idx.size }, (_, f) =>
      idx.shape.reduce((sum, d, i) => (i === axis ? sum : sum + (Math.floor(f / ist[i]) % d) * st[i]), 0),
    );
    return tf.reshape(tf.add(tf.tensor(base, idx.shape, 'int32'), tf.mul(idx, tf.scalar(st[axis], 'int32'))), [-1]);
  });
}
/** values (the indices' shape) written or added at their positions into a zero tensor of x's size, flat. */
function scattered(idx: tf.Tensor, values: tf.Tensor, shape: readonly number[], axis: number): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.scatterND(tf.reshape(flatPositions(idx, shape, axis), [-1, 1]), tf.reshape(values, [-1]), [size]);
}
/** takeAlongAxis's attributes: the axis the indices address. */
export interface AlongAttrs {
  axis: number;
}
const takeAlongAxisOp: Op<AlongAttrs> = defineOp<AlongAttrs>({
  name: 'takeAlongAxis',
  forward: ([x, idx], { axis }) =>
    tf.tidy(() =>
      idx.size === 0
        ? tf.zeros(idx.shape, x.dtype)
        : tf.reshape(
            boolAsInt32(tf.reshape(x, [-1]), (t) => tf.gather(t, flatPositions(idx, x.shape, axis))),
            idx.shape,
          ),
    ),
  // out[p] = x[p with p_axis = idx[p]]: x̄ receives g at those places, summed where indices repeat
  vjp: (g, [x, idx], _y, a) => [
    () => {
      const z = zeros(x.shape, { dtype: g.dtype });
      return owning(scatterAlongAxisOp([z, idx, g], { ...a, reduce: 'sum' }), [z]);
    },
    null,
  ],
});
/** scatterAlongAxis's attributes: the axis, and whether values are added or written. */
export interface ScatterAttrs extends AlongAttrs {
  reduce: 'sum' | 'none';
}
const scatterAlongAxisOp: Op<ScatterAttrs> = defineOp<ScatterAttrs>({
  name: 'scatterAlongAxis',
  forward: ([x, idx, v], { axis, reduce }) =>
    tf.tidy(() => {
      if (idx.size === 0) return tf.clone(x);
      const written = tf.reshape(scattered(idx, v, x.shape, axis), x.shape);
      if (reduce === 'sum') return tf.add(x, written);
      // the indices are distinct (checked where they can be read): the written places take v
      const hit = tf.reshape(scattered(idx, tf.onesLike(idx), x.shape, axis), x.shape);
      return tf.where(tf.greater(hit, 0), written, x);
    }),
  vjp: (g, [x, idx, v], _y, a) => [
    // 'sum': out = x + S v, so x̄ = g; 'none': the overwritten places of x do not reach out, x̄ = g with 0 there
    () => {
      if (a.reduce === 'sum') return g;
      const z = zeros(v.shape, { dtype: g.dtype });
      return owning(scatterAlongAxisOp([g, idx, z], a), [z]);
    },
    null,
    // v[p] lands at out[p with p_axis = idx[p]]: v̄ gathers g from there
    () => takeAlongAxisOp([g, idx], { axis: a.axis }),
  ],
});

/** Checks indices against x for the two ops and reads them where possible: the message names the bad index. */
function checkIndices(fn: string, x: Tensor, idx: Tensor, axis: number): Int32Array | null {
  if (idx.dtype !== 'int32') throw new TapegradError(fn, `indices must be int32, got ${idx.dtype}`);
  if (idx.rank !== x.rank || idx.shape.some((d, i) => i !== axis && d > x.shape[i]))
    throw new TapegradError(
      fn,
      `indices ${fmtShape(idx.shape)} must have the rank of x ${fmtShape(x.shape)} ` +
        `and no larger size on any axis but ${axis}`,
    );
  const values = indexValues(idx.value);
  const n = x.shape[axis];
  const bad = values ? values.findIndex((v) => v < 0 || v >= n) : -1;
  if (values && bad >= 0)
    throw new TapegradError(
      fn,
      `index ${values[bad]} at position ${position(bad, idx.shape)} is out of range [0, ${n}) ` +
        `for axis ${axis} of ${fmtShape(x.shape)}`,
    );
  return values;
}

/**
 * out[p] = x[p with p_axis replaced by indices[p]]: the indices have x's rank and are no larger
 * than x on the other axes; the result has the indices' shape. Indices are int32 in [0, n).
 * PyTorch `torch.gather` (`x.gather(axis, indices)`), JAX `jnp.take_along_axis`.
 */
export function takeAlongAxis(x: Tensor, indices: Tensor, axis: number): Tensor {
  const t = asTensor('takeAlongAxis', x);
  const idx = asTensor('takeAlongAxis', indices, 'the indices');
  const ax = normalizeAxis('takeAlongAxis', axis, t.rank);
  checkIndices('takeAlongAxis', t, idx, ax);
  return takeAlongAxisOp([t, idx], { axis: ax });
}
takeAlongAxis.rule = takeAlongAxisOp.rule;

/**
 * x with values[p] written (reduce 'none', the default) or added (reduce 'sum') at
 * x[p with p_axis replaced by indices[p]]; values may be larger than the indices (only the part
 * they cover is used). Differentiable in x and values. With 'none', indices that write one place
 * twice are an error: PyTorch leaves the result undefined (it depends on the order of the writes);
 * where the indices live on a GPU and cannot be read they are not checked (a place written twice
 * then gets the sum).
 * PyTorch `torch.scatter` / `torch.scatter_add`, JAX `x.at[...].set` / `.add`.
 */
export function scatterAlongAxis(
  x: Tensor,
  indices: Tensor,
  values: Tensor,
  axis: number,
  opts: { reduce?: 'sum' | 'none' } = {},
): Tensor {
  const fn = 'scatterAlongAxis';
  checkOptions(fn, opts, ['reduce']);
  const t = asTensor(fn, x);
  const idx = asTensor(fn, indices, 'the indices');
  const v = asTensor(fn, values, 'the values');
  const reduce = opts.reduce ?? 'none';
  if (reduce !== 'sum' && reduce !== 'none')
    throw new TapegradError(fn, `reduce must be 'sum' or 'none', got ${JSON.stringify(reduce)}`);
  const ax = normalizeAxis(fn, axis, t.rank);
  if (v.dtype !== t.dtype) throw new TapegradError(fn, `dtypes differ: x is ${t.dtype}, the values ${v.dtype}`);
  if (t.dtype === 'bool') throw new TapegradError(fn, 'x must be float32 or int32, got bool');
  const read = checkIndices(fn, t, idx, ax);
  if (v.rank !== idx.rank || v.shape.some((d, i) => d < idx.shape[i]))
    throw new TapegradError(
      fn,
      `the values ${fmtShape(v.shape)} must have the indices' rank and at least their sizes ${fmtShape(idx.shape)}`,
    );
  if (reduce === 'none' && read) {
    const st = strides(t.shape);
    const ist = strides(idx.shape);
    const seen = new Map<number, number>();
    for (let f = 0; f < read.length; f++) {
      const target = idx.shape.reduce((s, d, i) => s + (i === ax ? read[f] : Math.floor(f / ist[i]) % d) * st[i], 0);
      const first = seen.get(target);
      if (first !== undefined)
        throw new TapegradError(
          fn,
          `indices at positions ${position(first, idx.shape)} and ${position(f, idx.shape)} both write ` +
            `${position(target, t.shape)} of x; with reduce 'none' the result would depend on the order of the ` +
            "writes (PyTorch leaves it undefined): use distinct indices or reduce 'sum'",
        );
      seen.set(target, f);
    }
  }
  if (v.shape.join() === idx.shape.join()) return scatterAlongAxisOp([t, idx, v], { axis: ax, reduce });
  const part = slice(
    v,
    v.shape.map(() => 0),
    idx.shape,
  );
  return owning(scatterAlongAxisOp([t, idx, part], { axis: ax, reduce }), [part]);
}
scatterAlongAxis.rule = scatterAlongAxisOp.rule;

/** Integer indices as a Tensor (an array of integers is made into one, owned by the caller). */
function indexTensor(fn: string, indices: Tensor | number[]): Tensor {
  if (indices instanceof Tensor) return asTensor(fn, indices, 'the indices');
  if (!Array.isArray(indices) || indices.some((v) => !Number.isInteger(v)))
    throw new TapegradError(
      fn,
      `indices must be an int32 Tensor or an array of integers, got ${JSON.stringify(indices)}`,
    );
  return new Tensor(tf.tensor1d(indices, 'int32'));
}

/**
 * out[..., c] = 1 where indices[...] = c, else 0: shape [...indices.shape, depth], int32 as
 * PyTorch's one_hot gives integers (int64 there; cast to float32 for a loss). Not differentiable.
 * Indices out of [0, depth) are an error where they can be read; where they live on a GPU they give
 * a zero row. PyTorch `torch.nn.functional.one_hot` (which infers depth when omitted; here it is
 * required), JAX `jax.nn.one_hot` (float32 there).
 */
export function oneHot(indices: Tensor | number[], depth: number): Tensor {
  const idx = indexTensor('oneHot', indices);
  const made = idx === indices ? [] : [idx];
  try {
    if (idx.dtype !== 'int32') throw new TapegradError('oneHot', `indices must be int32, got ${idx.dtype}`);
    if (!Number.isInteger(depth) || depth < 1)
      throw new TapegradError(
        'oneHot',
        `depth must be a positive integer, got ${JSON.stringify(depth) ?? String(depth)}`,
      );
    const values = indexValues(idx.value);
    const bad = values ? values.findIndex((v) => v < 0 || v >= depth) : -1;
    if (values && bad >= 0)
      throw new TapegradError(
        'oneHot',
        `index ${values[bad]} at position ${position(bad, idx.shape)} is out of range [0, ${depth})`,
      );
    assertFits('oneHot', [...idx.shape, depth], 'int32');
    if (idx.size === 0) return new Tensor(tf.zeros([...idx.shape, depth], 'int32'));
    // equal(indices, c) rather than tf.oneHot, which refuses depth 1
    return new Tensor(
      tf.tidy(() => tf.cast(tf.equal(tf.expandDims(idx.value, -1), tf.range(0, depth, 1, 'int32')), 'int32')),
    );
  } finally {
    made.forEach((m) => m.dispose());
  }
}

/**
 * The same values cut from the graph: no gradient flows back through the result (a new leaf that
 * does not require grad). The same as x.detach(). PyTorch `torch.Tensor.detach`, JAX `jax.lax.stop_gradient`.
 */
export function stopGradient(x: Tensor): Tensor {
  return asTensor('stopGradient', x).detach();
}
