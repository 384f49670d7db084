// defineOp(): the one place where an op's forward and its adjoint meet, and the helpers that
// declare whole classes of ops (elementwise unary, broadcasting binary) in one line each.
import * as tf from '@tensorflow/tfjs-core';
import { TapegradError, fmtShape } from './errors.js';
import { Node, isGradEnabled } from './tape.js';
import { Tensor, type TensorLike } from './tensor.js';
import { broadcastShapes, unbroadcast } from './broadcast.js';
import { toTensor } from './creation.js';
import { anomaly, checkForward } from './anomaly.js';

/** A gradient for one input, computed only if that input needs it. */
export type Thunk = () => Tensor;

export interface OpRule<A = void> {
  name: string;
  /** Computes the output from TF.js tensors; attributes are the op's non-tensor arguments. */
  forward: (inputs: tf.Tensor[], attrs: A) => tf.Tensor;
  /**
   * The vector-Jacobian product: given g = ∂L/∂out, one thunk (or null: no gradient flows) per
   * input. Written in tapegrad's own ops, so that a recorded backward can be differentiated again.
   */
  vjp: (g: Tensor, inputs: Tensor[], out: Tensor, attrs: A) => (Thunk | null)[];
}

/** An op: apply it to tapegrad tensors; `rule` is what the tape and the gradcheck suite read. */
export interface Op<A = void> {
  (inputs: Tensor[], attrs: A): Tensor;
  rule: OpRule<A>;
}

export function defineOp<A = void>(rule: OpRule<A>): Op<A> {
  if (!rule || typeof rule.name !== 'string' || typeof rule.forward !== 'function' || typeof rule.vjp !== 'function') {
    throw new TapegradError('defineOp', 'needs { name, forward, vjp }');
  }
  const apply = (inputs: Tensor[], attrs: A): Tensor => {
    inputs.forEach((x, i) => asTensor(rule.name, x, inputs.length === 1 ? 'the input' : `input ${i}`));
    let value: tf.Tensor;
    try {
      value = rule.forward(
        inputs.map((x) => x.value),
        attrs,
      );
    } catch (e) {
      if (e instanceof TapegradError) throw e;
      const shapes = inputs.map((x) => fmtShape(x.shape)).join(' and ');
      throw new TapegradError(rule.name, `${(e as Error).message} (inputs ${shapes})`);
    }
    if (!(value instanceof tf.Tensor)) throw new TapegradError(rule.name, `the op's forward must return a tf.Tensor, got ${describe(value)}`);
    if (anomaly.enabled) checkForward(rule, inputs, value);
    const record = isGradEnabled() && inputs.some((x) => x.requiresGrad);
    return new Tensor(value, { node: record ? new Node(rule as OpRule<any>, inputs, attrs) : null });
  };
  return Object.assign(apply, { rule });
}

/**
 * Applies `op` to operands that may be plain numbers: numbers become constants owned by the
 * result (freed with it), or freed at once when no graph holds them.
 */
export function applyWithConstants<A>(op: Op<A>, fn: string, operands: TensorLike[], attrs: A, like?: Tensor): Tensor {
  const made: Tensor[] = [];
  const inputs = operands.map((x) => {
    if (x instanceof Tensor) return x;
    const c = toTensor(fn, x, like?.dtype === 'int32' && Number.isInteger(x) ? 'int32' : 'float32');
    made.push(c);
    return c;
  });
  let out: Tensor;
  try {
    out = op(inputs, attrs);
  } catch (e) {
    made.forEach((c) => c.dispose());
    throw e;
  }
  return owning(out, made);
}

/**
 * A composite op's result takes ownership of the intermediates it made: they are kept (and freed
 * with the result) while its graph may read them, and freed at once when there is no graph.
 */
export function owning(result: Tensor, hidden: Tensor[]): Tensor {
  for (const h of hidden) {
    if (h === result) continue;
    if (result.node) result.owned.push(h.value, ...h.owned);
    else h.dispose();
  }
  return result;
}

export type UnaryFn = ((x: Tensor) => Tensor) & { rule: OpRule<void> };

/** An elementwise op x ↦ f(x); `dx(g, x, y)` is g·f'(x), where y = f(x) is at hand. */
export function unary(name: string, forward: (x: tf.Tensor) => tf.Tensor, dx: (g: Tensor, x: Tensor, y: Tensor) => Tensor): UnaryFn {
  const op = defineOp<void>({
    name,
    forward: ([x]) => forward(x),
    vjp: (g, [x], y) => [() => dx(g, x, y)],
  });
  const fn = (x: Tensor) => op([asTensor(name, x)]);
  return Object.assign(fn, { rule: op.rule });
}

export type BinaryFn = ((a: TensorLike, b: TensorLike) => Tensor) & { rule: OpRule<void> };
type BinaryRule = (g: Tensor, a: Tensor, b: Tensor, y: Tensor) => Tensor;

/**
 * An elementwise op of two broadcasting operands. `da` and `db` give the adjoint at the broadcast
 * shape; summing it back to each operand's own shape happens here, once for every binary op.
 */
export function binary(name: string, forward: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, da: BinaryRule, db: BinaryRule): BinaryFn {
  const op = defineOp<void>({
    name,
    forward: ([a, b]) => forward(a, b),
    vjp: (g, [a, b], y) => [() => unbroadcast(da(g, a, b, y), a.shape), () => unbroadcast(db(g, a, b, y), b.shape)],
  });
  const fn = (a: TensorLike, b: TensorLike) => {
    const like = a instanceof Tensor ? a : b instanceof Tensor ? b : undefined;
    if (a instanceof Tensor && b instanceof Tensor) {
      if (a.dtype !== b.dtype) throw new TapegradError(name, `dtypes differ: ${a.dtype} and ${b.dtype}`);
      broadcastShapes(name, a.shape, b.shape);
    }
    return applyWithConstants(op, name, [a, b], undefined, like);
  };
  return Object.assign(fn, { rule: op.rule });
}

/** The argument as a live Tensor, or a clear error naming the function. */
export function asTensor(fn: string, x: unknown, what = 'the input'): Tensor {
  if (!(x instanceof Tensor)) {
    throw new TapegradError(fn, `${what} must be a tapegrad Tensor, got ${describe(x)}`);
  }
  x.assertLive(fn, what);
  return x;
}

export function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array (wrap it with tg.tensor)';
  if (x instanceof tf.Tensor) return 'a tf.Tensor (wrap it with tg.tensor)';
  return typeof x === 'object' ? (x.constructor?.name ?? 'an object') : `${typeof x} ${String(x)}`;
}
