// Where one training step of an example's model goes, on a CPU backend — examples/mnist.ts's CNN or
// MLP (batch 64, Adam), examples/words.ts's transformer (128 words, AdamW), or the cpu suite's Adam
// step (`square`: Linear(B, B), relu, Linear(B, 10) on [B, B], `--batch B`):
// the step split into forward, backward and optimizer, the forward alone (no tape), and every
// TF.js kernel the step runs, by phase, name and input shapes, with its time and count. Times are
// wall-clock, and the process's CPU time beside them, which a loaded machine inflates less (with
// one thread; with more, it adds up every thread's). What the step takes beyond its kernels is
// tapegrad's and TF.js's per-op work. Markdown tables on stdout.
//
// --real gives the transformer 128 words spread over the word list, as its training batches: their token
// count is rarely a power of two (the fixed batch's 2,048 tokens make some kernels slower than they are).
//
//   node --import tsx benchmarks/step-profile.ts [--model cnn|mlp|words|square] [--batch 256] [--backend wasm]
//        [--threads n] [--steps 9] [--rows 30] [--real]
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import * as tg from '../src/index.js';
import { makeCnn, makeMlp } from '../examples/lib/mnist.js';
import { Transformer, maskedNll, rowTensors } from '../examples/lib/words.js';
import { median } from './harness.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'cnn' },
    batch: { type: 'string', default: '256' },
    backend: { type: 'string', default: 'wasm' },
    steps: { type: 'string', default: '9' },
    rows: { type: 'string', default: '30' },
    threads: { type: 'string' },
    real: { type: 'boolean', default: false },
  },
});
await tg.setBackend(values.backend as tg.BackendName);
if (values.threads) await tg.setThreads(Number(values.threads));
const BATCH = 64;
const steps = Number(values.steps);

const cpuMs = (since: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
};

const model = values.model as 'cnn' | 'mlp' | 'words' | 'square';
if (!['cnn', 'mlp', 'words', 'square'].includes(model))
  throw new Error(`--model is cnn, mlp, words or square, not ${model}`);
const WORDS = ['apple', 'banana', 'cherry', 'dog', 'elephant', 'fig', 'grape', 'hippopotamus'];

/** 128 words spread over the word list (a real batch: its token count is rarely a power of two). */
function realWords(): string[] {
  const all: string[] = JSON.parse(
    readFileSync(createRequire(import.meta.url).resolve('an-array-of-english-words/index.json'), 'utf8'),
  );
  return Array.from({ length: 128 }, (_, i) => all[((i * 7919) % all.length) | 0]);
}

/** The model, its optimizer and its loss on one fixed batch. */
function setup(): { net: tg.nn.Module; opt: tg.optim.Optimizer; loss: () => tg.Tensor; data: tg.Tensor[] } {
  if (model === 'words') {
    const net = new Transformer();
    const r = rowTensors(values.real ? realWords() : Array.from({ length: 128 }, (_, i) => WORDS[i % WORDS.length]));
    return {
      net,
      opt: new tg.optim.AdamW(net.parameters(), { lr: 3e-3 }),
      loss: () => maskedNll(net.forward(r.x), r.y, r.mask),
      data: [r.x, r.y, r.mask],
    };
  }
  if (model === 'square') {
    // the cpu suite's Adam step: Linear(B, B), relu, Linear(B, 10) on [B, B], cross-entropy
    const B = Number(values.batch);
    const net = new tg.nn.Sequential(
      new tg.nn.Linear(B, B, { seed: 1 }),
      new tg.nn.ReLU(),
      new tg.nn.Linear(B, 10, { seed: 2 }),
    );
    return classifier(net, tg.randn([B, B], { seed: 3 }));
  }
  const x = tg.tensor(
    Float32Array.from({ length: BATCH * 784 }, (_, i) => ((i * 7919) % 1000) / 1000),
    { shape: model === 'cnn' ? [BATCH, 28, 28, 1] : [BATCH, 784] },
  );
  return classifier(model === 'cnn' ? makeCnn() : makeMlp(), x);
}

/** A 10-class classifier's Adam step on the batch x, whose rows are labelled 0, 1, …, 9, 0, 1, … */
function classifier(net: tg.nn.Module, x: tg.Tensor): ReturnType<typeof setup> {
  const y = tg.tensor(
    Array.from({ length: x.shape[0] }, (_, i) => i % 10),
    { dtype: 'int32' },
  );
  return {
    net,
    opt: new tg.optim.Adam(net.parameters(), { lr: 1e-3 }),
    loss: () => tg.nn.crossEntropy(net.forward(x), y),
    data: [x, y],
  };
}
const { net, opt, loss: lossOf, data } = setup();

