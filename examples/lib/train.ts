// Helpers shared by the training examples (and the workloads benchmark, which times them): a
// seeded random generator, one training step, and a loss guard.
import * as tg from 'tapegrad';

/** A small seeded generator, so the examples' data are the same on every run. */
export { rng } from 'tapegrad/testing';

/**
 * One training step as a PyTorch user writes it: the loss, the gradients cleared and
 * backpropagated into each parameter's .grad, the optimizer's update. The step's intermediates are
 * freed; the loss is returned (the caller frees it).
 */
export function trainingStep(opt: tg.optim.Optimizer, loss: () => tg.Tensor): tg.Tensor {
  return tg.tidy(() => {
    const l = loss();
    opt.zeroGrad();
    l.backward();
    opt.step();
    return l;
  });
}

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
