// The tape: the recorded graph, and backward() — a reverse topological walk that propagates
// vector-Jacobian products through each op's adjoint and sums gradients where paths meet.
import * as tf from '@tensorflow/tfjs-core';
import { TapegradError, fmtShape } from './errors.js';
import type { OpRule } from './op.js';
import { Tensor } from './tensor.js';
import { add, onesLike, toTensor, reshape } from './ops/index.js';
import { owning } from './op.js';
import { anomaly, checkBackward, inAdjoint } from './anomaly.js';

export interface BackwardOptions {
  /** Keep the graph (and what it saved) for another backward(). Defaults to createGraph. */
  retainGraph?: boolean;
  /** Record the backward pass itself, so that gradients can be differentiated again. */
  createGraph?: boolean;
}
export type GradHook = (grad: Tensor) => Tensor | void;

/** One recorded op application: the rule, its inputs and attributes; freed after backward. */
export class Node {
  freed = false;
  /** The inputs' values when recorded: an input whose value was replaced since (an optimizer step) is an error at backward. */
  saved: tf.Tensor[];
  constructor(
    readonly rule: OpRule<any>,
    public inputs: Tensor[],
    readonly attrs: unknown,
  ) {
    this.saved = inputs.map((x) => x.value);
  }
}

// ---- recording switch
let gradEnabled = true;
export function isGradEnabled(): boolean {
  return gradEnabled;
}
/** Runs fn with recording switched on or off; restores the previous state. */
export function withGradMode<T>(enabled: boolean, fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = enabled;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}
/** Runs fn without recording: results do not require grad (PyTorch's no_grad). */
export function noGrad<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw new TapegradError('noGrad', `expected a function, got ${typeof fn}`);
  return withGradMode(false, fn);
}

/** Non-leaf tensors that require grad, reachable from roots, inputs before outputs (iterative DFS). */
export function topoOrder(roots: Tensor[]): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  const stack: { t: Tensor; next: number }[] = [];
  for (const r of roots) {
    if (!r.node || visited.has(r)) continue;
    stack.push({ t: r, next: 0 });
    visited.add(r);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const node = top.t.node!;
      if (node.freed) {
        throw new TapegradError('backward', `the graph through '${node.rule.name}' was freed by an earlier backward(); pass { retainGraph: true } to the first backward() to run it twice`);
      }
      if (top.next < node.inputs.length) {
        const child = node.inputs[top.next++];
        if (child.node && child.requiresGrad && !visited.has(child)) {
          visited.add(child);
          stack.push({ t: child, next: 0 });
        }
      } else {
        stack.pop();
        order.push(top.t);
      }
    }
  }
  return order;
}

/** Tape-style backward: gradients of `root` accumulate into .grad of the leaves that require grad. */
export function backward(root: Tensor, seed: Tensor | number | undefined, opts: BackwardOptions): void {
  root.assertLive('backward');
  if (!root.requiresGrad) {
    throw new TapegradError('backward', 'the tensor does not require grad and has no graph (give an input requiresGrad: true, and do not compute it under noGrad)');
  }
  if (seed === undefined && root.size !== 1) {
    throw new TapegradError('backward', `a seed gradient is needed for a non-scalar output of shape ${fmtShape(root.shape)} (backward(seed) with that shape, or reduce it with sum() first)`);
  }
  sweep([root], [seed], null, opts);
}

/**
 * Gradients of `outputs` (weighted by `seeds`, ones by default) with respect to `inputs`, returned
 * rather than accumulated into .grad — PyTorch's torch.autograd.grad. null where no path exists.
 */
export function gradients(
  outputs: Tensor | Tensor[],
  inputs: Tensor[],
  opts: BackwardOptions & { seeds?: (Tensor | number | undefined)[] } = {},
): (Tensor | null)[] {
  const outs = Array.isArray(outputs) ? outputs : [outputs];
  if (!Array.isArray(inputs)) throw new TapegradError('gradients', `inputs must be an array of Tensors, got ${(inputs as unknown) instanceof Tensor ? 'a Tensor (wrap it in [ ])' : typeof inputs}`);
  const live = (x: unknown, what: string) => {
    if (!(x instanceof Tensor)) throw new TapegradError('gradients', `${what} must be a tapegrad Tensor, got ${x === null ? 'null' : typeof x}`);
    x.assertLive('gradients', what);
  };
  outs.forEach((o) => live(o, 'an output'));
  inputs.forEach((x) => live(x, 'an input'));
  return sweep(outs, opts.seeds ?? outs.map(() => undefined), inputs, opts);
}

