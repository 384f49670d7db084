// Embedding: rows of a learned table, looked up by int32 index.
import * as tf from '@tensorflow/tfjs-core';
import { TapegradError, checkOptions, fmtShape } from '../errors.js';
import { Tensor } from '../tensor.js';
import { asTensor, composed } from '../op.js';
import { add, mul } from '../ops/elementwise.js';
import { gather, reshape } from '../ops/shape.js';
import { indexValues } from '../ops/indices.js';
import { Module } from './module.js';
import { positiveInts } from './layers.js';
import { normal } from './init.js';

/** Options of Embedding: the padding row and the seed. */
export interface EmbeddingOptions {
  /** This row's entries stay as they are (zeros at first): lookups of it pass no gradient to it. */
  paddingIdx?: number;
  /** Seed of the initial table, N(0, 1) as PyTorch's. */
  seed?: number;
}

/**
 * A table of numEmbeddings rows of width embeddingDim (PyTorch's Embedding): forward(indices) with
 * int32 indices of any shape gives [...indices.shape, embeddingDim]. The weight is [num, dim].
 */
export class Embedding extends Module {
  readonly weight: Tensor;
  readonly paddingIdx: number | null;
  constructor(
    readonly numEmbeddings: number,
    readonly embeddingDim: number,
    opts: EmbeddingOptions = {},
  ) {
    super();
    positiveInts('Embedding', { numEmbeddings, embeddingDim });
    checkOptions('Embedding', opts, ['paddingIdx', 'seed']);
    let pad = opts.paddingIdx ?? null;
    if (pad !== null) {
      if (!Number.isInteger(pad) || pad < -numEmbeddings || pad >= numEmbeddings)
        throw new TapegradError(
          'Embedding',
          `paddingIdx must be an integer in [${-numEmbeddings}, ${numEmbeddings}), got ${pad}`,
        );
      if (pad < 0) pad += numEmbeddings;
    }
    this.paddingIdx = pad;
    const w = normal([numEmbeddings, embeddingDim], 1, opts.seed);
    if (pad !== null) {
      const rows = tf.tidy(() =>
        tf.mul(w.value, tf.reshape(tf.notEqual(tf.range(0, numEmbeddings, 1, 'int32'), pad), [-1, 1])),
      );
      w.value.dispose();
      w.value = rows;
    }
    this.weight = this.registerParameter('weight', w);
  }
  override describe(): string {
    return `Embedding(${this.numEmbeddings}, ${this.embeddingDim}${this.paddingIdx === null ? '' : `, paddingIdx=${this.paddingIdx}`})`;
  }
  override forward(indices: Tensor): Tensor {
    const idx = asTensor('Embedding', indices, 'the indices');
    if (idx.dtype !== 'int32')
      throw new TapegradError(
        'Embedding',
        `indices must be int32, got ${idx.dtype} of shape ${fmtShape(idx.shape)} (layer ${this.describe()})`,
      );
    const values = indexValues(idx.value);
    const n = this.numEmbeddings;
    const bad = values ? values.findIndex((v) => v < 0 || v >= n) : -1;
    if (values && bad >= 0) {
      const at = unravel(bad, idx.shape);
      throw new TapegradError(
        'Embedding',
        `index ${values[bad]} at position [${at.join(', ')}] is out of range [0, ${n}) (layer ${this.describe()})`,
      );
    }
    if (idx.rank === 0)
      return composed((keep) => reshape(keep(this.forward(keep(reshape(idx, [1])))), [this.embeddingDim]));
    const pad = this.paddingIdx;
    if (pad === null || (values && !values.includes(pad))) return gather(this.weight, idx);
    // lookups of the padding row read it as a constant: out = keep·W[idx] + (1 − keep)·W[pad]
    return composed((keep) => {
      const rows = keep(gather(this.weight, idx));
      const isPad = keep(new Tensor(tf.tidy(() => tf.expandDims(tf.cast(tf.equal(idx.value, pad), 'float32'), -1))));
      const notPad = keep(new Tensor(tf.tidy(() => tf.sub(1, isPad.value))));
      const padRow = keep(new Tensor(tf.tidy(() => tf.mul(isPad.value, tf.gather(this.weight.value, [pad])))));
      return add(keep(mul(rows, notPad)), padRow);
    });
  }
}

function unravel(flat: number, shape: number[]): number[] {
  const out: number[] = [];
  for (let a = shape.length - 1; a >= 0; a--) {
    out.unshift(flat % shape[a]);
    flat = Math.floor(flat / shape[a]);
  }
  return out;
}
