// Shape ops: they move entries around, so each adjoint moves g back (reshape ↔ reshape,
// slice ↔ pad, gather ↔ scatterAdd, broadcastTo ↔ sum). sum lives here, beside broadcastTo, and
// so does unbroadcast (NumPy broadcasting undone in backward): every other family builds on them.
import * as tf from '@tensorflow/tfjs-core';
import { defineOp, asTensor, owning, applyToFloat, describe, type Op } from '../op.js';
import { TapegradError, checkOptions, fmtShape, normalizeAxis, normalizeAxes, sameShape } from '../errors.js';
import { Tensor } from '../tensor.js';
import { promoted, resultTypeOf } from '../dtypes.js';
import { broadcastToFast, sumFast } from '../backend/facts.js';
import { tileAnyRank } from '../backend/defects.js';
import { assertFits } from '../backend/wasm-heap-limit.js';
import { indexValues } from './indices.js';

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

// ---- broadcasting
/** The broadcast shape of several shapes, or an error naming the op and the shapes. */
export function broadcastShapes(fn: string, ...shapes: readonly number[][]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const k = s[s.length - rank + i] ?? 1;
      if (k === 1) continue;
      if (d !== 1 && d !== k) {
        throw new TapegradError(fn, `shapes ${shapes.map(fmtShape).join(' and ')} cannot be broadcast together`);
      }
      d = k;
    }
    out.push(d);
  }
  return out;
}

/** Sums g (of a broadcast shape) back to `shape`: over the leading axes it gained and the axes where shape has 1. */
export function unbroadcast(g: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  g.shape.forEach((d, i) => {
    if (i < lead || (shape[i - lead] === 1 && d !== 1)) axes.push(i);
  });
  const summed = axes.length ? sum(g, { axis: axes, keepDims: true }) : g;
  return reshape(summed, [...shape]);
}

// ---- broadcastTo ↔ sum
/** Options of the reductions: the axes (all by default) and keepDims. */
export interface ReduceOptions {
  axis?: number | number[];
  keepDims?: boolean;
}
/** The names ReduceOptions has (checked at each reduction: `keepdim` or `dim` would be ignored). */
export const REDUCE_OPTIONS = ['axis', 'keepDims'] as const;
export interface ReduceAttrs {
  axes: number[];
  keepDims: boolean;
}

/** The shape of x with the reduced axes kept as 1s. */
export function keptShape(shape: readonly number[], axes: number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}
/** A reduction's output (or its gradient) reshaped to the kept-dims shape, ready to broadcast against x. */
export function expand(t: Tensor, x: Tensor, { axes, keepDims }: ReduceAttrs): Tensor {
  return keepDims ? t : reshape(t, keptShape(x.shape, axes));
}
/** How many entries each output reduces over. */
export function count(x: Tensor, axes: number[]): number {
  return axes.reduce((n, a) => n * x.shape[a], 1);
}

/**
 * The public function of a reduction op: f(x, { axis, keepDims }), carrying the op's rule. `float`:
 * int32 and bool inputs are cast to float32 first (mean, logSumExp); `needsEntries`: an empty
 * reduced slice is an error (max, min).
 */
export function reduction(op: Op<ReduceAttrs>, fn: string, { float = false, needsEntries = false } = {}) {
  const reduce = (x: Tensor, options?: ReduceOptions): Tensor => {
    const t = asTensor(fn, x);
    const opts = checkOptions(fn, options, REDUCE_OPTIONS);
    const attrs = { axes: normalizeAxes(fn, opts.axis, t.rank), keepDims: opts.keepDims ?? false };
    if (needsEntries) assertEntries(fn, t, attrs.axes);
    return float ? applyToFloat(t, (f) => op([f], attrs)) : op([t], attrs);
  };
  return Object.assign(reduce, { rule: op.rule });
}

/** max, min and the ∞-norm of nothing are undefined: an error, as in PyTorch (not NaN, not −∞). */
export function assertEntries(fn: string, x: Tensor, axes: number[], what: string = fn): void {
  if (count(x, axes) === 0) {
    throw new TapegradError(
      fn,
      `cannot reduce over an empty axis: shape ${fmtShape(x.shape)}, axes [${axes.join(',')}]; the ${what} of no entries is undefined`,
    );
  }
}

