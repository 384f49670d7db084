// Normalisation layers beyond LayerNorm: BatchNorm1d/2d (channels last, as the rest of tg.nn),
// GroupNorm and RMSNorm. Their forwards compose tapegrad ops, except BatchNorm's with batch
// statistics and affine parameters, which is one op (batchNorm: its backward is one kernel on cpu
// and wasm); BatchNorm's running statistics are buffers, updated outside the tape.
import * as tf from '@tensorflow/tfjs-core';
import { TapegradError, checkOptions, fmtShape } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { asTensor, composed } from '../op.js';
import { add, sub, mul, rsqrt, square } from '../ops/elementwise.js';
import { mean } from '../ops/reduce.js';
import { reshape } from '../ops/shape.js';
import { batchNorm } from '../ops/nn.js';
import { Module } from './module.js';
import { positiveInts } from './layers.js';

/** Options of BatchNorm1d and BatchNorm2d: ε, momentum, affine, running statistics. */
export interface BatchNormOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Weight of the new batch in the running statistics (default 0.1); null: their plain average. */
  momentum?: number | null;
  /** A learned scale and shift per channel (default true). */
  affine?: boolean;
  /** Keep running statistics for eval() (default true); without them eval() uses the batch's. */
  trackRunningStats?: boolean;
}

/**
 * Batch normalisation over every axis but the last (channels): y = (x − μ)/√(σ² + ε)·γ + β, with
 * the batch's mean and biased variance in train() and the running ones in eval(). The running
 * variance uses the unbiased batch variance, as PyTorch. Buffers: runningMean, runningVar and
 * numBatchesTracked (a float32 scalar, exact up to 2²⁴ batches).
 */
abstract class BatchNorm extends Module {
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly runningMean: Tensor | null;
  readonly runningVar: Tensor | null;
  readonly numBatchesTracked: Tensor | null;
  readonly eps: number;
  readonly momentum: number | null;
  protected abstract readonly ranks: number[];
  protected abstract readonly layout: string;

  constructor(
    readonly numFeatures: number,
    opts: BatchNormOptions = {},
  ) {
    super();
    const name = this.constructor.name;
    positiveInts(name, { numFeatures });
    checkOptions(name, opts, ['eps', 'momentum', 'affine', 'trackRunningStats']);
    this.eps = opts.eps ?? 1e-5;
    if (!(this.eps >= 0 && Number.isFinite(this.eps)))
      throw new TapegradError(name, `eps must be a non-negative number, got ${opts.eps}`);
    this.momentum = opts.momentum === undefined ? 0.1 : opts.momentum;
    if (this.momentum !== null && !(this.momentum >= 0 && this.momentum <= 1))
      throw new TapegradError(name, `momentum must be in [0, 1] or null, got ${opts.momentum}`);
    const affine = opts.affine ?? true;
    this.weight = affine ? this.registerParameter('weight', tf.ones([numFeatures])) : null;
    this.bias = affine ? this.registerParameter('bias', tf.zeros([numFeatures])) : null;
    const track = opts.trackRunningStats ?? true;
    this.runningMean = track ? this.registerBuffer('runningMean', tf.zeros([numFeatures])) : null;
    this.runningVar = track ? this.registerBuffer('runningVar', tf.ones([numFeatures])) : null;
    this.numBatchesTracked = track ? this.registerBuffer('numBatchesTracked', tf.scalar(0)) : null;
  }
  override describe(): string {
    return `${this.constructor.name}(${this.numFeatures})`;
  }
  override forward(x: Tensor): Tensor {
    const name = this.constructor.name;
    const t = asTensor(name, x, 'the input');
    if (!this.ranks.includes(t.rank) || t.shape[t.rank - 1] !== this.numFeatures) {
      throw new TapegradError(
        name,
        `expected input of shape ${this.layout.replace(/C\]/g, `${this.numFeatures}]`)}, got ${fmtShape(t.shape)} (layer ${this.describe()})`,
      );
    }
    const axis = [...Array(t.rank - 1).keys()];
    const count = t.size / this.numFeatures;
    const useBatch = this.training || !this.runningMean;
    if (useBatch && this.training && count <= 1) {
      throw new TapegradError(
        name,
        `expected more than 1 value per channel when training, got input of shape ${fmtShape(t.shape)}: the variance of one value is undefined; call eval() to use the running statistics`,
      );
    }
    if (useBatch && this.weight && this.bias) {
      const track = this.training && this.runningMean;
      const onStats = track ? (mu: tf.Tensor, v: tf.Tensor) => this.track(mu, v, count) : undefined;
      return batchNorm([t, this.weight, this.bias], { eps: this.eps, onStats });
    }
    return composed((keep) => {
      let n: Tensor;
      if (useBatch) {
        const mu = keep(mean(t, { axis }));
        const d = keep(sub(t, mu));
        const v = keep(mean(keep(square(d)), { axis }));
        n = keep(mul(d, keep(rsqrt(keep(add(v, this.eps))))));
        if (this.training && this.runningMean) this.track(mu.value, v.value, count);
      } else {
        n = keep(mul(keep(sub(t, this.runningMean!)), keep(rsqrt(keep(add(this.runningVar!, this.eps))))));
      }
      return this.weight && this.bias ? add(keep(mul(n, this.weight)), this.bias) : n;
    });
  }
  /** running ← (1 − f)·running + f·batch, f = momentum (or 1/batches with momentum null). */
  private track(mu: tf.Tensor, v: tf.Tensor, count: number): void {
    const batches = this.numBatchesTracked!;
    const nb = tf.keep(tf.add(batches.value, 1));
    batches.value.dispose();
    batches.value = nb;
    const f = this.momentum ?? 1 / nb.dataSync()[0];
    for (const [buf, batch] of [
      [this.runningMean!, mu],
      [this.runningVar!, tf.tidy(() => tf.mul(v, count / (count - 1)))],
    ] as const) {
      const next = tf.keep(tf.tidy(() => tf.add(tf.mul(buf.value, 1 - f), tf.mul(batch, f))));
      buf.value.dispose();
      buf.value = next;
      if (batch !== mu) batch.dispose();
    }
  }
}

