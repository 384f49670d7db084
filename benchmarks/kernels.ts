// Where tapegrad's gradient time goes, kernel by kernel: the TF.js kernels that one MLP training
// step (B = 256 by default, as in the mlp suite) and one matmul-suite gradient run, with their shapes and
// times (tf.profile), against the forward alone. A tool for deciding what to optimise.
//   node --import tsx benchmarks/kernels.ts [--backend wasm] [--B 256] [--n 512]
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import * as tg from '../src/index.js';
import { normal } from './common.js';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    B: { type: 'string', default: '256' },
    n: { type: 'string', default: '512' },
  },
});
await tg.setBackend(values.backend as tg.BackendName);
const B = Number(values.B);
const n = Number(values.n);

/** Runs fn until warm, then profiles one run: kernels in order, and the totals. */
async function show(title: string, fn: () => void): Promise<void> {
  for (let i = 0; i < 20; i++) fn();
  const t = performance.now();
  for (let i = 0; i < 10; i++) fn();
  const wall = (performance.now() - t) / 10;
  const p = await tf.profile(fn);
  const total = p.kernels.reduce((s, k) => s + (k.kernelTimeMs as number), 0);
  console.log(
    `\n${title}: ${p.kernels.length} kernels, ${total.toFixed(2)} ms in kernels, ${wall.toFixed(2)} ms wall (the rest is JavaScript: tape, TF.js engine)`,
  );
  for (const k of p.kernels)
    console.log(
      `  ${k.name.padEnd(12)} ${JSON.stringify(k.inputShapes).padEnd(28)} → ${JSON.stringify(k.outputShapes).padEnd(12)} ${(k.kernelTimeMs as number).toFixed(3)} ms`,
    );
}

const X = tg.tensor(normal(B * B, 1), { shape: [B, B] });
const Y = tg.tensor(normal(B * 10, 2), { shape: [B, 10] });
const W1 = tg.tensor(normal(B * B, 3, 1 / Math.sqrt(B)), { shape: [B, B], requiresGrad: true });
const W2 = tg.tensor(normal(B * 10, 4, 1 / Math.sqrt(B)), { shape: [B, 10], requiresGrad: true });
const loss = () => tg.mseLoss(X.matmul(W1).relu().matmul(W2), Y);
await show(`mlp forward, B=${B}`, () => {
  const l = tg.noGrad(() => tg.tidy(loss));
  l.dataSync();
  l.dispose();
});
await show(`mlp forward + gradient, B=${B}`, () => {
  const l = tg.tidy(() => {
    const l = loss();
    l.backward();
    return l;
  });
  W1.grad!.dataSync();
  W2.grad!.dataSync();
  l.dispose();
  for (const W of [W1, W2]) {
    W.grad!.dispose();
    W.grad = null;
  }
});

const A = tg.tensor(normal(n * n, 11, 1 / Math.sqrt(n)), { shape: [n, n] });
const Bm = tg.tensor(normal(n * n, 12), { shape: [n, n] });
const df = tg.grad((a: tg.Tensor, b: tg.Tensor) => tg.sum(tg.tanh(tg.matmul(a, b))), [0, 1]);
await show(`matmul suite gradient of sum(tanh(A·B)), n=${n}`, () => {
  const gs = df(A, Bm) as tg.Tensor[];
  gs.forEach((g) => g.dataSync());
  tg.dispose(gs);
});
tg.dispose([X, Y, W1, W2, A, Bm]);
