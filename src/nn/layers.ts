// Layers: Linear, Sequential, MLP, Flatten, Dropout, LayerNorm, and activations as modules.
// A layer's forward composes tapegrad ops; the intermediates it makes are owned by its output
// (owning()), so disposing the output frees them, as for any composite op.
import * as tf from '@tensorflow/tfjs-core';
import { TapegradError, checkOptions, fmtShape } from '../errors.js';
import { Tensor } from '../tensor.js';
import { asTensor, owning } from '../op.js';
import {
  add,
  sub,
  mul,
  relu,
  tanh,
  sigmoid,
  gelu,
  leakyRelu,
  elu,
  softplus,
  silu,
  mish,
  hardtanh,
  hardtanhBounds,
  logSigmoid,
  softsign,
  selu,
  rsqrt,
  square,
} from '../ops/elementwise.js';
import { mean } from '../ops/reduce.js';
import { reshape } from '../ops/shape.js';
import { linear } from '../ops/matrix.js';
import { softmax, logSoftmax, layerNorm } from '../ops/nn.js';
import { hasFused } from '../backend/fused.js';
import { Module } from './module.js';
import { defaultUniform, initializers, type InitName } from './init.js';

/** Options of Linear: bias, seed, initializer. */
export interface LinearOptions {
  bias?: boolean;
  /** Seed of the initial weights (the bias uses seed + 1). */
  seed?: number;
  /** Weight initialiser; default PyTorch's U(−1/√in, 1/√in) for weight and bias. */
  init?: InitName;
}

/**
 * y = x·W + b, with W of shape [in, out] (the transpose of PyTorch's [out, in]: x·W needs no
 * transposed matmul, which the wasm backend runs an order slower: docs/benchmarks.md). x is [..., in].
 * PyTorch `torch.nn.Linear`, JAX `flax.linen.Dense`.
 */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: LinearOptions = {},
  ) {
    super();
    checkOptions('Linear', opts, ['bias', 'seed', 'init']);
    positiveInts('Linear', { inFeatures, outFeatures });
    const shape = [inFeatures, outFeatures];
    this.weight = this.registerParameter(
      'weight',
      opts.init
        ? initializers[checkInit('Linear', opts.init)](shape, { seed: opts.seed })
        : defaultUniform(shape, inFeatures, opts.seed),
    );
    this.bias =
      opts.bias === false
        ? null
        : this.registerParameter(
            'bias',
            opts.init
              ? new Tensor(tf.zeros([outFeatures]))
              : defaultUniform([outFeatures], inFeatures, seedPlus(opts.seed, 1)),
          );
  }
  override describe(): string {
    return `Linear(${this.inFeatures}→${this.outFeatures})`;
  }
  override forward(x: Tensor): Tensor {
    return this.forwardActivated(x, 'none');
  }
  /** act(x·W + b) as one op and one kernel (tg.linear); MLP fuses its relu in here. */
  forwardActivated(x: Tensor, activation: 'none' | 'relu'): Tensor {
    const t = asTensor('Linear', x, 'the input');
    if (t.rank < 1 || t.shape[t.rank - 1] !== this.inFeatures) {
      throw new TapegradError(
        'Linear',
        `expected input of shape [..., ${this.inFeatures}], got ${fmtShape(t.shape)} (layer ${this.describe()})`,
      );
    }
    if (t.rank === 2) return linear(t, this.weight, this.bias, { activation });
    const rows = reshape(t, [-1, this.inFeatures]);
    const y = linear(rows, this.weight, this.bias, { activation });
    return owning(reshape(y, [...t.shape.slice(0, -1), this.outFeatures]), [rows, y]);
  }
}

/** Applies its modules in order. PyTorch `torch.nn.Sequential`, JAX `flax.linen.Sequential`. */
export class Sequential extends Module {
  readonly layers: Module[];
  constructor(...layers: Module[]) {
    super();
    layers.forEach((m, i) => this.registerModule(String(i), m));
    this.layers = layers;
  }
  override forward(x: Tensor): Tensor {
    const made: Tensor[] = [];
    let h = asTensor(this.constructor.name, x, 'the input');
    for (const m of this.layers) {
      h = m.forward(h);
      made.push(h);
    }
    return owning(
      h,
      [...new Set(made)].filter((t) => t !== h && t !== x),
    );
  }
}