/**
 * The reduction of an empty tensor, PyTorch's value without running a kernel (the sum of nothing
 * is 0, its product 1, its log-sum-exp −∞, its mean NaN): TF.js's cpu gives 0 for the mean, its
 * wasm kernels leave the output unwritten. null when x has entries.
 */
export function ofEmpty(
  x: tf.Tensor,
  { axes, keepDims }: ReduceAttrs,
  value: number,
  dtype = x.dtype,
): tf.Tensor | null {
  if (x.size > 0) return null;
  return tf.fill(keepDims ? keptShape(x.shape, axes) : x.shape.filter((_, i) => !axes.includes(i)), value, dtype);
}

const sumOp = defineOp<ReduceAttrs>({
  name: 'sum',
  forward: ([x], a) => ofEmpty(x, a, 0, x.dtype === 'bool' ? 'int32' : x.dtype) ?? sumFast(x, a.axes, a.keepDims),
  signature: { kind: 'reduce' },
  // ∂Σx/∂x = 1: g is copied back to every entry it summed
  vjp: (g, [x], _y, a) => [() => broadcastTo(expand(g, x, a), x.shape)],
});
/** The sum over `axis` (every axis by default). PyTorch `torch.sum`, JAX `jnp.sum`. */
export const sum = reduction(sumOp, 'sum');

// ---- reshape family
const reshapeOp = defineOp<{ shape: number[] }>({
  name: 'reshape',
  forward: ([x], { shape }) => tf.reshape(x, shape),
  // a reshape moves no values: reshape g back
  vjp: (g, [x]) => [() => reshape(g, x.shape)],
});
/** The same values in a new shape; one dimension may be −1 (inferred). PyTorch `torch.reshape`, JAX `jnp.reshape`. */
export function reshape(x: Tensor, shape: number[]): Tensor {
  const t = asTensor('reshape', x);
  if (
    !Array.isArray(shape) ||
    shape.some((d) => !Number.isInteger(d) || d < -1) ||
    shape.filter((d) => d === -1).length > 1
  ) {
    throw new TapegradError('reshape', `invalid shape ${JSON.stringify(shape)}`);
  }
  const known = sizeOf(shape.filter((d) => d !== -1));
  if (known === 0 && shape.includes(-1)) {
    throw new TapegradError(
      'reshape',
      `the −1 in ${fmtShape(shape)} is ambiguous: the other sizes multiply to 0, so any length fits; give it explicitly (reshaping ${fmtShape(t.shape)})`,
    );
  }
  const resolved = shape.map((d) => (d === -1 ? t.size / known : d));
  if (sizeOf(resolved) !== t.size || resolved.some((d) => !Number.isInteger(d))) {
    throw new TapegradError('reshape', `cannot reshape ${fmtShape(t.shape)} (${t.size} values) to ${fmtShape(shape)}`);
  }
  return reshapeOp([t], { shape: resolved });
}
reshape.rule = reshapeOp.rule;
/** Inserts an axis of length 1 at `axis`. PyTorch `torch.unsqueeze`, JAX `jnp.expand_dims`. */
export function expandDims(x: Tensor, axis = 0): Tensor {
  const t = asTensor('expandDims', x);
  const ax = normalizeAxis('expandDims', axis, t.rank + 1);
  const shape = [...t.shape];
  shape.splice(ax, 0, 1);
  return reshape(t, shape);
}
/** Removes axes of length 1 (the given ones, or all). PyTorch `torch.squeeze`, JAX `jnp.squeeze`. */
export function squeeze(x: Tensor, axis?: number | number[]): Tensor {
  const t = asTensor('squeeze', x);
  const axes =
    axis === undefined ? t.shape.flatMap((d, i) => (d === 1 ? [i] : [])) : normalizeAxes('squeeze', axis, t.rank);
  for (const a of axes)
    if (t.shape[a] !== 1)
      throw new TapegradError('squeeze', `axis ${a} has length ${t.shape[a]}, not 1, in ${fmtShape(t.shape)}`);
  return reshape(
    t,
    t.shape.filter((_, i) => !axes.includes(i)),
  );
}

