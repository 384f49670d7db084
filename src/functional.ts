// Function transforms in JAX's style, built on the tape: grad, valueAndGrad, vjp, and customOp.
import * as tf from '@tensorflow/tfjs-core';
import { TapegradError, checkOptions, fmtShape } from './errors.js';
import { defineOp, describe, type Thunk } from './op.js';
import { isGradEnabled, withGradMode, walkGraph } from './tape.js';
import { gradients } from './backward.js';
import { Tensor, type TensorLike } from './tensor.js';
import { tensor, zerosLike } from './creation.js';
import { tidy } from './memory.js';

type Fn = (...args: any[]) => Tensor;

/** The argument as a Tensor to differentiate at: itself if it already requires grad, else a fresh leaf alias. */
export function differentiable(fn: string, x: unknown, i: number): { t: Tensor; fresh: boolean } {
  if (x instanceof Tensor) {
    x.assertLive(fn, `argument ${i}`);
    if (x.requiresGrad) return { t: x, fresh: false };
    if (x.dtype !== 'float32')
      throw new TapegradError(fn, `argument ${i} is ${x.dtype}; only float32 arguments can be differentiated`);
    return { t: new Tensor(x.value, { requiresGrad: true }), fresh: true };
  }
  if (typeof x === 'number') return { t: tensor(x, { requiresGrad: true }), fresh: true };
  throw new TapegradError(fn, `argument ${i} must be a Tensor or a number to differentiate, got ${describe(x)}`);
}

/** Does the graph under `roots` reach a tensor tracked outside this call (so the result must stay differentiable)? */
export function reachesOuter(roots: Tensor[], fresh: Set<Tensor>): boolean {
  const tracked = (t: Tensor) => t.requiresGrad;
  return walkGraph(roots.filter(tracked), { follow: tracked }).some((t) => !t.node && !fresh.has(t));
}

/**
 * The TF.js tensors a recorded graph reads, so that a tidy keeps them for an outer backward: with
 * every output of an op with several, since its adjoint may read those no root reached (svd's U for S).
 */
export function graphValues(roots: Tensor[]): tf.Tensor[] {
  const values = new Set<tf.Tensor>();
  for (const t of walkGraph(roots))
    for (const o of t.node && t.node.outputs.length > 1 ? t.node.outputs : [t]) {
      values.add(o.value);
      for (const c of o.owned) values.add(c);
    }
  return [...values];
}

export function normalizeArgnums(fn: string, argnums: Argnums, n: number): number[] {
  const list = typeof argnums === 'number' ? [argnums] : [...argnums];
  for (const a of list) {
    if (!Number.isInteger(a) || a < 0 || a >= n)
      throw new TapegradError(fn, `argnums ${JSON.stringify(argnums)} out of range for ${n} arguments`);
  }
  return list;
}

/** The id of the next TF.js tensor to be made: tensors with a larger id were made after this call. */
export function tensorMark(): number {
  const probe = tf.scalar(0);
  probe.dispose();
  return probe.id;
}

/**
 * Hands the tensors made since `mark` that the results' graph reads to the results (as owned
 * tensors), so that the results stay differentiable beyond the tidy that made them and disposing
 * them frees that graph too. Results returned together share it: dispose them together.
 */
export function adoptGraph(results: Tensor[], mark: number): void {
  const own = new Set(results.map((r) => r.value));
  const hidden = graphValues(results).filter((v) => v.id > mark && !own.has(v));
  for (const r of results) {
    const have = new Set(r.owned);
    r.owned.push(...hidden.filter((v) => !have.has(v)));
  }
}

/** A value to hand out that is not a tensor the caller already holds (f may return an argument). */
function ownValue(t: Tensor, mark: number): Tensor {
  return new Tensor(t.value.id > mark ? t.value : t.value.clone());
}

/**
 * Evaluates f and its gradient with respect to the arguments in argnums. Temporaries are freed;
 * when f's result depends on tensors tracked outside (nesting, or closed-over parameters), the
 * gradient is itself recorded, so grad composes: grad(grad(f)), gradient penalties. The results
 * then own the part of the graph made here (see adoptGraph).
 */
