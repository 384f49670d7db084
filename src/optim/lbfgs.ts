// L-BFGS with an optional strong-Wolfe line search: PyTorch's torch.optim.LBFGS (itself from
// minFunc), step by step. The direction and line-search arithmetic runs in JavaScript numbers
// (float64) on the flattened parameters; every evaluation runs the closure on the backend.
import * as tf from '@tensorflow/tfjs-core';
import { TapegradError, fmtShape } from '../errors.js';
import { Tensor } from '../tensor.js';
import { describe } from '../op.js';
import { checkLR, lrAt } from './schedules.js';
import { Optimizer, type OptimizerOptions, type OptimizerStateDict } from './optimizer.js';
import { nonNegative, positiveInteger } from './checks.js';

/** Options of LBFGS: iterations and evaluations per step, tolerances, history size. */
export interface LBFGSOptions extends Partial<OptimizerOptions> {
  /** Iterations per step() (default 20). */
  maxIter?: number;
  /** Closure evaluations per step() (default ⌊maxIter·5/4⌋). */
  maxEval?: number;
  /** Stop when max |gradient| ≤ this (default 1e-7). */
  toleranceGrad?: number;
  /** Stop when the loss or the step changes by less than this (default 1e-9). */
  toleranceChange?: number;
  /** Curvature pairs kept (default 100). */
  historySize?: number;
  /** 'strongWolfe' for PyTorch's line search; null (the default) for fixed steps of lr. */
  lineSearchFn?: 'strongWolfe' | null;
}
type Full = Required<Omit<LBFGSOptions, 'weightDecay'>> & OptimizerOptions;

/** What the closure returns: the loss as a Tensor (LBFGS reads it, then frees it) or a number. */
export type LBFGSClosure = () => Tensor | number;

type Vec = Float64Array;
const dot = (a: Vec, b: Vec): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};
const absMax = (a: Vec): number => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const absSum = (a: Vec): number => a.reduce((m, v) => m + Math.abs(v), 0);
const scaled = (a: Vec, c: number): Vec => a.map((v) => v * c);
/** a ← a + c·b */
const axpy = (a: Vec, c: number, b: Vec): void => {
  for (let i = 0; i < a.length; i++) a[i] += c * b[i];
};

/** The minimiser of the cubic through (x1, f1, g1) and (x2, f2, g2), clamped to bounds. */
function cubicInterpolate(
  x1: number,
  f1: number,
  g1: number,
  x2: number,
  f2: number,
  g2: number,
  bounds?: [number, number],
): number {
  const [lo, hi] = bounds ?? (x1 <= x2 ? [x1, x2] : [x2, x1]);
  const d1 = g1 + g2 - (3 * (f1 - f2)) / (x1 - x2);
  const d2sq = d1 * d1 - g1 * g2;
  if (d2sq < 0) return (lo + hi) / 2;
  const d2 = Math.sqrt(d2sq);
  const minPos =
    x1 <= x2
      ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
      : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
  return Math.min(Math.max(minPos, lo), hi);
}

type Evaluate = (t: number, d: Vec) => [number, Vec];

