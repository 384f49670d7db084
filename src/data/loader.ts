// DataLoader: batches of a dataset's items, in order or shuffled (seeded), for … of and for await … of.
import * as tf from '@tensorflow/tfjs-core';
import { TapegradError, checkOptions, fmtShape } from '../errors.js';
import { Tensor } from '../tensor.js';
import { describe } from '../op.js';
import { tensorMark } from '../functional.js';
import { checkDataset, type Dataset } from './dataset.js';
import { seededRandom, permutation } from './random.js';

/** What the default collate makes of items of type T: every Tensor and number becomes a batch Tensor. */
export type Collated<T> = T extends Tensor | number
  ? Tensor
  : T extends readonly unknown[]
    ? { [K in keyof T]: Collated<T[K]> }
    : T extends object
      ? { [K in keyof T]: Collated<T[K]> }
      : never;

/** Options of DataLoader: batch size, shuffling and its seed, dropLast, collate. */
export interface DataLoaderOptions<T, B> {
  /** Items per batch (default 1). */
  batchSize?: number;
  /** A new random order every pass (default false). */
  shuffle?: boolean;
  /** Seed of the shuffles: the same seed gives the same sequence of orders, pass after pass. */
  seed?: number;
  /** Drop the last batch when it is smaller than batchSize (default false). */
  dropLast?: boolean;
  /** Makes a batch from a list of items; default `collate` (stacks tensors position by position). */
  collate?: (items: T[]) => B;
}

/**
 * PyTorch's default_collate: items that are Tensors are stacked along a new first axis; numbers
 * become a float32 vector; arrays (tuples) and plain objects are collated position by position
 * (key by key). The result is new tensors, not on the tape.
 */
export function collate<T>(items: T[]): Collated<T> {
  if (!Array.isArray(items) || items.length === 0)
    throw new TapegradError('collate', `expected a non-empty array of items, got ${describe(items)}`);
  const first = items[0] as unknown;
  if (first instanceof Tensor) {
    items.forEach((t, k) => {
      if (!(t instanceof Tensor))
        throw new TapegradError('collate', `item ${k} is ${describe(t)} but item 0 is a Tensor`);
      t.assertLive('collate', `item ${k}`);
      if (t.shape.join() !== first.shape.join() || t.dtype !== first.dtype) {
        throw new TapegradError(
          'collate',
          `item ${k} has shape ${fmtShape(t.shape)} ${t.dtype}, item 0 ${fmtShape(first.shape)} ${first.dtype}: they cannot be stacked`,
        );
      }
    });
    return new Tensor(tf.stack((items as Tensor[]).map((t) => t.value))) as Collated<T>;
  }
  if (typeof first === 'number') {
    const bad = items.findIndex((v) => typeof v !== 'number');
    if (bad >= 0) throw new TapegradError('collate', `item ${bad} is ${describe(items[bad])} but item 0 is a number`);
    return new Tensor(tf.tensor1d(items as number[], 'float32')) as Collated<T>;
  }
  if (Array.isArray(first)) {
    const bad = items.findIndex((v) => !Array.isArray(v) || v.length !== first.length);
    if (bad >= 0) throw new TapegradError('collate', `item ${bad} is not an array of ${first.length} like item 0`);
    return first.map((_, j) => collate((items as unknown[][]).map((v) => v[j]))) as unknown as Collated<T>;
  }
  if (first !== null && typeof first === 'object' && Object.getPrototypeOf(first) === Object.prototype) {
    const keys = Object.keys(first);
    return Object.fromEntries(
      keys.map((k) => [
        k,
        collate(
          (items as Record<string, unknown>[]).map((v, i) => {
            if (v === null || typeof v !== 'object' || !(k in v))
              throw new TapegradError('collate', `item ${i} has no key '${k}' like item 0`);
            return v[k];
          }),
        ),
      ]),
    ) as unknown as Collated<T>;
  }
  throw new TapegradError(
    'collate',
    `cannot batch items like item 0 (${describe(first)}): give the loader a collate function`,
  );
}

/** Every Tensor in a batch (Tensors in arrays and objects). */
function tensorsIn(x: unknown, out: Tensor[] = []): Tensor[] {
  if (x instanceof Tensor) out.push(x);
  else if (Array.isArray(x)) x.forEach((v) => tensorsIn(v, out));
  else if (x !== null && typeof x === 'object') Object.values(x).forEach((v) => tensorsIn(v, out));
  return out;
}

/** Frees the tensors in x made since mark. */
function freeMade(x: unknown, mark: number): void {
  for (const t of tensorsIn(x)) if (t.value.id >= mark) t.dispose();
}

/**
 * Iterates a dataset in batches (PyTorch's DataLoader, in one process):
 * `for (const [x, y] of loader)` or `for await (const [x, y] of loader)` (needed when get(i) is
 * async). A batch belongs to the loader: it is freed when the loop asks for the next one or ends
 * (break and throw included), so a loop leaks nothing; copy what must live longer (t.detach()).
 * So `[...loader]` and `Array.from(loader)` give freed batches: loop over the loader instead.
 * Tensors the dataset handed out unchanged (a custom collate returning them) are never freed.
 */