// Every kernel TF.js's engine runs passes through runKernelFunc: timed there while `phase` is set,
// the outermost named one only (an op with a custom gradient wraps its kernel in an unnamed call).
type Engine = { runKernelFunc: (p: { kernelName?: string; inputs?: Record<string, tf.Tensor> }) => unknown };
const engine = tf.engine() as unknown as Engine;
const run = engine.runKernelFunc.bind(engine);
let phase: string | null = null;
let inKernel = false;
const kernels = new Map<string, { ms: number; cpuMs: number; calls: number }>();
engine.runKernelFunc = (p) => {
  if (!phase || !p.kernelName || inKernel) return run(p);
  const t = process.cpuUsage();
  const wall = performance.now();
  inKernel = true;
  let out: unknown;
  try {
    out = run(p);
  } finally {
    inKernel = false;
  }
  const shapes = Object.values(p.inputs ?? {})
    .map((v) => (v ? `[${v.shape.join(',')}]${v.dtype === 'float32' ? '' : v.dtype}` : '-'))
    .join(' ');
  const key = `${phase}\t${p.kernelName}\t${shapes}`;
  const k = kernels.get(key) ?? { ms: 0, cpuMs: 0, calls: 0 };
  k.ms += performance.now() - wall;
  k.cpuMs += cpuMs(t);
  k.calls++;
  kernels.set(key, k);
  return out;
};

/** A clock of both times since it was made: [wall-clock, CPU] ms. */
function clock(): () => [number, number] {
  const wall = performance.now();
  const cpu = process.cpuUsage();
  return () => [performance.now() - wall, cpuMs(cpu)];
}

/** One step: [forward, backward, optimizer, whole] as [wall, CPU] ms; with `profile`, kernels are recorded. */
function step(profile: boolean): [number, number][] {
  const now = clock();
  const marks: [number, number][] = [];
  const loss = tg.tidy(() => {
    phase = profile ? 'forward' : null;
    const l = lossOf();
    marks.push(now());
    opt.zeroGrad();
    phase = profile ? 'backward' : null;
    l.backward();
    marks.push(now());
    phase = profile ? 'optimizer' : null;
    opt.step();
    return l;
  });
  loss.dataSync();
  phase = null;
  loss.dispose();
  const whole = now();
  const diff = (a: [number, number], b: [number, number]): [number, number] => [a[0] - b[0], a[1] - b[1]];
  return [marks[0], diff(marks[1], marks[0]), diff(whole, marks[1]), whole];
}

for (let i = 0; i < 2; i++) step(false);
const times = Array.from({ length: steps }, () => step(false));
const forwardOnly = Array.from({ length: steps }, () => {
  const now = clock();
  const l = tg.noGrad(() => tg.tidy(lossOf));
  l.dataSync();
  l.dispose();
  return now();
});
for (let i = 0; i < steps; i++) step(true);

const f = (ms: number) => ms.toFixed(2);
/** Medians of wall-clock and CPU time, as "wall (CPU)". */
const both = (pairs: [number, number][]) =>
  `${f(median(pairs.map((p) => p[0])))} (${f(median(pairs.map((p) => p[1])))})`;
const col = (k: number) => times.map((t) => t[k]);
const ratio = (k: 0 | 1) => median(col(3).map((p) => p[k])) / median(forwardOnly.map((p) => p[k]));
const rows = [...kernels.entries()].sort((a, b) => b[1].ms - a[1].ms);
const inKernels = rows.reduce((s, [, v]) => s + v.ms, 0) / steps;
const threads = tg.getBackend() === 'wasm' ? `, ${tg.getThreads()} thread(s)` : '';
console.log(`${model} step on ${tg.getBackend()}${threads}: ms wall-clock (CPU), medians of ${steps} steps\n`);
console.log('| forward | backward | optimizer | step | forward alone (noGrad) | step / forward alone | in kernels |');
console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
console.log(
  `| ${both(col(0))} | ${both(col(1))} | ${both(col(2))} | ${both(col(3))} | ${both(forwardOnly)} | ` +
    `${ratio(0).toFixed(1)} (${ratio(1).toFixed(1)}) | ${f(inKernels)} |\n`,
);
console.log('| phase | kernel | inputs | ms a step | CPU ms a step | calls a step |');
console.log('| --- | --- | --- | ---: | ---: | ---: |');
for (const [key, v] of rows.slice(0, Number(values.rows))) {
  const [p, name, shapes] = key.split('\t');
  console.log(`| ${p} | ${name} | ${shapes} | ${f(v.ms / steps)} | ${f(v.cpuMs / steps)} | ${v.calls / steps} |`);
}
opt.dispose();
net.dispose();
tg.dispose(data);