/** Batch normalisation of [N, C] or [N, L, C] (PyTorch's BatchNorm1d, channels last). */
export class BatchNorm1d extends BatchNorm {
  protected readonly ranks = [2, 3];
  protected readonly layout = '[N, C] or [N, L, C]';
}
/** Batch normalisation of NHWC images [N, H, W, C] (PyTorch's BatchNorm2d, channels last). */
export class BatchNorm2d extends BatchNorm {
  protected readonly ranks = [4];
  protected readonly layout = '[N, H, W, C] (NHWC)';
}

/**
 * Group normalisation: the C channels fall into numGroups groups; each sample's group is
 * normalised over its channels and every spatial position, then scaled and shifted per channel
 * (PyTorch's GroupNorm; input [N, ..., C], channels last).
 */
export class GroupNorm extends Module {
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly eps: number;
  constructor(
    readonly numGroups: number,
    readonly numChannels: number,
    opts: { eps?: number; affine?: boolean } = {},
  ) {
    super();
    positiveInts('GroupNorm', { numGroups, numChannels });
    checkOptions('GroupNorm', opts, ['eps', 'affine']);
    if (numChannels % numGroups !== 0)
      throw new TapegradError('GroupNorm', `numChannels ${numChannels} must be divisible by numGroups ${numGroups}`);
    this.eps = opts.eps ?? 1e-5;
    if (!(this.eps >= 0 && Number.isFinite(this.eps)))
      throw new TapegradError('GroupNorm', `eps must be a non-negative number, got ${opts.eps}`);
    const affine = opts.affine ?? true;
    this.weight = affine ? this.registerParameter('weight', tf.ones([numChannels])) : null;
    this.bias = affine ? this.registerParameter('bias', tf.zeros([numChannels])) : null;
  }
  override describe(): string {
    return `GroupNorm(${this.numGroups}, ${this.numChannels})`;
  }
  override forward(x: Tensor): Tensor {
    const t = asTensor('GroupNorm', x, 'the input');
    if (t.rank < 2 || t.shape[t.rank - 1] !== this.numChannels) {
      throw new TapegradError(
        'GroupNorm',
        `expected input of shape [N, ..., ${this.numChannels}] (channels last), got ${fmtShape(t.shape)} (layer ${this.describe()})`,
      );
    }
    const g = this.numGroups;
    const grouped = [...t.shape.slice(0, -1), g, this.numChannels / g];
    // normalise over the spatial axes and the channels within a group: all but N and the group axis
    const axis = [...Array(grouped.length).keys()].filter((a) => a !== 0 && a !== grouped.length - 2);
    return composed((keep) => {
      const r = keep(reshape(t, grouped));
      const mu = keep(mean(r, { axis, keepDims: true }));
      const d = keep(sub(r, mu));
      const v = keep(mean(keep(square(d)), { axis, keepDims: true }));
      const n = keep(reshape(keep(mul(d, keep(rsqrt(keep(add(v, this.eps)))))), t.shape));
      return this.weight && this.bias ? add(keep(mul(n, this.weight)), this.bias) : n;
    });
  }
}

/**
 * Root-mean-square normalisation over the trailing normalizedShape axes: y = x/√(mean(x²) + ε)·γ
 * (PyTorch's RMSNorm; ε defaults to float32's machine epsilon, as PyTorch's eps=None).
 */
export class RMSNorm extends Module {
  readonly normalizedShape: number[];
  readonly weight: Tensor | null;
  readonly eps: number;
  constructor(normalizedShape: number | number[], opts: { eps?: number; elementwiseAffine?: boolean } = {}) {
    super();
    this.normalizedShape =
      typeof normalizedShape === 'number'
        ? [normalizedShape]
        : Array.isArray(normalizedShape)
          ? [...normalizedShape]
          : [NaN];
    this.normalizedShape.forEach((d) => positiveInts('RMSNorm', { normalizedShape: d }));
    checkOptions('RMSNorm', opts, ['eps', 'elementwiseAffine']);
    this.eps = opts.eps ?? 2 ** -23;
    if (!(this.eps >= 0 && Number.isFinite(this.eps)))
      throw new TapegradError('RMSNorm', `eps must be a non-negative number, got ${opts.eps}`);
    this.weight =
      (opts.elementwiseAffine ?? true) ? this.registerParameter('weight', tf.ones(this.normalizedShape)) : null;
  }
  override describe(): string {
    return `RMSNorm(${fmtShape(this.normalizedShape)})`;
  }
  override forward(x: Tensor): Tensor {
    const t = asTensor('RMSNorm', x, 'the input');
    const k = this.normalizedShape.length;
    if (t.rank < k || t.shape.slice(-k).join() !== this.normalizedShape.join()) {
      throw new TapegradError(
        'RMSNorm',
        `expected input of shape [..., ${this.normalizedShape.join(', ')}], got ${fmtShape(t.shape)} (layer ${this.describe()})`,
      );
    }
    const axis = [...Array(k).keys()].map((i) => t.rank - k + i);
    return composed((keep) => {
      const ms = keep(mean(keep(square(t)), { axis, keepDims: true }));
      const n = keep(mul(t, keep(rsqrt(keep(add(ms, this.eps))))));
      return this.weight ? mul(n, this.weight) : n;
    });
  }
}
