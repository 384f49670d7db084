// Runs the chosen suites on each chosen backend, one after the other in this process; shared by
// the Node entry (run.ts), the GPU entry (gpu.ts) and the browser page.
import * as tg from '../src/index.js';
import { Harness, DEFAULTS, type BenchRecord, type Check, type Size } from './harness.js';
import { SUITES } from './suites/index.js';

export interface RunOptions {
  backends: string[];
  suites: string[];
  size: Size;
  /** The machine, in words; `device(backend)` may refine it per backend (the GPU's name). */
  device: (backend: string) => Promise<string> | string;
  reps?: number;
  warmup?: number;
  warmupMs?: number;
  budgetMs?: number;
  jax?: boolean;
  /** Run PyTorch's reference script beside the cpu suite (off unless asked: tests never need torch). */
  torch?: boolean;
  log: (msg: string) => void;
  /** Called after each suite on each backend (a progress bar's tick). */
  onSuiteDone?: (suite: string, backend: string) => void;
}

export const SUITE_NAMES = SUITES.map((s) => s.name);

/** A misspelt suite, size or backend. */
export class UsageError extends Error {}

/** Throws a message naming what is known when a suite or size is misspelt. */
export function validate(o: Pick<RunOptions, 'suites' | 'size'>): void {
  for (const s of o.suites)
    if (!SUITE_NAMES.includes(s)) throw new UsageError(`unknown suite '${s}'; known: ${SUITE_NAMES.join(', ')}`);
  if (!(o.size in DEFAULTS))
    throw new UsageError(`unknown size '${o.size}'; known: ${Object.keys(DEFAULTS).join(', ')}`);
  if (o.suites.length === 0) throw new UsageError('no suite chosen');
}

export async function runBenchmarks(o: RunOptions): Promise<{ records: BenchRecord[]; checks: Check[] }> {
  validate(o);
  const records: BenchRecord[] = [];
  const checks: Check[] = [];
  for (const backend of o.backends) {
    o.log(`== backend ${backend}`);
    try {
      await tg.setBackend(backend as tg.BackendName);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const d = DEFAULTS[o.size];
    const h = new Harness({
      backend,
      size: o.size,
      device: await o.device(backend),
      reps: o.reps ?? d.reps,
      warmup: o.warmup ?? d.warmup,
      warmupMs: o.warmupMs ?? d.warmupMs,
      budgetMs: o.budgetMs ?? d.budgetMs,
      jax: o.jax ?? true,
      torch: o.torch ?? false,
      log: o.log,
    });
    for (const suite of SUITES.filter((s) => o.suites.includes(s.name))) {
      const before = tg.memory();
      const t0 = performance.now();
      await suite.run(h);
      const after = tg.memory();
      o.log(`${suite.name} on ${backend}: done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      o.onSuiteDone?.(suite.name, backend);
      // A benchmark that leaks would skew the ones after it; say so loudly.
      if (after.numTensors !== before.numTensors)
        o.log(`WARNING ${suite.name} on ${backend} left ${after.numTensors - before.numTensors} tensors behind`);
    }
    records.push(...h.records);
    checks.push(...h.checks);
  }
  return { records, checks };
}
