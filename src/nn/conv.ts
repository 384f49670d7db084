// Convolution and pooling layers, NHWC like TF.js: inputs are [batch, height, width, channels].
import { TapegradError, fmtShape } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { asTensor, owning } from '../op.js';
import { add } from '../ops/elementwise.js';
import { conv2d, maxPool2d, avgPool2d, poolOptions, type Pool2dOptions, type PoolWindow } from '../ops/conv.js';
import { Module } from './module.js';
import { defaultUniform, initializers, type InitName } from './init.js';
import { positiveInts, seedPlus, checkInit } from './layers.js';

type Pair = [number, number];
/** Options of Conv2d: stride, padding, bias, seed, initializer. */
export interface Conv2dLayerOptions {
  stride?: number | Pair;
  padding?: 'valid' | 'same' | number | Pair;
  bias?: boolean;
  /** Seed of the initial filter (the bias uses seed + 1). */
  seed?: number;
  /** Filter initialiser; default PyTorch's U(−1/√fanIn, 1/√fanIn), fanIn = inChannels·kh·kw. */
  init?: InitName;
}

/**
 * 2-D convolution: x [N, H, W, inChannels] → [N, H', W', outChannels]; the filter is [kh, kw, in, out].
 * PyTorch `torch.nn.Conv2d`, JAX `flax.linen.Conv`.
 */
export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly kernelSize: Pair;
  readonly opts: Conv2dLayerOptions;
  /** new Conv2d(1, 8, 3, { padding: 'same' }) or new Conv2d(1, 8, { kernelSize: 3, padding: 'same' }). */
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    window: number | Pair | (Conv2dLayerOptions & { kernelSize: number | Pair }),
    opts: Conv2dLayerOptions = {},
  ) {
    super();
    positiveInts('Conv2d', { inChannels, outChannels });
    const all = window !== null && typeof window === 'object' && !Array.isArray(window);
    const kernelSize = all ? window.kernelSize : window;
    if (all) {
      const { kernelSize: _, ...rest } = window;
      opts = { ...rest, ...opts };
    }
    this.opts = opts;
    this.kernelSize =
      typeof kernelSize === 'number'
        ? [kernelSize, kernelSize]
        : Array.isArray(kernelSize)
          ? [kernelSize[0], kernelSize[1]]
          : [NaN, NaN];
    if (
      !this.kernelSize.every((k) => Number.isInteger(k) && k > 0) ||
      (Array.isArray(kernelSize) && kernelSize.length !== 2)
    ) {
      throw new TapegradError(
        'Conv2d',
        `kernelSize must be a positive integer or a pair of them, got ${JSON.stringify(kernelSize)}`,
      );
    }
    const shape = [...this.kernelSize, inChannels, outChannels];
    const fanIn = inChannels * this.kernelSize[0] * this.kernelSize[1];
    this.weight = this.registerParameter(
      'weight',
      opts.init
        ? initializers[checkInit('Conv2d', opts.init)](shape, { seed: opts.seed })
        : defaultUniform(shape, fanIn, opts.seed),
    );
    this.bias =
      opts.bias === false
        ? null
        : this.registerParameter('bias', defaultUniform([outChannels], fanIn, seedPlus(opts.seed, 1)));
  }
  override describe(): string {
    return `Conv2d(${this.inChannels}→${this.outChannels}, ${this.kernelSize.join('×')})`;
  }
  override forward(x: Tensor): Tensor {
    const t = asTensor('Conv2d', x, 'the input');
    if (t.rank !== 4 || t.shape[3] !== this.inChannels) {
      throw new TapegradError(
        'Conv2d',
        `expected input of shape [N, H, W, ${this.inChannels}] (NHWC), got ${fmtShape(t.shape)} (layer ${this.describe()})`,
      );
    }
    const y = conv2d(t, this.weight, { stride: this.opts.stride, padding: this.opts.padding });
    return this.bias ? owning(add(y, this.bias), [y]) : y;
  }
}

/** maxPool2d as a layer (NHWC). PyTorch `torch.nn.MaxPool2d`, JAX `flax.linen.max_pool`. */
export class MaxPool2d extends Module {
  readonly opts: Pool2dOptions;
  /** new MaxPool2d(2), new MaxPool2d([2, 3], { stride: 1 }) or new MaxPool2d({ kernelSize: 2, stride: 1 }). */
  constructor(window: PoolWindow, opts?: Omit<Pool2dOptions, 'kernelSize'>) {
    super();
    this.opts = poolOptions('MaxPool2d', window, opts);
  }
  override forward(x: Tensor): Tensor {
    return maxPool2d(x, this.opts);
  }
}

/** avgPool2d as a layer (NHWC). PyTorch `torch.nn.AvgPool2d`, JAX `flax.linen.avg_pool`. */
export class AvgPool2d extends Module {
  readonly opts: Pool2dOptions;
  /** new AvgPool2d(2), new AvgPool2d([2, 3], { stride: 1 }) or new AvgPool2d({ kernelSize: 2, stride: 1 }). */
  constructor(window: PoolWindow, opts?: Omit<Pool2dOptions, 'kernelSize'>) {
    super();
    this.opts = poolOptions('AvgPool2d', window, opts);
  }
  override forward(x: Tensor): Tensor {
    return avgPool2d(x, this.opts);
  }
}
