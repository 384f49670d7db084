// Checking gradients against finite differences, designed for float32 (TF.js has nothing wider).
//
// full: every entry of every float input is perturbed with the fourth-order central stencil
//   f'(x) ≈ [f(x−2h) − 8f(x−h) + 8f(x+h) − f(x+2h)] / 12h, a power-of-two step h scaled to |x|,
//   and compared with the analytic Jacobian (one VJP per output entry).
// fast: for each input, a random direction u (entry e scaled to max(1, |xₑ|)) and cotangent v:
//   vᵀJu from one VJP against the same stencil along u — a handful of evaluations whatever the
//   size (torch's fast_mode, JAX's check_vjp).
// Tolerance per comparison: atol + rtol·|numeric| + noise, where noise bounds the float32 rounding
// of f amplified by the stencil (≈ 1.5·16·ε·|f| / h); the report states all three (float32
// defaults: atol 1e-3, rtol 2e-3 — a 1% error in an adjoint fails). A comparison that misses is
// retried at h/2, allowing for the difference of the two estimates: where f changes fast, the
// stencil's own truncation error, not the adjoint, may be what missed.
import * as tf from '@tensorflow/tfjs-core';
import { checkOptions, TapegradError } from './errors.js';
import { describe } from './op.js';
import { gradients } from './backward.js';
import { Tensor } from './tensor.js';
import { tidy } from './memory.js';
import { concat, reshape } from './ops/shape.js';
import { rng } from './random.js';
import { getBackend, floatPrecision } from './backend/index.js';

/** Options of `gradcheck`: mode ('full' or 'fast'), step, tolerances, seed. */
export interface GradcheckOptions {
  mode?: 'full' | 'fast';
  /** Base step, relative to max(1, |x|); rounded to a power of two. Default 2⁻⁵. */
  step?: number;
  atol?: number;
  rtol?: number;
  /** Seed of the random directions and cotangents (fast mode, gradgradcheck). */
  seed?: number;
  /** Random directions per input in fast mode. Default 2. */
  samples?: number;
  /**
   * Throw a TapegradError whose message is the report's summary (the report is its `report`)
   * instead of returning a failed report (PyTorch's raise_exception). Default false.
   */
  throwOnFailure?: boolean;
}

/** What `gradcheck` found: ok, the largest errors, the worst entry and the tolerances used. */
export interface GradcheckReport {
  ok: boolean;
  /** 'gradcheck' or 'gradgradcheck'. */
  fn: string;
  mode: 'full' | 'fast';
  maxAbsError: number;
  /** |analytic − numeric| / max(|numeric|, atol): derivatives that are (nearly) zero are measured against atol. */
  maxRelError: number;
  /** The comparison furthest outside its tolerance (or closest to it, when all pass). */
  worst: {
    input: number;
    index: number[] | null;
    outputIndex: number[] | null;
    analytic: number;
    numeric: number;
    allowed: number;
  } | null;
  /** How many times f was evaluated, and how many backward passes ran. */
  evaluations: number;
  backwards: number;
  comparisons: number;
  failures: number;
  /** The defaults follow the backend's float format (`precision`, `epsilon`): coarser for float16 WebGL. */
  tolerances: {
    atol: number;
    rtol: number;
    step: number;
    noiseFactor: number;
    precision: 'float32' | 'float16';
    epsilon: number;
  };
  backend: string;
  /** A readable summary: the verdict, the worst comparison, the errors and the tolerances (see formatReport). */
  toString(): string;
}

const NOISE = 16; // f's own rounding, in units of ε·|f|, allowed for
const STENCIL: [number, number][] = [
  [-2, 1 / 12],
  [-1, -8 / 12],
  [1, 8 / 12],
  [2, -1 / 12],
];
const STENCIL_ABS = STENCIL.reduce((s, [, c]) => s + Math.abs(c), 0);

function unravel(i: number, shape: number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return idx;
}
const pow2 = (h: number) => 2 ** Math.round(Math.log2(h));

type F = (...xs: Tensor[]) => Tensor;
/** What gradcheck and gradgradcheck accept: f may return several tensors (PyTorch's tuple outputs). */
type Checked = (...xs: Tensor[]) => Tensor | Tensor[];

