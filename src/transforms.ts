// Transforms beyond grad, built on the tape's reverse sweep: jacobian (one VJP per output entry),
// jvp (forward-mode products by the double-VJP trick), hessian and hvp (reverse over reverse).
//
// Memory, as in grad (functional.ts): each transform runs f inside a tidy. When the result depends
// on tensors tracked outside the call (nesting inside grad, closed-over parameters, arguments
// that already require grad), the result keeps the graph it reads so it can be differentiated
// again; otherwise everything but the result is freed.
import * as tf from '@tensorflow/tfjs-core';
import { TapegradError, checkOptions, fmtShape } from './errors.js';
import { describe } from './op.js';
import { isGradEnabled, withGradMode, walkGraph } from './tape.js';
import { gradients } from './backward.js';
import { Tensor, type TensorLike } from './tensor.js';
import { zeros, zerosLike } from './creation.js';
import { tidy } from './memory.js';
import { mul, add } from './ops/elementwise.js';
import { sum, reshape, stack } from './ops/shape.js';
import { registry } from './registry.js';
import { grad, differentiable, reachesOuter, normalizeArgnums, tensorMark, adoptGraph } from './functional.js';
import type { Argnums, PerArgnum } from './functional.js';

type Fn = (...args: any[]) => Tensor;

// ---- argument checks shared by the transforms

function checkFn(fn: string, f: unknown): void {
  if (typeof f !== 'function') throw new TapegradError(fn, `the first argument must be a function, got ${describe(f)}`);
}
/** f declares more parameters (before any default) than it is given. */
function checkArity(fn: string, f: Fn, given: number): void {
  if (f.length > given)
    throw new TapegradError(fn, `the function takes ${f.length} argument${f.length === 1 ? '' : 's'}, got ${given}`);
}
function checkOut(fn: string, out: unknown): asserts out is Tensor {
  if (!(out instanceof Tensor)) throw new TapegradError(fn, `the function must return a Tensor, got ${describe(out)}`);
}
function shapeOf(x: TensorLike): number[] {
  return x instanceof Tensor ? x.shape : [];
}

/**
 * What a transform returns from its tidy (`mark`: tensorMark() taken when it began). Results that
 * stay differentiable own the part of their graph made here (adoptGraph: disposing them frees it);
 * others are cut from the graph. A result whose value predates the call (f returned an argument)
 * is copied, so that disposing one never frees the other.
 */
function settle(results: Tensor[], outer: boolean, mark: number): Tensor[] {
  const own = (r: Tensor) => new Tensor(r.value.id > mark ? r.value : r.value.clone());
  if (!outer) return results.map(own);
  const out = results.map((r) => (r.value.id > mark ? r : own(r)));
  adoptGraph(out, mark);
  return out;
}
/**
 * The aliases and stand-ins a transform made are no one's leaves: a later backward through its
 * results must not accumulate (and keep) a .grad on them.
 */
function retire(made: Tensor[]): void {
  for (const t of made) if (t.isLeaf) t.requiresGrad = false;
}

/**
 * tidy, with recording on: f and the transform's own products are recorded even under noGrad (as
 * grad does, and torch.func); noGrad only decides whether the result stays differentiable.
 */
function tidyRecording<T>(fn: () => T): T {
  return tidy(() => withGradMode(true, fn));
}

/** A one-hot cotangent: 1 at flat index j of `shape`. */
function basis(shape: number[], j: number): Tensor {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  data[j] = 1;
  return new Tensor(tf.tensor(data, shape));
}

/**
 * ∂out/∂x for each target, row by row: one reverse sweep per output entry j (seed eⱼ), reusing
 * the retained graph; each sweep gives row j for every target at once. Stacked to
 * [...out.shape, ...x.shape].
 */
function jacobianByRows(out: Tensor, targets: Tensor[], createGraph: boolean): Tensor[] {
  const rows: Tensor[][] = targets.map(() => []);
  for (let j = 0; j < out.size; j++) {
    const gs = gradients(out, targets, { seeds: [basis(out.shape, j)], retainGraph: true, createGraph });
    gs.forEach((g, k) => rows[k].push(g ?? zerosLike(targets[k])));
  }
  return targets.map((x, k) => reshape(stack(rows[k], 0), [...out.shape, ...x.shape]));
}

/**
 * ∂out/∂x column by column, for tall Jacobians: one recorded VJP g(u) = uᵀJ with a stand-in
 * cotangent u, then one sweep per input entry i: ∂⟨g(u), eᵢ⟩/∂u = J eᵢ (the double-VJP trick of
 * jvp). n + 1 sweeps instead of m.
 */
function jacobianByColumns(out: Tensor, targets: Tensor[], createGraph: boolean): Tensor[] {
  const u = zeros(out.shape, { requiresGrad: true });
  const gs = gradients(out, targets, { seeds: [u], createGraph: true });
  const jacs = targets.map((x, k) => {
    const g = gs[k];
    if (!g) return zeros([...out.shape, ...x.shape]);
    const cols: Tensor[] = [];
    for (let i = 0; i < x.size; i++) {
      const [c] = gradients(g, [u], { seeds: [basis(x.shape, i)], retainGraph: true, createGraph });
      cols.push(c ?? zerosLike(out));
    }
    return reshape(stack(cols, out.rank), [...out.shape, ...x.shape]);
  });
  retire([u]);
  return jacs;
}

