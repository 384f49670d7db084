// Helpers shared by the training examples: a seeded random generator, and a loss guard.
import type * as tg from 'tapegrad';

/** mulberry32: a small seeded generator, so the examples' data are the same on every run. */
export function rng(seed: number): { uniform: () => number; normal: () => number } {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  return { uniform, normal };
}

/** The loss as a number; a NaN or infinite loss stops training with an error that says when. */
export function finiteLoss(loss: tg.Tensor, step: number): number {
  const v = loss.item();
  if (!Number.isFinite(v)) throw new Error(`training diverged: the loss is ${v} at step ${step} (try a smaller learning rate)`);
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