/** The strong-Wolfe line search (minFunc's, as PyTorch ports it): [loss, grad, t, evaluations]. */
function strongWolfe(
  evaluate: Evaluate,
  t0: number,
  d: Vec,
  f: number,
  g: Vec,
  gtd: number,
  tolChange: number,
  c1 = 1e-4,
  c2 = 0.9,
  maxLs = 25,
): [number, Vec, number, number] {
  let t = t0;
  const dNorm = absMax(d);
  let [fNew, gNew] = evaluate(t, d);
  let evals = 1;
  let gtdNew = dot(gNew, d);
  let [tPrev, fPrev, gPrev, gtdPrev] = [0, f, g, gtd];
  let done = false;
  let iter = 0;
  let bracket: number[] = [];
  let bracketF: number[] = [];
  let bracketG: Vec[] = [];
  let bracketGtd: number[] = [];
  while (iter < maxLs) {
    if (fNew > f + c1 * t * gtd || (iter > 1 && fNew >= fPrev)) {
      [bracket, bracketF, bracketG, bracketGtd] = [
        [tPrev, t],
        [fPrev, fNew],
        [gPrev, gNew],
        [gtdPrev, gtdNew],
      ];
      break;
    }
    if (Math.abs(gtdNew) <= -c2 * gtd) {
      [bracket, bracketF, bracketG] = [[t], [fNew], [gNew]];
      done = true;
      break;
    }
    if (gtdNew >= 0) {
      [bracket, bracketF, bracketG, bracketGtd] = [
        [tPrev, t],
        [fPrev, fNew],
        [gPrev, gNew],
        [gtdPrev, gtdNew],
      ];
      break;
    }
    const tmp = t;
    t = cubicInterpolate(tPrev, fPrev, gtdPrev, t, fNew, gtdNew, [t + 0.01 * (t - tPrev), t * 10]);
    [tPrev, fPrev, gPrev, gtdPrev] = [tmp, fNew, gNew, gtdNew];
    [fNew, gNew] = evaluate(t, d);
    evals++;
    gtdNew = dot(gNew, d);
    iter++;
  }
  if (iter === maxLs)
    [bracket, bracketF, bracketG] = [
      [0, t],
      [f, fNew],
      [g, gNew],
    ];

  // zoom: shrink the bracket until a point satisfies the conditions
  let insufficientProgress = false;
  let [low, high] = bracketF[0] <= bracketF[bracketF.length - 1] ? [0, 1] : [1, 0];
  while (!done && iter < maxLs) {
    if (Math.abs(bracket[1] - bracket[0]) * dNorm < tolChange) break;
    t = cubicInterpolate(bracket[0], bracketF[0], bracketGtd[0], bracket[1], bracketF[1], bracketGtd[1]);
    const bMax = Math.max(...bracket);
    const bMin = Math.min(...bracket);
    const eps = 0.1 * (bMax - bMin);
    if (Math.min(bMax - t, t - bMin) < eps) {
      // close to an end: after one such try, or beyond it, move 10% of the bracket inside
      if (insufficientProgress || t >= bMax || t <= bMin) {
        t = Math.abs(t - bMax) < Math.abs(t - bMin) ? bMax - eps : bMin + eps;
        insufficientProgress = false;
      } else insufficientProgress = true;
    } else insufficientProgress = false;
    [fNew, gNew] = evaluate(t, d);
    evals++;
    gtdNew = dot(gNew, d);
    iter++;
    if (fNew > f + c1 * t * gtd || fNew >= bracketF[low]) {
      [bracket[high], bracketF[high], bracketG[high], bracketGtd[high]] = [t, fNew, gNew, gtdNew];
      [low, high] = bracketF[0] <= bracketF[1] ? [0, 1] : [1, 0];
    } else {
      if (Math.abs(gtdNew) <= -c2 * gtd) done = true;
      else if (gtdNew * (bracket[high] - bracket[low]) >= 0) {
        [bracket[high], bracketF[high], bracketG[high], bracketGtd[high]] = [
          bracket[low],
          bracketF[low],
          bracketG[low],
          bracketGtd[low],
        ];
      }
      [bracket[low], bracketF[low], bracketG[low], bracketGtd[low]] = [t, fNew, gNew, gtdNew];
    }
  }
  return [bracketF[low], bracketG[low], bracket[low], evals];
}

interface LBFGSState {
  funcEvals: number;
  nIter: number;
  d: Vec | null;
  t: number;
  oldDirs: Vec[];
  oldSteps: Vec[];
  ro: number[];
  hDiag: number;
  prevFlatGrad: Vec | null;
  prevLoss: number;
}

/**
 * L-BFGS (PyTorch's torch.optim.LBFGS): `opt.step(closure)` runs up to maxIter iterations, each
 * calling `closure` (which zeroes the grads, computes the loss, calls backward and returns the
 * loss) once or, with lineSearchFn: 'strongWolfe', as the line search needs. Returns the loss the
 * first evaluation gave, as a number. One parameter group; values are read synchronously (not on
 * webgpu in Node).
 */
