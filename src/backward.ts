// The backward sweep: a reverse walk of the tape that calls each node's adjoint and sums
// gradients where paths meet. backward() (into .grad) and gradients() (returned) share it.
import * as tf from '@tensorflow/tfjs-core';
import { TapegradError, checkOptions, fmtShape, sameShape } from './errors.js';
import { Tensor, type Node } from './tensor.js';
import { topoOrder, withGradMode } from './tape.js';
import { owning } from './op.js';
import { add } from './ops/elementwise.js';
import { reshape } from './ops/shape.js';
import { onesLike, toTensor } from './creation.js';
import { anomaly, checkBackward, inAdjoint } from './anomaly.js';

/** Options of `backward()` and `gradients()`. */
export interface BackwardOptions {
  /** Keep the graph (and what it saved) for another backward(). Defaults to createGraph. */
  retainGraph?: boolean;
  /** Record the backward pass itself, so that gradients can be differentiated again. */
  createGraph?: boolean;
}

/** Tape-style backward: gradients of `root` accumulate into .grad of the leaves that require grad. */
export function backward(root: Tensor, seed: Tensor | number | undefined, opts: BackwardOptions): void {
  root.assertLive('backward');
  checkOptions('backward', opts, ['retainGraph', 'createGraph']);
  if (!root.requiresGrad) {
    throw new TapegradError(
      'backward',
      'the tensor does not require grad and has no graph (give an input requiresGrad: true, and do not compute it under noGrad)',
    );
  }
  if (seed === undefined && root.size !== 1) {
    throw new TapegradError(
      'backward',
      `a seed gradient is needed for a non-scalar output of shape ${fmtShape(root.shape)} (backward(seed) with that shape, or reduce it with sum() first)`,
    );
  }
  new Sweep([root], null, opts).run([seed]);
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
  checkOptions('gradients', opts, ['retainGraph', 'createGraph', 'seeds']);
  const outs = Array.isArray(outputs) ? outputs : [outputs];
  if (!Array.isArray(inputs))
    throw new TapegradError(
      'gradients',
      `inputs must be an array of Tensors, got ${(inputs as unknown) instanceof Tensor ? 'a Tensor (wrap it in [ ])' : typeof inputs}`,
    );
  const live = (x: unknown, what: string) => {
    if (!(x instanceof Tensor))
      throw new TapegradError('gradients', `${what} must be a tapegrad Tensor, got ${x === null ? 'null' : typeof x}`);
    x.assertLive('gradients', what);
  };
  outs.forEach((o) => live(o, 'an output'));
  inputs.forEach((x) => live(x, 'an input'));
  return new Sweep(outs, inputs, opts).run(opts.seeds ?? outs.map(() => undefined));
}

/**
 * One reverse sweep from `roots`. With `targets` (gradients()), only nodes on a path to a target
 * are visited and the targets' gradients are returned; without (backward()), leaves' .grad grow.
 * Without createGraph, each adjoint runs in a tf.tidy and a gradient is freed once its node has
 * used it; `userOwned` holds the seeds the caller passed, which are never freed here.
 */
class Sweep {
  private readonly createGraph: boolean;
  private readonly retainGraph: boolean;
  private readonly order: Tensor[];
  private readonly targetSet: Set<Tensor> | null;
  private readonly onPath: Set<Tensor> | null = null;
  private readonly grads = new Map<Tensor, Tensor>();
  private readonly userOwned = new Set<Tensor>();

  constructor(
    private readonly roots: Tensor[],
    private readonly targets: Tensor[] | null,
    opts: BackwardOptions,
  ) {
    this.createGraph = opts.createGraph ?? false;
    this.retainGraph = opts.retainGraph ?? this.createGraph;
    this.order = topoOrder(roots.filter((r) => r.requiresGrad));
    this.targetSet = targets ? new Set(targets) : null;
    if (targets) {
      const onPath = new Set(targets.filter((t) => !t.node));
      for (const t of this.order)
        if (this.targetSet!.has(t) || t.node!.inputs.some((x) => onPath.has(x))) onPath.add(t);
      this.onPath = onPath;
    }
  }