const transposeOp = defineOp<{ perm: number[] }>({
  name: 'transpose',
  forward: ([x], { perm }) => tf.transpose(x, perm),
  // the adjoint of a permutation is its inverse
  vjp: (g, _x, _y, { perm }) => [() => transpose(g, inversePerm(perm))],
});
function inversePerm(perm: number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}
/** Permutes axes (reverses them by default). PyTorch `torch.permute`, JAX `jnp.transpose`. */
export function transpose(x: Tensor, perm?: number[]): Tensor {
  const t = asTensor('transpose', x);
  const p = perm ?? [...Array(t.rank).keys()].reverse();
  if (p.length !== t.rank || [...p].sort((a, b) => a - b).some((v, i) => v !== i)) {
    throw new TapegradError(
      'transpose',
      `perm ${JSON.stringify(perm)} is not a permutation of the ${t.rank} axes of ${fmtShape(t.shape)}`,
    );
  }
  return transposeOp([t], { perm: p });
}
transpose.rule = transposeOp.rule;

const broadcastToOp = defineOp<{ shape: number[] }>({
  name: 'broadcastTo',
  forward: ([x], { shape }) => broadcastToFast(x, shape),
  // each entry was copied to many places: sum g back over them
  vjp: (g, [x]) => [() => unbroadcast(g, x.shape)],
});
/** Broadcasts x to `shape` (NumPy rules). PyTorch `torch.broadcast_to`, JAX `jnp.broadcast_to`. */
export function broadcastTo(x: Tensor, shape: number[]): Tensor {
  const t = asTensor('broadcastTo', x);
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0))
    throw new TapegradError(
      'broadcastTo',
      `shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`,
    );
  const ok = shape.length >= t.rank && broadcastShapes('broadcastTo', t.shape, shape).join() === shape.join();
  if (!ok) throw new TapegradError('broadcastTo', `cannot broadcast ${fmtShape(t.shape)} to ${fmtShape(shape)}`);
  assertFits('broadcastTo', shape, t.dtype);
  return broadcastToOp([t], { shape: [...shape] });
}
broadcastTo.rule = broadcastToOp.rule;

const tileOp = defineOp<{ reps: number[] }>({
  name: 'tile',
  forward: ([x], { reps }) => tileAnyRank(x, reps),
  // each copy contributes: along each tiled axis i, view g as [before, rᵢ, dᵢ, after] and sum over
  // rᵢ (one axis at a time: a view of all of them, [r₀, d₀, r₁, d₁, …], exceeds webgpu's rank 6)
  vjp: (g, [x], _y, { reps }) => [
    () => {
      const shape = x.shape.map((d, i) => d * reps[i]);
      const size = (dims: number[]) => dims.reduce((a, b) => a * b, 1);
      let acc = g;
      reps.forEach((r, i) => {
        if (r === 1) return;
        const view = [size(shape.slice(0, i)), r, x.shape[i], size(shape.slice(i + 1))];
        acc = sum(reshape(acc, view), { axis: 1 });
        shape[i] = x.shape[i];
      });
      return reshape(acc, x.shape);
    },
  ],
});
/** Repeats x reps[i] times along axis i. PyTorch `torch.tile`, JAX `jnp.tile`. */
export function tile(x: Tensor, reps: number[]): Tensor {
  const t = asTensor('tile', x);
  if (!Array.isArray(reps) || reps.length !== t.rank || reps.some((r) => !Number.isInteger(r) || r < 1)) {
    throw new TapegradError(
      'tile',
      `reps ${JSON.stringify(reps)} must be ${t.rank} positive integers for ${fmtShape(t.shape)}`,
    );
  }
  assertFits(
    'tile',
    t.shape.map((d, i) => d * reps[i]),
    t.dtype,
  );
  return tileOp([t], { reps: [...reps] });
}
tile.rule = tileOp.rule;

