// The wasm backend's scaling with threads (tg.setThreads): the cpu suite's matmul-bound workloads —
// matmul 1024, the Adam step and the MLP's forward + gradient at B = 256 (and 1024 at the full
// size) — on one thread and on every core, side by side. The cpu suite runs it last, on wasm.
import * as tg from '../../src/index.js';
import { median, type Harness } from '../harness.js';
import { normal } from '../common.js';
import { mlpAdamStep } from '../gpu/mlp-step.js';

const OUT = 10;

/** 1, then doubling, up to and including `all`. */
function counts(all: number): number[] {
  const out = [1];
  while (out[out.length - 1] * 2 < all) out.push(out[out.length - 1] * 2);
  if (all > 1) out.push(all);
  return out;
}

/**
 * Times fn at each thread count, side by side as timeSideBySide does (warm-up for each, then
 * rounds that take the counts in turn, each round starting one further along); the count is
 * changed between timed calls, outside the clock. Returns the times per count.
 */
async function timeAtCounts(h: Harness, ns: number[], fn: () => Promise<void>): Promise<number[][]> {
  const { reps, warmup, budgetMs } = h.opts;
  let round = 0;
  for (const n of ns) {
    tg.setThreads(n);
    for (let i = 0; i < Math.max(1, warmup); i++) {
      const t = performance.now();
      await fn();
      if (i === Math.max(1, warmup) - 1) round += performance.now() - t;
    }
  }
  const r = Math.max(Math.min(3, reps), Math.min(reps, Math.floor((budgetMs * ns.length) / Math.max(round, 1e-3))));
  const times = ns.map(() => [] as number[]);
  for (let k = 0; k < r; k++) {
    for (let j = 0; j < ns.length; j++) {
      const i = (k + j) % ns.length;
      tg.setThreads(ns[i]);
      const t = performance.now();
      await fn();
      times[i].push(performance.now() - t);
    }
  }
  return times;
}

/** Records one workload at every count: impl `tapegrad, N threads`, the speed-up over one thread in the note. */
async function scale(
  h: Harness,
  ns: number[],
  size: string,
  phase: 'forward' | 'grad',
  fn: () => Promise<void>,
  flop?: number,
): Promise<void> {
  h.log(`cpu ${size}: tapegrad on ${ns.join(', ')} threads …`);
  const times = await timeAtCounts(h, ns, fn);
  const one = median(times[0]);
  ns.forEach((n, i) => {
    const ms = median(times[i]);
    const rate = flop ? `${(flop / ms / 1e6).toFixed(0)} GFLOP/s, ` : '';
    h.add({
      suite: 'cpu',
      impl: `tapegrad, ${n} thread${n > 1 ? 's' : ''}`,
      phase,
      size,
      medianMs: ms,
      minMs: Math.min(...times[i]),
      maxMs: Math.max(...times[i]),
      reps: times[i].length,
      note: `${rate}${(one / ms).toFixed(2)}× one thread's speed`,
    });
  });
}

/** The matmul-bound workloads on 1, 2, 4, … and every core's threads (wasm only). */
export async function threadScaling(h: Harness): Promise<void> {
  if (h.backend !== 'wasm') return;
  const all = tg.getThreads();
  const ns = counts(all);
  if (ns.length < 2) {
    h.skipProblem('cpu', `thread scaling: the wasm backend runs one thread here (${all})`);
    return;
  }
  try {
    const n = 1024;
    const A = tg.tensor(normal(n * n, 5), { shape: [n, n] });
    const Bm = tg.tensor(normal(n * n, 6), { shape: [n, n] });
    await scale(
      h,
      ns,
      `matmul n=${n}, by threads`,
      'forward',
      async () => {
        const c = tg.noGrad(() => A.matmul(Bm));
        await c.data();
        c.dispose();
      },
      2 * n ** 3,
    );
    tg.dispose([A, Bm]);
    for (const B of h.size === 'full' ? [256, 1024] : [256]) {
      const adam = mlpAdamStep(B, B, B);
      await scale(h, ns, `Adam step B=${B} ${B}→${B}→${OUT}, by threads`, 'grad', async () => {
        const l = adam.step();
        await l.data();
        l.dispose();
      });
      adam.dispose();
      const X = tg.tensor(normal(B * B, 1), { shape: [B, B] });
      const Y = tg.tensor(normal(B * OUT, 2), { shape: [B, OUT] });
      const W1 = tg.tensor(normal(B * B, 3, 1 / Math.sqrt(B)), { shape: [B, B] });
      const W2 = tg.tensor(normal(B * OUT, 4, 1 / Math.sqrt(B)), { shape: [B, OUT] });
      const df = tg.grad((w1: tg.Tensor, w2: tg.Tensor) => tg.mseLoss(X.matmul(w1).relu().matmul(w2), Y), [0, 1]);
      await scale(h, ns, `mlp B=${B} ${B}→${B}→${OUT}, by threads`, 'grad', async () => {
        const gs = df(W1, W2);
        await Promise.all(gs.map((g) => g.data()));
        tg.dispose(gs);
      });
      tg.dispose([X, Y, W1, W2]);
    }
  } finally {
    tg.setThreads(all);
  }
}