function evalWithGrad(
  fn: string,
  f: Fn,
  argnums: Argnums,
  args: unknown[],
  keepValue: boolean,
): { value: Tensor | null; grads: Tensor[] } {
  const nums = normalizeArgnums(fn, argnums, args.length);
  let value: Tensor | null = null;
  let grads!: Tensor[];
  tidy(() => {
    const mark = tensorMark();
    const prepared = args.map((a, i) =>
      nums.includes(i) ? differentiable(fn, a, i) : { t: a as Tensor, fresh: false },
    );
    const xs = prepared.map((p) => p.t);
    // f is recorded even under noGrad (as torch.func.grad does); noGrad only keeps the result plain
    const recording = isGradEnabled();
    const out = withGradMode(true, () => f(...xs));
    if (!(out instanceof Tensor))
      throw new TapegradError(fn, `the function must return a Tensor, got ${describe(out)}`);
    if (out.size !== 1)
      throw new TapegradError(
        fn,
        `the function must return a scalar, got shape ${fmtShape(out.shape)} (use vjp or jacobian for non-scalar outputs)`,
      );
    const targets = nums.map((i) => xs[i]);
    const fresh = new Set(prepared.filter((p) => p.fresh).map((p) => p.t));
    const createGraph = recording && reachesOuter([out], fresh);
    const gs = gradients(out, targets, { createGraph, retainGraph: createGraph });
    // The aliases made here are no one's leaves: a later backward through the results must not
    // accumulate (and keep) a .grad on them.
    for (const p of prepared) if (p.fresh) p.t.requiresGrad = false;
    grads = gs.map((g, k) => (g ? (createGraph ? g : ownValue(g, mark)) : zerosLike(targets[k])));
    if (!createGraph) {
      if (keepValue) value = ownValue(out, mark);
      return [...(value ? [value] : []), ...grads];
    }
    if (keepValue) value = out.value.id > mark ? out : ownValue(out, mark);
    const results = value ? [value, ...grads] : grads;
    adoptGraph(results, mark);
    return results;
  });
  return { value, grads };
}

function checkFunction(fn: string, f: unknown): void {
  if (typeof f !== 'function') throw new TapegradError(fn, `the first argument must be a function, got ${describe(f)}`);
}

/** Which arguments to differentiate: one index, or several (a tuple gives a tuple of results). */
export type Argnums = number | readonly number[];
/** One Tensor per differentiated argument, shaped as `argnums`: a Tensor for an index, a tuple for a tuple. */
export type PerArgnum<N extends Argnums> = N extends number ? Tensor : { -readonly [K in keyof N]: Tensor };

/**
 * ∂f/∂(args[argnums]): one Tensor for a single argnum, an array (a tuple for a tuple) for an array of them.
 * PyTorch `torch.func.grad`, JAX `jax.grad`.
 */
export function grad<F extends Fn>(f: F, argnums?: number): (...args: Parameters<F>) => Tensor;
export function grad<F extends Fn, const N extends readonly number[]>(
  f: F,
  argnums: N,
): (...args: Parameters<F>) => PerArgnum<N>;
export function grad<F extends Fn>(f: F, argnums: Argnums = 0): (...args: Parameters<F>) => unknown {
  checkFunction('grad', f);
  return (...args: Parameters<F>) => {
    const { grads } = evalWithGrad('grad', f, argnums, args, false);
    return typeof argnums === 'number' ? grads[0] : grads;
  };
}

/**
 * { value: f(args), grad } with grad shaped as grad() returns it.
 * PyTorch `torch.func.grad_and_value`, JAX `jax.value_and_grad`.
 */
export function valueAndGrad<F extends Fn>(
  f: F,
  argnums?: number,
): (...args: Parameters<F>) => { value: Tensor; grad: Tensor };
export function valueAndGrad<F extends Fn, const N extends readonly number[]>(
  f: F,
  argnums: N,
): (...args: Parameters<F>) => { value: Tensor; grad: PerArgnum<N> };
export function valueAndGrad<F extends Fn>(
  f: F,
  argnums: Argnums = 0,
): (...args: Parameters<F>) => { value: Tensor; grad: unknown } {
  checkFunction('valueAndGrad', f);
  return (...args: Parameters<F>) => {
    const { value, grads } = evalWithGrad('valueAndGrad', f, argnums, args, true);
    return { value: value!, grad: typeof argnums === 'number' ? grads[0] : grads };
  };
}

