// Anomaly detection: when switched on, every op's forward result and every gradient an adjoint
// produces is checked for NaN and ±Inf, and the first one found is reported with the op's name,
// its input shapes and the ops that made its inputs. Off by default: the hooks in op.ts and
// backward.ts are a single `if (anomaly.enabled)` each, so it costs nothing when off.
import * as tf from '@tensorflow/tfjs-core';
import { TapegradError, fmtShape, refuseAsync, refusePromise } from './errors.js';
import { opLabel, type AnyOpRule, type Tensor } from './tensor.js';

/** The switch the hooks read, and whether a node's adjoint is running (its inner ops are not checked). */
export const anomaly = { enabled: false, inAdjoint: 0 };

/** Turns anomaly detection on or off for everything that follows (PyTorch's set_detect_anomaly). */
export function setDetectAnomaly(on: boolean): void {
  if (typeof on !== 'boolean') throw new TapegradError('setDetectAnomaly', `expected true or false, got ${typeof on}`);
  anomaly.enabled = on;
}

/** Is anomaly detection on? PyTorch `torch.is_anomaly_enabled`. */
export function isAnomalyEnabled(): boolean {
  return anomaly.enabled;
}

/**
 * Runs fn with anomaly detection on and restores the previous setting afterwards. fn must be
 * synchronous: the switch is global, so during an async fn's awaits other tasks would be checked
 * too (use setDetectAnomaly around async code).
 * PyTorch `torch.autograd.detect_anomaly`, JAX `jax_debug_nans`.
 */
export function detectAnomaly<T>(fn: () => T): T {
  if (typeof fn !== 'function')
    throw new TapegradError('detectAnomaly', `expected a function, got ${fn === null ? 'null' : typeof fn}`);
  refuseAsync('detectAnomaly', fn);
  const prev = anomaly.enabled;
  anomaly.enabled = true;
  let result: T;
  try {
    result = fn();
  } finally {
    anomaly.enabled = prev;
  }
  refusePromise('detectAnomaly', result);
  return result;
}

/** How many entries are NaN and how many ±Inf (0, 0 for integer and bool tensors). */
function countBad(v: tf.Tensor): { nan: number; inf: number } {
  if (v.dtype !== 'float32' || v.isDisposed) return { nan: 0, inf: 0 };
  const [nan, notFinite] = tf.tidy(() => {
    const n = tf.sum(tf.cast(tf.isNaN(v), 'int32'));
    const bad = tf.sum(tf.cast(tf.logicalNot(tf.isFinite(v)), 'int32'));
    return [n.dataSync()[0], bad.dataSync()[0]];
  });
  return { nan, inf: notFinite - nan };
}

function describeBad({ nan, inf }: { nan: number; inf: number }, size: number): string {
  const parts = [nan ? `NaN (${nan} of ${size} entries)` : '', inf ? `Inf (${inf} of ${size} entries)` : ''].filter(
    Boolean,
  );
  return parts.join(' and ');
}

/** "log ← sub ← matmul": the ops that made x, following the first recorded input back `depth` levels. */
export function provenance(x: Tensor, depth = 4): string {
  const chain: string[] = [];
  let t: Tensor | undefined = x;
  while (t && chain.length < depth) {
    if (!t.node) {
      chain.push(t.requiresGrad ? `leaf ${fmtShape(t.shape)}` : `constant ${fmtShape(t.shape)}`);
      return chain.join(' ← ');
    }
    chain.push(opLabel(t));
    if (t.node.freed) return chain.join(' ← ') + ' ← (freed)';
    t = t.node.inputs.find((i) => i.node) ?? t.node.inputs[0];
  }
  return chain.join(' ← ') + (t ? ' ← …' : '');
}

function inputsReport(inputs: Tensor[]): string {
  return inputs.map((x, i) => `input ${i} ${fmtShape(x.shape)} ← ${provenance(x)}`).join('; ');
}

/** Throws if an op's forward results hold NaN or Inf. Ops run inside an adjoint are left to checkBackward. */
export function checkForward(rule: AnyOpRule, inputs: Tensor[], values: tf.Tensor[]): void {
  if (anomaly.inAdjoint > 0) return;
  const at = values.findIndex((v) => {
    const b = countBad(v);
    return b.nan || b.inf;
  });
  if (at < 0) return;
  const value = values[at];
  const bad = countBad(value);
  const which = values.length > 1 ? `result ${at} of ${values.length}` : 'result';
  const shapes = inputs.map((x) => fmtShape(x.shape)).join(', ');
  // the results never reach the caller
  for (const v of values) if (!inputs.some((x) => x.value === v)) v.dispose();
  // an op checked while detection was on cannot have made an input's NaN: it came in from outside
  const given = inputs.findIndex((x) => {
    const b = countBad(x.value);
    return b.nan || b.inf;
  });
  if (given >= 0) {
    const x = inputs[given];
    throw new TapegradError(
      rule.name,
      `anomaly in the forward pass: input ${given} ${fmtShape(x.shape)} already held ${describeBad(countBad(x.value), x.size)} — it was given as an input (${provenance(x)}), not made by this op; the inputs have shape ${shapes}`,
    );
  }
  throw new TapegradError(
    rule.name,
    `anomaly in the forward pass: the ${which} ${fmtShape(value.shape)} holds ${describeBad(bad, value.size)}, from inputs of shape ${shapes}. Where the inputs came from: ${inputsReport(inputs)}`,
  );
}

/** Runs an adjoint with the ops inside it unchecked: only the gradients it returns are checked. */
export function inAdjoint<T>(fn: () => T): T {
  anomaly.inAdjoint++;
  try {
    return fn();
  } finally {
    anomaly.inAdjoint--;
  }
}

/** Throws if the gradient an adjoint gave for one of its inputs holds NaN or Inf; `gs`: the cotangents it received. */
export function checkBackward(
  rule: AnyOpRule,
  inputs: Tensor[],
  gs: (Tensor | null)[],
  shares: (Tensor | null)[],
): void {
  shares.forEach((s, i) => {
    if (!s) return;
    const bad = countBad(s.value);
    if (!bad.nan && !bad.inf) return;
    const shapes = inputs.map((x) => fmtShape(x.shape)).join(', ');
    const k = gs.findIndex((g) => {
      const b = g ? countBad(g.value) : { nan: 0, inf: 0 };
      return b.nan || b.inf;
    });
    const incoming = gs.length > 1 ? `the incoming gradient of output ${k}` : 'the incoming gradient';
    const cause =
      k >= 0
        ? `${incoming} ${fmtShape(gs[k]!.shape)} already held ${describeBad(countBad(gs[k]!.value), gs[k]!.size)}`
        : `${gs.length > 1 ? 'the incoming gradients were' : 'the incoming gradient was'} finite, so the adjoint itself made it`;
    throw new TapegradError(
      rule.name,
      `anomaly in the backward pass: the gradient for input ${i} ${fmtShape(s.shape)} holds ${describeBad(bad, s.size)} (${cause}); the op's inputs have shape ${shapes}. Where the inputs came from: ${inputsReport(inputs)}`,
    );
  });
}
