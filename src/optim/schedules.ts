// Learning-rate schedules: a schedule maps the optimizer's step count t (0 for the first step) to a
// learning rate. They compose: LinearWarmup wraps any schedule (or a constant).
import { TapegradError, checkOptions } from '../errors.js';
import { positiveInteger } from './checks.js';

/**
 * A learning-rate schedule: the rate at a given step.
 * PyTorch `torch.optim.lr_scheduler.LRScheduler`, JAX `optax.Schedule`.
 */
export interface Schedule {
  /** The learning rate for step t (t = 0, 1, 2, …). */
  at(t: number): number;
}
/** What an optimizer's lr option accepts: a constant or a schedule. */
export type LR = number | Schedule;

export function lrAt(lr: LR, t: number): number {
  return typeof lr === 'number' ? lr : lr.at(t);
}

export function checkLR(fn: string, lr: unknown): LR {
  if (typeof lr === 'number' && Number.isFinite(lr) && lr >= 0) return lr;
  if (lr !== null && typeof lr === 'object' && typeof (lr as Schedule).at === 'function') return lr as Schedule;
  // PyTorch's schedules take the optimizer; here the optimizer takes the schedule
  const ctor = lr !== null && typeof lr === 'object' ? (lr as object).constructor?.name : undefined;
  if (
    ctor &&
    typeof (lr as { step?: unknown }).step === 'function' &&
    Array.isArray((lr as { params?: unknown }).params)
  ) {
    throw new TapegradError(
      fn,
      `lr must be a non-negative number or a schedule, got the optimizer ${ctor}; a schedule is given to the optimizer as its lr: new ${ctor}(params, { lr: new ${fn}(0.1, { ... }) })`,
    );
  }
  const got =
    typeof lr === 'number'
      ? String(lr)
      : ctor
        ? `a ${ctor}`
        : lr === null
          ? 'null'
          : `${typeof lr} ${JSON.stringify(lr) ?? ''}`.trim();
  throw new TapegradError(fn, `lr must be a non-negative number or a schedule, got ${got}`);
}

/** lr·γ^⌊t / stepSize⌋ (PyTorch's StepLR). */
export class StepLR implements Schedule {
  constructor(
    readonly lr: LR,
    readonly opts: { stepSize: number; gamma?: number },
  ) {
    checkOptions('StepLR', opts, ['stepSize', 'gamma']);
    positiveInteger('StepLR', 'stepSize', opts?.stepSize);
    checkLR('StepLR', lr);
  }
  at(t: number): number {
    return lrAt(this.lr, t) * (this.opts.gamma ?? 0.1) ** Math.floor(t / this.opts.stepSize);
  }
}

/** Cosine from lr down to etaMin over tMax steps, then etaMin (PyTorch's CosineAnnealingLR, without restarts). */
export class CosineAnnealing implements Schedule {
  constructor(
    readonly lr: LR,
    readonly opts: { tMax: number; etaMin?: number },
  ) {
    checkOptions('CosineAnnealing', opts, ['tMax', 'etaMin']);
    positiveInteger('CosineAnnealing', 'tMax', opts?.tMax);
    checkLR('CosineAnnealing', lr);
  }
  at(t: number): number {
    const lo = this.opts.etaMin ?? 0;
    const s = Math.min(t, this.opts.tMax) / this.opts.tMax;
    return lo + ((lrAt(this.lr, t) - lo) * (1 + Math.cos(Math.PI * s))) / 2;
  }
}

/**
 * Scales the wrapped schedule from startFactor (default 0, but step 0 gets 1/warmupSteps) up to 1 over warmupSteps
 * steps.
 * PyTorch `torch.optim.lr_scheduler.LinearLR`, JAX `optax.linear_schedule`.
 */
export class LinearWarmup implements Schedule {
  constructor(
    readonly lr: LR,
    readonly opts: { warmupSteps: number; startFactor?: number },
  ) {
    checkOptions('LinearWarmup', opts, ['warmupSteps', 'startFactor']);
    positiveInteger('LinearWarmup', 'warmupSteps', opts?.warmupSteps);
    checkLR('LinearWarmup', lr);
  }
  at(t: number): number {
    const { warmupSteps: w, startFactor } = this.opts;
    // with no startFactor the first step already moves: factors 1/w, 2/w, …, 1
    const f = t >= w ? 1 : startFactor === undefined ? (t + 1) / w : startFactor + ((1 - startFactor) * t) / w;
    return lrAt(this.lr, t) * f;
  }
}
