// The costs of TF.js kernels that decide how tapegrad's adjoints are written: a matmul with a
// transpose flag against an explicit transpose and a plain matmul, a Tile (tf.broadcastTo)
// against a broadcasting add, a `where` with a broadcast operand against a multiplication by a
// mask, and each backend's plain matmul speed. Medians, timed side by side; a markdown table.
//   node --import tsx benchmarks/backend-costs.ts [--backend wasm,cpu] [--n 256]
import * as tf from '@tensorflow/tfjs-core';
import { parseArgs } from 'node:util';
import * as tg from '../src/index.js';
import { normal } from './common.js';
import { median, timeSideBySide } from './harness.js';

const { values } = parseArgs({
  options: { backend: { type: 'string', default: 'wasm,cpu' }, n: { type: 'string', default: '256' } },
});
const n = Number(values.n);

/** Wraps a kernel call as a timed function: it waits for the result's values, then frees it. */
const timed = (f: () => tf.Tensor) => async () => {
  const y = f();
  await y.data();
  y.dispose();
};

const rows: string[] = [];
for (const backend of values.backend!.split(',')) {
  await tg.setBackend(backend as tg.BackendName);
  const a = tf.tensor2d(normal(n * n, 1), [n, n]);
  const b = tf.tensor2d(normal(n * n, 2), [n, n]);
  const row = tf.tensor2d(normal(n, 3), [1, n]);
  const zeros = tf.zeros([n, n]);
  const cond = tf.greater(a, 0);
  const mask = tf.cast(cond, 'float32');
  const groups: [string, [string, () => tf.Tensor][]][] = [
    [
      `matmul ${n}×${n}`,
      [
        ['plain', () => tf.matMul(a, b)],
        ['transposeA flag', () => tf.matMul(a, b, true, false)],
        ['transposeB flag', () => tf.matMul(a, b, false, true)],
        ['tf.transpose, then plain', () => tf.tidy(() => tf.matMul(tf.transpose(a), b))],
      ],
    ],
    [
      `[1,${n}] to [${n},${n}]`,
      [
        ['add to zeros (broadcasting)', () => tf.add(row, zeros)],
        ['tf.broadcastTo (Tile)', () => tf.broadcastTo(row, [n, n])],
      ],
    ],
    [
      `zero where x ≤ 0, ${n}×${n}`,
      [
        ['multiply by a 0/1 mask', () => tf.mul(a, mask)],
        [
          'tf.where with a broadcast scalar',
          () => tf.tidy(() => tf.where(cond, a, tf.scalar(0) as unknown as tf.Tensor2D)),
        ],
      ],
    ],
  ];
  for (const [what, fns] of groups) {
    const times = await timeSideBySide(
      fns.map(([, f]) => timed(f)),
      { reps: 15, warmup: 3, warmupMs: 300, budgetMs: 3000 },
    );
    const base = median(times[0]);
    fns.forEach(([how], i) => {
      const ms = median(times[i]);
      const flops = what.startsWith('matmul') ? ` (${((2 * n ** 3) / ms / 1e6).toFixed(1)} GFLOP/s)` : '';
      rows.push(`| ${backend} | ${what} | ${how} | ${ms.toFixed(3)} ms${flops} | ${(ms / base).toFixed(1)} |`);
    });
  }
  tf.dispose([a, b, row, zeros, cond, mask]);
}
console.log(`\n| backend | what | how | median | × the first row of its group |\n|---|---|---|---|---|`);
console.log(rows.join('\n'));