// ---- slice ↔ pad
const sliceOp = defineOp<{ begin: number[]; size: number[] }>({
  name: 'slice',
  forward: ([x], { begin, size }) => tf.slice(x, begin, size),
  // the slice's entries get g, the others 0: pad g back to x's shape
  vjp: (g, [x], _y, { begin, size }) => [
    () =>
      pad(
        g,
        x.shape.map((d, i) => [begin[i], d - begin[i] - size[i]] as [number, number]),
      ),
  ],
});
/**
 * x[begin : begin + size] on every axis (TF.js's convention); size −1 or omitted: to the end.
 * PyTorch `torch.narrow`, JAX `jax.lax.slice`.
 */
export function slice(x: Tensor, begin: number[] | number, size?: number[] | number): Tensor {
  const t = asTensor('slice', x);
  const listOrNumber = (v: unknown) => typeof v === 'number' || Array.isArray(v);
  // a fraction, a string or a boolean among the sizes would reach the output's shape unchecked
  const b = listOrNumber(begin) ? (typeof begin === 'number' ? [begin] : [...begin]) : [Number.NaN];
  const s0 = size === undefined ? [] : listOrNumber(size) ? (typeof size === 'number' ? [size] : size) : [Number.NaN];
  while (b.length < t.rank) b.push(0);
  const s = t.shape.map((d, i) => (s0[i] === undefined || s0[i] === -1 ? d - b[i] : s0[i]));
  const bad = t.shape.some(
    (d, i) => !Number.isInteger(b[i]) || !Number.isInteger(s[i]) || b[i] < 0 || s[i] < 0 || b[i] + s[i] > d,
  );
  if (bad || b.length !== t.rank || s0.length > t.rank) {
    throw new TapegradError(
      'slice',
      `begin ${JSON.stringify(begin)} and size ${JSON.stringify(size)} do not fit in ${fmtShape(t.shape)}`,
    );
  }
  return sliceOp([t], { begin: b, size: s });
}
slice.rule = sliceOp.rule;

const padOp = defineOp<{ paddings: [number, number][]; value: number }>({
  name: 'pad',
  forward: ([x], { paddings, value }) => tf.pad(x, paddings, value),
  // padding entries are constants: slice g back out
  vjp: (g, [x], _y, { paddings }) => [
    () =>
      slice(
        g,
        paddings.map((p) => p[0]),
        x.shape,
      ),
  ],
});
/** Pads with `value`: paddings[i] = [before, after] on axis i. PyTorch `torch.nn.functional.pad`, JAX `jnp.pad`. */
export function pad(x: Tensor, paddings: [number, number][], value = 0): Tensor {
  const t = asTensor('pad', x);
  if (typeof value !== 'number') throw new TapegradError('pad', `the value must be a number, got ${typeof value}`);
  if (!Array.isArray(paddings))
    throw new TapegradError(
      'pad',
      `paddings must be an array of [before, after] pairs, got ${JSON.stringify(paddings)}`,
    );
  if (
    paddings.length !== t.rank ||
    paddings.some((p) => !Array.isArray(p) || p.length !== 2 || p.some((k) => !Number.isInteger(k) || k < 0))
  ) {
    throw new TapegradError(
      'pad',
      `paddings ${JSON.stringify(paddings)} must be ${t.rank} pairs of non-negative integers for ${fmtShape(t.shape)}`,
    );
  }
  assertFits(
    'pad',
    t.shape.map((d, i) => paddings[i][0] + d + paddings[i][1]),
    t.dtype,
  );
  return padOp([t], { paddings: paddings.map((p) => [p[0], p[1]]), value });
}
pad.rule = padOp.rule;

// ---- concat ↔ split, stack ↔ unbind: each pair the other's adjoint
const concatOp = defineOp<{ axis: number }>({
  name: 'concat',
  forward: (xs, { axis }) => tf.concat(xs, axis),
  // each input gets its own stretch of g along the axis: g split at the inputs' lengths, once
  vjp: (g, xs, _y, { axis }) => {
    let parts: Tensor[] | null = null;
    return xs.map((_x, i) => () => (parts ??= splitOp([g], { sizes: xs.map((x) => x.shape[axis]), axis }))[i]);
  },
});
/**
 * Joins tensors along an existing axis, in their result type (src/dtypes.ts: int32 and float32 parts
 * give float32; only float32 parts receive a gradient). PyTorch `torch.cat`, JAX `jnp.concatenate`.
 */