/**
 * f with its outputs joined into one vector (each flattened, then concatenated), so that a check's
 * cotangent reaches every output: full mode's one-hot rows, fast mode's random inner product with all.
 */
function joined(fn: string, f: Checked): F {
  return (...xs) => {
    const out = f(...xs);
    if (!Array.isArray(out)) return out;
    if (out.length === 0 || !out.every((o) => o instanceof Tensor))
      throw new TapegradError(
        fn,
        `the function must return a Tensor or a non-empty array of Tensors, got ${describe(out)}`,
      );
    return out.length === 1 ? out[0] : concat(out.map((o) => reshape(o, [o.size])));
  };
}

function checkInputs(fn: string, f: unknown, inputs: unknown): Tensor[] {
  if (typeof f !== 'function') throw new TapegradError(fn, `the first argument must be a function, got ${describe(f)}`);
  if (!Array.isArray(inputs) || inputs.length === 0)
    throw new TapegradError(fn, 'inputs must be a non-empty array of Tensors');
  inputs.forEach((x, i) => {
    if (!(x instanceof Tensor)) throw new TapegradError(fn, `input ${i} must be a Tensor, got ${describe(x)}`);
    x.assertLive(fn, `input ${i}`);
  });
  if (!inputs.some((x: Tensor) => x.dtype === 'float32'))
    throw new TapegradError(fn, 'no float32 input to differentiate');
  return inputs as Tensor[];
}

const OPTION_NAMES = ['mode', 'step', 'atol', 'rtol', 'seed', 'samples', 'throwOnFailure'];

/** Every option checked: a known name, and a value in its range (a negative atol would pass nothing, or everything). */
function checkGradcheckOptions(fn: string, opts: unknown): GradcheckOptions {
  const o = checkOptions(fn, opts as Record<string, unknown> | undefined, OPTION_NAMES);
  const number = (k: string, ok: (v: number) => boolean, what: string) => {
    const v = o[k];
    if (v !== undefined && !(typeof v === 'number' && ok(v)))
      throw new TapegradError(fn, `${k} must be ${what}, got ${typeof v === 'number' ? v : describe(v)}`);
  };
  if (o.mode !== undefined && o.mode !== 'full' && o.mode !== 'fast')
    throw new TapegradError(fn, `mode must be 'full' or 'fast', got '${String(o.mode)}'`);
  number('step', (v) => Number.isFinite(v) && v > 0 && v <= 1, 'a number in (0, 1]');
  number('atol', (v) => Number.isFinite(v) && v >= 0, 'a finite number ≥ 0');
  number('rtol', (v) => Number.isFinite(v) && v >= 0, 'a finite number ≥ 0');
  number('seed', Number.isSafeInteger, 'an integer');
  number('samples', (v) => Number.isInteger(v) && v >= 1 && v <= 1000, 'an integer from 1 to 1000');
  if (o.throwOnFailure !== undefined && typeof o.throwOnFailure !== 'boolean')
    throw new TapegradError(fn, `throwOnFailure must be true or false, got ${describe(o.throwOnFailure)}`);
  return o as GradcheckOptions;
}

/**
 * Compares f's analytic gradients with finite differences, with respect to every float32 input.
 * f may return several tensors: they are checked as one vector of all their entries, flattened and
 * joined in order (the report's outputIndex counts in that vector).
 * PyTorch `torch.autograd.gradcheck`, JAX `jax.test_util.check_grads`.
 */
export async function gradcheck(f: Checked, inputs: Tensor[], opts: GradcheckOptions = {}): Promise<GradcheckReport> {
  checkInputs('gradcheck', f, inputs);
  return conclude(opts, await readAsync(checkSteps('gradcheck', joined('gradcheck', f), inputs, opts)));
}

/** The report, or with throwOnFailure a failed one as an error. */
function conclude(opts: GradcheckOptions, report: GradcheckReport): GradcheckReport {
  if (!report.ok && opts?.throwOnFailure)
    throw Object.assign(new TapegradError(report.fn, reportBody(report)), { report });
  return report;
}

