// defineOp(): the one place where an op's forward and its adjoint meet, and the helpers every op
// family uses (constants from numbers, ownership of hidden intermediates, argument checks).
import * as tf from '@tensorflow/tfjs-core';
import { TapegradError, fmtShape } from './errors.js';
import { isGradEnabled, traceHooks } from './tape.js';
import {
  Tensor,
  Node,
  type DType,
  type TensorLike,
  type OpRule,
  type MultiOutputRule,
  type AnyOpRule,
} from './tensor.js';
import { toTensor } from './creation.js';
import { anomaly, checkForward } from './anomaly.js';
import { recoverFromTrap } from './backend/index.js';

export type { OpRule, MultiOutputRule, AnyOpRule, Thunk, OpSignature, Domain } from './tensor.js';

/** An op: apply it to tapegrad tensors; `rule` is what the tape and the gradcheck suite read. */
export interface Op<A = void> {
  (inputs: Tensor[], attrs: A): Tensor;
  rule: OpRule<A>;
}
/** An op with several outputs: one node on the tape that every output refers to. */
export interface MultiOutputOp<A = void> {
  (inputs: Tensor[], attrs: A): Tensor[];
  rule: MultiOutputRule<A>;
}

/**
 * Declares a differentiable op from its TF.js forward and its vector-Jacobian product; with
 * `outputs: 'several'`, an op whose forward returns several tensors and whose adjoint receives all
 * their cotangents (MultiOutputRule).
 * PyTorch `torch.autograd.Function`, JAX `jax.custom_vjp`.
 */
export function defineOp<A = void>(rule: OpRule<A>): Op<A>;
export function defineOp<A = void>(rule: MultiOutputRule<A>): MultiOutputOp<A>;
export function defineOp<A = void>(rule: OpRule<A> | MultiOutputRule<A>): Op<A> | MultiOutputOp<A> {
  if (!rule || typeof rule.name !== 'string' || typeof rule.forward !== 'function' || typeof rule.vjp !== 'function') {
    throw new TapegradError('defineOp', 'needs { name, forward, vjp }');
  }
  const several = rule.outputs === 'several';
  const apply = (inputs: Tensor[], attrs: A): Tensor | Tensor[] => {
    const values: tf.Tensor[] = new Array(inputs.length);
    let anyRequiresGrad = false;
    for (let i = 0; i < inputs.length; i++) {
      const x = inputs[i];
      if (!(x instanceof Tensor) || x.value.isDisposed)
        asTensor(rule.name, x, inputs.length === 1 ? 'the input' : `input ${i}`);
      values[i] = x.value;
      anyRequiresGrad ||= x.requiresGrad;
    }
    if (traceHooks.onInputs) traceHooks.onInputs(inputs);
    let result: tf.Tensor | tf.Tensor[];
    try {
      result = rule.forward(values, attrs);
    } catch (e) {
      if (e instanceof TapegradError) throw e;
      const shapes = inputs.map((x) => fmtShape(x.shape)).join(' and ');
      const trapped = recoverFromTrap(e);
      throw new TapegradError(rule.name, `${(e as Error).message} (inputs ${shapes})${trapped ? `: ${trapped}` : ''}`);
    }
    const outs = several && Array.isArray(result) ? result : [result];
    if (!outs.every((v) => v instanceof tf.Tensor) || Array.isArray(result) !== several)
      throw new TapegradError(
        rule.name,
        `the op's forward must return ${several ? 'an array of tf.Tensors' : 'a tf.Tensor'}, got ${describe(result)}`,
      );
    if (anomaly.enabled) checkForward(rule, inputs, outs as tf.Tensor[]);
    // one node for all the outputs: each output's Tensor adds itself to node.outputs
    const node = anyRequiresGrad && isGradEnabled() ? new Node(rule as AnyOpRule, inputs, attrs) : null;
    const { nonDifferentiable: constant, readsOutputs } = several ? (rule as MultiOutputRule<A>) : {};
    const tensors = (outs as tf.Tensor[]).map((v, k) => {
      if (!node || !constant?.includes(k)) return new Tensor(v, { node });
      // a constant output keeps its place among the node's outputs, so that the adjoint's arrays line up
      const t = new Tensor(v);
      node.outputs.push(t);
      return t;
    });
    if (node && readsOutputs) {
      // each differentiable output holds handles on the others' values (TF.js clones share the data)
      node.copies = tensors.map(() => []);
      for (const t of tensors) {
        if (t.node !== node) continue;
        tensors.forEach((o, k) => {
          if (o === t) return;
          const c = o.value.clone();
          t.owned.push(c);
          node.copies[k].push(c);
        });
      }
    }
    return several ? tensors : tensors[0];
  };
  return Object.assign(apply, { rule }) as Op<A> | MultiOutputOp<A>;
}

/**
 * Applies `op` to operands that may be plain numbers: numbers become constants of `dtype` (the
 * dtype the op computes in: src/dtypes.ts) owned by the result (freed with it), or freed at once
 * when no graph holds them.
 */
export function applyWithConstants<A>(
  op: Op<A>,
  fn: string,
  operands: TensorLike[],
  attrs: A,
  dtype: DType = 'float32',
): Tensor {
  const made: Tensor[] = [];
  const inputs = operands.map((x) => {
    if (x instanceof Tensor) return x;
    const c = toTensor(fn, x, dtype);
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

/** Runs `fn(keep)`, where keep(t) marks t as an intermediate of the result; the result owns them. */
export function composed(fn: (keep: <T extends Tensor>(t: T) => T) => Tensor): Tensor {
  const made: Tensor[] = [];
  let out: Tensor;
  try {
    out = fn((t) => {
      made.push(t);
      return t;
    });
  } catch (e) {
    for (const t of made) t.dispose();
    throw e;
  }
  return owning(
    out,
    made.filter((t) => t !== out),
  );
}

/**
 * f applied to x in float32, PyTorch's promotion for float ops: an int32 or bool tensor is cast
 * first (TF.js's kernels refuse it, or on wasm return garbage for bool). The cast is owned by the result.
 */
export function applyToFloat(x: Tensor, f: (x: Tensor) => Tensor): Tensor {
  if (x.dtype === 'float32') return f(x);
  const c = new Tensor(tf.cast(x.value, 'float32'));
  let out: Tensor;
  try {
    out = f(c);
  } catch (e) {
    c.dispose();
    throw e;
  }
  return owning(out, [c]);
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
