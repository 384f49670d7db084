// The benchmark harness shared by every suite, in Node and in the browser: warm-up runs, timed
// repetitions, median/min/max, and the record format written to JSON. It has no Node imports.
//
// Synchronisation is the same for every implementation: a timed function returns only after it
// has awaited the data of every result it computed (tapegrad, TF.js and jax-js are all lazy or
// asynchronous on some backend, so stopping the clock earlier would time the dispatch only).

export type Size = 'small' | 'full';
/** What a timed run computes: the function alone, or the function and its gradient. */
export type Phase = 'forward' | 'grad';

/** One measurement, as written to benchmarks/results/*.json. */
export interface BenchRecord {
  suite: string;
  /** The TF.js backend in use (jax-js records name the TF.js backend they ran beside). */
  backend: string;
  /** Who computed it: 'tapegrad', 'tf.grad', 'jax-js', 'jax-js jit', 'finite differences', … */
  impl: string;
  phase: Phase;
  /** The problem, e.g. 'B=256 256→256→10' or 'n=512'. */
  size: string;
  medianMs: number;
  minMs: number;
  maxMs: number;
  reps: number;
  /** The machine and processor the backend ran on. */
  device: string;
  /** ISO date and time of the run. */
  date: string;
  /** Set when the time is extrapolated from a sample rather than measured whole (finite differences). */
  estimated?: boolean;
  /** Anything else a reader needs: jax-js's device, how an estimate was made, … */
  note?: string;
  /** tg.memory() before and after a training loop (the mlp suite's memory record). */
  memory?: { before: { numTensors: number; numBytes: number }; after: { numTensors: number; numBytes: number } };
}

/** One correctness check made before timing: `impl`'s gradient against tapegrad's (or the exact one). */
export interface Check {
  suite: string;
  size: string;
  impl: string;
  relDiff: number;
  ok: boolean;
}

export interface HarnessOptions {
  backend: string;
  size: Size;
  device: string;
  /** Timed repetitions (fewer when one run is slow: see budgetMs). */
  reps: number;
  warmup: number;
  /** Warm-up keeps running until this much time has passed (at least `warmup` runs). */
  warmupMs: number;
  /** Soft time budget per measurement; reps are cut (to no fewer than 3) to fit it. */
  budgetMs: number;
  /** Run @jax-js/jax beside the backend where it has a matching device. */
  jax: boolean;
  /** Run PyTorch's reference script (the cpu suite) where /usr/bin/python3 has torch. */
  torch?: boolean;
  /** Progress lines (stderr in Node, the status line in the browser). */
  log: (msg: string) => void;
}

export const DEFAULTS: Record<Size, { reps: number; warmup: number; warmupMs: number; budgetMs: number }> = {
  small: { reps: 7, warmup: 2, warmupMs: 250, budgetMs: 2_000 },
  full: { reps: 15, warmup: 3, warmupMs: 1_000, budgetMs: 8_000 },
};

const now = () => performance.now();

/**
 * Warm-up: at least `warmup` runs, and more until warmupMs has passed, since V8 needs ~100 ms of
 * calls to optimise a library's JavaScript (tapegrad's chain of 1,000 ops ran 10× slower on its
 * first calls than after them). Returns the time of the last run.
 */
async function warm(fn: () => Promise<void>, o: { warmup: number; warmupMs?: number }): Promise<number> {
  let last = 0;
  const start = now();
  for (let i = 0; i < Math.max(1, o.warmup) || (now() - start < (o.warmupMs ?? 0) && i < 200); i++) {
    const t = now();
    await fn();
    last = now() - t;
  }
  return last;
}

/** How many repetitions fit the budget (no fewer than 3, or `reps` if that is less). */
const repsFor = (reps: number, budgetMs: number, oneRunMs: number) =>
  Math.max(Math.min(3, reps), Math.min(reps, Math.floor(budgetMs / Math.max(oneRunMs, 1e-3))));

/**
 * Times several functions (each awaits the data of its results) side by side: warm-up for each,
 * then repetitions taken in turn — a, b, c, b, c, a, c, a, b, … — so that load from other
 * processes on a shared machine falls on all of them alike. Returns one list of times per function.
 */
