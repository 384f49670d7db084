// Convolution, pooling and resampling layers, channels last like TF.js: images are [batch, height,
// width, channels] (NHWC), sequences [batch, length, channels] (NWC).
import { TapegradError, checkOptions, fmtShape } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { asTensor, owning } from '../op.js';
import { add } from '../ops/elementwise.js';
import {
  conv1d,
  conv2d,
  conv2dWithBias,
  convTranspose2d,
  maxPool2d,
  avgPool2d,
  adaptiveAvgPool2d,
  interpolate,
  poolOptions,
  type Pool2dOptions,
  type PoolWindow,
  type InterpolateOptions,
} from '../ops/conv.js';
import { Module } from './module.js';
import { defaultUniform, initializers, type InitName } from './init.js';
import { positiveInts, seedPlus, checkInit } from './layers.js';

type Pair = [number, number];
/** Options of Conv2d: stride, padding, dilation, groups, bias, seed, initializer. */
export interface Conv2dLayerOptions {
  stride?: number | Pair;
  padding?: 'valid' | 'same' | number | Pair;
  /** Spacing between the filter's taps: n or [dh, dw]. Default 1. */
  dilation?: number | Pair;
  /** Channel groups (PyTorch's groups): the filter is [kh, kw, inChannels/groups, outChannels]; groups = inChannels is depthwise. Default 1. */
  groups?: number;
  bias?: boolean;
  /** Seed of the initial filter (the bias uses seed + 1). */
  seed?: number;
  /** Filter initialiser; default PyTorch's U(−1/√fanIn, 1/√fanIn), fanIn = (inChannels/groups)·kh·kw. */
  init?: InitName;
}

/** A kernel size given as n or [kh, kw], checked. */
function kernelPair(layer: string, kernelSize: unknown): Pair {
  const k: Pair =
    typeof kernelSize === 'number'
      ? [kernelSize, kernelSize]
      : Array.isArray(kernelSize) && kernelSize.length === 2
        ? [kernelSize[0], kernelSize[1]]
        : [NaN, NaN];
  if (!k.every((v) => Number.isInteger(v) && v > 0))
    throw new TapegradError(
      layer,
      `kernelSize must be a positive integer or a pair of them, got ${JSON.stringify(kernelSize)}`,
    );
  return k;
}

/** Both constructor forms, (in, out, 3, opts) and (in, out, { kernelSize: 3, ...opts }), as the kernel size and the options. */
function splitWindow<O>(window: unknown, opts: O): [unknown, O] {
  if (window !== null && typeof window === 'object' && !Array.isArray(window)) {
    const { kernelSize, ...rest } = window as { kernelSize: unknown };
    return [kernelSize, { ...rest, ...opts } as O];
  }
  return [window, opts];
}

function checkChannelGroups(layer: string, inChannels: number, outChannels: number, groups: unknown): number {
  if (!(Number.isInteger(groups) && (groups as number) >= 1))
    throw new TapegradError(layer, `groups must be a positive integer, got ${JSON.stringify(groups)}`);
  const g = groups as number;
  if (inChannels % g !== 0 || outChannels % g !== 0)
    throw new TapegradError(
      layer,
      `inChannels ${inChannels} and outChannels ${outChannels} must both be divisible by groups ${g}`,
    );
  return g;
}

/** The filter (and bias) of a convolution layer, PyTorch's default U(−1/√fanIn, 1/√fanIn) unless `init`. */
function convParameters(
  register: (name: string, t: Tensor) => Tensor,
  layer: string,
  shape: number[],
  fanIn: number,
  biasSize: number,
  opts: { bias?: boolean; seed?: number; init?: InitName },
): [Tensor, Tensor | null] {
  const weight = register(
    'weight',
    opts.init
      ? initializers[checkInit(layer, opts.init)](shape, { seed: opts.seed })
      : defaultUniform(shape, fanIn, opts.seed),
  );
  const bias = opts.bias === false ? null : register('bias', defaultUniform([biasSize], fanIn, seedPlus(opts.seed, 1)));
  return [weight, bias];
}

/**
 * 2-D convolution: x [N, H, W, inChannels] → [N, H', W', outChannels]; the filter is
 * [kh, kw, inChannels/groups, outChannels] (PyTorch's [out, in/groups, kh, kw] with its axes reversed).
 * PyTorch `torch.nn.Conv2d`, JAX `flax.linen.Conv`.
 */
