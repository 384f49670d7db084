// ReduceLROnPlateau: a schedule driven by a metric rather than by the step count.
import { nonNegative } from './checks.js';
import { TapegradError, checkOptions } from '../errors.js';
import { Tensor } from '../tensor.js';
import { describe } from '../op.js';
import type { Schedule } from './schedules.js';

/** Options of ReduceLROnPlateau: mode, factor, patience, threshold. */
export interface PlateauOptions {
  /** 'min' (a loss; the default) or 'max' (an accuracy). */
  mode?: 'min' | 'max';
  /** The lr is multiplied by this on a plateau (default 0.1). */
  factor?: number;
  /** Metrics without improvement tolerated before reducing (default 10). */
  patience?: number;
  /** What counts as an improvement (default 1e-4), relative ('rel', the default) or absolute ('abs'). */
  threshold?: number;
  thresholdMode?: 'rel' | 'abs';
  /** Metrics ignored after a reduction (default 0). */
  cooldown?: number;
  /** The lr never goes below this (default 0). */
  minLr?: number;
  /** A reduction smaller than this is skipped (default 1e-8). */
  eps?: number;
}

/** What ReduceLROnPlateau.stateDict() returns: plain numbers. */
export interface PlateauState {
  lr: number;
  best: number;
  numBadSteps: number;
  cooldownCounter: number;
  lastStep: number;
}

/**
 * Reduces the learning rate by `factor` when a metric has stopped improving for `patience` calls
 * of step(metric) (PyTorch's ReduceLROnPlateau). Use it as an optimizer's lr and call
 * step(validationLoss) once an epoch: `const s = new ReduceLROnPlateau(0.1); new SGD(ps, { lr: s })`.
 */
export class ReduceLROnPlateau implements Schedule {
  private lr: number;
  private best: number;
  private numBadSteps = 0;
  private cooldownCounter = 0;
  private lastStep = 0;
  readonly opts: Required<PlateauOptions>;

  constructor(lr: number, opts: PlateauOptions = {}) {
    const fn = 'ReduceLROnPlateau';
    checkOptions(fn, opts, ['mode', 'factor', 'patience', 'threshold', 'thresholdMode', 'cooldown', 'minLr', 'eps']);
    if (!(typeof lr === 'number' && lr >= 0 && Number.isFinite(lr)))
      throw new TapegradError(fn, `lr must be a non-negative number, got ${describe(lr)}`);
    const o = {
      mode: opts.mode ?? 'min',
      factor: opts.factor ?? 0.1,
      patience: opts.patience ?? 10,
      threshold: opts.threshold ?? 1e-4,
      thresholdMode: opts.thresholdMode ?? 'rel',
      cooldown: opts.cooldown ?? 0,
      minLr: opts.minLr ?? 0,
      eps: opts.eps ?? 1e-8,
    };
    if (o.mode !== 'min' && o.mode !== 'max')
      throw new TapegradError(fn, `mode must be 'min' or 'max', got '${o.mode}'`);
    if (o.thresholdMode !== 'rel' && o.thresholdMode !== 'abs')
      throw new TapegradError(fn, `thresholdMode must be 'rel' or 'abs', got '${o.thresholdMode}'`);
    if (!(o.factor >= 0 && o.factor < 1))
      throw new TapegradError(fn, `factor must be in [0, 1) (a reduction), got ${o.factor}`);
    for (const k of ['patience', 'cooldown'] as const) {
      if (!(Number.isInteger(o[k]) && o[k] >= 0))
        throw new TapegradError(fn, `${k} must be a non-negative integer, got ${o[k]}`);
    }
    for (const k of ['threshold', 'minLr', 'eps'] as const) nonNegative(fn, k, o[k]);
    this.opts = o as Required<PlateauOptions>;
    this.lr = lr;
    this.best = o.mode === 'min' ? Infinity : -Infinity;
  }

  /** The current learning rate (whatever the step). */
  at(_t: number): number {
    return this.lr;
  }

  /** Records one metric (a number or a one-element Tensor, read synchronously); returns the lr now. */
  step(metric: number | Tensor): number {
    const fn = 'ReduceLROnPlateau.step';
    let current: number;
    if (metric instanceof Tensor) {
      if (metric.size !== 1)
        throw new TapegradError(fn, `the metric must be a number or a one-element Tensor, got shape [${metric.shape}]`);
      current = metric.item();
    } else current = metric;
    if (typeof current !== 'number' || Number.isNaN(current))
      throw new TapegradError(fn, `the metric must be a number, got ${describe(metric)}`);
    this.lastStep++;
    if (this.isBetter(current)) {
      this.best = current;
      this.numBadSteps = 0;
    } else this.numBadSteps++;
    if (this.cooldownCounter > 0) {
      this.cooldownCounter--;
      this.numBadSteps = 0;
    }
    if (this.numBadSteps > this.opts.patience) {
      const next = Math.max(this.lr * this.opts.factor, this.opts.minLr);
      if (this.lr - next > this.opts.eps) this.lr = next;
      this.cooldownCounter = this.opts.cooldown;
      this.numBadSteps = 0;
    }
    return this.lr;
  }

  private isBetter(a: number): boolean {
    const { mode, thresholdMode: tm, threshold: th } = this.opts;
    const best = this.best;
    if (mode === 'min') return tm === 'rel' ? a < best * (1 - th) : a < best - th;
    return tm === 'rel' ? a > best * (th + 1) : a > best + th;
  }

  /** Everything step() has learned, to resume a run: numbers (best is ±Infinity before the first metric, null in JSON). */
  stateDict(): PlateauState {
    return {
      lr: this.lr,
      best: this.best,
      numBadSteps: this.numBadSteps,
      cooldownCounter: this.cooldownCounter,
      lastStep: this.lastStep,
    };
  }
  /** Restores what stateDict() returned, also through JSON (which writes a best of ±Infinity as null). */
  loadStateDict(s: PlateauState): void {
    const keys = ['lr', 'best', 'numBadSteps', 'cooldownCounter', 'lastStep'] as const;
    if (s !== null && typeof s === 'object' && s.best === null)
      s = { ...s, best: this.opts.mode === 'min' ? Infinity : -Infinity };
    if (s === null || typeof s !== 'object' || !keys.every((k) => typeof s[k] === 'number' && !Number.isNaN(s[k]))) {
      throw new TapegradError(
        'ReduceLROnPlateau.loadStateDict',
        `expected what stateDict() returns (${keys.join(', ')}: numbers), got ${describe(s)}`,
      );
    }
    ({
      lr: this.lr,
      best: this.best,
      numBadSteps: this.numBadSteps,
      cooldownCounter: this.cooldownCounter,
      lastStep: this.lastStep,
    } = s);
  }
}