export async function timeSideBySide(
  fns: (() => Promise<void>)[],
  o: Pick<HarnessOptions, 'reps' | 'warmup' | 'budgetMs'> & { warmupMs?: number },
): Promise<number[][]> {
  let round = 0;
  for (const fn of fns) round += await warm(fn, o);
  const reps = repsFor(o.reps, o.budgetMs * fns.length, round);
  const times = fns.map(() => [] as number[]);
  for (let r = 0; r < reps; r++) {
    // Each round starts one further along, so that no function is always the first of a round.
    for (let k = 0; k < fns.length; k++) {
      const i = (r + k) % fns.length;
      const t = now();
      await fns[i]();
      times[i].push(now() - t);
    }
  }
  return times;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Collects the records of one run: suites call queue() and runQueued() per problem, and add(). */
export class Harness {
  readonly records: BenchRecord[] = [];
  readonly checks: Check[] = [];
  readonly date = new Date().toISOString();
  constructor(readonly opts: HarnessOptions) {}

  get size(): Size {
    return this.opts.size;
  }
  get backend(): string {
    return this.opts.backend;
  }
  log(msg: string): void {
    this.opts.log(msg);
  }

  private pending: {
    impl: string;
    phase: Phase;
    fn: () => Promise<void>;
    extra: Partial<BenchRecord>;
    engine: string;
  }[] = [];

  /**
   * Adds fn (which must await the data of every result) to the problem's side-by-side timing.
   * `engine`: functions on the same engine are interleaved; engines are timed one after the other,
   * because a jax-js call slows whatever runs right after it by ~0.1 ms (measured: TF.js's own
   * 40 µs forward took 130 µs when it followed a jax-js gradient), which would bill jax-js's
   * clean-up to tapegrad or TF.js.
   */
  queue(impl: string, phase: Phase, fn: () => Promise<void>, extra: Partial<BenchRecord> = {}, engine = 'tfjs'): void {
    this.pending.push({ impl, phase, fn, extra, engine });
  }

  /** Times everything queued for one problem, engine by engine (see timeSideBySide), and records it. */
  async runQueued(suite: string, size: string): Promise<BenchRecord[]> {
    const jobs = this.pending;
    this.pending = [];
    const out: BenchRecord[] = [];
    for (const engine of [...new Set(jobs.map((j) => j.engine))]) {
      const group = jobs.filter((j) => j.engine === engine);
      this.log(`${suite} ${size}: ${group.map((j) => `${j.impl} ${j.phase}`).join(', ')} …`);
      let times: number[][];
      try {
        times = await timeSideBySide(
          group.map((j) => j.fn),
          this.opts,
        );
      } catch (e) {
        // Another library's limit (jax-js can overflow the stack on a long chain on any call, not
        // only the first) must not stop the comparison; tapegrad's and TF.js's errors still do.
        if (engine === 'tfjs') throw e;
        this.skipProblem(suite, `${engine} failed on ${size}: ${(e as Error).message.split('\n')[0]}`);
        continue;
      }
      group.forEach((j, i) =>
        out.push(
          this.add({
            suite,
            impl: j.impl,
            phase: j.phase,
            size,
            medianMs: median(times[i]),
            minMs: Math.min(...times[i]),
            maxMs: Math.max(...times[i]),
            reps: times[i].length,
            ...j.extra,
          }),
        ),
      );
    }
    return out;
  }

  /** Records a figure obtained otherwise (an extrapolation, a loop's per-step time). */
  add(r: Omit<BenchRecord, 'backend' | 'device' | 'date'> & Partial<BenchRecord>): BenchRecord {
    const rec: BenchRecord = { backend: this.opts.backend, device: this.opts.device, date: this.date, ...r };
    this.records.push(rec);
    return rec;
  }

  private skipLines = new Set<string>();
  /** A problem skipped for a stated reason: a line of progress (once per reason), no record. */
  skipProblem(suite: string, why: string): void {
    const line = `${suite}: skipped — ${why}`;
    if (!this.skipLines.has(line)) this.log(line);
    this.skipLines.add(line);
  }
}

/** A benchmark suite: one file in benchmarks/suites/. */
export interface Suite {
  name: string;
  /** What it measures, one line (shown on the browser page). */
  title: string;
  run(h: Harness): Promise<void>;
}

/**
 * Central finite differences cost 2 evaluations of f per input entry. For large inputs a full
 * sweep would take minutes, so `perturbations` of them are timed (perturbation included) and the
 * total is scaled up; the record is marked `estimated`.
 */
export async function finiteDifferences(
  h: Harness,
  suite: string,
  size: string,
  entries: number,
  /** Evaluates f with entry i moved by ±eps and awaits the value. */
  evalPerturbed: (i: number, eps: number) => Promise<void>,
  maxSample = 16,
): Promise<BenchRecord> {
  const sample = Math.min(entries, maxSample);
  const run = async () => {
    for (let i = 0; i < sample; i++) {
      await evalPerturbed(i, 1e-3);
      await evalPerturbed(i, -1e-3);
    }
  };
  const [sampled] = await timeSideBySide([run], {
    reps: Math.min(3, h.opts.reps),
    warmup: 1,
    budgetMs: h.opts.budgetMs,
  });
  const times = sampled.map((t) => (t * entries) / sample);
  const estimated = sample < entries;
  return h.add({
    suite,
    impl: 'finite differences',
    phase: 'grad',
    size,
    medianMs: median(times),
    minMs: Math.min(...times),
    maxMs: Math.max(...times),
    reps: times.length,
    estimated,
    note: estimated
      ? `central differences, 2×${entries} evaluations; ${sample} entries timed and scaled`
      : `central differences, 2×${entries} evaluations`,
  });
}