  private wanted(t: Tensor): boolean {
    return t.requiresGrad && (this.onPath ? this.onPath.has(t) : true);
  }

  run(seeds: (Tensor | number | undefined)[]): (Tensor | null)[] {
    const { grads, createGraph, targetSet } = this;
    // A node with several outputs runs its adjoint once, at the last of its outputs the sweep
    // reaches (the first in the order): by then every output's gradient is complete.
    const adjointAt = new Map<Node, Tensor>();
    for (const t of this.order) if (t.node!.outputs.length > 1 && !adjointAt.has(t.node!)) adjointAt.set(t.node!, t);
    const sweep = () => {
      for (let k = this.order.length - 1; k >= 0; k--) {
        const t = this.order[k];
        if (!this.wanted(t)) continue;
        if (grads.has(t)) {
          const g = this.runHooks(t, grads.get(t)!);
          if (t.retainsGrad && !targetSet) this.keepGrad(t, g, false);
        }
        const node = t.node!;
        const outs = node.outputs.length > 1 ? node.outputs : [t];
        if (outs.length > 1 && adjointAt.get(node) !== t) continue;
        const gs = outs.map((o) => grads.get(o) ?? null);
        if (gs.every((g) => g === null)) continue;
        this.propagate(node, outs, gs);
        outs.forEach((o, i) => {
          const g = gs[i];
          if (g && !targetSet?.has(o) && !createGraph && !this.userOwned.has(g)) {
            grads.delete(o);
            g.dispose();
          }
        });
      }
      // Leaves: hooks, then (tape style) add into .grad.
      for (const [x, g] of grads) {
        if (!x.isLeaf) continue;
        const h = this.runHooks(x, g);
        if (!targetSet) this.keepGrad(x, h, !this.userOwned.has(h));
      }
    };
    const all = () => {
      this.roots.forEach((root, i) => {
        if (this.wanted(root)) this.accumulate(root, this.seed(root, seeds[i]));
      });
      withGradMode(createGraph, sweep);
    };
    try {
      // a recorded sweep keeps every tensor it makes (the gradients' graph), unless it fails
      if (createGraph) keptUnlessThrown(all);
      else all();
    } catch (e) {
      // the gradients made so far are the tape's: free them before reporting the error
      if (!createGraph) for (const g of grads.values()) if (!this.userOwned.has(g)) g.dispose();
      throw e;
    }

    if (!this.retainGraph) for (const t of this.order) if (this.wanted(t)) release(t.node!);
    if (!this.targets) return [];
    // Hand out tensors that are the caller's alone: never a seed they passed in, never one twice.
    const handed = new Set<Tensor>();
    return this.targets.map((x) => {
      let g = grads.get(x) ?? null;
      if (g && (this.userOwned.has(g) || handed.has(g))) g = copy(g, createGraph);
      if (g) handed.add(g);
      return g;
    });
  }

  /** The seed gradient of one root: ones by default; a number becomes a tensor; a tensor is the caller's. */
  private seed(root: Tensor, s: Tensor | number | undefined): Tensor {
    if (s === undefined) return onesLike(root);
    const g = toTensor('backward', s);
    const mine = !(s instanceof Tensor); // a number, made into a tensor here
    if ((g.shape.join() !== root.shape.join() && !(g.size === 1 && root.size === 1)) || g.dtype !== 'float32') {
      if (mine) g.dispose();
      throw new TapegradError(
        'backward',
        `the seed (${g.dtype} ${fmtShape(g.shape)}) must be float32 with the output's shape ${fmtShape(root.shape)}`,
      );
    }
    if (g.size === 1 && root.size === 1 && g.rank !== root.rank) {
      const r = reshape(g, root.shape);
      if (mine) g.dispose();
      return r;
    }
    if (!mine) this.userOwned.add(g);
    return g;
  }

