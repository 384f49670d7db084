// The MLP step's levers on wasm, each switched off and on in one process (medians of interleaved
// rounds, wall-clock and CPU ms): the multi-tensor Adam kernel alone in float32 and float64 lanes
// (`setAdamFloat32`) on the parameters of examples/mnist.ts's MLP (784 → 256 → 128 → 10) and of the
// cpu suite's Adam steps (B → B → 10, B = 64 and 256); a weight gradient xᵀ·g with x read in place by
// the dense kernel against x transposed first (`setDenseTransposedA`); an input gradient g·Wᵀ with W's
// panels copied transposed by the dense kernel against mm's transposes (`setDenseTransposedB`); the
// bias gradients' sums over the batch by the column-sum kernel against wasm's average pool or Sum
// (`setFusedEnabled(·, 'columnSum')`); products shared with the helper thread in chunks of columns
// against halves of the rows (`setDenseColumnChunks`); linear's forward as the _FusedMatMul kernel on
// two matrices against tf.fused.matMul (`setDirectFusedMatMul`); the helper thread's withdrawal of a
// job it has not claimed (`setHelperWithdraw`); and the last four together. Each on its kernels and
// on the whole training step of examples/mnist.ts's MLP (batches of 64 from the DataLoader, Adam, the
// loss read back). Markdown on stdout.
//
//   node --import tsx benchmarks/mlp-levers.ts [--rounds 9] [--reps 50] [--threads 2] [--levers 1,4 (by place)]
import * as tf from '@tensorflow/tfjs-core';
import { parseArgs } from 'node:util';
import * as tg from '../src/index.js';
import * as fused from '../src/backend/fused.js';
import {
  setAdamFloat32,
  setDenseColumnChunks,
  setDenseTransposedA,
  setDenseTransposedB,
  setDirectFusedMatMul,
  setFusedEnabled,
  setHelperWithdraw,
} from '../src/testing.js';
import { median } from './harness.js';
import { mm } from '../src/ops/matrix.js';
import { digitTensors, makeMlp, mnistSplit } from '../examples/lib/mnist.js';
import { loadMnist } from '../examples/lib/mnist-node.js';
import { trainingStep } from '../examples/lib/train.js';
import { endlessBatches } from './common.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '9' },
    reps: { type: 'string', default: '50' },
    threads: { type: 'string', default: '2' },
    levers: { type: 'string' },
  },
});
await tg.setBackend('wasm');
await tg.setThreads(Number(values.threads));
const rounds = Number(values.rounds);
const reps = Number(values.reps);

/** [wall, CPU] ms a call of fn, over `reps` calls. */
function timed(fn: () => void): [number, number] {
  const c = process.cpuUsage();
  const t = performance.now();
  for (let i = 0; i < reps; i++) fn();
  const u = process.cpuUsage(c);
  return [(performance.now() - t) / reps, (u.user + u.system) / 1000 / reps];
}

