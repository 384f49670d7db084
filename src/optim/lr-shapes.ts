// More learning-rate schedules, each a function of the step t like those in schedules.ts, so they
// compose the same way: a schedule given where a constant lr goes multiplies into it, which is
// PyTorch's ChainedScheduler for multiplicative schedules.
import { TapegradError, checkOptions } from '../errors.js';
import { positiveInteger, positiveNumber } from './checks.js';
import { checkLR, lrAt, type LR, type Schedule } from './schedules.js';

/** lr·γᵗ (PyTorch's ExponentialLR). */
export class ExponentialLR implements Schedule {
  constructor(
    readonly lr: LR,
    readonly opts: { gamma: number },
  ) {
    checkOptions('ExponentialLR', opts, ['gamma']);
    checkLR('ExponentialLR', lr);
    positiveNumber('ExponentialLR', 'gamma', opts?.gamma);
  }
  at(t: number): number {
    return lrAt(this.lr, t) * this.opts.gamma ** t;
  }
}

/** lr·γᵏ, k the number of milestones ≤ t (PyTorch's MultiStepLR). */
export class MultiStepLR implements Schedule {
  readonly milestones: number[];
  constructor(
    readonly lr: LR,
    readonly opts: { milestones: number[]; gamma?: number },
  ) {
    checkOptions('MultiStepLR', opts, ['milestones', 'gamma']);
    checkLR('MultiStepLR', lr);
    const ms = opts?.milestones;
    if (!Array.isArray(ms) || !ms.every((m) => Number.isInteger(m) && m >= 0))
      throw new TapegradError(
        'MultiStepLR',
        `milestones must be an array of non-negative integers, got ${JSON.stringify(ms)}`,
      );
    positiveNumber('MultiStepLR', 'gamma', opts.gamma ?? 0.1);
    this.milestones = [...ms].sort((a, b) => a - b);
  }
  at(t: number): number {
    return lrAt(this.lr, t) * (this.opts.gamma ?? 0.1) ** this.milestones.filter((m) => m <= t).length;
  }
}

/** Options of OneCycleLR: the cycle's length and shape. */
export interface OneCycleOptions {
  /** Steps in the cycle; a step beyond it is an error (as PyTorch). */
  totalSteps: number;
  /** The share of the cycle spent rising (default 0.3). */
  pctStart?: number;
  annealStrategy?: 'cos' | 'linear';
  /** The cycle starts at maxLr / divFactor (default 25). */
  divFactor?: number;
  /** …and ends at maxLr / (divFactor·finalDivFactor) (default 1e4). */
  finalDivFactor?: number;
  /** Rise, fall back to the start, then anneal to the end (default false: rise, then anneal). */
  threePhase?: boolean;
}

/**
 * The 1cycle policy (Smith): from maxLr/divFactor up to maxLr over pctStart of the steps, then
 * down to maxLr/(divFactor·finalDivFactor), cosine or linear (PyTorch's OneCycleLR, with the
 * phases ending at the same steps). It schedules the learning rate only: PyTorch's momentum
 * cycling (cycle_momentum) has no counterpart.
 */
export class OneCycleLR implements Schedule {
  private readonly phases: { end: number; from: number; to: number }[];
  constructor(
    readonly maxLr: number,
    readonly opts: OneCycleOptions,
  ) {
    const fn = 'OneCycleLR';
    checkOptions(fn, opts, ['totalSteps', 'pctStart', 'annealStrategy', 'divFactor', 'finalDivFactor', 'threePhase']);
    positiveNumber(fn, 'maxLr', maxLr);
    positiveInteger(fn, 'totalSteps', opts?.totalSteps);
    const pct = opts.pctStart ?? 0.3;
    if (!(pct >= 0 && pct <= 1)) throw new TapegradError(fn, `pctStart must be in [0, 1], got ${pct}`);
    const strategy = opts.annealStrategy ?? 'cos';
    if (strategy !== 'cos' && strategy !== 'linear')
      throw new TapegradError(fn, `annealStrategy must be 'cos' or 'linear', got '${strategy}'`);
    const div = opts.divFactor ?? 25;
    const finalDiv = opts.finalDivFactor ?? 1e4;
    if (!(div > 0) || !(finalDiv > 0))
      throw new TapegradError(fn, `divFactor and finalDivFactor must be positive, got ${div} and ${finalDiv}`);
    const initial = maxLr / div;
    const min = initial / finalDiv;
    const n = opts.totalSteps;
    this.phases = opts.threePhase
      ? [
          { end: pct * n - 1, from: initial, to: maxLr },
          { end: 2 * pct * n - 2, from: maxLr, to: initial },
          { end: n - 1, from: initial, to: min },
        ]
      : [
          { end: pct * n - 1, from: initial, to: maxLr },
          { end: n - 1, from: maxLr, to: min },
        ];
  }
  at(t: number): number {
    if (t >= this.opts.totalSteps)
      throw new TapegradError(
        'OneCycleLR',
        `step ${t} is beyond the cycle's ${this.opts.totalSteps} steps (totalSteps)`,
      );
    let start = 0;
    for (let i = 0; i < this.phases.length; i++) {
      const { end, from, to } = this.phases[i];
      if (t <= end || i === this.phases.length - 1) {
        const pct = (t - start) / (end - start);
        return this.opts.annealStrategy === 'linear'
          ? (to - from) * pct + from
          : to + ((from - to) / 2) * (Math.cos(Math.PI * pct) + 1);
      }
      start = end;
    }
    return NaN;
  }
}

/**
 * One schedule after another: schedules[k] runs from milestones[k−1] on, counting its steps from
 * 0 there (PyTorch's SequentialLR). Typically a warm-up, then a decay.
 */
export class SequentialLR implements Schedule {
  constructor(
    readonly schedules: LR[],
    readonly opts: { milestones: number[] },
  ) {
    if (!Array.isArray(schedules) || schedules.length === 0)
      throw new TapegradError('SequentialLR', 'needs a non-empty array of schedules');
    schedules.forEach((s) => checkLR('SequentialLR', s));
    checkOptions('SequentialLR', opts, ['milestones']);
    const ms = opts?.milestones;
    if (!Array.isArray(ms) || ms.length !== schedules.length - 1) {
      throw new TapegradError(
        'SequentialLR',
        `needs ${schedules.length - 1} milestone${schedules.length === 2 ? '' : 's'} for ${schedules.length} schedules, got ${JSON.stringify(ms)}`,
      );
    }
    if (!ms.every((m, i) => Number.isInteger(m) && m > (i ? ms[i - 1] : 0)))
      throw new TapegradError(
        'SequentialLR',
        `milestones must be increasing positive integers, got ${JSON.stringify(ms)}`,
      );
  }
  at(t: number): number {
    const ms = this.opts.milestones;
    let k = 0;
    while (k < ms.length && t >= ms[k]) k++;
    return lrAt(this.schedules[k], k ? t - ms[k - 1] : t);
  }
}
