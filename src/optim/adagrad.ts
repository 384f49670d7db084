// Adagrad (Duchi et al.), in PyTorch's conventions.
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '../tensor.js';
import { checkLR } from './schedules.js';
import {
  Optimizer,
  type OptimizerOptions,
  type ParamGroup,
  type ParamGroupSpec,
  type StepItem,
  type Update,
} from './optimizer.js';
import { withL2Decay } from './update-math.js';
import { nonNegative } from './checks.js';

/** Options of Adagrad: lr decay, the accumulator's start, ε. */
export interface AdagradOptions extends Partial<OptimizerOptions> {
  /** Decay of the step size: lr / (1 + (t−1)·lrDecay) (default 0). */
  lrDecay?: number;
  /** The sum of squares starts here (default 0). */
  initialAccumulatorValue?: number;
  eps?: number;
}

/**
 * g ← g + wd·p,  s ← s + g²,  p ← p − (lr / (1 + (t−1)·lrDecay)) · g / (√s + ε).
 * PyTorch's torch.optim.Adagrad (lr 1e-2 and eps 1e-10 by default).
 */
export class Adagrad extends Optimizer<AdagradOptions & OptimizerOptions> {
  constructor(params: Tensor[] | ParamGroupSpec<AdagradOptions>[], opts: AdagradOptions = {}) {
    super('Adagrad', params, opts as AdagradOptions & OptimizerOptions);
  }
  protected resolveOptions(fn: string, o: Partial<AdagradOptions>): Required<AdagradOptions> & OptimizerOptions {
    return {
      lr: checkLR(fn, o.lr ?? 1e-2),
      lrDecay: nonNegative(fn, 'lrDecay', o.lrDecay ?? 0),
      weightDecay: nonNegative(fn, 'weightDecay', o.weightDecay ?? 0),
      initialAccumulatorValue: nonNegative(fn, 'initialAccumulatorValue', o.initialAccumulatorValue ?? 0),
      eps: nonNegative(fn, 'eps', o.eps ?? 1e-10),
    };
  }
  /** The decayed rate, lr / (1 + (t−1)·lrDecay). */
  protected override stepValues(lr: number, t: number, o: ParamGroup<AdagradOptions>): number[] {
    return [lr / (1 + (t - 1) * o.lrDecay!)];
  }
  protected override rule(
    { param: p, grad, state, group: o }: StepItem<AdagradOptions & OptimizerOptions>,
    [clr]: (number | tf.Tensor)[],
  ): Update {
    const g = withL2Decay(p, grad, o.weightDecay!);
    const s0 = state.sum ?? tf.fill(p.shape, o.initialAccumulatorValue!);
    const sum = tf.add(s0, tf.square(g));
    return { param: tf.sub(p, tf.mul(tf.div(g, tf.add(tf.sqrt(sum), o.eps!)), clr)), state: { sum } };
  }
}
