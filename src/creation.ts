// Making tensors: from JS data (validated: ragged or non-numeric input is an error), and the usual
// constructors. Everything is float32 unless a dtype is given.
import * as tf from '@tensorflow/tfjs-core';
import { TapegradError, checkOptions, fmtShape } from './errors.js';
import { Tensor, type DType, type TensorLike } from './tensor.js';
import { assertFits } from './backend/wasm-heap-limit.js';
import { randomNormalKeepingSeedZero } from './backend/defects.js';

/** Options of the tensor constructors: requiresGrad, dtype, shape. */
export interface TensorOptions {
  requiresGrad?: boolean;
  dtype?: DType;
  shape?: number[];
}
type Nested = number | boolean | Nested[];
type TypedArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | Uint8Array
  | Uint8ClampedArray
  | Uint16Array
  | Uint32Array;
export type TensorData = Nested | TypedArray | tf.Tensor;

/**
 * A tensor from nested arrays, a typed array (with `shape`; Float64Array and other numeric typed arrays
 * are converted to the dtype), a number, or a tf.Tensor (copied).
 * PyTorch `torch.tensor`, JAX `jnp.array`.
 */
export function tensor(data: TensorData, opts: TensorOptions = {}): Tensor {
  checkOptions('tensor', opts, ['requiresGrad', 'dtype', 'shape']);
  const dtype = opts.dtype ?? (data instanceof tf.Tensor ? (data.dtype as DType) : 'float32');
  checkDtype('tensor', dtype);
  if (opts.requiresGrad && dtype !== 'float32')
    throw new TapegradError('tensor', `only float32 tensors can require grad; this one is ${dtype}`);
  let value: tf.Tensor;
  if (data instanceof tf.Tensor) {
    value = data.dtype === dtype ? data.clone() : tf.cast(data, dtype);
    if (opts.shape) value = reshapeChecked(value, opts.shape);
  } else {
    const { flat, shape } = flatten(data);
    const finalShape = opts.shape ?? shape;
    checkShape('tensor', finalShape);
    const size = finalShape.reduce((a, b) => a * b, 1);
    if (size !== flat.length) {
      throw new TapegradError(
        'tensor',
        `shape ${fmtShape(finalShape)} holds ${size} values, but ${flat.length} were given`,
      );
    }
    if (dtype === 'int32') checkInt32Range('tensor', flat);
    value = tf.tensor(flat as number[], finalShape, dtype);
  }
  return new Tensor(value, { requiresGrad: opts.requiresGrad ?? false });
}

/** Values an int32 tensor cannot hold are refused (TF.js would wrap 3e9 to −1294967296 and make ∞ and NaN 0), as PyTorch. */
function checkInt32Range(fn: string, flat: ArrayLike<number | boolean>): void {
  if (flat instanceof Int32Array || flat instanceof Uint8Array) return;
  for (let i = 0; i < flat.length; i++) {
    const v = Number(flat[i]);
    if (!(v > -2147483649 && v < 2147483648))
      throw new TapegradError(fn, `value ${v} at flat index ${i} cannot be held by an int32 tensor`);
  }
}

function reshapeChecked(t: tf.Tensor, shape: number[]): tf.Tensor {
  checkShape('tensor', shape);
  if (shape.reduce((a, b) => a * b, 1) !== t.size) {
    throw new TapegradError('tensor', `cannot view ${t.size} values as shape ${fmtShape(shape)}`);
  }
  const r = tf.reshape(t, shape);
  t.dispose();
  return r;
}

/** Flattens nested arrays, checking that they are rectangular and hold only numbers or booleans. */
function flatten(data: Exclude<TensorData, tf.Tensor>): { flat: ArrayLike<number>; shape: number[] } {
  if (ArrayBuffer.isView(data)) {
    if (data instanceof Float32Array || data instanceof Int32Array || data instanceof Uint8Array)
      return { flat: data, shape: [data.length] };
    // other typed arrays (Float64Array, Int16Array, …) are converted, as TF.js does not take them
    if (data instanceof DataView || data instanceof BigInt64Array || data instanceof BigUint64Array) {
      throw new TapegradError(
        'tensor',
        `cannot make a tensor of a ${data.constructor.name}; pass numbers or a numeric typed array`,
      );
    }
    return { flat: Array.from(data as ArrayLike<number>), shape: [data.length] };
  }
  if (!Array.isArray(data)) {
    return { flat: [scalarValue(data, [])], shape: [] };
  }
  const shape: number[] = [];
  for (let d: unknown = data; Array.isArray(d); d = d[0]) shape.push(d.length);
  const flat: number[] = [];
  const walk = (d: unknown, depth: number, at: number[]) => {
    if (depth === shape.length) {
      if (Array.isArray(d))
        throw new TapegradError('tensor', `ragged array: element ${fmtShape(at)} is an array, expected a number`);
      flat.push(scalarValue(d, at));
      return;
    }
    if (!Array.isArray(d)) {
      throw new TapegradError(
        'tensor',
        `ragged array: element ${fmtShape(at)} is ${typeof d}, expected an array of length ${shape[depth]}`,
      );
    }
    if (d.length !== shape[depth]) {
      throw new TapegradError(
        'tensor',
        `ragged array: element ${fmtShape(at)} has length ${d.length}, expected ${shape[depth]}`,
      );
    }
    d.forEach((e, i) => walk(e, depth + 1, [...at, i]));
  };
  walk(data, 0, []);
  return { flat, shape };
}