/** Built-in rules: their adjoints are written in tapegrad ops, so they are linear in g and recorded. */
const builtinRules = new Set<unknown>(Object.values(registry));
/** Every node under `out` is a built-in op (a custom op's adjoint may not be differentiable in g). */
function allBuiltin(out: Tensor): boolean {
  return walkGraph([out]).every((t) => !t.node || builtinRules.has(t.node.rule));
}

/** Options of `jacobian`. */
export interface JacobianOptions {
  /**
   * 'reverse': a sweep per output entry (m sweeps); 'forward': a sweep per input entry after one
   * recorded VJP (n + 1 sweeps, each over the larger backward graph); 'auto' (default): forward
   * when the Jacobian is tall enough to pay for it (2(n + 1) < m) and every op is built in.
   */
  mode?: 'reverse' | 'forward' | 'auto';
}

function jacobianOf(out: Tensor, targets: Tensor[], createGraph: boolean, mode: JacobianOptions['mode']): Tensor[] {
  if (out.size === 0 || !out.requiresGrad) return targets.map((x) => zeros([...out.shape, ...x.shape]));
  const n = targets.reduce((s, x) => s + x.size, 0);
  const byColumns = mode === 'forward' || (mode === 'auto' && 2 * (n + 1) < out.size && allBuiltin(out));
  return byColumns ? jacobianByColumns(out, targets, createGraph) : jacobianByRows(out, targets, createGraph);
}

/**
 * The Jacobian of f with respect to args[argnums]: shape [...out.shape, ...x.shape] (m×n for
 * x ∈ Rⁿ ↦ y ∈ Rᵐ, the appendix's Convention 3). One Tensor for a single argnum, an array for an
 * array of them. Reverse mode by rows (m sweeps), or by columns for tall Jacobians (see opts.mode).
 * PyTorch `torch.func.jacrev`, JAX `jax.jacrev`.
 */
export function jacobian<F extends Fn>(
  f: F,
  argnums?: number,
  opts?: JacobianOptions,
): (...args: Parameters<F>) => Tensor;
export function jacobian<F extends Fn, const N extends readonly number[]>(
  f: F,
  argnums: N,
  opts?: JacobianOptions,
): (...args: Parameters<F>) => PerArgnum<N>;
export function jacobian<F extends Fn>(
  f: F,
  argnums: Argnums = 0,
  opts: JacobianOptions = {},
): (...args: Parameters<F>) => unknown {
  checkFn('jacobian', f);
  checkOptions('jacobian', opts, ['mode']);
  const mode = opts.mode ?? 'auto';
  if (!['reverse', 'forward', 'auto'].includes(mode))
    throw new TapegradError('jacobian', `mode must be 'reverse', 'forward' or 'auto', got ${JSON.stringify(mode)}`);
  return (...args: Parameters<F>) => {
    checkArity('jacobian', f, args.length);
    const nums = normalizeArgnums('jacobian', argnums, args.length);
    const recording = isGradEnabled();
    const results = tidyRecording(() => {
      const mark = tensorMark();
      const prepared = args.map((a, i) =>
        nums.includes(i) ? differentiable('jacobian', a, i) : { t: a as Tensor, fresh: false },
      );
      const xs = prepared.map((p) => p.t);
      const out = f(...xs);
      checkOut('jacobian', out);
      const fresh = new Set(prepared.filter((p) => p.fresh).map((p) => p.t));
      const outer = recording && reachesOuter([out], fresh);
      const jacs = jacobianOf(
        out,
        nums.map((i) => xs[i]),
        outer,
        mode,
      );
      retire([...fresh]);
      return settle(jacs, outer, mark);
    });
    return typeof argnums === 'number' ? results[0] : results;
  };
}

/**
 * f's output and its Jacobian-vector product J·t, where J is the Jacobian with respect to all the
 * primals and t the tangents (one per primal, of its shape): JAX's jvp.
 *
 * The double-VJP trick: for a stand-in cotangent u, g(u) = uᵀJ (one VJP, recorded) is linear in u,
 * so ∂⟨g(u), t⟩/∂u = J t whatever u's value. Two reverse sweeps, whatever the sizes. Like any
 * second-order use, it needs adjoints written in tapegrad ops (a customOp's vjp included).
 * PyTorch `torch.func.jvp`, JAX `jax.jvp`.
 */
