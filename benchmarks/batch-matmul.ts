// wasm's batched and transposed products (kernels/batch-matmul.ts) alone, shape by shape, with the
// SIMD kernel and with TF.js's loop (setSimdBatchMatMul), in turn: medians of process CPU µs a
// call (a loaded machine inflates CPU time less than wall-clock). Markdown on stdout.
//   node --import tsx benchmarks/batch-matmul.ts [--calls 200]
import * as tf from '@tensorflow/tfjs-core';
import { parseArgs } from 'node:util';
import * as tg from '../src/index.js';
import { setSimdBatchMatMul } from '../kernels/batch-matmul.js';
import { median } from './harness.js';

const { values } = parseArgs({ options: { calls: { type: 'string', default: '200' } } });
await tg.setBackend('wasm');
const calls = Number(values.calls);

/** [a's shape, b's shape, transposeA, transposeB]: attention's q·kᵀ and w·v, and larger ones. */
const CASES: [number[], number[], boolean, boolean][] = [
  [[128, 4, 16, 16], [128, 4, 16, 16], false, true],
  [[128, 4, 16, 16], [128, 4, 16, 16], false, false],
  [[128, 4, 16, 16], [128, 4, 16, 16], true, false],
  [[16, 64, 64], [16, 64, 64], false, false],
  [[4, 256, 256], [4, 256, 256], false, false],
];

console.log('| product | SIMD kernel µs | TF.js loop µs | loop ÷ kernel |\n|---|---|---|---|');
for (const [sa, sb, tA, tB] of CASES) {
  const a = tf.randomNormal(sa);
  const b = tf.randomNormal(sb);
  const times = [[], []] as number[][];
  for (let round = -2; round < 7; round++)
    for (const [i, on] of [true, false].entries()) {
      setSimdBatchMatMul(on);
      const n = on ? calls : Math.max(3, calls >> 3);
      const c = process.cpuUsage();
      for (let k = 0; k < n; k++) tf.matMul(a, b, tA, tB).dispose();
      const u = process.cpuUsage(c);
      setSimdBatchMatMul(true);
      if (round >= 0) times[i].push((u.user + u.system) / n);
    }
  const [ours, loop] = times.map(median);
  const name = `[${sa}]${tA ? 'ᵀ' : ''}·[${sb}]${tB ? 'ᵀ' : ''}`;
  console.log(`| ${name} | ${ours.toFixed(0)} | ${loop.toFixed(0)} | ${(loop / ours).toFixed(1)} |`);
  tf.dispose([a, b]);
}