export class LBFGS extends Optimizer<Full> {
  private lbfgs: LBFGSState = LBFGS.freshState();
  constructor(params: Tensor[], opts: LBFGSOptions = {}) {
    super('LBFGS', params, opts as Full);
    if (this.paramGroups.length !== 1)
      throw new TapegradError('LBFGS', `takes one parameter group, got ${this.paramGroups.length}`);
  }
  private static freshState(): LBFGSState {
    return {
      funcEvals: 0,
      nIter: 0,
      d: null,
      t: 0,
      oldDirs: [],
      oldSteps: [],
      ro: [],
      hDiag: 1,
      prevFlatGrad: null,
      prevLoss: NaN,
    };
  }
  protected resolveOptions(fn: string, o: Partial<LBFGSOptions>): Full {
    const maxIter = positiveInteger(fn, 'maxIter', o.maxIter ?? 20);
    const maxEval = positiveInteger(fn, 'maxEval', o.maxEval ?? Math.floor((maxIter * 5) / 4));
    const historySize = positiveInteger(fn, 'historySize', o.historySize ?? 100);
    const lineSearchFn = o.lineSearchFn ?? null;
    if (lineSearchFn !== null && lineSearchFn !== 'strongWolfe')
      throw new TapegradError(fn, `lineSearchFn must be 'strongWolfe' or null, got ${describe(lineSearchFn)}`);
    return {
      lr: checkLR(fn, o.lr ?? 1),
      maxIter,
      maxEval,
      toleranceGrad: nonNegative(fn, 'toleranceGrad', o.toleranceGrad ?? 1e-7),
      toleranceChange: nonNegative(fn, 'toleranceChange', o.toleranceChange ?? 1e-9),
      historySize,
      lineSearchFn,
    };
  }
  override addParamGroup(_group?: unknown): void {
    throw new TapegradError('LBFGS.addParamGroup', 'LBFGS takes one parameter group (as PyTorch)');
  }

  private flatGrad(): Vec {
    const out = new Float64Array(this.numel());
    let at = 0;
    for (const p of this.params) {
      if (p.grad) {
        p.grad.assertLive('LBFGS.step', "a parameter's grad");
        out.set(p.grad.dataSync(), at);
      }
      at += p.size;
    }
    return out;
  }
  private numel(): number {
    return this.params.reduce((n, p) => n + p.size, 0);
  }
  private flatParams(): Vec {
    const out = new Float64Array(this.numel());
    let at = 0;
    for (const p of this.params) {
      p.assertLive('LBFGS.step', 'a parameter');
      out.set(p.value.dataSync(), at);
      at += p.size;
    }
    return out;
  }
  /** Sets the parameters to x (+ t·d). */
  private setParams(x: Vec, t = 0, d?: Vec): void {
    let at = 0;
    for (const p of this.params) {
      const v = new Float32Array(p.size);
      for (let i = 0; i < p.size; i++) v[i] = x[at + i] + (d ? t * d[at + i] : 0);
      at += p.size;
      const next = tf.keep(tf.tensor(v, p.shape, 'float32'));
      p.value.dispose();
      p.value = next;
    }
  }
  private evaluate(closure: LBFGSClosure): number {
    const r = closure();
    if (typeof r === 'number') return r;
    if (!(r instanceof Tensor))
      throw new TapegradError(
        'LBFGS.step',
        `the closure must return the loss (a Tensor or a number), got ${describe(r)}`,
      );
    if (r.size !== 1)
      throw new TapegradError('LBFGS.step', `the closure must return a scalar loss, got shape ${fmtShape(r.shape)}`);
    const v = r.item();
    r.dispose();
    return v;
  }