/** The activations MLP accepts by name. */
export type ActivationName = 'relu' | 'tanh' | 'sigmoid' | 'gelu' | 'leakyRelu' | 'silu' | 'mish' | 'elu';
/** Options of MLP: the hidden layers' activation, bias, seed, initializer. */
export interface MLPOptions {
  activation?: ActivationName;
  bias?: boolean;
  /** Seed of the initial weights; layer i uses seed + 2i. */
  seed?: number;
  init?: InitName;
}

/**
 * A multilayer perceptron: Linear layers of the given sizes with an activation between them (none
 * after the last). With relu (the default) forward() fuses it into each hidden layer's kernel
 * (Linear.forwardActivated), so its ReLU modules are listed in `layers` but not called.
 * PyTorch `torchvision.ops.MLP`.
 */
export class MLP extends Sequential {
  readonly activation: ActivationName;
  constructor(
    readonly sizes: number[],
    opts: MLPOptions = {},
  ) {
    checkOptions('MLP', opts, ['activation', 'bias', 'seed', 'init']);
    if (!Array.isArray(sizes) || sizes.length < 2)
      throw new TapegradError(
        'MLP',
        `sizes must list at least an input and an output width, got ${JSON.stringify(sizes)}`,
      );
    const act = opts.activation ?? 'relu';
    if (!(act in activations))
      throw new TapegradError('MLP', `unknown activation '${act}' (${Object.keys(activations).join(', ')})`);
    const layers: Module[] = [];
    for (let i = 0; i + 1 < sizes.length; i++) {
      if (i > 0) layers.push(new activations[act]());
      layers.push(
        new Linear(sizes[i], sizes[i + 1], { bias: opts.bias, init: opts.init, seed: seedPlus(opts.seed, 2 * i) }),
      );
    }
    super(...layers);
    this.activation = act;
  }
  override describe(): string {
    return `MLP([${this.sizes.join(', ')}])`;
  }
  override forward(x: Tensor): Tensor {
    if (this.activation !== 'relu') return super.forward(x);
    // relu fused into each hidden layer's kernel: one GPU dispatch per layer instead of three
    const linears = this.layers.filter((m): m is Linear => m instanceof Linear);
    const made: Tensor[] = [];
    let h = asTensor('MLP', x, 'the input');
    linears.forEach((layer, i) => {
      h = layer.forwardActivated(h, i < linears.length - 1 ? 'relu' : 'none');
      made.push(h);
    });
    return owning(
      h,
      made.filter((t) => t !== h),
    );
  }
}

/** Flattens every axis from startDim on: [N, H, W, C] → [N, H·W·C] by default. PyTorch `torch.nn.Flatten`. */
export class Flatten extends Module {
  constructor(readonly startDim = 1) {
    super();
    if (!Number.isInteger(startDim) || startDim < 0)
      throw new TapegradError('Flatten', `startDim must be a non-negative integer, got ${startDim}`);
  }
  override forward(x: Tensor): Tensor {
    const t = asTensor('Flatten', x, 'the input');
    if (t.rank < this.startDim)
      throw new TapegradError(
        'Flatten',
        `startDim ${this.startDim} needs rank ≥ ${this.startDim}, got ${fmtShape(t.shape)}`,
      );
    return reshape(t, [...t.shape.slice(0, this.startDim), -1]);
  }
}

/**
 * Zeroes each entry with probability p in training and scales the rest by 1/(1−p); the identity in
 * eval mode. Seeded: the k-th call uses seed + k, so a run is reproducible.
 * PyTorch `torch.nn.Dropout`, JAX `flax.linen.Dropout`.
 */