export function concat(xs: Tensor[], axis = 0): Tensor {
  if (!Array.isArray(xs) || xs.length === 0) throw new TapegradError('concat', 'needs a non-empty array of tensors');
  const ts = xs.map((x, i) => asTensor('concat', x, `tensor ${i}`));
  const dtype = resultTypeOf('concat', ts);
  const ax = normalizeAxis('concat', axis, ts[0].rank);
  for (const t of ts) {
    if (t.rank !== ts[0].rank || t.shape.some((d, i) => i !== ax && d !== ts[0].shape[i])) {
      throw new TapegradError(
        'concat',
        `shapes ${ts.map((u) => fmtShape(u.shape)).join(', ')} differ outside axis ${ax}`,
      );
    }
  }
  return promoted(ts, dtype, (us) => concatOp(us, { axis: ax }));
}
concat.rule = concatOp.rule;

const stackOp = defineOp<{ axis: number }>({
  name: 'stack',
  forward: (xs, { axis }) => tf.stack(xs, axis),
  // input i is the i-th slice along the new axis: g unbound along it, once
  vjp: (g, xs, _y, { axis }) => {
    let parts: Tensor[] | null = null;
    return xs.map((_x, i) => () => (parts ??= unbindOp([g], { axis }))[i]);
  },
});
/**
 * Joins equal-shaped tensors along a new axis, in their result type (as concat).
 * PyTorch `torch.stack`, JAX `jnp.stack`.
 */
export function stack(xs: Tensor[], axis = 0): Tensor {
  if (!Array.isArray(xs) || xs.length === 0) throw new TapegradError('stack', 'needs a non-empty array of tensors');
  const ts = xs.map((x, i) => asTensor('stack', x, `tensor ${i}`));
  const dtype = resultTypeOf('stack', ts);
  if (ts.some((t) => t.shape.join() !== ts[0].shape.join())) {
    throw new TapegradError('stack', `shapes differ: ${ts.map((u) => fmtShape(u.shape)).join(', ')}`);
  }
  const ax = normalizeAxis('stack', axis, ts[0].rank + 1);
  return promoted(ts, dtype, (us) => stackOp(us, { axis: ax }));
}
stack.rule = stackOp.rule;

/** The outputs' cotangents with zeros where none reached an output (made only for those). */
function filled(gs: (Tensor | null)[], outs: Tensor[]): Tensor[] {
  return gs.map((g, k) => g ?? new Tensor(tf.zeros(outs[k].shape)));
}

const splitOp = defineOp<{ sizes: number[]; axis: number }>({
  name: 'split',
  outputs: 'several',
  forward: ([x], { sizes, axis }) => tf.split(x, sizes, axis),
  // the parts' cotangents, joined back along the axis in one concat
  vjp: (gs, _x, parts, { axis }) => [() => concat(filled(gs, parts), axis)],
});
/** The most parts split and chunk make of an empty axis (each part an empty tensor; any more is a mistake). */
const MAX_EMPTY_PARTS = 1 << 16;

/**
 * Splits along an axis into n equal parts, or into parts of the given sizes: one node on the tape
 * for all the parts, whose adjoint joins their gradients in one concat. Unlike PyTorch, a number
 * is the count of parts (as `jnp.split`); `chunk` takes PyTorch's count with a shorter last part.
 * PyTorch `torch.split` (with sizes), JAX `jnp.split`.
 */
export function split(x: Tensor, numOrSizes: number | number[], axis = 0): Tensor[] {
  const t = asTensor('split', x);
  const ax = normalizeAxis('split', axis, t.rank);
  const d = t.shape[ax];
  // a number of parts must be a whole number ≥ 1 that divides the length before Array() is given it (a fraction
  // throws a RangeError there; a huge count would fill an array for minutes before running out of memory)
  const parts =
    typeof numOrSizes === 'number' &&
    Number.isInteger(numOrSizes) &&
    numOrSizes >= 1 &&
    numOrSizes <= Math.max(d, MAX_EMPTY_PARTS) &&
    d % numOrSizes === 0
      ? numOrSizes
      : 0;
  const sizes = typeof numOrSizes === 'number' ? Array(parts).fill(d / parts) : numOrSizes;
  if (
    !Array.isArray(sizes) ||
    sizes.length === 0 ||
    sizes.some((s) => !Number.isInteger(s) || s < 0) ||
    sizes.reduce((a, b) => a + b, 0) !== d
  ) {
    throw new TapegradError('split', `cannot split axis ${ax} of length ${d} into ${JSON.stringify(numOrSizes)}`);
  }
  return splitOp([t], { sizes: [...sizes], axis: ax });
}
split.rule = splitOp.rule;