/**
 * f's output and its vector-Jacobian product: vjp(cotangent) gives [∂⟨cotangent, f⟩/∂xᵢ] for
 * every primal, and may be called many times. dispose() frees the output and the graph.
 * PyTorch `torch.func.vjp`, JAX `jax.vjp`.
 */
export function vjp(
  f: Fn,
  ...primals: TensorLike[]
): { out: Tensor; vjp: (cotangent: Tensor | number) => Tensor[]; dispose: () => void } {
  checkFunction('vjp', f);
  let xs!: Tensor[];
  let out!: Tensor;
  let outer = false;
  let mark = 0;
  tidy(() => {
    mark = tensorMark();
    const prepared = primals.map((p, i) => differentiable('vjp', p, i));
    xs = prepared.map((p) => p.t);
    out = withGradMode(true, () => f(...xs));
    if (!(out instanceof Tensor))
      throw new TapegradError('vjp', `the function must return a Tensor, got ${describe(out)}`);
    outer = isGradEnabled() && reachesOuter([out], new Set(prepared.filter((p) => p.fresh).map((p) => p.t)));
    return [...xs, ...graphValues([out])];
  });
  // what this call made (the output, the graph, primals given as numbers): freed by dispose()
  const made = () => graphValues([out, ...xs]).filter((v) => v.id > mark);
  return {
    out,
    vjp: (ct) =>
      tidy(() => {
        const before = tensorMark();
        const gs = gradients(out, xs, { seeds: [ct], createGraph: outer, retainGraph: true });
        const res = gs.map((g, i) => (g ? (outer ? g : ownValue(g, before)) : zerosLike(xs[i])));
        if (outer) adoptGraph(res, before);
        return res;
      }),
    dispose: () => {
      for (const v of made()) v.dispose();
      // the aliases of the primals are no one's leaves: drop any .grad a backward through out left
      for (const [i, x] of xs.entries()) {
        if (x === primals[i]) continue;
        x.grad?.dispose();
        x.grad = null;
        x.requiresGrad = false;
      }
    },
  };
}

/** customOp's spec for an op with one output. */
export interface CustomOpSpec {
  name: string;
  outputs?: 'one';
  forward: (...inputs: tf.Tensor[]) => tf.Tensor;
  vjp: (g: Tensor, inputs: Tensor[], out: Tensor) => (Thunk | null)[];
}

/** customOp's spec for an op with several outputs (a tuple of results in PyTorch and JAX). */
export interface CustomMultiOutputOpSpec {
  name: string;
  outputs: 'several';
  forward: (...inputs: tf.Tensor[]) => tf.Tensor[];
  /** gs[k] = ∂L/∂outs[k]: zeros of outs[k]'s shape where no gradient reached output k (null with materializeGrads: false). */
  vjp: (gs: (Tensor | null)[], inputs: Tensor[], outs: Tensor[]) => (Thunk | null)[];
  /**
   * Whether an output no gradient reached gets zeros as its cotangent (true, the default, as
   * PyTorch and JAX) or null, so that the vjp can skip its terms (PyTorch's
   * `ctx.set_materialize_grads(False)`, JAX's `custom_vjp(symbolic_zeros=True)`).
   */
  materializeGrads?: boolean;
}

/**
 * A user's own op, declared as defineOp does.
 * - `forward(...values)` receives each input's values as a TF.js tensor (`x.value`: a tf.Tensor of
 *   @tensorflow/tfjs-core, not a tapegrad Tensor), runs outside the tape (so in TF.js ops: tf.mul,
 *   not tg.mul), must not dispose them, and returns a new tf.Tensor: the output's values (the
 *   tensors it makes on the way are freed).
 * - `vjp(g, inputs, out)` receives tapegrad Tensors — g = ∂L/∂out (the output's shape), the inputs,
 *   the output — and returns one entry per input: a function giving that input's gradient (a
 *   tapegrad Tensor of its shape, written in tg ops so that it can be differentiated again), or
 *   null where no gradient flows.
 *
 * With `outputs: 'several'`, forward returns an array of new tf.Tensors and the op an array of
 * Tensors, all from one node on the tape; `vjp(gs, inputs, outs)` receives every output's cotangent
 * at once, zeros for an output no gradient reached (or null, with `materializeGrads: false`). Keep
 * the outputs the vjp reads until backward() has run.
 * PyTorch `torch.autograd.Function` (a tuple of outputs: `backward(ctx, *grads)`), JAX
 * `jax.custom_vjp` (a function returning a tuple: `bwd(res, g)` gets a tuple of cotangents).
 */
