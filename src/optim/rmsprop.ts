// RMSprop (Hinton), in PyTorch's conventions: centred or not, with momentum.
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '../tensor.js';
import { checkLR } from './schedules.js';
import { Optimizer, type OptimizerOptions, type ParamGroupSpec, type StepItem, type Update } from './optimizer.js';
import { movingAverage, withL2Decay } from './update-math.js';
import { nonNegative } from './checks.js';

/** Options of RMSprop: α, ε, momentum. */
export interface RMSpropOptions extends OptimizerOptions {
  alpha?: number;
  eps?: number;
  momentum?: number;
  /** Divide by the estimated variance √(s − ḡ²) rather than √s (default false). */
  centered?: boolean;
}

/**
 * g ← g + wd·p,  s ← αs + (1−α)g²,  d ← √s + ε (centred: ḡ ← αḡ + (1−α)g, d ← √(s − ḡ²) + ε);
 * p ← p − lr·g/d; with momentum: b ← μb + g/d,  p ← p − lr·b. PyTorch's torch.optim.RMSprop.
 */
export class RMSprop extends Optimizer<RMSpropOptions> {
  constructor(params: Tensor[] | ParamGroupSpec<RMSpropOptions>[], opts: RMSpropOptions) {
    super('RMSprop', params, opts);
  }
  protected resolveOptions(fn: string, o: Partial<RMSpropOptions>): Required<RMSpropOptions> {
    return {
      lr: checkLR(fn, o.lr),
      alpha: nonNegative(fn, 'alpha', o.alpha ?? 0.99),
      eps: nonNegative(fn, 'eps', o.eps ?? 1e-8),
      momentum: nonNegative(fn, 'momentum', o.momentum ?? 0),
      weightDecay: nonNegative(fn, 'weightDecay', o.weightDecay ?? 0),
      centered: o.centered ?? false,
    };
  }
  protected override rule(
    { param: p, grad, state, group: o }: StepItem<RMSpropOptions>,
    [lr]: (number | tf.Tensor)[],
  ): Update {
    const alpha = o.alpha!;
    const g = withL2Decay(p, grad, o.weightDecay!);
    const s = movingAverage(state.s, tf.square(g), alpha);
    const next: Record<string, tf.Tensor> = { s };
    let avg: tf.Tensor;
    if (o.centered) {
      const gAvg = movingAverage(state.gAvg, g, alpha);
      next.gAvg = gAvg;
      avg = tf.add(tf.sqrt(tf.sub(s, tf.square(gAvg))), o.eps!);
    } else {
      avg = tf.add(tf.sqrt(s), o.eps!);
    }
    const dir = tf.div(g, avg);
    if (!o.momentum) return { param: tf.sub(p, tf.mul(dir, lr)), state: next };
    const b = state.b ? tf.add(tf.mul(state.b, o.momentum), dir) : dir;
    return { param: tf.sub(p, tf.mul(b, lr)), state: { ...next, b } };
  }
}