  /** Up to maxIter L-BFGS iterations; returns the loss at the start (the closure's first value). */
  override step(closure?: LBFGSClosure): number {
    this.checkLive('step');
    if (typeof closure !== 'function')
      throw new TapegradError(
        'LBFGS.step',
        'needs a closure that zeroes the grads, computes the loss, calls backward() and returns the loss',
      );
    const o = this.paramGroups[0];
    const lr = lrAt(o.lr, this.stepCount);
    this.stepCount++;
    const s = this.lbfgs;
    const origLoss = this.evaluate(closure);
    let loss = origLoss;
    let currentEvals = 1;
    s.funcEvals++;
    let flatGrad = this.flatGrad();
    if (absMax(flatGrad) <= o.toleranceGrad) return origLoss;
    let { d, t } = s;
    let nIter = 0;
    while (nIter < o.maxIter) {
      nIter++;
      s.nIter++;
      if (s.nIter === 1) {
        d = scaled(flatGrad, -1);
        s.oldDirs = [];
        s.oldSteps = [];
        s.ro = [];
        s.hDiag = 1;
      } else {
        const y = flatGrad.map((v, i) => v - s.prevFlatGrad![i]);
        const step = scaled(d!, t);
        const ys = dot(y, step);
        if (ys > 1e-10) {
          if (s.oldDirs.length === o.historySize) {
            s.oldDirs.shift();
            s.oldSteps.shift();
            s.ro.shift();
          }
          s.oldDirs.push(y);
          s.oldSteps.push(step);
          s.ro.push(1 / ys);
          s.hDiag = ys / dot(y, y);
        }
        // two-loop recursion: d = −H·g with H the L-BFGS inverse Hessian
        const k = s.oldDirs.length;
        const al = new Array<number>(k);
        const q = scaled(flatGrad, -1);
        for (let i = k - 1; i >= 0; i--) {
          al[i] = dot(s.oldSteps[i], q) * s.ro[i];
          axpy(q, -al[i], s.oldDirs[i]);
        }
        d = scaled(q, s.hDiag);
        for (let i = 0; i < k; i++) {
          const be = dot(s.oldDirs[i], d) * s.ro[i];
          axpy(d, al[i] - be, s.oldSteps[i]);
        }
      }
      s.prevFlatGrad = flatGrad.slice();
      s.prevLoss = loss;
      t = s.nIter === 1 ? Math.min(1, 1 / absSum(flatGrad)) * lr : lr;
      const gtd = dot(flatGrad, d!);
      if (gtd > -o.toleranceChange) break;
      let lsEvals = 0;
      let optimal = false;
      if (o.lineSearchFn === 'strongWolfe') {
        const x0 = this.flatParams();
        const evaluate: Evaluate = (tt, dd) => {
          this.setParams(x0, tt, dd);
          const f = this.evaluate(closure);
          const g = this.flatGrad();
          this.setParams(x0);
          return [f, g];
        };
        [loss, flatGrad, t, lsEvals] = strongWolfe(evaluate, t, d!, loss, flatGrad, gtd, o.toleranceChange);
        this.setParams(x0, t, d!);
        optimal = absMax(flatGrad) <= o.toleranceGrad;
      } else {
        this.setParams(this.flatParams(), t, d!);
        if (nIter !== o.maxIter) {
          loss = this.evaluate(closure);
          flatGrad = this.flatGrad();
          optimal = absMax(flatGrad) <= o.toleranceGrad;
          lsEvals = 1;
        }
      }
      currentEvals += lsEvals;
      s.funcEvals += lsEvals;
      if (nIter === o.maxIter || currentEvals >= o.maxEval || optimal) break;
      if (absMax(scaled(d!, t)) <= o.toleranceChange) break;
      if (Math.abs(loss - s.prevLoss) < o.toleranceChange) break;
    }
    s.d = d;
    s.t = t;
    return origLoss;
  }

  /** As Optimizer's, with L-BFGS's history (plain numbers) under `lbfgs`. */
  override stateDict(): OptimizerStateDict & { lbfgs: Record<string, unknown> } {
    const s = this.lbfgs;
    const arr = (v: Vec | null) => (v ? Array.from(v) : null);
    return {
      ...super.stateDict(),
      lbfgs: {
        ...s,
        d: arr(s.d),
        prevFlatGrad: arr(s.prevFlatGrad),
        oldDirs: s.oldDirs.map(arr),
        oldSteps: s.oldSteps.map(arr),
        ro: [...s.ro],
      },
    };
  }
  override loadStateDict(sd: OptimizerStateDict & { lbfgs?: Record<string, unknown> }): void {
    const l = sd?.lbfgs as Record<string, unknown> | undefined;
    const n = this.numel();
    const vec = (v: unknown) =>
      v === null
        ? null
        : Array.isArray(v) && v.length === n && v.every((e) => typeof e === 'number')
          ? Float64Array.from(v)
          : undefined;
    const vecs = (v: unknown) => (Array.isArray(v) ? v.map(vec) : undefined);
    const parsed = l && {
      funcEvals: l.funcEvals,
      nIter: l.nIter,
      t: l.t,
      hDiag: l.hDiag,
      prevLoss: l.prevLoss,
      d: vec(l.d),
      prevFlatGrad: vec(l.prevFlatGrad),
      oldDirs: vecs(l.oldDirs),
      oldSteps: vecs(l.oldSteps),
      ro: Array.isArray(l.ro) ? [...l.ro] : undefined,
    };
    const ok =
      parsed &&
      [parsed.funcEvals, parsed.nIter, parsed.t, parsed.hDiag].every((v) => typeof v === 'number') &&
      parsed.d !== undefined &&
      parsed.prevFlatGrad !== undefined &&
      parsed.oldDirs?.every((v) => v instanceof Float64Array) &&
      parsed.oldSteps?.every((v) => v instanceof Float64Array) &&
      parsed.ro?.every((v) => typeof v === 'number');
    if (!ok)
      throw new TapegradError(
        'LBFGS.loadStateDict',
        `expected what LBFGS.stateDict() returns for ${n} parameter values (its 'lbfgs' entry is missing or does not fit)`,
      );
    super.loadStateDict(sd);
    this.lbfgs = { ...parsed, prevLoss: typeof parsed.prevLoss === 'number' ? parsed.prevLoss : NaN } as LBFGSState;
  }
}