/**
 * The check as a generator that yields the tensors whose values it needs next and receives them;
 * readAsync reads them with data(): the only kind of read webgpu has in Node, and the one that
 * does not stall a browser's GPU.
 */
type Steps<T> = Generator<tf.Tensor[], T, Float64Array[]>;

async function readAsync<T>(steps: Steps<T>): Promise<T> {
  let r = steps.next(undefined as unknown as Float64Array[]);
  while (!r.done) r = steps.next(await Promise.all(r.value.map(async (t) => Float64Array.from(await t.data()))));
  return r.value;
}

/** Reads tensors this check made (copies, so never a user's tensor) and frees them. */
function* take(ts: tf.Tensor[]): Steps<Float64Array[]> {
  try {
    return yield ts;
  } finally {
    ts.forEach((t) => t.dispose());
  }
}

/** Tolerances that follow the backend's float format, unless given. */
function tolerancesFor(opts: GradcheckOptions): GradcheckReport['tolerances'] {
  // WebGL may store tensors in float16 (floatPrecision): a step twice as large (2⁻⁴: the stencil's
  // ±2h still stays within 0.15 of an input near 0, clear of kinks drawn that far away), the
  // noise allowance of 11-bit rounding, and tolerances for gradients rounded to 11 bits.
  const precision = floatPrecision();
  const half = precision.name === 'float16';
  return {
    atol: opts.atol ?? (half ? 1e-2 : 1e-3),
    rtol: opts.rtol ?? (half ? 3e-2 : 2e-3),
    step: opts.step ?? (half ? 2 ** -4 : 2 ** -5),
    noiseFactor: NOISE,
    precision: precision.name,
    epsilon: precision.epsilon,
  };
}

/** One check in progress: f, its inputs, the evaluations and VJPs it runs, and the comparisons so far. */
class Check {
  readonly shapes: number[][];
  readonly floats: number[];
  evaluations = 0;
  backwards = 0;
  comparisons = 0;
  failures = 0;
  maxAbsError = 0;
  maxRelError = 0;
  worst: GradcheckReport['worst'] = null;
  private worstRatio = -1;

  constructor(
    readonly fn: string,
    readonly f: F,
    readonly xs: Tensor[],
    readonly tol: GradcheckReport['tolerances'],
  ) {
    this.shapes = xs.map((x) => x.shape);
    this.floats = xs.map((x, i) => (x.dtype === 'float32' ? i : -1)).filter((i) => i >= 0);
  }

  /** f at the inputs with input k replaced by `data` (if given), as a tensor to read (a copy). */
  evaluate(k?: number, data?: Float64Array): tf.Tensor {
    this.evaluations++;
    return tidy(() => {
      const args = this.xs.map((x, i) =>
        i === k ? new Tensor(tf.tensor(Float32Array.from(data!), this.shapes[i])) : new Tensor(x.value),
      );
      const out = this.f(...args);
      if (!(out instanceof Tensor))
        throw new TapegradError(this.fn, `the function must return a Tensor, got ${describe(out)}`);
      if (out.dtype !== 'float32')
        throw new TapegradError(this.fn, `the function must return float32, got ${out.dtype}`);
      return tf.clone(out.value);
    });
  }

  /** Runs f on differentiable aliases and hands the output and aliases to `use`. */
  withGraph<T>(use: (out: Tensor, args: Tensor[]) => T): T {
    return tidy(() => {
      const args = this.xs.map((x) =>
        x.dtype === 'float32' ? new Tensor(x.value, { requiresGrad: true }) : new Tensor(x.value),
      );
      this.evaluations++;
      return use(this.f(...args), args);
    });
  }

  /** The VJP with cotangent ct: one tensor (a copy, to read) per float input, zeros where none flows. */
  vjpTensors(out: Tensor, args: Tensor[], ct: Float64Array): tf.Tensor[] {
    this.backwards++;
    const seed = new Tensor(tf.tensor(Float32Array.from(ct), out.shape));
    const gs = gradients(
      out,
      this.floats.map((i) => args[i]),
      { seeds: [seed], retainGraph: true },
    );
    return this.floats.map((i, k) => (gs[k] ? tf.clone(gs[k]!.value) : tf.zeros(this.shapes[i])));
  }