/** The reverse sweep shared by backward() and gradients(). */
function sweep(roots: Tensor[], seeds: (Tensor | number | undefined)[], targets: Tensor[] | null, opts: BackwardOptions): (Tensor | null)[] {
  const createGraph = opts.createGraph ?? false;
  const retainGraph = opts.retainGraph ?? createGraph;
  const order = topoOrder(roots.filter((r) => r.requiresGrad));

  // With targets, only nodes on a path to a target are visited.
  const targetSet = targets ? new Set(targets) : null;
  let onPath: Set<Tensor> | null = null;
  if (targetSet) {
    onPath = new Set(targets!.filter((t) => !t.node));
    for (const t of order) if (targetSet.has(t) || t.node!.inputs.some((x) => onPath!.has(x))) onPath.add(t);
  }
  const wanted = (t: Tensor) => t.requiresGrad && (onPath ? onPath.has(t) : true);

  const grads = new Map<Tensor, Tensor>();
  const userOwned = new Set<Tensor>(); // seeds the caller passed in: never disposed here
  roots.forEach((root, i) => {
    if (!wanted(root)) return;
    const s = seeds[i];
    let g: Tensor;
    if (s === undefined) g = onesLike(root);
    else {
      g = toTensor('backward', s);
      const mine = !(s instanceof Tensor); // a number, made into a tensor here
      if ((g.shape.join() !== root.shape.join() && !(g.size === 1 && root.size === 1)) || g.dtype !== 'float32') {
        if (mine) g.dispose();
        throw new TapegradError('backward', `the seed (${g.dtype} ${fmtShape(g.shape)}) must be float32 with the output's shape ${fmtShape(root.shape)}`);
      }
      if (g.size === 1 && root.size === 1 && g.rank !== root.rank) {
        const r = g.reshape(root.shape);
        if (mine) g.dispose();
        g = r;
      } else if (!mine) userOwned.add(g);
    }
    accumulate(grads, root, g, createGraph, userOwned);
  });

  const run = () => {
    for (let k = order.length - 1; k >= 0; k--) {
      const t = order[k];
      if (!wanted(t) || !grads.has(t)) continue;
      const g = runHooks(t, grads.get(t)!, grads, createGraph, userOwned);
      if (t.retainsGrad && !targetSet) keepGrad(t, g, createGraph, false);
      propagate(t, g, grads, wanted, createGraph, userOwned);
      if (!targetSet?.has(t) && !createGraph && !userOwned.has(g)) {
        grads.delete(t);
        g.dispose();
      }
    }
    // Leaves: hooks, then (tape style) add into .grad.
    for (const [x, g] of grads) {
      if (!x.isLeaf) continue;
      const h = runHooks(x, g, grads, createGraph, userOwned);
      if (!targetSet) keepGrad(x, h, createGraph, !userOwned.has(h));
    }
  };
  try {
    withGradMode(createGraph, run);
  } catch (e) {
    // the gradients made so far are the tape's: free them before reporting the error
    if (!createGraph) for (const g of grads.values()) if (!userOwned.has(g)) g.dispose();
    throw e;
  }

  if (!retainGraph) for (const t of order) if (wanted(t)) release(t.node!);
  if (!targets) return [];
  // Hand out tensors that are the caller's alone: never a seed they passed in, never one twice.
  const handed = new Set<Tensor>();
  return targets.map((x) => {
    let g = grads.get(x) ?? null;
    if (g && (userOwned.has(g) || handed.has(g))) g = copy(g, createGraph);
    if (g) handed.add(g);
    return g;
  });
}

/** A new handle on g's values; with createGraph, a recorded one (so it stays differentiable). */
function copy(g: Tensor, createGraph: boolean): Tensor {
  return createGraph ? withGradMode(true, () => reshape(g, g.shape)) : new Tensor(g.value.clone());
}

