// Weight initialisers (seeded). Fans follow tapegrad's layouts: a Linear weight is [in, out], a
// Conv2d filter [kh, kw, in, out]; so fanIn = shape[-2]·receptive field, fanOut = shape[-1]·receptive
// field, where the receptive field is the product of the leading axes.
import * as tf from '@tensorflow/tfjs-core';
import { TapegradError, checkOptions, fmtShape } from '../errors.js';
import { Tensor } from '../tensor.js';
import { checkShape } from '../creation.js';
import { randomNormalKeepingSeedZero } from '../backend/defects.js';

/** Options of the initializers: seed and gain. */
export interface InitOptions {
  /** Seed of the draw; the same seed gives the same values. */
  seed?: number;
  /** Scale factor: 1 for linear/sigmoid layers, √2 for ReLU (the default of the He initialisers). */
  gain?: number;
}
/** A function that makes an initial value of a given shape. */
export type Initializer = (shape: number[], seed?: number) => Tensor;

/** fan-in and fan-out of a weight shape (the receptive field times channels for convolutions). */
export function fans(shape: number[]): { fanIn: number; fanOut: number } {
  checkShape('fans', shape);
  if (shape.length < 2) throw new TapegradError('init', `fans need a weight of rank ≥ 2, got shape ${fmtShape(shape)}`);
  const rf = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[shape.length - 2] * rf, fanOut: shape[shape.length - 1] * rf };
}

/**
 * Values drawn uniformly from [low, high), seeded.
 * PyTorch `torch.nn.init.uniform_`, JAX `jax.nn.initializers.uniform`.
 */
export function uniform(shape: number[], limit: number, seed?: number): Tensor {
  checkShape('uniform', shape);
  if (!(limit >= 0 && Number.isFinite(limit)))
    throw new TapegradError('uniform', `limit must be a non-negative number, got ${limit}`);
  return new Tensor(tf.randomUniform(shape, -limit, limit, 'float32', seed));
}
/** Values drawn from N(mean, std²), seeded. PyTorch `torch.nn.init.normal_`, JAX `jax.nn.initializers.normal`. */
export function normal(shape: number[], std: number, seed?: number): Tensor {
  checkShape('normal', shape);
  if (!(std >= 0 && Number.isFinite(std)))
    throw new TapegradError('normal', `std must be a non-negative number, got ${std}`);
  return new Tensor(randomNormalKeepingSeedZero(shape, 0, std, seed));
}

/**
 * Glorot/Xavier uniform: U(−a, a) with a = gain·√(6 / (fanIn + fanOut)).
 * PyTorch `torch.nn.init.xavier_uniform_`, JAX `jax.nn.initializers.glorot_uniform`.
 */
export function glorotUniform(shape: number[], o: InitOptions = {}, fn = 'glorotUniform'): Tensor {
  checkShape(fn, shape);
  checkOptions(fn, o, ['seed', 'gain']);
  const { fanIn, fanOut } = fans(shape);
  return uniform(shape, (o.gain ?? 1) * Math.sqrt(6 / (fanIn + fanOut)), o.seed);
}
/**
 * Glorot/Xavier normal: N(0, σ²) with σ = gain·√(2 / (fanIn + fanOut)).
 * PyTorch `torch.nn.init.xavier_normal_`, JAX `jax.nn.initializers.glorot_normal`.
 */
export function glorotNormal(shape: number[], o: InitOptions = {}, fn = 'glorotNormal'): Tensor {
  checkShape(fn, shape);
  checkOptions(fn, o, ['seed', 'gain']);
  const { fanIn, fanOut } = fans(shape);
  return normal(shape, (o.gain ?? 1) * Math.sqrt(2 / (fanIn + fanOut)), o.seed);
}
/**
 * He/Kaiming uniform (fan-in): U(−a, a) with a = gain·√(3 / fanIn), gain √2 by default (ReLU).
 * PyTorch `torch.nn.init.kaiming_uniform_`, JAX `jax.nn.initializers.he_uniform`.
 */
export function heUniform(shape: number[], o: InitOptions = {}, fn = 'heUniform'): Tensor {
  checkShape(fn, shape);
  checkOptions(fn, o, ['seed', 'gain']);
  return uniform(shape, (o.gain ?? Math.SQRT2) * Math.sqrt(3 / fans(shape).fanIn), o.seed);
}
/**
 * He/Kaiming normal (fan-in): N(0, σ²) with σ = gain / √fanIn, gain √2 by default (ReLU).
 * PyTorch `torch.nn.init.kaiming_normal_`, JAX `jax.nn.initializers.he_normal`.
 */
export function heNormal(shape: number[], o: InitOptions = {}, fn = 'heNormal'): Tensor {
  checkShape(fn, shape);
  checkOptions(fn, o, ['seed', 'gain']);
  return normal(shape, (o.gain ?? Math.SQRT2) / Math.sqrt(fans(shape).fanIn), o.seed);
}
/** PyTorch's default for Linear and Conv2d weights and biases: U(−1/√fanIn, 1/√fanIn). */
export function defaultUniform(shape: number[], fanIn: number, seed?: number): Tensor {
  checkShape('defaultUniform', shape);
  if (!(Number.isInteger(fanIn) && fanIn > 0))
    throw new TapegradError('defaultUniform', `fanIn must be a positive integer, got ${fanIn}`);
  return uniform(shape, 1 / Math.sqrt(fanIn), seed);
}

// PyTorch's names
/** glorotUniform under PyTorch's name. PyTorch `torch.nn.init.xavier_uniform_`. */
export const xavierUniform = (shape: number[], o: InitOptions = {}): Tensor => glorotUniform(shape, o, 'xavierUniform');
/** glorotNormal under PyTorch's name. PyTorch `torch.nn.init.xavier_normal_`. */
export const xavierNormal = (shape: number[], o: InitOptions = {}): Tensor => glorotNormal(shape, o, 'xavierNormal');
/** heUniform under PyTorch's name. PyTorch `torch.nn.init.kaiming_uniform_`. */
export const kaimingUniform = (shape: number[], o: InitOptions = {}): Tensor => heUniform(shape, o, 'kaimingUniform');
/** heNormal under PyTorch's name. PyTorch `torch.nn.init.kaiming_normal_`. */
export const kaimingNormal = (shape: number[], o: InitOptions = {}): Tensor => heNormal(shape, o, 'kaimingNormal');

/** An initialiser by name, for layer options: init: 'heNormal' etc. */
export const initializers = {
  glorotUniform,
  glorotNormal,
  heUniform,
  heNormal,
  xavierUniform,
  xavierNormal,
  kaimingUniform,
  kaimingNormal,
};
/** The initializers layers accept by name. */
export type InitName = keyof typeof initializers;
