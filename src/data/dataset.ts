// Datasets: anything with a length and get(i). TensorDataset indexes the first axis of tensors it
// is given; Subset and randomSplit pick items of another dataset.
import * as tf from '@tensorflow/tfjs-core';
import { TapegradError, checkOptions, fmtShape } from '../errors.js';
import { Tensor } from '../tensor.js';
import { describe } from '../op.js';
import { seededRandom, permutation } from './random.js';

/**
 * A map-style data set (PyTorch's torch.utils.data.Dataset): `length` items, item i from get(i).
 * What get returns is the caller's: a new tensor each call, or one the dataset keeps (the loader
 * frees only the tensors it saw made). get may return a Promise (then iterate with for await).
 */
export interface Dataset<T = unknown> {
  readonly length: number;
  get(i: number): T | Promise<T>;
  /** Optional: items i₁…iₖ already collated (what the default collate would make), in one gather. */
  getBatch?(indices: number[]): T extends Tensor[] ? Tensor[] : unknown;
}

/** Throws unless i is an integer index into a dataset of n items. */
export function checkIndex(fn: string, i: unknown, n: number): number {
  if (!(typeof i === 'number' && Number.isInteger(i) && i >= 0 && i < n)) {
    throw new TapegradError(fn, `index ${typeof i === 'number' ? i : describe(i)} is out of range [0, ${n})`);
  }
  return i;
}

/**
 * Items are rows of the given tensors (PyTorch's TensorDataset): item i is [t₀[i], t₁[i], …]. The
 * tensors stay the caller's (the dataset neither copies nor frees them); every item and batch is
 * a new tensor, not on the tape.
 */
export class TensorDataset implements Dataset<Tensor[]> {
  readonly tensors: Tensor[];
  constructor(...tensors: Tensor[]) {
    if (tensors.length === 0) throw new TapegradError('TensorDataset', 'needs at least one tensor');
    tensors.forEach((t, k) => {
      if (!(t instanceof Tensor))
        throw new TapegradError('TensorDataset', `tensor ${k} must be a tapegrad Tensor, got ${describe(t)}`);
      t.assertLive('TensorDataset', `tensor ${k}`);
      if (t.rank === 0)
        throw new TapegradError('TensorDataset', `tensor ${k} is a scalar; items are rows of the first axis`);
    });
    const n = tensors[0].shape[0];
    const bad = tensors.findIndex((t) => t.shape[0] !== n);
    if (bad >= 0) {
      throw new TapegradError(
        'TensorDataset',
        `every tensor needs the same first axis: tensor 0 has shape ${fmtShape(tensors[0].shape)}, tensor ${bad} ${fmtShape(tensors[bad].shape)}`,
      );
    }
    this.tensors = tensors;
  }
  get length(): number {
    return this.tensors[0].shape[0];
  }
  get(i: number): Tensor[] {
    checkIndex('TensorDataset.get', i, this.length);
    return this.tensors.map((t, k) => {
      t.assertLive('TensorDataset.get', `tensor ${k}`);
      return new Tensor(tf.tidy(() => tf.squeeze(tf.slice(t.value, [i], [1]), [0])));
    });
  }
  /** The rows at `indices` of every tensor, gathered at once: [t₀[indices], t₁[indices], …]. */
  getBatch(indices: number[]): Tensor[] {
    if (!Array.isArray(indices))
      throw new TapegradError(
        'TensorDataset.getBatch',
        `indices must be an array of integers, got ${describe(indices)}`,
      );
    indices.forEach((i) => checkIndex('TensorDataset.getBatch', i, this.length));
    return tf
      .tidy(() => {
        const idx = tf.tensor1d(indices, 'int32');
        return this.tensors.map((t, k) => {
          t.assertLive('TensorDataset.getBatch', `tensor ${k}`);
          return tf.gather(t.value, idx);
        });
      })
      .map((v) => new Tensor(v));
  }
}

/** The items of `dataset` at `indices`, in that order (PyTorch's Subset). */
export class Subset<T> implements Dataset<T> {
  readonly indices: number[];
  constructor(
    readonly dataset: Dataset<T>,
    indices: number[],
  ) {
    checkDataset('Subset', dataset);
    if (!Array.isArray(indices))
      throw new TapegradError('Subset', `indices must be an array of integers, got ${describe(indices)}`);
    indices.forEach((i) => checkIndex('Subset', i, dataset.length));
    this.indices = [...indices];
  }
  get length(): number {
    return this.indices.length;
  }
  get(i: number): T | Promise<T> {
    return this.dataset.get(this.indices[checkIndex('Subset.get', i, this.indices.length)]);
  }
  getBatch(indices: number[]): T extends Tensor[] ? Tensor[] : unknown {
    if (!this.dataset.getBatch) throw new TapegradError('Subset.getBatch', 'the underlying dataset has no getBatch');
    indices.forEach((i) => checkIndex('Subset.getBatch', i, this.indices.length));
    return this.dataset.getBatch(indices.map((i) => this.indices[i]));
  }
}

/** Throws unless d looks like a Dataset. */
export function checkDataset(fn: string, d: unknown): void {
  const ds = d as Dataset;
  if (
    d === null ||
    typeof d !== 'object' ||
    typeof ds.get !== 'function' ||
    !(Number.isInteger(ds.length) && ds.length >= 0)
  ) {
    throw new TapegradError(fn, `expected a dataset (an object with an integer length and get(i)), got ${describe(d)}`);
  }
}

/**
 * Splits a dataset into non-overlapping random subsets (PyTorch's random_split): `lengths` are item
 * counts that sum to its length, or fractions that sum to 1 (⌊n·f⌋ each, the remainder dealt one
 * by one from the first subset on, as PyTorch). Seeded: the same seed gives the same split (not
 * PyTorch's: its generator is not reproduced).
 */
export function randomSplit<T>(dataset: Dataset<T>, lengths: number[], opts: { seed?: number } = {}): Subset<T>[] {
  checkOptions('randomSplit', opts, ['seed']);
  checkDataset('randomSplit', dataset);
  const n = dataset.length;
  if (
    !Array.isArray(lengths) ||
    lengths.length === 0 ||
    !lengths.every((l) => typeof l === 'number' && l >= 0 && Number.isFinite(l))
  ) {
    throw new TapegradError(
      'randomSplit',
      `lengths must be a non-empty array of non-negative numbers, got ${JSON.stringify(lengths)}`,
    );
  }
  const total = lengths.reduce((a, b) => a + b, 0);
  let counts: number[];
  if (lengths.every(Number.isInteger) && total === n) counts = [...lengths];
  else if (Math.abs(total - 1) < 1e-9 && lengths.every((l) => l <= 1)) {
    counts = lengths.map((f) => Math.floor(n * f));
    const rest = n - counts.reduce((a, b) => a + b, 0);
    for (let k = 0; k < rest; k++) counts[k % counts.length]++;
  } else {
    throw new TapegradError(
      'randomSplit',
      `lengths ${JSON.stringify(lengths)} must be counts that sum to the dataset's length ${n}, or fractions that sum to 1`,
    );
  }
  const order = permutation(n, seededRandom('randomSplit', opts?.seed));
  let at = 0;
  return counts.map((c) => new Subset(dataset, order.slice(at, (at += c))));
}
