// The tape: the switch that says whether ops record a Node, and the one walk over the recorded
// graph that backward, explain and the function transforms share. The backward sweep itself is
// in backward.ts, above the ops it uses to sum gradients.
import { TapegradError, refuseAsync, refusePromise } from './errors.js';
import type * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from './tensor.js';

// ---- recording switch
let gradEnabled = true;
/** Whether ops are being recorded for backward (false inside `noGrad`). PyTorch `torch.is_grad_enabled`. */
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
/**
 * Runs fn without recording: results do not require grad (PyTorch's no_grad). fn must be synchronous:
 * the switch is global, so recording would resume at an async function's first await.
 */
export function noGrad<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw new TapegradError('noGrad', `expected a function, got ${typeof fn}`);
  refuseAsync('noGrad', fn);
  const result = withGradMode(false, fn);
  refusePromise('noGrad', result);
  return result;
}

// ---- what compile() sees while it traces
/**
 * Set by compile() while it traces a function: told of the tensors each op reads, and of the
 * index tensors whose values an op reads to check their range (which compile checks again at
 * every replay rather than refusing the read).
 */
export const traceHooks: {
  onInputs: ((inputs: readonly Tensor[]) => void) | null;
  onIndexValues: ((t: tf.Tensor, values: Int32Array) => void) | null;
  /** Above 0 while an index tensor's values are being read for such a check. */
  indexReads: number;
  /** A step's numbers computed in JavaScript (`tensor`: the tensor made of them, if any kernel reads them). */
  onHostValues: ((host: HostValues, tensor: tf.Tensor | null) => void) | null;
  /** A state cell replaced: `before` (null: empty) by `after`, a tensor made in the step. */
  onStateWrite: ((cell: StateCell, before: tf.Tensor | null, after: tf.Tensor) => void) | null;
  /** Something in fn that a replay could not repeat (an optimizer without a replayable update). */
  refuse: ((why: string) => void) | null;
} = {
  onInputs: null,
  onIndexValues: null,
  indexReads: 0,
  onHostValues: null,
  onStateWrite: null,
  refuse: null,
};

/** Whether compile() is tracing a function now. */
export const isTracing = (): boolean => traceHooks.onInputs !== null;

/**
 * Numbers a step computes in JavaScript from state that lives outside tensors (an optimizer's
 * learning rate at its step count, its bias corrections 1 − βᵗ), and the host state the step
 * advances (the step counts). A replay of a traced step calls next() again for the numbers of
 * that call, where a tensor made from numbers at the trace would stay frozen.
 */
export interface HostValues {
  /** Whether the trace's kernels still fit (the options they were built from are unchanged). */
  applies(): boolean;
  /** Advances the host state by one step; the numbers of this step (float32, or float64 bits as int32 pairs). */
  next(): Float32Array | Int32Array;
}

/**
 * A place outside the arguments that a step reads a tensor from and writes a new one into (a
 * parameter's value, an optimizer's moments). A replay reads it afresh and writes its new tensor.
 */
export interface StateCell {
  read(): tf.Tensor | null;
  /** Takes t (keeps it beyond any tidy) and frees the tensor it replaces. */
  write(t: tf.Tensor): void;
}

// ---- the graph walk
export interface GraphVisitor {
  /** Whether to visit t (and walk on into its inputs); every tensor by default. Roots are always visited. */
  follow?: (t: Tensor) => boolean;
  /** Called when t is first reached, before its inputs. */
  enter?: (t: Tensor) => void;
}

/**
 * The tensors reachable from `roots` through recorded nodes, inputs before outputs (an iterative
 * depth-first walk: no recursion limit on long chains). Each is listed once.
 */
export function walkGraph(roots: readonly Tensor[], visitor: GraphVisitor = {}): Tensor[] {
  const { follow = () => true, enter } = visitor;
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack: { t: Tensor; next: number }[] = [];
  const push = (t: Tensor) => {
    seen.add(t);
    enter?.(t);
    stack.push({ t, next: 0 });
  };
  for (const r of roots) {
    if (seen.has(r)) continue;
    push(r);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const inputs = top.t.node?.inputs ?? [];
      if (top.next < inputs.length) {
        const child = inputs[top.next++];
        if (!seen.has(child) && follow(child)) push(child);
      } else {
        stack.pop();
        order.push(top.t);
      }
    }
  }
  return order;
}

/** Non-leaf tensors that require grad, reachable from roots, inputs before outputs: backward's order. */
export function topoOrder(roots: readonly Tensor[]): Tensor[] {
  const recorded = (t: Tensor) => t.node !== null && t.requiresGrad;
  return walkGraph(
    roots.filter((r) => r.node),
    {
      follow: recorded,
      enter: (t) => {
        if (t.node!.freed) {
          throw new TapegradError(
            'backward',
            `the graph through '${t.node!.rule.name}' was freed by an earlier backward(); pass { retainGraph: true } to the first backward() to run it twice`,
          );
        }
      },
    },
  );
}