/** Calls one node's adjoint and adds each input's share into `grads`. */
function propagate(t: Tensor, g: Tensor, grads: Map<Tensor, Tensor>, wanted: (t: Tensor) => boolean, createGraph: boolean, userOwned: Set<Tensor>): void {
  const node = t.node!;
  const { inputs, rule } = node;
  // PyTorch's version check: the adjoint would silently read the new values
  const moved = inputs.findIndex((x, i) => x.value !== node.saved[i]);
  if (moved >= 0) {
    throw new TapegradError('backward', `input ${moved} of '${rule.name}' (shape ${fmtShape(inputs[moved].shape)}) was given new values after the forward pass (an optimizer step?); run backward() before changing parameters, or recompute the forward pass`);
  }
  const adjoint = (): (Tensor | null)[] => {
    const thunks = rule.vjp(g, inputs, t, node.attrs);
    return inputs.map((x, i) => (wanted(x) && thunks[i] ? thunks[i]!() : null));
  };
  const compute = anomaly.enabled ? () => inAdjoint(adjoint) : adjoint;
  let shares: (Tensor | null)[];
  try {
    if (createGraph) shares = compute();
    else {
      // Temporaries made by the adjoint are freed here; only the shares survive.
      let out: (Tensor | null)[] = [];
      tf.tidy(() => {
        out = compute();
        return out.filter((s): s is Tensor => s !== null).map((s) => s.value);
      });
      // A share may be g itself or an input (add's adjoint is g): give each its own handle.
      const seen = new Set<tf.Tensor>([g.value, t.value, ...inputs.map((x) => x.value)]);
      shares = out.map((s) => {
        if (!s) return null;
        const v = seen.has(s.value) ? s.value.clone() : s.value;
        seen.add(v);
        return new Tensor(v);
      });
    }
  } catch (e) {
    const dead = [...inputs, t].find((x) => x.isDisposed);
    if (dead) {
      throw new TapegradError('backward', `a tensor saved for the gradient of '${rule.name}' (shape ${fmtShape(dead.shape)}) was disposed before backward(); dispose intermediates after backward(), or call backward() inside the same tg.tidy`);
    }
    throw e;
  }
  if (anomaly.enabled) checkBackward(t, inputs, g, shares);
  shares.forEach((s, i) => {
    if (!s) return;
    const x = inputs[i];
    if (s.shape.join() !== x.shape.join()) {
      throw new TapegradError('backward', `internal: the adjoint of '${rule.name}' gave shape ${fmtShape(s.shape)} for input ${i} of shape ${fmtShape(x.shape)}`);
    }
    accumulate(grads, x, s, createGraph, userOwned);
  });
}

/** grads[x] += g, freeing the addends unless the graph is being recorded. */
function accumulate(grads: Map<Tensor, Tensor>, x: Tensor, g: Tensor, createGraph: boolean, userOwned: Set<Tensor>): void {
  const prev = grads.get(x);
  if (!prev) {
    grads.set(x, g);
    return;
  }
  const sum = add(prev, g);
  if (!createGraph) {
    if (!userOwned.has(prev)) prev.dispose();
    if (!userOwned.has(g)) g.dispose();
  }
  grads.set(x, sum);
}

/**
 * Runs t's hooks on its gradient. A tensor a hook returns replaces the gradient and belongs to the
 * tape from then on: without createGraph the hook runs in a tidy and its result is copied out, so
 * that its temporaries are freed and a tensor the user still holds is never disposed here.
 */
function runHooks(t: Tensor, g: Tensor, grads: Map<Tensor, Tensor>, createGraph: boolean, userOwned: Set<Tensor>): Tensor {
  for (const hook of t.hooks) {
    let replaced: Tensor | null = null;
    const check = (r: unknown): r is Tensor => {
      if (!(r instanceof Tensor) || r === g) return false;
      if (r.shape.join() !== g.shape.join()) {
        throw new TapegradError('registerHook', `a hook returned shape ${fmtShape(r.shape)} for a gradient of shape ${fmtShape(g.shape)}`);
      }
      return true;
    };
    if (createGraph) {
      const r = hook(g);
      if (check(r)) replaced = r;
    } else {
      let kept: tf.Tensor | undefined;
      tf.tidy(() => {
        const r = hook(g);
        if (check(r)) kept = r.value.clone();
        return kept;
      });
      if (kept) replaced = new Tensor(kept);
    }
    if (replaced) {
      if (!createGraph && !userOwned.has(g)) g.dispose();
      g = replaced;
    }
  }
  grads.set(t, g);
  return g;
}

/**
 * t.grad += g, kept beyond any tidy since t outlives it. `transfer`: g is ours to consume. With
 * createGraph, g may also be another tensor's gradient (add's adjoint passes g on to both
 * operands), so t gets its own recorded handle; an older t.grad is then owned by the sum.
 */
function keepGrad(t: Tensor, g: Tensor, createGraph: boolean, transfer: boolean): void {
  if (createGraph || !transfer) g = copy(g, createGraph);
  let next = g;
  const prev = t.grad;
  if (prev && !prev.isDisposed) {
    next = add(prev, g);
    if (createGraph) owning(next, [prev, g]);
    else {
      prev.dispose();
      g.dispose();
    }
  }
  tf.keep(next.value);
  next.owned.forEach((c) => tf.keep(c));
  t.grad = next;
}

/** Drops what a node saved, so that the memory can go and a second backward() is refused. */
function release(node: Node): void {
  node.freed = true;
  node.inputs = [];
  node.saved = [];
}