/**
 * Splits along an axis into `chunks` parts of ⌈length / chunks⌉ entries, the last one shorter (so
 * there may be fewer parts than asked for, as in PyTorch). One node on the tape, as `split`.
 * PyTorch `torch.chunk`, JAX `jnp.array_split` (which balances the parts instead).
 */
export function chunk(x: Tensor, chunks: number, axis = 0): Tensor[] {
  const t = asTensor('chunk', x);
  const ax = normalizeAxis('chunk', axis, t.rank);
  if (!Number.isInteger(chunks) || chunks < 1)
    throw new TapegradError('chunk', `chunks must be a positive integer, got ${describe(chunks)}`);
  const d = t.shape[ax];
  if (d === 0 && chunks > MAX_EMPTY_PARTS)
    throw new TapegradError('chunk', `${chunks} chunks of an empty axis is more than ${MAX_EMPTY_PARTS} empty tensors`);
  const size = Math.ceil(d / chunks);
  const sizes =
    d === 0
      ? Array(chunks).fill(0)
      : Array.from({ length: Math.ceil(d / size) }, (_, k) => Math.min(size, d - k * size));
  return splitOp([t], { sizes, axis: ax });
}

const unbindOp = defineOp<{ axis: number }>({
  name: 'unbind',
  outputs: 'several',
  forward: ([x], { axis }) => tf.unstack(x, axis),
  // the slices' cotangents, stacked back along the removed axis in one stack
  vjp: (gs, _x, slices, { axis }) => [() => stack(filled(gs, slices), axis)],
});
/**
 * The slices of x along `axis`, that axis removed: one node on the tape for all of them, whose
 * adjoint stacks their gradients in one go (a loop over slice() would pad each gradient to x's
 * full shape). Also `x.unbind(axis)`. PyTorch `torch.unbind`, JAX `list(jnp.moveaxis(x, axis, 0))`.
 */
export function unbind(x: Tensor, axis = 0): Tensor[] {
  const t = asTensor('unbind', x);
  const ax = normalizeAxis('unbind', axis, t.rank);
  if (t.shape[ax] === 0) return [];
  return unbindOp([t], { axis: ax });
}
unbind.rule = unbindOp.rule;

// ---- gather ↔ scatterAdd (1-D indices; gather() reshapes for others)
const gatherOp = defineOp<{ axis: number }>({
  name: 'gather',
  forward: ([x, idx], { axis }) => tf.gather(x, idx, axis),
  // each picked row receives its g; rows picked twice receive both (scatter-add)
  vjp: (g, [x, idx], _y, { axis }) => [() => scatterAddRows(g, idx, axis, x.shape[axis]), null],
});
const scatterAddOp = defineOp<{ axis: number; size: number }>({
  name: 'scatterAdd',
  forward: ([g, idx], { axis, size }) =>
    tf.tidy(() => {
      // move `axis` to the front, scatter-add its rows (scatterND sums repeated indices; the wasm
      // backend has no UnsortedSegmentSum), move it back
      const perm = [axis, ...[...Array(g.rank).keys()].filter((i) => i !== axis)];
      const front = tf.transpose(g, perm);
      const summed = tf.scatterND(tf.reshape(idx, [-1, 1]), front, [size, ...front.shape.slice(1)]);
      return tf.transpose(summed, inversePerm(perm));
    }),
  // scatterAdd is linear and its adjoint is gather of the same rows
  vjp: (g, [, idx], _y, { axis }) => [() => gatherOp([g, idx], { axis }), null],
});
/**
 * scatterAdd of indices in range by construction (gather's and maxPool2d's adjoints): the checks
 * that need no read-back only. An index out of range would hang wasm's ScatterNd and make cpu's throw.
 */