export class Dropout extends Module {
  private calls = 0;
  constructor(
    readonly p = 0.5,
    readonly opts: { seed?: number } = {},
  ) {
    super();
    checkOptions('Dropout', opts, ['seed']);
    if (!(p >= 0 && p < 1)) throw new TapegradError('Dropout', `p must be in [0, 1), got ${p}`);
  }
  override describe(): string {
    return `Dropout(p=${this.p})`;
  }
  override forward(x: Tensor): Tensor {
    const t = asTensor('Dropout', x, 'the input');
    if (!this.training || this.p === 0) return t;
    const seed = this.opts.seed === undefined ? undefined : this.opts.seed + this.calls;
    this.calls++;
    const mask = new Tensor(
      tf.tidy(() =>
        tf.div(
          tf.cast(tf.greaterEqual(tf.randomUniform(t.shape, 0, 1, 'float32', seed), this.p), 'float32'),
          1 - this.p,
        ),
      ),
    );
    return owning(mul(t, mask), [mask]);
  }
}

/**
 * Normalises over the trailing `normalizedShape` axes, then scales and shifts (learned, per entry).
 * PyTorch `torch.nn.LayerNorm`, JAX `flax.linen.LayerNorm`.
 */
export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly eps: number;
  constructor(normalizedShape: number | number[], opts: { eps?: number; elementwiseAffine?: boolean } = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    this.normalizedShape.forEach((d) => positiveInts('LayerNorm', { normalizedShape: d }));
    checkOptions('LayerNorm', opts, ['eps', 'elementwiseAffine']);
    this.eps = opts.eps ?? 1e-5;
    if (!(this.eps >= 0 && Number.isFinite(this.eps)))
      throw new TapegradError('LayerNorm', `eps must be a non-negative number, got ${opts.eps}`);
    const affine = opts.elementwiseAffine ?? true;
    this.weight = affine ? this.registerParameter('weight', tf.ones(this.normalizedShape)) : null;
    this.bias = affine ? this.registerParameter('bias', tf.zeros(this.normalizedShape)) : null;
  }
  override describe(): string {
    return `LayerNorm(${fmtShape(this.normalizedShape)})`;
  }
  override forward(x: Tensor): Tensor {
    const t = asTensor('LayerNorm', x, 'the input');
    const k = this.normalizedShape.length;
    if (t.rank < k || t.shape.slice(-k).join() !== this.normalizedShape.join()) {
      throw new TapegradError(
        'LayerNorm',
        `expected input of shape [..., ${this.normalizedShape.join(', ')}], got ${fmtShape(t.shape)} (layer ${this.describe()})`,
      );
    }
    // one op where a kernel computes it (cpu and wasm), else composed of the ops below
    if (this.weight && this.bias && hasFused('layerNorm'))
      return layerNorm([t, this.weight, this.bias], { eps: this.eps });
    const axis = [...Array(k).keys()].map((i) => t.rank - k + i);
    // y = (x − μ) / √(σ² + ε) · γ + β, with the biased variance (as PyTorch)
    const mu = mean(t, { axis, keepDims: true });
    const d = sub(t, mu);
    const d2 = square(d);
    const v = mean(d2, { axis, keepDims: true });
    const ve = add(v, this.eps);
    const r = rsqrt(ve);
    const n = mul(d, r);
    if (!this.weight || !this.bias) return owning(n, [mu, d, d2, v, ve, r]);
    const s = mul(n, this.weight);
    return owning(add(s, this.bias), [mu, d, d2, v, ve, r, n, s]);
  }
}