export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly kernelSize: Pair;
  readonly groups: number;
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
    const [kernelSize, o] = splitWindow(window, opts);
    checkOptions('Conv2d', o, ['stride', 'padding', 'dilation', 'groups', 'bias', 'seed', 'init']);
    this.opts = o;
    this.kernelSize = kernelPair('Conv2d', kernelSize);
    this.groups = checkChannelGroups('Conv2d', inChannels, outChannels, o.groups ?? 1);
    const perGroup = inChannels / this.groups;
    const fanIn = perGroup * this.kernelSize[0] * this.kernelSize[1];
    [this.weight, this.bias] = convParameters(
      (n, t) => this.registerParameter(n, t),
      'Conv2d',
      [...this.kernelSize, perGroup, outChannels],
      fanIn,
      outChannels,
      o,
    );
  }
  override describe(): string {
    const extra = [
      this.opts.dilation !== undefined && `dilation=${this.opts.dilation}`,
      this.groups > 1 && `groups=${this.groups}`,
    ].filter(Boolean);
    return `Conv2d(${this.inChannels}→${this.outChannels}, ${this.kernelSize.join('×')}${extra.map((e) => `, ${e}`).join('')})`;
  }
  override forward(x: Tensor): Tensor {
    const t = asTensor('Conv2d', x, 'the input');
    if (t.rank !== 4 || t.shape[3] !== this.inChannels) {
      throw new TapegradError(
        'Conv2d',
        `expected input of shape [N, H, W, ${this.inChannels}] (NHWC), got ${fmtShape(t.shape)} (layer ${this.describe()})`,
      );
    }
    const { stride, padding, dilation } = this.opts;
    const opts = { stride, padding, dilation, groups: this.groups };
    return this.bias ? conv2dWithBias(t, this.weight, this.bias, opts) : conv2d(t, this.weight, opts);
  }
}

/** Options of Conv1d: as Conv2d's, one number each. */
export interface Conv1dLayerOptions {
  stride?: number;
  padding?: 'valid' | 'same' | number;
  dilation?: number;
  groups?: number;
  bias?: boolean;
  /** Seed of the initial filter (the bias uses seed + 1). */
  seed?: number;
  /** Filter initialiser; default PyTorch's U(−1/√fanIn, 1/√fanIn), fanIn = (inChannels/groups)·k. */
  init?: InitName;
}

/**
 * 1-D convolution over sequences: x [N, L, inChannels] (NWC, channels last) → [N, L', outChannels];
 * the filter is [k, inChannels/groups, outChannels].
 * PyTorch `torch.nn.Conv1d` (which takes [N, C, L] and keeps its filter as [out, in/groups, k]).
 */
export class Conv1d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly kernelSize: number;
  readonly groups: number;
  readonly opts: Conv1dLayerOptions;
  /** new Conv1d(4, 8, 3, { padding: 1 }) or new Conv1d(4, 8, { kernelSize: 3, padding: 1 }). */
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    window: number | (Conv1dLayerOptions & { kernelSize: number }),
    opts: Conv1dLayerOptions = {},
  ) {
    super();
    positiveInts('Conv1d', { inChannels, outChannels });
    const [kernelSize, o] = splitWindow(window, opts);
    checkOptions('Conv1d', o, ['stride', 'padding', 'dilation', 'groups', 'bias', 'seed', 'init']);
    if (!(Number.isInteger(kernelSize) && (kernelSize as number) > 0))
      throw new TapegradError('Conv1d', `kernelSize must be a positive integer, got ${JSON.stringify(kernelSize)}`);
    this.kernelSize = kernelSize as number;
    this.opts = o;
    this.groups = checkChannelGroups('Conv1d', inChannels, outChannels, o.groups ?? 1);
    const perGroup = inChannels / this.groups;
    [this.weight, this.bias] = convParameters(
      (n, t) => this.registerParameter(n, t),
      'Conv1d',
      [this.kernelSize, perGroup, outChannels],
      perGroup * this.kernelSize,
      outChannels,
      o,
    );
  }
  override describe(): string {
    return `Conv1d(${this.inChannels}→${this.outChannels}, ${this.kernelSize}${this.groups > 1 ? `, groups=${this.groups}` : ''})`;
  }
  override forward(x: Tensor): Tensor {
    const t = asTensor('Conv1d', x, 'the input');
    if (t.rank !== 3 || t.shape[2] !== this.inChannels) {
      throw new TapegradError(
        'Conv1d',
        `expected input of shape [N, L, ${this.inChannels}] (NWC), got ${fmtShape(t.shape)} (layer ${this.describe()})`,
      );
    }
    const { stride, padding, dilation } = this.opts;
    const y = conv1d(t, this.weight, { stride, padding, dilation, groups: this.groups });
    return this.bias ? owning(add(y, this.bias), [y]) : y;
  }
}