export class DataLoader<T = unknown, B = Collated<T>> {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  private readonly random: () => number;
  private readonly collateFn: ((items: T[]) => B) | null;

  constructor(
    readonly dataset: Dataset<T>,
    opts: DataLoaderOptions<T, B> = {},
  ) {
    checkDataset('DataLoader', dataset);
    checkOptions('DataLoader', opts, ['batchSize', 'shuffle', 'seed', 'dropLast', 'collate']);
    this.batchSize = opts.batchSize ?? 1;
    if (!(Number.isInteger(this.batchSize) && this.batchSize > 0))
      throw new TapegradError('DataLoader', `batchSize must be a positive integer, got ${String(opts.batchSize)}`);
    this.shuffle = opts.shuffle ?? false;
    this.dropLast = opts.dropLast ?? false;
    for (const [k, v] of [
      ['shuffle', this.shuffle],
      ['dropLast', this.dropLast],
    ] as const)
      if (typeof v !== 'boolean')
        throw new TapegradError('DataLoader', `${k} must be true or false, got ${describe(v)}`);
    if (opts.collate !== undefined && typeof opts.collate !== 'function')
      throw new TapegradError('DataLoader', `collate must be a function, got ${describe(opts.collate)}`);
    this.collateFn = opts.collate ?? null;
    if (opts.seed !== undefined && !this.shuffle)
      throw new TapegradError('DataLoader', 'seed is given but shuffle is off');
    this.random = seededRandom('DataLoader', opts.seed);
  }

  /** Batches per pass. */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The item indices of each batch of one pass (draws the next shuffle). */
  private batchIndices(): number[][] {
    const n = this.dataset.length;
    const order = this.shuffle ? permutation(n, this.random) : Array.from({ length: n }, (_, i) => i);
    const out: number[][] = [];
    for (let at = 0; at < n; at += this.batchSize) {
      const idx = order.slice(at, at + this.batchSize);
      if (idx.length < this.batchSize && this.dropLast) break;
      out.push(idx);
    }
    return out;
  }

  /**
   * One batch from its items. Item tensors made for it and not in the batch are freed; the tensors
   * of the batch made since `mark` are the loader's (freed when the loop moves on).
   */
  private assemble(indices: number[], items: T[] | null, mark: number): { batch: B; made: Tensor[] } {
    let batch!: B;
    try {
      tf.tidy(() => {
        batch = (
          items === null ? this.dataset.getBatch!(indices) : this.collateFn ? this.collateFn(items) : collate(items)
        ) as B;
        return tensorsIn(batch).map((t) => t.value);
      });
    } finally {
      const inBatch = new Set(batch === undefined ? [] : tensorsIn(batch));
      for (const t of tensorsIn(items)) if (t.value.id >= mark && !inBatch.has(t)) t.dispose();
    }
    // tensors made before the batch began (the dataset's own) are not the loader's to free
    return { batch, made: tensorsIn(batch).filter((t) => t.value.id >= mark) };
  }

  private fastPath(): boolean {
    return this.collateFn === null && typeof this.dataset.getBatch === 'function';
  }

  *[Symbol.iterator](): Iterator<B> {
    for (const idx of this.batchIndices()) {
      const mark = tensorMark();
      yield* lend(this.assemble(idx, this.fastPath() ? null : this.items(idx, mark), mark));
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<B> {
    for (const idx of this.batchIndices()) {
      const mark = tensorMark();
      yield* lend(this.assemble(idx, this.fastPath() ? null : await this.itemsAsync(idx, mark), mark));
    }
  }

  /** The items at idx, from a synchronous get(i); on an error, those made since mark are freed. */
  private items(idx: number[], mark: number): T[] {
    const items: T[] = [];
    try {
      for (const i of idx) items.push(this.dataset.get(i) as T);
    } catch (e) {
      freeMade(items, mark);
      throw e;
    }
    if (items.some((v) => v instanceof Promise)) {
      // what the promises resolve to is freed when they settle
      for (const v of items)
        if (v instanceof Promise)
          v.then(
            (it) => freeMade(it, mark),
            () => {},
          );
      freeMade(items, mark);
      throw new TapegradError(
        'DataLoader',
        'the dataset returns Promises: iterate with for await (const batch of loader)',
      );
    }
    return items;
  }

  /** The items at idx, get(i) awaited for each at once; on an error, those made since mark are freed. */
  private async itemsAsync(idx: number[], mark: number): Promise<T[]> {
    const settled = await Promise.allSettled(idx.map(async (i) => this.dataset.get(i)));
    const items = settled.map((r) => (r.status === 'fulfilled' ? r.value : undefined)) as T[];
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) {
      freeMade(items, mark);
      throw (failed as PromiseRejectedResult).reason;
    }
    return items;
  }
}

/**
 * Yields the batch, then frees the tensors made for it: a batch is the loader's until the loop
 * asks for the next one or ends (a break or a throw returns the delegating generator, which runs
 * this finally).
 */
function* lend<B>({ batch, made }: { batch: B; made: Tensor[] }): Generator<B, void, undefined> {
  try {
    yield batch;
  } finally {
    for (const t of made) t.dispose();
  }
}