  /** Calls one node's adjoint with the gradients `gs` of its outputs `outs` and adds each input's share into the gradients. */
  private propagate(node: Node, outs: Tensor[], gs: (Tensor | null)[]): void {
    const { inputs, rule } = node;
    // PyTorch's version check: the adjoint would silently read the new values
    let moved = -1;
    for (let i = 0; i < inputs.length && moved < 0; i++) if (inputs[i].value !== node.saved[i]) moved = i;
    if (moved >= 0) {
      throw new TapegradError(
        'backward',
        `input ${moved} of '${rule.name}' (shape ${fmtShape(inputs[moved].shape)}) was given new values after the forward pass (an optimizer step?); run backward() before changing parameters, or recompute the forward pass`,
      );
    }
    // an output its caller disposed is read from the handles its siblings hold (Node.copies)
    let read = outs;
    if (rule.outputs === 'several' && rule.readsOutputs && outs.some((o) => o.isDisposed)) {
      read = outs.map((o, k) => {
        if (!o.isDisposed) return o;
        const copy = node.copies[k]?.find((c) => !c.isDisposed);
        // a recorded backward needs the output itself, which carries the node, to differentiate again
        if (copy && !(this.createGraph && o.node)) return new Tensor(copy);
        throw new TapegradError(
          'backward',
          `output ${rule.outputNames?.[k] ?? k} of '${rule.name}' (shape ${fmtShape(o.shape)}) was disposed before backward()${copy ? ' with createGraph' : ''}, and its gradient reads it; dispose the outputs after backward()`,
        );
      });
    }
    const adjoint = (): (Tensor | null)[] => {
      const thunks =
        rule.outputs === 'several'
          ? rule.vjp(gs, inputs, read, node.attrs)
          : rule.vjp(gs[0]!, inputs, outs[0], node.attrs);
      return inputs.map((x, i) => (this.wanted(x) && thunks[i] ? thunks[i]!() : null));
    };
    const compute = anomaly.enabled ? () => inAdjoint(adjoint) : adjoint;
    const given = gs.filter((g): g is Tensor => g !== null);
    let shares: (Tensor | null)[];
    try {
      shares = this.createGraph ? compute() : tidyShares(compute, [...given, ...read, ...inputs]);
    } catch (e) {
      // An output of an op with several may be disposed and unread (split's unused parts): it is
      // named only when the adjoint failed, and not for the op's own complaint (a customOp's checks).
      const own = e instanceof TapegradError && e.fn === rule.name;
      const dead = own ? undefined : [...inputs, ...outs].find((x) => x.isDisposed);
      if (dead) {
        throw new TapegradError(
          'backward',
          `a tensor saved for the gradient of '${rule.name}' (shape ${fmtShape(dead.shape)}) was disposed before backward(); dispose intermediates after backward(), or call backward() inside the same tg.tidy`,
        );
      }
      throw e;
    }
    try {
      if (anomaly.enabled) checkBackward(rule, inputs, gs, shares);
      const wrong = shares.findIndex((s, i) => s !== null && !sameShape(s.shape, inputs[i].shape));
      if (wrong >= 0) {
        throw new TapegradError(
          'backward',
          `internal: the adjoint of '${rule.name}' gave shape ${fmtShape(shares[wrong]!.shape)} ` +
            `for input ${wrong} of shape ${fmtShape(inputs[wrong].shape)}`,
        );
      }
    } catch (e) {
      // the shares are the tape's until accumulated (a recorded sweep's are freed with its scope)
      if (!this.createGraph) for (const t of shares) t?.dispose();
      throw e;
    }
    shares.forEach((s, i) => {
      if (s) this.accumulate(inputs[i], s);
    });
  }

  /** grads[x] += g, freeing the addends unless the graph is being recorded. */
  private accumulate(x: Tensor, g: Tensor): void {
    const prev = this.grads.get(x);
    if (!prev) {
      this.grads.set(x, g);
      return;
    }
    const sum = add(prev, g);
    if (!this.createGraph) {
      if (!this.userOwned.has(prev)) prev.dispose();
      if (!this.userOwned.has(g)) g.dispose();
    }
    this.grads.set(x, sum);
  }