/** One multi-tensor Adam step of parameters of `shapes` (the outputs freed). */
function adamKernel(shapes: number[][]): { run: () => void; dispose: () => void } {
  const ps = shapes.map((s, i) => tf.randomNormal(s, 0, 1, 'float32', i));
  const gs = shapes.map((s, i) => tf.randomNormal(s, 0, 1e-3, 'float32', 10 + i));
  const ms = shapes.map((s) => tf.zeros([2, ...s]));
  const steps = tf.tensor(fused.adamStepBits(shapes.map(() => [1e-3, 0.1, 0.001])), [shapes.length, 6], 'int32');
  const k = shapes.length;
  const attrs = {
    decoupled: false,
    beta1: new Array(k).fill(0.9),
    beta2: new Array(k).fill(0.999),
    eps: new Array(k).fill(1e-8),
    weightDecay: new Array(k).fill(0),
  };
  return {
    run: () => {
      const out = fused.adamUpdateMulti(ps, gs, ms, steps, attrs);
      tf.dispose([...out.params, ...out.moments]);
    },
    dispose: () => tf.dispose([...ps, ...gs, ...ms, steps]),
  };
}
/** A dense layer's weight gradient xᵀ·g (x [B, I], g [B, O]) as its adjoint computes it (mm, src/ops/matrix.ts). */
function weightGradient(B: number, I: number, O: number): { run: () => void; dispose: () => void } {
  const x = tg.randn([B, I], { seed: 1 });
  const g = tg.randn([B, O], { seed: 2 });
  return {
    run: () => tg.tidy(() => void mm(x, g, true, false)),
    dispose: () => tg.dispose([x, g]),
  };
}
/** A plain product a·b (a [M, K], b [K, N]). */
function plainProduct(M: number, K: number, N: number): { run: () => void; dispose: () => void } {
  const a = tg.randn([M, K], { seed: 1 });
  const b = tg.randn([K, N], { seed: 2 });
  return {
    run: () => tg.tidy(() => void mm(a, b)),
    dispose: () => tg.dispose([a, b]),
  };
}
/** A dense layer's forward relu(x·W + b) (relu where the layer is not the last, N > 10), without the tape. */
function denseLayer(M: number, K: number, N: number): { run: () => void; dispose: () => void } {
  const x = tg.randn([M, K], { seed: 1 });
  const w = tg.randn([K, N], { seed: 2 });
  const b = tg.randn([N], { seed: 3 });
  const activation = N > 10 ? 'relu' : 'none';
  return {
    run: () => tg.noGrad(() => tg.tidy(() => void tg.linear(x, w, b, { activation }))),
    dispose: () => tg.dispose([x, w, b]),
  };
}
/** A dense layer's input gradient g·Wᵀ (g [B, O], W [I, O]) as its adjoint computes it (mm, src/ops/matrix.ts). */
function inputGradient(B: number, I: number, O: number): { run: () => void; dispose: () => void } {
  const g = tg.randn([B, O], { seed: 1 });
  const w = tg.randn([I, O], { seed: 2 });
  return {
    run: () => tg.tidy(() => void mm(g, w, false, true)),
    dispose: () => tg.dispose([g, w]),
  };
}
/** The bias gradients Σ over the batch of dense layers' g [B, O], as the linear op's adjoint sums them. */
function biasGradients(B: number, widths: number[]): { run: () => void; dispose: () => void } {
  const gs = widths.map((o, i) => tg.randn([B, o], { seed: i }));
  return {
    run: () => tg.tidy(() => gs.forEach((g) => tg.sum(g, { axis: 0 }))),
    dispose: () => tg.dispose(gs),
  };
}
/** examples/mnist.ts's MLP training step: a batch of 64 from the DataLoader, Adam, the loss read back. */
function mnistStep(): { run: () => void; dispose: () => void } {
  const { x, y } = digitTensors(loadMnist(), mnistSplit().train, true);
  const net = makeMlp();
  const opt = new tg.optim.Adam(net.parameters(), { lr: 1e-3 });
  const loader = new tg.data.DataLoader(new tg.data.TensorDataset(x, y), { batchSize: 64, shuffle: true, seed: 1 });
  const batches = endlessBatches(loader);
  return {
    run: () => {
      const [xb, yb] = batches.next();
      const loss = trainingStep(opt, () => tg.nn.crossEntropy(net.forward(xb), yb));
      loss.dataSync();
      loss.dispose();
    },
    dispose: () => {
      batches.stop();
      opt.dispose();
      net.dispose();
      tg.dispose([x, y]);
    },
  };
}
const dense = (sizes: number[]) => sizes.slice(1).flatMap((n, i) => [[sizes[i], n], [n]]);

