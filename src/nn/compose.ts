// A layer's forward made of several ops: the intermediates it makes are handed to its output
// (owning()), so that disposing the output frees them, and freed at once if the forward throws.
import type { Tensor } from '../tensor.js';
import { owning } from '../op.js';

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