/** Options of ConvTranspose2d. */
export interface ConvTranspose2dLayerOptions {
  stride?: number | Pair;
  /** Removed from each side of the full result: n or [padH, padW]. Default 0. */
  padding?: number | Pair;
  /** Added to the bottom and right: smaller than the stride or the dilation. Default 0. */
  outputPadding?: number | Pair;
  dilation?: number | Pair;
  /** Channel groups: the filter is [kh, kw, inChannels, outChannels/groups]. Default 1. */
  groups?: number;
  bias?: boolean;
  /** Seed of the initial filter (the bias uses seed + 1). */
  seed?: number;
  /** Filter initialiser; default PyTorch's U(−1/√fanIn, 1/√fanIn) with PyTorch's fanIn = (outChannels/groups)·kh·kw. */
  init?: InitName;
}

/**
 * Transposed 2-D convolution: x [N, H, W, inChannels] → [N, H', W', outChannels] with
 * H' = (H − 1)·stride − 2·padding + dilation·(kh − 1) + outputPadding + 1; the filter is
 * [kh, kw, inChannels, outChannels/groups] (PyTorch's [in, out/groups, kh, kw] with the kernel axes first).
 * PyTorch `torch.nn.ConvTranspose2d`, JAX `flax.linen.ConvTranspose`.
 */
export class ConvTranspose2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly kernelSize: Pair;
  readonly groups: number;
  readonly opts: ConvTranspose2dLayerOptions;
  /** new ConvTranspose2d(8, 4, 3, { stride: 2, padding: 1, outputPadding: 1 }) or with { kernelSize } in the options. */
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    window: number | Pair | (ConvTranspose2dLayerOptions & { kernelSize: number | Pair }),
    opts: ConvTranspose2dLayerOptions = {},
  ) {
    super();
    positiveInts('ConvTranspose2d', { inChannels, outChannels });
    const [kernelSize, o] = splitWindow(window, opts);
    checkOptions('ConvTranspose2d', o, [
      'stride',
      'padding',
      'outputPadding',
      'dilation',
      'groups',
      'bias',
      'seed',
      'init',
    ]);
    this.opts = o;
    this.kernelSize = kernelPair('ConvTranspose2d', kernelSize);
    this.groups = checkChannelGroups('ConvTranspose2d', inChannels, outChannels, o.groups ?? 1);
    const perGroup = outChannels / this.groups;
    [this.weight, this.bias] = convParameters(
      (n, t) => this.registerParameter(n, t),
      'ConvTranspose2d',
      [...this.kernelSize, inChannels, perGroup],
      perGroup * this.kernelSize[0] * this.kernelSize[1],
      outChannels,
      o,
    );
  }
  override describe(): string {
    return `ConvTranspose2d(${this.inChannels}→${this.outChannels}, ${this.kernelSize.join('×')}${this.opts.stride !== undefined ? `, stride=${this.opts.stride}` : ''}${this.groups > 1 ? `, groups=${this.groups}` : ''})`;
  }
  override forward(x: Tensor): Tensor {
    const t = asTensor('ConvTranspose2d', x, 'the input');
    if (t.rank !== 4 || t.shape[3] !== this.inChannels) {
      throw new TapegradError(
        'ConvTranspose2d',
        `expected input of shape [N, H, W, ${this.inChannels}] (NHWC), got ${fmtShape(t.shape)} (layer ${this.describe()})`,
      );
    }
    const { stride, padding, outputPadding, dilation } = this.opts;
    const y = convTranspose2d(t, this.weight, { stride, padding, outputPadding, dilation, groups: this.groups });
    return this.bias ? owning(add(y, this.bias), [y]) : y;
  }
}

/**
 * maxPool2d as a layer (NHWC), with numeric padding (−∞) and ceilMode as PyTorch's.
 * PyTorch `torch.nn.MaxPool2d`, JAX `flax.linen.max_pool`.
 */
export class MaxPool2d extends Module {
  readonly opts: Pool2dOptions;
  /** new MaxPool2d(2), new MaxPool2d([2, 3], { stride: 1, padding: 1 }) or new MaxPool2d({ kernelSize: 3, stride: 2, ceilMode: true }). */
  constructor(window: PoolWindow, opts?: Omit<Pool2dOptions, 'kernelSize'>) {
    super();
    this.opts = poolOptions('MaxPool2d', window, opts);
  }
  override forward(x: Tensor): Tensor {
    return maxPool2d(x, this.opts);
  }
}