export function scatterAddRows(g: Tensor, indices: Tensor, axis: number, size: number): Tensor {
  const t = asTensor('scatterAdd', g);
  const idx = asTensor('scatterAdd', indices, 'the indices');
  const ax = normalizeAxis('scatterAdd', axis, t.rank);
  if (idx.dtype !== 'int32') throw new TapegradError('scatterAdd', `indices must be int32, got ${idx.dtype}`);
  if (idx.rank !== 1 || idx.size !== t.shape[ax]) {
    throw new TapegradError(
      'scatterAdd',
      `indices must be a vector of length ${t.shape[ax]} (axis ${ax} of ${fmtShape(t.shape)}), got shape ${fmtShape(idx.shape)}`,
    );
  }
  if (!Number.isInteger(size) || size < 0)
    throw new TapegradError('scatterAdd', `size must be a non-negative integer, got ${size}`);
  assertFits(
    'scatterAdd',
    t.shape.map((d, i) => (i === ax ? size : d)),
    t.dtype,
  );
  return scatterAddOp([t, idx], { axis: ax, size });
}
/**
 * out[..., idx[i], ...] += g[..., i, ...] along `axis`, into a tensor with `size` entries there;
 * an index outside [0, size) is an error (unchecked on webgpu where the indices live on the GPU).
 * PyTorch `torch.Tensor.index_add`, JAX `x.at[i].add`.
 */
export function scatterAdd(g: Tensor, indices: Tensor, axis: number, size: number): Tensor {
  const idx = asTensor('scatterAdd', indices, 'the indices');
  if (idx.dtype === 'int32' && Number.isInteger(size)) {
    const values = indexValues(idx.value);
    const bad = values ? values.findIndex((v) => v < 0 || v >= size) : -1;
    if (values && bad >= 0)
      throw new TapegradError('scatterAdd', `index ${values[bad]} at position ${bad} is out of range [0, ${size})`);
  }
  return scatterAddRows(g, idx, axis, size);
}
scatterAdd.rule = scatterAddOp.rule;
/** An array of integer indices (tf.tensor1d would truncate 0.5 to 0 silently). */
function integers(fn: string, xs: unknown): number[] {
  if (!Array.isArray(xs) || xs.some((v) => !Number.isInteger(v)))
    throw new TapegradError(fn, `indices must be an int32 Tensor or an array of integers, got ${JSON.stringify(xs)}`);
  return xs;
}
/**
 * Picks entries along `axis` at integer indices (any shape: the result has x's shape with axis replaced by the indices'
 * shape).
 * PyTorch `torch.index_select`, JAX `jnp.take`.
 */
export function gather(x: Tensor, indices: Tensor | number[], axis = 0): Tensor {
  const t = asTensor('gather', x);
  const ax = normalizeAxis('gather', axis, t.rank);
  const idx =
    indices instanceof Tensor
      ? asTensor('gather', indices, 'the indices')
      : new Tensor(tf.tensor1d(integers('gather', indices), 'int32'));
  const made = idx === indices ? [] : [idx];
  try {
    if (idx.dtype !== 'int32') throw new TapegradError('gather', `indices must be int32, got ${idx.dtype}`);
    const values = indexValues(idx.value);
    const n = t.shape[ax];
    const bad = values ? values.findIndex((v) => v < 0 || v >= n) : -1;
    if (values && bad >= 0)
      throw new TapegradError(
        'gather',
        `index ${values[bad]} at position ${bad} is out of range [0, ${n}) for axis ${ax} of ${fmtShape(t.shape)}`,
      );
  } catch (e) {
    made.forEach((m) => m.dispose());
    throw e;
  }
  if (idx.rank === 1) return owning(gatherOp([t, idx], { axis: ax }), made);
  const flat = reshape(idx, [idx.size]);
  const out = gatherOp([t, flat], { axis: ax });
  return owning(reshape(out, [...t.shape.slice(0, ax), ...idx.shape, ...t.shape.slice(ax + 1)]), [...made, flat, out]);
}
gather.rule = gatherOp.rule;