  /**
   * Runs t's hooks on its gradient. A tensor a hook returns replaces the gradient and belongs to the
   * tape from then on: without createGraph the hook runs in a tidy and its result is copied out, so
   * that its temporaries are freed and a tensor the user still holds is never disposed here.
   */
  private runHooks(t: Tensor, g: Tensor): Tensor {
    for (const hook of t.hooks) {
      let replaced: Tensor | null = null;
      const check = (r: unknown): r is Tensor => {
        if (r === undefined || r === null || r === g) return false;
        if (!(r instanceof Tensor)) {
          const what =
            typeof r === 'object'
              ? (Object.getPrototypeOf(r)?.constructor?.name ?? 'an object')
              : `${typeof r} ${String(r)}`;
          throw new TapegradError(
            'registerHook',
            `a hook must return a Tensor (the new gradient) or nothing, got ${what}`,
          );
        }
        if (r.shape.join() !== g.shape.join()) {
          throw new TapegradError(
            'registerHook',
            `a hook returned shape ${fmtShape(r.shape)} for a gradient of shape ${fmtShape(g.shape)}`,
          );
        }
        return true;
      };
      if (this.createGraph) {
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
        if (!this.createGraph && !this.userOwned.has(g)) g.dispose();
        g = replaced;
      }
    }
    this.grads.set(t, g);
    return g;
  }

  /**
   * t.grad += g, kept beyond any tidy since t outlives it. `transfer`: g is ours to consume. With
   * createGraph, g may also be another tensor's gradient (add's adjoint passes g on to both
   * operands), so t gets its own recorded handle; an older t.grad is then owned by the sum.
   */
  private keepGrad(t: Tensor, g: Tensor, transfer: boolean): void {
    const { createGraph } = this;
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
}

let sharedHandles = true;

/**
 * Gives a share that is g itself or an input its own handle by a reshape to its own shape, which shares
 * the values (nothing mutates a tensor's values in place, and the values live until every handle is
 * disposed), rather than by a clone, which copies them (on wasm). Off: clones, for benchmarks to compare.
 */
export function setSharedGradientHandles(on: boolean): void {
  sharedHandles = on;
}

/**
 * Runs an adjoint in a tf.tidy, so that its temporaries are freed and only the shares survive. A
 * share may be g itself or an input (add's adjoint is g): each gets its own handle.
 */
function tidyShares(compute: () => (Tensor | null)[], held: Tensor[]): (Tensor | null)[] {
  let out: (Tensor | null)[] = [];
  tf.tidy(() => {
    out = compute();
    return out.filter((s): s is Tensor => s !== null).map((s) => s.value);
  });
  const seen = new Set<tf.Tensor>(held.map((x) => x.value));
  return out.map((s) => {
    if (!s) return null;
    const v = seen.has(s.value) ? handleOn(s.value) : s.value;
    seen.add(v);
    return new Tensor(v);
  });
}

/** A new handle on v's values (setSharedGradientHandles). */
function handleOn(v: tf.Tensor): tf.Tensor {
  return sharedHandles ? tf.reshape(v, v.shape) : v.clone();
}

/**
 * Runs fn in a TF.js scope of its own: every tensor it made and did not free goes on to the
 * enclosing scope when it returns, and is freed when it throws (what a failed recorded backward
 * made is reachable from nothing the caller holds).
 */
function keptUnlessThrown(fn: () => void): void {
  const engine = tf.engine();
  tf.tidy(() => {
    fn();
    return engine.state.activeScope.track.filter((t) => !t.isDisposed);
  });
}

/** A new handle on g's values; with createGraph, a recorded one (so it stays differentiable). */
function copy(g: Tensor, createGraph: boolean): Tensor {
  return createGraph ? withGradMode(true, () => reshape(g, g.shape)) : new Tensor(handleOn(g.value));
}

/** Drops what a node saved, so that the memory can go and a second backward() is refused. */
function release(node: Node): void {
  node.freed = true;
  node.inputs = [];
  node.saved = [];
}