interface Lever {
  name: string;
  set: (on: boolean) => void;
  work: { name: string; make: () => { run: () => void; dispose: () => void } }[];
}
const LEVERS: Lever[] = [
  {
    name: 'Adam float32 lanes',
    set: setAdamFloat32,
    work: [
      { name: 'Adam kernel, MNIST MLP', make: () => adamKernel(dense([784, 256, 128, 10])) },
      { name: 'Adam kernel, B = 64', make: () => adamKernel(dense([64, 64, 10])) },
      { name: 'Adam kernel, B = 256', make: () => adamKernel(dense([256, 256, 10])) },
    ],
  },
  {
    name: 'xᵀ·g read in place',
    set: setDenseTransposedA,
    work: [
      { name: 'xᵀ·g, MNIST MLP layer 1', make: () => weightGradient(64, 784, 256) },
      { name: 'xᵀ·g, B = 64', make: () => weightGradient(64, 64, 64) },
      { name: 'xᵀ·g, B = 256', make: () => weightGradient(256, 256, 256) },
    ],
  },
  {
    name: 'g·Wᵀ, W copied transposed',
    set: setDenseTransposedB,
    work: [
      { name: 'g·Wᵀ, MNIST MLP layer 2', make: () => inputGradient(64, 256, 128) },
      { name: 'g·Wᵀ, MNIST MLP layer 3', make: () => inputGradient(64, 128, 10) },
      { name: 'g·Wᵀ, B = 128', make: () => inputGradient(128, 128, 128) },
      { name: 'MNIST MLP training step', make: mnistStep },
    ],
  },
  {
    name: 'column-sum kernel',
    set: (on) => setFusedEnabled(on, 'columnSum'),
    work: [
      { name: 'bias gradient, MNIST MLP (3 layers)', make: () => biasGradients(64, [256, 128, 10]) },
      { name: 'bias gradient, B = 64', make: () => biasGradients(64, [64, 10]) },
      { name: 'bias gradient, B = 256', make: () => biasGradients(256, [256, 10]) },
    ],
  },
  {
    name: 'products shared in chunks of columns (off: halves of rows)',
    set: setDenseColumnChunks,
    work: [
      { name: 'MLP layer 1 forward, [64, 784]·[784, 256]', make: () => plainProduct(64, 784, 256) },
      { name: 'xᵀ·g, MNIST MLP layer 1', make: () => weightGradient(64, 784, 256) },
      { name: 'MNIST MLP training step', make: mnistStep },
    ],
  },
  {
    name: 'linear forward as _FusedMatMul alone (off: tf.fused.matMul)',
    set: setDirectFusedMatMul,
    work: [
      { name: 'linear + relu, [64, 256]·[256, 128]', make: () => denseLayer(64, 256, 128) },
      { name: 'linear, [64, 128]·[128, 10]', make: () => denseLayer(64, 128, 10) },
      { name: 'MNIST MLP training step', make: mnistStep },
    ],
  },
  {
    name: "withdrawing the helper's unclaimed job",
    set: setHelperWithdraw,
    work: [{ name: 'MNIST MLP training step', make: mnistStep }],
  },
  {
    name: 'the four above together',
    set: (on) => {
      for (const set of [setDenseTransposedB, setDenseColumnChunks, setDirectFusedMatMul, setHelperWithdraw]) set(on);
    },
    work: [{ name: 'MNIST MLP training step', make: mnistStep }],
  },
];

const { loadavg } = await import('node:os');
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
console.log(`threads ${tg.getThreads()}, load average ${load()}\n`);
console.log('| work | lever | wall off | wall on | wall × | CPU off | CPU on | CPU × |');
console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
const f = (x: number) => x.toFixed(3);
for (const lever of LEVERS.filter((l, i) => !values.levers || values.levers.split(',').includes(String(i + 1)))) {
  for (const w of lever.work) {
    const work = w.make();
    const times = { off: [] as [number, number][], on: [] as [number, number][] };
    for (let r = -2; r < rounds; r++)
      for (const which of (r & 1) === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
        lever.set(which === 'on');
        const t = timed(work.run);
        if (r >= 0) times[which].push(t);
      }
    lever.set(true);
    work.dispose();
    const m = (which: 'off' | 'on', k: 0 | 1) => median(times[which].map((t) => t[k]));
    const cells = (k: 0 | 1) => `${f(m('off', k))} | ${f(m('on', k))} | ${(m('off', k) / m('on', k)).toFixed(2)}×`;
    console.log(`| ${w.name} | ${lever.name} | ${cells(0)} | ${cells(1)} |`);
  }
}
console.log(`\nload average ${load()}`);
