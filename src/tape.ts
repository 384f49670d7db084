// The tape: the recorded graph, and backward() — a reverse topological walk that propagates
// vector-Jacobian products through each op's adjoint and sums gradients where paths meet.
import * as tf from '@tensorflow/tfjs-core';
import { TapegradError, fmtShape } from './errors.js';
import type { OpRule } from './op.js';
import { Tensor } from './tensor.js';
import { add, onesLike, toTensor } from './ops/index.js';

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
  constructor(
    readonly rule: OpRule<any>,
    public inputs: Tensor[],
    readonly attrs: unknown,
  ) {}
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
  outs.forEach((o) => o.assertLive('gradients', 'an output'));
  inputs.forEach((x) => x.assertLive('gradients', 'an input'));
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
      if (g.shape.join() !== root.shape.join() && !(g.size === 1 && root.size === 1)) {
        throw new TapegradError('backward', `the seed's shape ${fmtShape(g.shape)} differs from the output's ${fmtShape(root.shape)}`);
      }
      if (s instanceof Tensor) userOwned.add(g);
      if (g.size === 1 && root.size === 1 && g.rank !== root.rank) g = g.reshape(root.shape);
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
  withGradMode(createGraph, run);

  if (!retainGraph) for (const t of order) if (wanted(t)) release(t.node!);
  return targets ? targets.map((x) => grads.get(x) ?? null) : [];
}

/** Calls one node's adjoint and adds each input's share into `grads`. */
function propagate(t: Tensor, g: Tensor, grads: Map<Tensor, Tensor>, wanted: (t: Tensor) => boolean, createGraph: boolean, userOwned: Set<Tensor>): void {
  const node = t.node!;
  const { inputs, rule } = node;
  const compute = (): (Tensor | null)[] => {
    const thunks = rule.vjp(g, inputs, t, node.attrs);
    return inputs.map((x, i) => (wanted(x) && thunks[i] ? thunks[i]!() : null));
  };
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

function runHooks(t: Tensor, g: Tensor, grads: Map<Tensor, Tensor>, createGraph: boolean, userOwned: Set<Tensor>): Tensor {
  for (const hook of t.hooks) {
    const replaced = hook(g);
    if (replaced instanceof Tensor && replaced !== g) {
      if (replaced.shape.join() !== g.shape.join()) {
        throw new TapegradError('registerHook', `a hook returned shape ${fmtShape(replaced.shape)} for a gradient of shape ${fmtShape(g.shape)}`);
      }
      if (!createGraph && !userOwned.has(g)) g.dispose();
      userOwned.add(replaced);
      g = replaced;
    }
  }
  grads.set(t, g);
  return g;
}

/** t.grad += g, kept beyond any tidy since t outlives it. `transfer`: g is ours to consume. */
function keepGrad(t: Tensor, g: Tensor, createGraph: boolean, transfer: boolean): void {
  if (!createGraph && !transfer) g = new Tensor(g.value.clone());
  let next = g;
  if (t.grad && !t.grad.isDisposed) {
    next = add(t.grad, g);
    if (!createGraph) {
      t.grad.dispose();
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
}