// ---- activations as modules
/** The base of the activation layers without options: forward applies the op. */
abstract class ActivationLayer extends Module {
  protected abstract readonly op: (x: Tensor) => Tensor;
  override forward(x: Tensor): Tensor {
    return this.op(x);
  }
}
/** The base of the layers of an op over one axis (softmax, log-softmax): forward applies it along `axis`. */
abstract class AxisLayer extends Module {
  protected abstract readonly op: (x: Tensor, axis: number) => Tensor;
  constructor(readonly axis = -1) {
    super();
  }
  override forward(x: Tensor): Tensor {
    return this.op(x, this.axis);
  }
}
/** relu as a layer. PyTorch `torch.nn.ReLU`. */
export class ReLU extends ActivationLayer {
  protected readonly op = relu;
}
/** tanh as a layer. PyTorch `torch.nn.Tanh`. */
export class Tanh extends ActivationLayer {
  protected readonly op = tanh;
}
/** sigmoid as a layer. PyTorch `torch.nn.Sigmoid`. */
export class Sigmoid extends ActivationLayer {
  protected readonly op = sigmoid;
}
/** gelu as a layer. PyTorch `torch.nn.GELU`. */
export class GELU extends ActivationLayer {
  protected readonly op = gelu;
}
/** leakyRelu as a layer, with its slope. PyTorch `torch.nn.LeakyReLU`. */
export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) {
    super();
    if (typeof negativeSlope !== 'number' || !Number.isFinite(negativeSlope))
      throw new TapegradError(
        'LeakyReLU',
        `negativeSlope must be a finite number, got ${JSON.stringify(negativeSlope)}`,
      );
  }
  override forward(x: Tensor): Tensor {
    return leakyRelu(x, this.negativeSlope);
  }
}
/** softmax over an axis as a layer. PyTorch `torch.nn.Softmax`. */
export class Softmax extends AxisLayer {
  protected readonly op = softmax;
}
/** log-softmax over an axis as a layer. PyTorch `torch.nn.LogSoftmax`. */
export class LogSoftmax extends AxisLayer {
  protected readonly op = logSoftmax;
}
/** elu (α = 1: x for x > 0, eˣ − 1 below) as a layer. PyTorch `torch.nn.ELU` with its default alpha. */
export class ELU extends ActivationLayer {
  protected readonly op = elu;
}
/** softplus, log(1 + eˣ), as a layer. PyTorch `torch.nn.Softplus` with its default beta. */
export class Softplus extends ActivationLayer {
  protected readonly op = softplus;
}
/** silu, x·σ(x) (swish), as a layer. PyTorch `torch.nn.SiLU`. */
export class SiLU extends ActivationLayer {
  protected readonly op = silu;
}
/** mish, x·tanh(softplus(x)), as a layer. PyTorch `torch.nn.Mish`. */
export class Mish extends ActivationLayer {
  protected readonly op = mish;
}
/**
 * hardtanh, x limited to [min, max] (−1 and 1 by default), as a layer; zero gradient at the bounds.
 * PyTorch `torch.nn.Hardtanh(min_val, max_val)`: its options are named `min` and `max` here.
 */
export class Hardtanh extends Module {
  readonly min: number;
  readonly max: number;
  constructor(opts: { min?: number; max?: number } = {}) {
    super();
    // checked here, so that a bad layer fails where it is made rather than at its first forward
    ({ min: this.min, max: this.max } = hardtanhBounds('Hardtanh', opts));
  }
  override forward(x: Tensor): Tensor {
    return hardtanh(x, { min: this.min, max: this.max });
  }
}
/** logSigmoid, log σ(x) = −softplus(−x), as a layer. PyTorch `torch.nn.LogSigmoid`. */
export class LogSigmoid extends ActivationLayer {
  protected readonly op = logSigmoid;
}
/** softsign, x/(1 + |x|), as a layer. PyTorch `torch.nn.Softsign`. */
export class Softsign extends ActivationLayer {
  protected readonly op = softsign;
}
/** selu (λ ≈ 1.0507, α ≈ 1.6733, PyTorch's constants) as a layer. PyTorch `torch.nn.SELU`. */
export class SELU extends ActivationLayer {
  protected readonly op = selu;
}
/** Returns its input unchanged: a placeholder where a layer is optional. PyTorch `torch.nn.Identity`. */
export class Identity extends Module {
  override forward(x: Tensor): Tensor {
    return asTensor('Identity', x, 'the input');
  }
}

const activations: Record<ActivationName, new () => Module> = {
  relu: ReLU,
  tanh: Tanh,
  sigmoid: Sigmoid,
  gelu: GELU,
  leakyRelu: LeakyReLU,
  silu: SiLU,
  mish: Mish,
  elu: ELU,
};

// ---- helpers shared by the layers
export function positiveInts(layer: string, values: Record<string, number>): void {
  for (const [k, v] of Object.entries(values)) {
    if (!Number.isInteger(v) || v < 1) throw new TapegradError(layer, `${k} must be a positive integer, got ${v}`);
  }
}
export function seedPlus(seed: number | undefined, k: number): number | undefined {
  return seed === undefined ? undefined : seed + k;
}
export function checkInit(layer: string, name: string): InitName {
  if (!(name in initializers))
    throw new TapegradError(layer, `unknown init '${name}' (${Object.keys(initializers).join(', ')})`);
  return name as InitName;
}