export function jvp(f: Fn, primals: TensorLike[], tangents: TensorLike[]): { out: Tensor; tangent: Tensor } {
  checkFn('jvp', f);
  if (!Array.isArray(primals))
    throw new TapegradError('jvp', `primals must be an array (one entry per argument of f), got ${describe(primals)}`);
  if (!Array.isArray(tangents))
    throw new TapegradError('jvp', `tangents must be an array (one per primal), got ${describe(tangents)}`);
  if (primals.length !== tangents.length)
    throw new TapegradError('jvp', `got ${primals.length} primals but ${tangents.length} tangents`);
  checkArity('jvp', f, primals.length);
  tangents.forEach((t, i) => {
    if (!(t instanceof Tensor) && typeof t !== 'number')
      throw new TapegradError('jvp', `tangent ${i} must be a Tensor or a number, got ${describe(t)}`);
    if (t instanceof Tensor) t.assertLive('jvp', `tangent ${i}`);
    const ps = shapeOf(primals[i]);
    if (shapeOf(t).join() !== ps.join()) {
      throw new TapegradError(
        'jvp',
        `tangent ${i} has shape ${fmtShape(shapeOf(t))} but primal ${i} has shape ${fmtShape(ps)}`,
      );
    }
  });
  const recording = isGradEnabled();
  const results = tidyRecording(() => {
    const mark = tensorMark();
    const prepared = primals.map((p, i) => differentiable('jvp', p, i));
    const xs = prepared.map((p) => p.t);
    const out = f(...xs);
    checkOut('jvp', out);
    const u = zeros(out.shape, { requiresGrad: true });
    const gs = out.requiresGrad ? gradients(out, xs, { seeds: [u], createGraph: true }) : [];
    let inner: Tensor | null = null; // ⟨g(u), t⟩
    gs.forEach((g, i) => {
      if (!g) return;
      const term = sum(mul(g, tangents[i]));
      inner = inner ? add(inner, term) : term;
    });
    const fresh = new Set([u, ...prepared.filter((p) => p.fresh).map((p) => p.t)]);
    const outer = recording && reachesOuter(inner ? [out, inner] : [out], fresh);
    const tangent = inner ? (gradients(inner, [u], { createGraph: outer })[0] ?? zerosLike(out)) : zerosLike(out);
    retire([...fresh]);
    return settle([out, tangent], outer, mark);
  });
  return { out: results[0], tangent: results[1] };
}

/** f's output as a scalar, or an error naming the transform. */
function scalarOf(fn: string, f: Fn): Fn {
  return (...xs) => {
    const out = f(...xs);
    checkOut(fn, out);
    if (out.size !== 1)
      throw new TapegradError(fn, `the function must return a scalar, got shape ${fmtShape(out.shape)}`);
    return out;
  };
}

/**
 * The Hessian of a scalar f with respect to args[argnum]: the Jacobian of its gradient, shape
 * [...x.shape, ...x.shape].
 * PyTorch `torch.func.hessian`, JAX `jax.hessian`.
 */
export function hessian<F extends Fn>(f: F, argnum = 0): (...args: Parameters<F>) => Tensor {
  checkFn('hessian', f);
  if (typeof argnum !== 'number')
    throw new TapegradError('hessian', `argnum must be one argument index, got ${JSON.stringify(argnum)}`);
  return (...args: Parameters<F>) => {
    checkArity('hessian', f, args.length);
    normalizeArgnums('hessian', argnum, args.length);
    return jacobian(grad(scalarOf('hessian', f), argnum), argnum)(...args);
  };
}

/**
 * The Hessian-vector product ∇²f(x)·v of a scalar f, as the gradient of ⟨∇f(x), v⟩: two reverse
 * sweeps, never forming the Hessian.
 * PyTorch `torch.autograd.functional.hvp`.
 */
export function hvp(f: (x: Tensor) => Tensor, x: TensorLike, v: TensorLike): Tensor {
  checkFn('hvp', f);
  checkArity('hvp', f, 1);
  if (!(v instanceof Tensor) && typeof v !== 'number')
    throw new TapegradError('hvp', `v must be a Tensor or a number, got ${describe(v)}`);
  if (v instanceof Tensor) v.assertLive('hvp', 'v');
  if (!(x instanceof Tensor) && typeof x !== 'number')
    throw new TapegradError('hvp', `x must be a Tensor or a number, got ${describe(x)}`);
  if (shapeOf(v).join() !== shapeOf(x).join()) {
    throw new TapegradError('hvp', `v has shape ${fmtShape(shapeOf(v))} but x has shape ${fmtShape(shapeOf(x))}`);
  }
  const recording = isGradEnabled();
  const results = tidyRecording(() => {
    const mark = tensorMark();
    const { t: xa, fresh } = differentiable('hvp', x, 0);
    const out = scalarOf('hvp', f)(xa);
    const [g] = out.requiresGrad ? gradients(out, [xa], { createGraph: true }) : [null];
    if (!g) return settle([zerosLike(xa)], false, mark);
    const inner = sum(mul(g, v));
    const outer = recording && reachesOuter([inner], new Set(fresh ? [xa] : []));
    const [hv] = gradients(inner, [xa], { createGraph: outer });
    if (fresh) retire([xa]);
    return settle([hv ?? zerosLike(xa)], outer, mark);
  });
  return results[0];
}
