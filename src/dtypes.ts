// Dtype promotion as PyTorch's result_type, for the dtypes tapegrad has: every op that meets operands
// of several dtypes (the binary arithmetic, comparisons and logic ops, where, concat, stack) asks
// here which dtype it computes in and casts its operands through `promoted`.
import * as tf from '@tensorflow/tfjs-core';
import { TapegradError } from './errors.js';
import { Tensor, type DType, type TensorLike } from './tensor.js';
import { owning } from './op.js';

/**
 * PyTorch's categories, lowest first: bool < integer < float. tapegrad has one dtype in each, so
 * PyTorch's further rule (a number or a 0-d tensor does not raise a tensor's dtype within its
 * category) never changes a result here: the highest category among the operands decides.
 */
const CATEGORY: Record<DType, number> = { bool: 0, int32: 1, float32: 2 };
const BY_CATEGORY: DType[] = ['bool', 'int32', 'float32'];

function checkDtype(fn: string, d: unknown): DType {
  if (typeof d !== 'string' || !(d in CATEGORY))
    throw new TapegradError(fn, `unknown dtype ${JSON.stringify(d)} (float32, int32 or bool)`);
  return d as DType;
}

/**
 * The dtype of a number as an operand: an integer is an integer scalar (PyTorch's int64, tapegrad's
 * int32), any other number (0.5, NaN, ±Infinity) a float one. JavaScript has one number type, so
 * `2.0` is the integer 2 here, where Python's `2.0` is a float.
 */
function numberDtype(x: number): DType {
  return Number.isInteger(x) ? 'int32' : 'float32';
}

/** The dtype an operand brings: a tensor's own, a number's as numberDtype says. */
function operandDtype(fn: string, x: unknown, what: string): DType {
  if (x instanceof Tensor) {
    x.assertLive(fn, what);
    return x.dtype;
  }
  if (typeof x === 'number') return numberDtype(x);
  const got = x === null ? 'null' : Array.isArray(x) ? 'an array (wrap it with tg.tensor)' : typeof x;
  throw new TapegradError(fn, `expected a Tensor or a number, got ${got}`);
}

/**
 * The smallest dtype both dtypes convert to without leaving their category: bool < int32 < float32.
 * PyTorch `torch.promote_types`, JAX `jnp.promote_types`.
 */
export function promoteTypes(a: DType, b: DType): DType {
  const [x, y] = [checkDtype('promoteTypes', a), checkDtype('promoteTypes', b)];
  return BY_CATEGORY[Math.max(CATEGORY[x], CATEGORY[y])];
}

/**
 * The dtype an elementwise op of these operands computes in and returns (a comparison computes in
 * it and returns bool): the highest category among them, a number counting as an integer or a float
 * scalar (an int32 tensor meeting 2.5 computes in float32, meeting 2 in int32; a bool tensor meeting
 * 2 computes in int32). JavaScript numbers carry no float/integer distinction: an integer-valued
 * number (`2.0`) counts as an integer, where PyTorch reads Python's `2.0` as a float.
 * PyTorch `torch.result_type`, JAX `jnp.result_type`.
 */
export function resultType(a: TensorLike, b: TensorLike): DType {
  return resultTypeOf('resultType', [a, b]);
}

/** resultType of any number of operands, with errors naming `fn`. */
export function resultTypeOf(fn: string, operands: readonly unknown[]): DType {
  let top = 0;
  operands.forEach((x, i) => {
    top = Math.max(top, CATEGORY[operandDtype(fn, x, operands.length === 1 ? 'the input' : `input ${i}`)]);
  });
  return BY_CATEGORY[top];
}

/**
 * A tensor in `dtype`: itself if it has it, else a cast. The cast is a new tensor off the tape, so no
 * gradient reaches an int32 or bool operand through it (as in PyTorch, where they have none). To
 * bool, a cast is x ≠ 0 (wasm's Cast to bool is wrong for some values).
 */
function castTo(x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype) return x;
  return new Tensor(
    dtype === 'bool' ? tf.tidy(() => tf.notEqual(x.value, tf.scalar(0, x.dtype))) : tf.cast(x.value, dtype),
  );
}

/**
 * Runs `f` on the operands with every tensor cast to `dtype` (numbers are passed on: the op makes
 * them constants of that dtype); the result owns the casts, which are freed at once if `f` throws.
 */
export function promoted<T extends TensorLike>(operands: T[], dtype: DType, f: (xs: T[]) => Tensor): Tensor {
  const made: Tensor[] = [];
  const xs = operands.map((x) => {
    if (!(x instanceof Tensor) || x.dtype === dtype) return x;
    const c = castTo(x, dtype);
    made.push(c);
    return c as T;
  });
  if (made.length === 0) return f(xs);
  let out: Tensor;
  try {
    out = f(xs);
  } catch (e) {
    for (const c of made) c.dispose();
    throw e;
  }
  return owning(out, made);
}