function scalarValue(v: unknown, at: number[]): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  throw new TapegradError('tensor', `non-numeric value ${JSON.stringify(v) ?? String(v)} at ${fmtShape(at)}`);
}

function checkDtype(fn: string, dtype: string): void {
  if (dtype !== 'float32' && dtype !== 'int32' && dtype !== 'bool') {
    throw new TapegradError(fn, `unknown dtype '${dtype}' (float32, int32 or bool)`);
  }
}

export function checkShape(fn: string, shape: unknown): void {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new TapegradError(fn, `shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
  }
}

type Opts = { requiresGrad?: boolean; dtype?: DType };
const wrap = (v: tf.Tensor, o: Opts = {}) => new Tensor(v, { requiresGrad: o.requiresGrad ?? false });

/** Checks a constructor's options before anything is allocated: a known dtype; requiresGrad only with float32. */
function checkOpts(fn: string, o: Opts, names: readonly string[] = ['requiresGrad', 'dtype']): void {
  checkOptions(fn, o, names);
  if (o.dtype !== undefined) checkDtype(fn, o.dtype);
  if (o.requiresGrad && (o.dtype ?? 'float32') !== 'float32')
    throw new TapegradError(fn, `only float32 tensors can require grad; this one is ${o.dtype}`);
}
function checkFinite(fn: string, what: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new TapegradError(fn, `${what} must be a finite number, got ${typeof v === 'number' ? v : typeof v}`);
}
/** x as a live Tensor (creation.ts cannot use op.ts's asTensor: op.ts imports this file). */
function liveTensor(fn: string, x: unknown): Tensor {
  if (!(x instanceof Tensor))
    throw new TapegradError(
      fn,
      `the input must be a tapegrad Tensor, got ${Array.isArray(x) ? 'an array (wrap it with tg.tensor)' : x === null ? 'null' : typeof x}`,
    );
  x.assertLive(fn, 'the input');
  return x;
}

/** A 0-d tensor holding the number `v`. PyTorch `torch.tensor`, JAX `jnp.asarray`. */
export function scalar(v: number, o: Opts = {}): Tensor {
  if (typeof v !== 'number' && typeof v !== 'boolean')
    throw new TapegradError('scalar', `expected a number, got ${typeof v}`);
  checkOpts('scalar', o);
  return wrap(tf.scalar(v, o.dtype ?? 'float32'), o);
}
/** A tensor of zeros of the given shape. PyTorch `torch.zeros`, JAX `jnp.zeros`. */
export function zeros(shape: number[], o: Opts = {}): Tensor {
  checkShape('zeros', shape);
  checkOpts('zeros', o);
  assertFits('zeros', shape, o.dtype ?? 'float32');
  return wrap(tf.zeros(shape, o.dtype ?? 'float32'), o);
}
/** A tensor of ones of the given shape. PyTorch `torch.ones`, JAX `jnp.ones`. */
export function ones(shape: number[], o: Opts = {}): Tensor {
  checkShape('ones', shape);
  checkOpts('ones', o);
  assertFits('ones', shape, o.dtype ?? 'float32');
  return wrap(tf.ones(shape, o.dtype ?? 'float32'), o);
}
/** A tensor of the given shape filled with `v`. PyTorch `torch.full`, JAX `jnp.full`. */
export function full(shape: number[], v: number, o: Opts = {}): Tensor {
  checkShape('full', shape);
  checkOpts('full', o);
  assertFits('full', shape, o.dtype ?? 'float32');
  if (typeof v !== 'number' && typeof v !== 'boolean')
    throw new TapegradError('full', `the value must be a number, got ${typeof v}`);
  return wrap(tf.fill(shape, v, o.dtype ?? 'float32'), o);
}
/** Zeros of `x`'s shape and dtype. PyTorch `torch.zeros_like`, JAX `jnp.zeros_like`. */
export function zerosLike(x: Tensor): Tensor {
  return wrap(tf.zerosLike(liveTensor('zerosLike', x).value));
}
/** Ones of `x`'s shape and dtype. PyTorch `torch.ones_like`, JAX `jnp.ones_like`. */
export function onesLike(x: Tensor): Tensor {
  return wrap(tf.onesLike(liveTensor('onesLike', x).value));
}
/** The n×m identity (m = n by default). PyTorch `torch.eye`, JAX `jnp.eye`. */
export function eye(n: number, m = n, o: Opts = {}): Tensor {
  if (!Number.isInteger(n) || !Number.isInteger(m) || n < 0 || m < 0)
    throw new TapegradError('eye', `sizes must be non-negative integers, got ${n}, ${m}`);
  checkOpts('eye', o);
  assertFits('eye', [n, m], o.dtype ?? 'float32');
  return wrap(tf.eye(n, m, undefined, o.dtype ?? 'float32'), o);
}
/** Standard normal samples; the same seed gives the same values. PyTorch `torch.randn`, JAX `jax.random.normal`. */
export function randn(shape: number[], o: Opts & { seed?: number; mean?: number; std?: number } = {}): Tensor {
  checkShape('randn', shape);
  checkOpts('randn', o, ['requiresGrad', 'seed', 'mean', 'std']);
  assertFits('randn', shape, 'float32');
  checkFinite('randn', 'mean', o.mean ?? 0);
  checkFinite('randn', 'std', o.std ?? 1);
  if ((o.std ?? 1) < 0) throw new TapegradError('randn', `std must be a non-negative number, got ${o.std}`);
  return wrap(randomNormalKeepingSeedZero(shape, o.mean ?? 0, o.std ?? 1, o.seed), o);
}
/** Uniform samples in [low, high), [0, 1) by default. PyTorch `torch.rand`, JAX `jax.random.uniform`. */
export function rand(shape: number[], o: Opts & { seed?: number; low?: number; high?: number } = {}): Tensor {
  checkShape('rand', shape);
  checkOpts('rand', o, ['requiresGrad', 'seed', 'low', 'high']);
  assertFits('rand', shape, 'float32');
  checkFinite('rand', 'low', o.low ?? 0);
  checkFinite('rand', 'high', o.high ?? 1);
  if (!((o.low ?? 0) < (o.high ?? 1)))
    throw new TapegradError('rand', `low (${o.low ?? 0}) must be below high (${o.high ?? 1})`);
  return wrap(tf.randomUniform(shape, o.low ?? 0, o.high ?? 1, 'float32', o.seed), o);
}
/**
 * start, start + step, … below stop (above it for a negative step; nothing when the step points away
 * from stop); arange(n) is 0 … n−1. PyTorch `torch.arange`, JAX `jnp.arange`.
 */
export function arange(start: number, stop?: number, step = 1, o: Opts = {}): Tensor {
  if (stop === undefined) [start, stop] = [0, start];
  checkFinite('arange', 'start', start);
  checkFinite('arange', 'stop', stop);
  checkFinite('arange', 'step', step);
  if (step === 0) throw new TapegradError('arange', 'step must not be 0');
  checkOpts('arange', o);
  if (o.dtype === 'bool') throw new TapegradError('arange', 'dtype must be float32 or int32');
  const n = Math.max(0, Math.ceil((stop - start) / step));
  assertFits('arange', [n], o.dtype ?? 'float32');
  // a step away from stop gives no values (as jnp.arange); tf.range would turn the step around
  if (n === 0) return wrap(tf.zeros([0], o.dtype ?? 'float32'), o);
  return wrap(tf.range(start, stop, step, o.dtype ?? 'float32'), o);
}
/** n evenly spaced values from start to stop, both included. PyTorch `torch.linspace`, JAX `jnp.linspace`. */
export function linspace(start: number, stop: number, n: number, o: Opts = {}): Tensor {
  if (!Number.isInteger(n) || n < 1) throw new TapegradError('linspace', `n must be a positive integer, got ${n}`);
  checkFinite('linspace', 'start', start);
  checkFinite('linspace', 'stop', stop);
  checkOpts('linspace', o, ['requiresGrad']);
  assertFits('linspace', [n], 'float32');
  return wrap(tf.linspace(start, stop, n), o);
}

/** A Tensor for an op's operand: tensors pass through, numbers become scalar constants. */
export function toTensor(fn: string, x: TensorLike, dtype: DType = 'float32'): Tensor {
  if (x instanceof Tensor) {
    x.assertLive(fn);
    return x;
  }
  if (typeof x === 'number') return wrap(tf.scalar(x, dtype));
  throw new TapegradError(fn, `expected a Tensor or a number, got ${x === null ? 'null' : typeof x}`);
}