  /** Reads VJP tensors back as arrays indexed by input (entries of non-float inputs stay empty). */
  *readVjps(ts: tf.Tensor[][]): Steps<Float64Array[][]> {
    const flat = yield* take(ts.flat());
    return ts.map((_, r) => {
      const res: Float64Array[] = [];
      this.floats.forEach((i, k) => (res[i] = flat[r * this.floats.length + k]));
      return res;
    });
  }

  within(a: number, n: number, noise: number): boolean {
    return Math.abs(a - n) <= this.tol.atol + this.tol.rtol * Math.abs(n) + noise;
  }

  compare(
    input: number,
    index: number[] | null,
    outputIndex: number[] | null,
    a: number,
    n: number,
    noise: number,
  ): void {
    const { atol, rtol } = this.tol;
    const err = Math.abs(a - n);
    const allowed = atol + rtol * Math.abs(n) + noise;
    const ratio = Number.isFinite(err) ? err / allowed : Infinity;
    this.comparisons++;
    if (!(ratio <= 1)) this.failures++;
    this.maxAbsError = Math.max(this.maxAbsError, Number.isFinite(err) ? err : Infinity);
    this.maxRelError = Math.max(this.maxRelError, Number.isFinite(err) ? err / Math.max(Math.abs(n), atol) : Infinity);
    if (ratio > this.worstRatio) {
      this.worstRatio = ratio;
      this.worst = { input, index, outputIndex, analytic: a, numeric: n, allowed };
    }
  }

  /** The bound on f's rounding (|f| up to fmax) as amplified by the stencil at step hh. */
  noiseOf(fmax: number, hh: number): number {
    return (NOISE * this.tol.epsilon * STENCIL_ABS * fmax) / hh;
  }

  report(mode: 'full' | 'fast'): GradcheckReport {
    const report = {
      ok: this.failures === 0,
      fn: this.fn,
      mode,
      maxAbsError: this.maxAbsError,
      maxRelError: this.maxRelError,
      worst: this.worst,
      evaluations: this.evaluations,
      backwards: this.backwards,
      comparisons: this.comparisons,
      failures: this.failures,
      tolerances: this.tol,
      backend: getBackend(),
    };
    // not enumerable: the report stays plain data for JSON and deep equality
    Object.defineProperty(report, 'toString', {
      value: () => formatReport(report as GradcheckReport),
      enumerable: false,
    });
    return report as GradcheckReport;
  }
}

function* checkSteps(fn: string, f: F, inputs: Tensor[], options: GradcheckOptions): Steps<GradcheckReport> {
  const xs = checkInputs(fn, f, inputs);
  const opts = checkGradcheckOptions(fn, options);
  const mode = opts.mode ?? 'full';
  const check = new Check(fn, f, xs, tolerancesFor(opts));
  const base: Float64Array[] = yield* take(xs.map((x) => tf.clone(x.value)));
  const [f0] = yield* take([check.evaluate()]);
  const outShape = tidy(() => f(...xs.map((x) => new Tensor(x.value))).shape);
  check.evaluations++;
  if (mode === 'full') yield* fullSteps(check, base, f0.length, outShape);
  else yield* fastSteps(check, base, f0.length, opts);
  return check.report(mode);
}

