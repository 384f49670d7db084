// SGD with momentum, dampening, Nesterov momentum and (L2) weight decay, in PyTorch's conventions.
import * as tf from '@tensorflow/tfjs-core';
import { TapegradError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { checkLR } from './schedules.js';
import { Optimizer, type OptimizerOptions, type ParamGroupSpec, type StepItem, type Update } from './optimizer.js';
import { withL2Decay } from './update-math.js';
import { nonNegative } from './checks.js';

/** Options of SGD: momentum and Nesterov's variant. */
export interface SGDOptions extends OptimizerOptions {
  momentum?: number;
  /** Damps the gradient's share of the momentum: v ← μv + (1−dampening)g (default 0). */
  dampening?: number;
  nesterov?: boolean;
}

/**
 * g ← g + wd·p;  v ← μv + (1−dampening)·g (v = g on the first step);  p ← p − lr·v, or with
 * Nesterov p ← p − lr·(g + μv). PyTorch's torch.optim.SGD.
 */
export class SGD extends Optimizer<SGDOptions> {
  constructor(params: Tensor[] | ParamGroupSpec<SGDOptions>[], opts: SGDOptions) {
    super('SGD', params, opts);
  }
  protected resolveOptions(fn: string, o: Partial<SGDOptions>): Required<SGDOptions> {
    const r = {
      lr: checkLR(fn, o.lr),
      momentum: nonNegative(fn, 'momentum', o.momentum ?? 0),
      dampening: nonNegative(fn, 'dampening', o.dampening ?? 0),
      weightDecay: nonNegative(fn, 'weightDecay', o.weightDecay ?? 0),
      nesterov: o.nesterov ?? false,
    };
    if (r.nesterov && (r.momentum === 0 || r.dampening !== 0))
      throw new TapegradError(fn, 'nesterov needs a momentum > 0 and zero dampening');
    return r;
  }
  protected override rule(
    { param: p, grad, state, group: o }: StepItem<SGDOptions>,
    [lr]: (number | tf.Tensor)[],
  ): Update {
    const g = withL2Decay(p, grad, o.weightDecay!);
    if (!o.momentum) return { param: tf.sub(p, tf.mul(g, lr)), state: {} };
    const v = state.v
      ? tf.add(tf.mul(state.v, o.momentum!), o.dampening ? tf.mul(g, 1 - o.dampening) : g)
      : tf.clone(g);
    const dir = o.nesterov ? tf.add(g, tf.mul(v, o.momentum!)) : v;
    return { param: tf.sub(p, tf.mul(dir, lr)), state: { v } };
  }
}
