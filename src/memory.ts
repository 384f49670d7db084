// Memory: TF.js tensors hold backend memory until disposed. tidy() frees every tensor made inside
// it except those in its result; tensors kept by long-lived objects (leaf grads, parameters,
// optimizer state) are marked with tf.keep and outlive any tidy.
import * as tf from '@tensorflow/tfjs-core';
import { Tensor } from './tensor.js';
import { TapegradError } from './errors.js';

/** The TF.js tensors held by a result: Tensors (with their owned constants), in arrays and objects. */
function heldValues(result: unknown, out: tf.Tensor[] = [], seen = new Set<unknown>()): tf.Tensor[] {
  if (result === null || typeof result !== 'object' || seen.has(result)) return out;
  seen.add(result);
  if (result instanceof Tensor) {
    out.push(result.value, ...result.owned);
    return out;
  }
  if (result instanceof tf.Tensor) {
    out.push(result);
    return out;
  }
  for (const v of Array.isArray(result) ? result : Object.values(result)) heldValues(v, out, seen);
  return out;
}

/**
 * Runs fn and frees every tensor it made, except those in its result (Tensors, or arrays and
 * objects of them). fn must be synchronous. Call backward() inside the tidy that made the graph.
 */
export function tidy<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw new TapegradError('tidy', `expected a function, got ${typeof fn}`);
  let result!: T;
  tf.tidy(() => {
    result = fn();
    if (result instanceof Promise)
      throw new TapegradError(
        'tidy',
        'the function must be synchronous (it returned a Promise); await outside the tidy, or tidy each synchronous step',
      );
    return heldValues(result);
  });
  return result;
}

/** Live tensors and bytes on the active backend. */
export function memory(): { numTensors: number; numBytes: number } {
  const m = tf.memory();
  return { numTensors: m.numTensors, numBytes: m.numBytes };
}

/** Marks tensors to outlive any enclosing tidy (as tf.keep). */
export function keep<T extends Tensor>(t: T): T {
  if (!(t instanceof Tensor))
    throw new TapegradError(
      'keep',
      `the input must be a tapegrad Tensor, got ${Array.isArray(t) ? 'an array (wrap it with tg.tensor)' : typeof t}`,
    );
  t.assertLive('keep', 'the input');
  tf.keep(t.value);
  t.owned.forEach((c) => tf.keep(c));
  return t;
}

/** Frees tensors (and arrays or objects of them). */
export function dispose(x: unknown): void {
  // null and undefined are allowed (dispose([x, x.grad]) with no grad yet); other primitives are mistakes
  if (x !== null && x !== undefined && typeof x !== 'object')
    throw new TapegradError('dispose', `expected Tensors (or arrays or objects of them), got ${typeof x}`);
  for (const v of heldValues(x)) v.dispose();
}
