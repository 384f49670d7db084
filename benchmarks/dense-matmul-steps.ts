// The cpu suite's Adam step (Linear(B, B) → relu → Linear(B, 10), cross-entropy; eager and compiled
// whole) and its matmul 1024, with wasm's dense products on our kernel and on XNNPACK
// (setDenseMatMul), alternated in one process so that the machine's load falls on both alike:
// medians of wall-clock and CPU time per step, ms. Markdown on stdout.
//   node --import tsx benchmarks/dense-matmul-steps.ts [--threads 1] [--batches 256,1024] [--reps 15]
import * as tf from '@tensorflow/tfjs-core';
import { parseArgs } from 'node:util';
import * as tg from '../src/index.js';
import { setDenseMatMul } from '../src/testing.js';
import { mlpAdamStep } from './gpu/mlp-step.js';
import { median } from './harness.js';

const { values } = parseArgs({
  options: {
    threads: { type: 'string', default: '1' },
    batches: { type: 'string', default: '256,1024' },
    reps: { type: 'string', default: '15' },
  },
});
await tg.setBackend('wasm');
tg.setThreads(Number(values.threads));
const reps = Number(values.reps);

/** Times `f` with our kernel and with XNNPACK, in turn, `reps` times each after a warm-up. */
async function ab(name: string, f: () => void): Promise<void> {
  const wall = [[], []] as number[][];
  const cpu = [[], []] as number[][];
  for (let r = -3; r < reps; r++)
    for (const [i, on] of [true, false].entries()) {
      setDenseMatMul(on);
      const c = process.cpuUsage();
      const t = performance.now();
      f();
      const w = performance.now() - t;
      const u = process.cpuUsage(c);
      setDenseMatMul(true);
      if (r >= 0) {
        wall[i].push(w);
        cpu[i].push((u.user + u.system) / 1000);
      }
      await new Promise((res) => setTimeout(res, 0));
    }
  const [w0, w1, c0, c1] = [...wall, ...cpu].map(median);
  console.log(
    `| ${name} | ${w0.toFixed(2)} | ${w1.toFixed(2)} | ${(w0 / w1).toFixed(2)} | ${c0.toFixed(2)} | ${c1.toFixed(2)} | ${(c0 / c1).toFixed(2)} |`,
  );
}

console.log(`${values.threads} thread(s), ${reps} reps each\n`);
console.log(
  '| step | ours ms | XNNPACK ms | ratio | ours CPU ms | XNNPACK CPU ms | ratio |\n|---|---|---|---|---|---|---|',
);
for (const B of values.batches.split(',').map(Number)) {
  const eager = mlpAdamStep(B, B, B);
  await ab(`Adam step B=${B}`, () => eager.step().dispose());
  const whole = mlpAdamStep(B, B, B);
  const compiled = tg.compile(() => whole.step());
  await ab(`Adam step B=${B}, compiled`, () => compiled().dispose());
  eager.dispose();
  whole.dispose();
}
const a = tf.randomNormal([1024, 1024]);
const b = tf.randomNormal([1024, 1024]);
await ab('matmul 1024', () => tf.matMul(a, b).dataSync());
tf.dispose([a, b]);
