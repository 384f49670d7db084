// gradcheck: what tg.gradcheck costs in its two modes as the input grows, for f(x) = sum(tanh(W·x)).
// full perturbs every entry (4 evaluations each: a fourth-order stencil), so its cost grows with n;
// fast checks random directions, so it should stay flat. tapegrad's forward and gradient are the scale.
import * as tg from '../../src/index.js';
import type { Harness, Suite } from '../harness.js';
import { normal, settle } from '../common.js';

const SIZES = { small: [8, 32], full: [8, 32, 128, 512] };

async function runSize(h: Harness, n: number): Promise<void> {
  const size = `x ∈ R^${n}`;
  const W = tg.tensor(normal(n * n, 41, 1 / Math.sqrt(n)), { shape: [n, n] });
  const x = tg.tensor(normal(n, 42));
  const f = (v: tg.Tensor) => tg.sum(tg.tanh(tg.matmul(W, v)));
  const df = tg.grad(f);
  h.queue('tapegrad', 'forward', () => settle(tg.noGrad(() => tg.tidy(() => f(x)))));
  h.queue('tapegrad', 'grad', () => settle(df(x)));
  for (const mode of ['full', 'fast'] as const) {
    const report = await tg.gradcheck(f, [x], { mode });
    const note = `${report.evaluations} evaluations, ${report.backwards} backward passes, ok=${report.ok}`;
    if (!report.ok) h.log(`WARNING gradcheck ${mode} ${size} reports a mismatch: ${JSON.stringify(report.worst)}`);
    h.checks.push({ suite: 'gradcheck', size, impl: `gradcheck ${mode}`, relDiff: report.maxRelError, ok: report.ok });
    h.queue(`gradcheck ${mode}`, 'grad', async () => void (await tg.gradcheck(f, [x], { mode })), { note });
  }
  await h.runQueued('gradcheck', size);
  tg.dispose([W, x]);
}

export const gradcheck: Suite = {
  name: 'gradcheck',
  title: 'tg.gradcheck full and fast modes against input size, f(x) = sum(tanh(W·x))',
  async run(h) {
    for (const n of SIZES[h.size]) await runSize(h, n);
  },
};