/**
 * avgPool2d as a layer (NHWC), with numeric padding, ceilMode and countIncludePad (default true) as
 * PyTorch's. PyTorch `torch.nn.AvgPool2d`, JAX `flax.linen.avg_pool`.
 */
export class AvgPool2d extends Module {
  readonly opts: Pool2dOptions;
  /** new AvgPool2d(2), new AvgPool2d([2, 3], { stride: 1 }) or new AvgPool2d({ kernelSize: 3, padding: 1, countIncludePad: false }). */
  constructor(window: PoolWindow, opts?: Omit<Pool2dOptions, 'kernelSize'>) {
    super();
    this.opts = poolOptions('AvgPool2d', window, opts);
  }
  override forward(x: Tensor): Tensor {
    return avgPool2d(x, this.opts);
  }
}

/**
 * Average pooling to a fixed output size (NHWC): [N, H, W, C] → [N, Ho, Wo, C], with PyTorch's
 * windows (output i covers ⌊i·H/Ho⌋ … ⌈(i+1)·H/Ho⌉ − 1); null in outputSize keeps that size.
 * PyTorch `torch.nn.AdaptiveAvgPool2d`.
 */
export class AdaptiveAvgPool2d extends Module {
  /** new AdaptiveAvgPool2d(1) (global average pooling) or new AdaptiveAvgPool2d([7, 7]). */
  constructor(readonly outputSize: number | [number | null, number | null]) {
    super();
    const sizes = typeof outputSize === 'number' ? [outputSize] : Array.isArray(outputSize) ? outputSize : [NaN];
    if (!(sizes.length <= 2 && sizes.every((v) => v === null || (Number.isInteger(v) && v >= 1))))
      throw new TapegradError(
        'AdaptiveAvgPool2d',
        `outputSize must be a positive integer or a pair of them (null keeps a size), got ${JSON.stringify(outputSize)}`,
      );
  }
  override describe(): string {
    return `AdaptiveAvgPool2d(${JSON.stringify(this.outputSize)})`;
  }
  override forward(x: Tensor): Tensor {
    const t = asTensor('AdaptiveAvgPool2d', x, 'the input');
    if (t.rank !== 4)
      throw new TapegradError(
        'AdaptiveAvgPool2d',
        `expected input of shape [N, H, W, C] (NHWC), got ${fmtShape(t.shape)} (layer ${this.describe()})`,
      );
    return adaptiveAvgPool2d(t, this.outputSize);
  }
}

/**
 * Resizes images [N, H, W, C] to a size or by a scale factor, 'nearest' (the default) or 'bilinear'
 * (alignCorners as PyTorch's align_corners, default false), with PyTorch's coordinate conventions.
 * PyTorch `torch.nn.Upsample`.
 */
export class Upsample extends Module {
  readonly opts: InterpolateOptions;
  /** new Upsample({ scaleFactor: 2 }) or new Upsample({ size: [8, 8], mode: 'bilinear', alignCorners: true }). */
  constructor(opts: InterpolateOptions) {
    super();
    if (opts === null || typeof opts !== 'object')
      throw new TapegradError(
        'Upsample',
        `options { size } or { scaleFactor } are required, got ${JSON.stringify(opts)}`,
      );
    checkOptions('Upsample', opts, ['size', 'scaleFactor', 'mode', 'alignCorners']);
    if ((opts.size === undefined) === (opts.scaleFactor === undefined))
      throw new TapegradError('Upsample', 'give one of size and scaleFactor');
    if (opts.mode !== undefined && opts.mode !== 'nearest' && opts.mode !== 'bilinear')
      throw new TapegradError('Upsample', `mode must be 'nearest' or 'bilinear', got ${JSON.stringify(opts.mode)}`);
    if ((opts.mode ?? 'nearest') === 'nearest' && opts.alignCorners !== undefined)
      throw new TapegradError('Upsample', "alignCorners applies to mode 'bilinear' only (as PyTorch)");
    this.opts = { ...opts };
  }
  override describe(): string {
    const { size, scaleFactor, mode } = this.opts;
    return `Upsample(${size !== undefined ? `size=${JSON.stringify(size)}` : `scaleFactor=${JSON.stringify(scaleFactor)}`}, ${mode ?? 'nearest'})`;
  }
  override forward(x: Tensor): Tensor {
    const t = asTensor('Upsample', x, 'the input');
    if (t.rank !== 4)
      throw new TapegradError(
        'Upsample',
        `expected input of shape [N, H, W, C] (NHWC), got ${fmtShape(t.shape)} (layer ${this.describe()})`,
      );
    return interpolate(t, this.opts);
  }
}