export function customOp(spec: CustomOpSpec): (...inputs: Tensor[]) => Tensor;
export function customOp(spec: CustomMultiOutputOpSpec): (...inputs: Tensor[]) => Tensor[];
export function customOp(
  spec: CustomOpSpec | CustomMultiOutputOpSpec,
): ((...inputs: Tensor[]) => Tensor) | ((...inputs: Tensor[]) => Tensor[]) {
  if (!spec || typeof spec.name !== 'string' || typeof spec.forward !== 'function' || typeof spec.vjp !== 'function') {
    throw new TapegradError('customOp', 'needs { name, forward, vjp }');
  }
  checkOptions('customOp', spec, ['name', 'outputs', 'forward', 'vjp', 'materializeGrads']);
  const several = spec.outputs === 'several';
  if (spec.outputs !== undefined && spec.outputs !== 'one' && !several) {
    throw new TapegradError(spec.name, `outputs must be 'one' or 'several', got ${describe(spec.outputs)}`);
  }
  const materialize = several ? (spec.materializeGrads ?? true) : true;
  if (typeof materialize !== 'boolean')
    throw new TapegradError(spec.name, `materializeGrads must be true or false, got ${describe(materialize)}`);
  const checked = (thunks: unknown, n: number): (Thunk | null)[] => {
    if (!Array.isArray(thunks)) {
      throw new TapegradError(
        spec.name,
        `the vjp must return an array of ${n} gradient functions (null where no gradient flows), got ${describe(thunks)}`,
      );
    }
    if (thunks.length !== n) {
      throw new TapegradError(
        spec.name,
        `the vjp returned ${thunks.length} gradient functions for ${n} inputs; return one per input (null where no gradient flows)`,
      );
    }
    return thunks.map((th, i) => {
      if (th === null || th === undefined) return null;
      if (typeof th !== 'function')
        throw new TapegradError(
          spec.name,
          `the vjp's entry ${i} must be a function returning the gradient of input ${i}, or null, got ${describe(th)}`,
        );
      return () => {
        const share: unknown = th();
        if (!(share instanceof Tensor))
          throw new TapegradError(
            spec.name,
            `the vjp's function for input ${i} must return a Tensor, got ${describe(share)}`,
          );
        return share;
      };
    });
  };
  const checkInputs = (inputs: Tensor[]) =>
    inputs.forEach((x, i) => {
      if (!(x instanceof Tensor)) throw new TapegradError(spec.name, `input ${i} must be a Tensor, got ${describe(x)}`);
    });
  if (!several) {
    const { forward, vjp } = spec as CustomOpSpec;
    const op = defineOp<void>({
      name: spec.name,
      forward: (xs) => {
        // its intermediates are freed: only the output survives the tidy
        const out = tf.tidy(() => forward(...xs));
        if (Array.isArray(out))
          throw new TapegradError(
            spec.name,
            `the forward returned an array of ${out.length}; declare { outputs: 'several' } for an op with several outputs`,
          );
        return out;
      },
      vjp: (g, xs, y) => checked(vjp(g, xs, y), xs.length),
    });
    return (...inputs: Tensor[]) => {
      checkInputs(inputs);
      return op(inputs);
    };
  }
  const { forward, vjp } = spec as CustomMultiOutputOpSpec;
  const op = defineOp<void>({
    name: spec.name,
    outputs: 'several',
    forward: (xs) => {
      const outs = tf.tidy(() => forward(...xs));
      if (Array.isArray(outs) && outs.length === 0)
        throw new TapegradError(spec.name, 'the forward returned no outputs; return an array of one tf.Tensor or more');
      return outs;
    },
    vjp: (gs, xs, ys) => {
      // zeros only for the outputs no gradient reached (from the shape: the caller may have disposed it)
      const given = materialize ? gs.map((g, k) => g ?? new Tensor(tf.zeros(ys[k].shape))) : gs;
      return checked(vjp(given, xs, ys), xs.length);
    },
  });
  return (...inputs: Tensor[]) => {
    checkInputs(inputs);
    return op(inputs);
  };
}
