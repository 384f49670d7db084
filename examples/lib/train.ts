// Helpers shared by the training examples: a seeded random generator, and a loss guard.
import type * as tg from 'tapegrad';

/** A small seeded generator, so the examples' data are the same on every run. */
export { rng } from 'tapegrad/testing';

/** The loss as a number; a NaN or infinite loss stops training with an error that says when. */
export function finiteLoss(loss: tg.Tensor, step: number): number {
  const v = loss.item();
  if (!Number.isFinite(v))
    throw new Error(`training diverged: the loss is ${v} at step ${step} (try a smaller learning rate)`);
  return v;
}

/** Runs fn; an error (a diverged loss, say) is printed as one line and the process exits with 1. */
export function orExit<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    console.error(`✗ ${(e as Error).message}`);
    process.exit(1);
  }
}