/** full: the analytic Jacobian (one VJP per output entry) against the stencil along every entry of every float input. */
function* fullSteps(check: Check, base: Float64Array[], m: number, outShape: number[]): Steps<void> {
  // one row per output entry: J[j][i] for every float input i
  const rows: Float64Array[][] = yield* check.readVjps(
    check.withGraph((out, args) => {
      const ct = new Float64Array(m);
      return Array.from({ length: m }, (_, j) => {
        ct.fill(0);
        ct[j] = 1;
        return check.vjpTensors(out, args, ct);
      });
    }),
  );
  for (const i of check.floats) {
    const x = base[i];
    for (let e = 0; e < x.length; e++) {
      // the stencil along entry e with step hh: the derivative of every output, and |f| for the noise bound
      function* derivative(hh: number): Steps<{ d: Float64Array; noise: Float64Array }> {
        const values = yield* take(
          STENCIL.map(([c]) => {
            const xp = Float64Array.from(x);
            xp[e] = Math.fround(x[e] + c * hh);
            return check.evaluate(i, xp);
          }),
        );
        const d = new Float64Array(m);
        const noise = new Float64Array(m);
        for (const [q, [, w]] of STENCIL.entries()) {
          for (let j = 0; j < m; j++) {
            d[j] += (w * values[q][j]) / hh;
            noise[j] = Math.max(noise[j], check.noiseOf(Math.abs(values[q][j]), hh));
          }
        }
        return { d, noise };
      }
      const h = pow2(check.tol.step * Math.max(1, Math.abs(x[e])));
      let est = yield* derivative(h);
      let truncation = new Float64Array(m);
      if (rows.some((row, j) => !check.within(row[i][e], est.d[j], est.noise[j]))) {
        // A miss may be the stencil's own truncation error where f changes fast: retry at h/2
        // and allow for the difference between the two estimates (Richardson).
        const half = yield* derivative(h / 2);
        truncation = half.d.map((d, j) => Math.abs(d - est.d[j]) / 8);
        est = half;
      }
      for (let j = 0; j < m; j++) {
        check.compare(
          i,
          unravel(e, check.shapes[i]),
          m > 1 ? unravel(j, outShape) : null,
          rows[j][i][e],
          est.d[j],
          est.noise[j] + truncation[j],
        );
      }
    }
  }
}

/** fast: for random directions u and cotangents v, vᵀJu from one VJP against the stencil along u. */
function* fastSteps(check: Check, base: Float64Array[], m: number, opts: GradcheckOptions): Steps<void> {
  const random = rng(opts.seed ?? 1);
  const samples = opts.samples ?? 2;
  for (let s = 0; s < samples; s++) {
    const v = Float64Array.from({ length: m }, random.normal);
    const [grads] = yield* check.readVjps([check.withGraph((out, args) => check.vjpTensors(out, args, v))]);
    for (const i of check.floats) {
      const x = base[i];
      // an input with no entries has no direction to move along (full mode makes no comparison for it either)
      if (x.length === 0) continue;
      // u moves each entry by at most max(1, |xₑ|)·h, as the full mode's per-entry steps do: a
      // step scaled to the largest entry would carry small entries across nearby kinks.
      const u = Float64Array.from({ length: x.length }, random.normal);
      const umax = u.reduce((a, b) => Math.max(a, Math.abs(b)), 1e-12);
      u.forEach((_, e) => (u[e] *= Math.max(1, Math.abs(x[e])) / umax));
      let analytic = 0;
      for (let e = 0; e < x.length; e++) analytic += grads[i][e] * u[e];
      // d/dt ⟨v, f(x + t·u)⟩ by the stencil with step hh, and its rounding-noise bound
      function* directional(hh: number): Steps<{ d: number; noise: number }> {
        const values = yield* take(
          STENCIL.map(([c]) =>
            check.evaluate(
              i,
              x.map((xe, e) => Math.fround(xe + c * hh * u[e])),
            ),
          ),
        );
        let d = 0;
        let fmax = 0;
        for (const [q, [, w]] of STENCIL.entries()) {
          let dotv = 0;
          let mass = 0;
          for (let j = 0; j < m; j++) {
            dotv += v[j] * values[q][j];
            mass += Math.abs(v[j] * values[q][j]);
          }
          d += (w * dotv) / hh;
          fmax = Math.max(fmax, mass);
        }
        return { d, noise: check.noiseOf(fmax, hh) };
      }
      const h = pow2(check.tol.step);
      let est = yield* directional(h);
      let truncation = 0;
      if (!check.within(analytic, est.d, est.noise)) {
        const half = yield* directional(h / 2); // as in full mode: rule out the stencil's truncation error
        truncation = Math.abs(half.d - est.d) / 8;
        est = half;
      }
      check.compare(i, null, null, analytic, est.d, est.noise + truncation);
    }
  }
}

const fmtNum = (v: number) =>
  !Number.isFinite(v)
    ? String(v)
    : v !== 0 && Math.abs(v) < 1e-3
      ? v.toExponential(2)
      : String(Number(v.toPrecision(3)));
const fmtIdx = (idx: number[] | null) => (idx ? `[${idx.join(',')}]` : '');

/**
 * A report in words, e.g. "gradcheck: FAILED, 1 of 6 comparisons outside the tolerance (full mode,
 * wasm, float32); worst: input 0 at [1], analytic 3.3 vs numeric 3 (allowed 0.00701); …". It is
 * also the report's toString(), and the message of throwOnFailure's error.
 */
function formatReport(r: GradcheckReport): string {
  return `${r.fn ?? 'gradcheck'}: ${reportBody(r)}`;
}

function reportBody(r: GradcheckReport): string {
  const w = r.worst;
  const where = w
    ? `input ${w.input}${w.index ? ` at ${fmtIdx(w.index)}` : ' along a random direction'}${w.outputIndex ? `, output ${fmtIdx(w.outputIndex)}` : ''}`
    : '';
  const worst = w
    ? `${where}, analytic ${fmtNum(w.analytic)} vs numeric ${fmtNum(w.numeric)} (allowed ${fmtNum(w.allowed)})`
    : '';
  const how = `(${r.mode} mode, ${r.backend}, ${r.tolerances.precision})`;
  const verdict = r.ok
    ? `ok, ${r.comparisons} comparisons within the tolerance ${how}${w ? `; closest to it: ${worst}` : ''}`
    : `FAILED, ${r.failures} of ${r.comparisons} comparisons outside the tolerance ${how}; worst: ${worst}`;
  const t = r.tolerances;
  return `${verdict}; max abs error ${fmtNum(r.maxAbsError)}, max rel error ${fmtNum(r.maxRelError)}; atol ${t.atol}, rtol ${t.rtol}, step ${t.step}; ${r.evaluations} evaluations, ${r.backwards} backward passes`;
}

/**
 * Second-order check: gradcheck of x ↦ Σₖ ⟨wₖ, ∂⟨v, f(x)⟩/∂xₖ⟩ for fixed random v, w — the
 * derivative of the recorded backward pass (createGraph) against finite differences of it.
 * PyTorch `torch.autograd.gradgradcheck`, JAX `jax.test_util.check_grads`.
 */
export async function gradgradcheck(
  f: Checked,
  inputs: Tensor[],
  opts: GradcheckOptions = {},
): Promise<GradcheckReport> {
  checkInputs('gradgradcheck', f, inputs);
  const [firstOrder, xs, o] = secondOrder(joined('gradgradcheck', f), inputs, opts);
  return conclude(o, await readAsync(checkSteps('gradgradcheck', firstOrder, xs, o)));
}

/** The function gradgradcheck checks (see above), the validated inputs, and the options with its tolerances. */
function secondOrder(f: F, inputs: Tensor[], opts: GradcheckOptions): [F, Tensor[], GradcheckOptions] {
  const xs = checkInputs('gradgradcheck', f, inputs);
  const o = checkGradcheckOptions('gradgradcheck', opts);
  const random = rng((o.seed ?? 1) + 7919);
  const floats = xs.map((x, i) => (x.dtype === 'float32' ? i : -1)).filter((i) => i >= 0);
  const outShape = tidy(() => f(...xs.map((x) => new Tensor(x.value))).shape);
  const outSize = outShape.reduce((a, b) => a * b, 1);
  const v = Float32Array.from({ length: outSize }, random.normal);
  const w = floats.map((i) => Float32Array.from({ length: xs[i].size }, random.normal));
  const firstOrder: F = (...args) => {
    const ys = args.map((x) =>
      x.dtype === 'float32' && !x.requiresGrad ? new Tensor(x.value, { requiresGrad: true }) : x,
    );
    const out = f(...ys);
    const seed = new Tensor(tf.tensor(v, out.shape));
    const gs = gradients(
      out,
      floats.map((i) => ys[i]),
      { seeds: [seed], createGraph: true },
    );
    let total: Tensor | null = null;
    gs.forEach((g, k) => {
      if (!g) return;
      const term = g.mul(new Tensor(tf.tensor(w[k], g.shape))).sum();
      total = total ? total.add(term) : term;
    });
    return total ?? new Tensor(tf.scalar(0));
  };
  return [firstOrder, xs, { atol: 2e-3, rtol: 2e-2, ...o }];
}
