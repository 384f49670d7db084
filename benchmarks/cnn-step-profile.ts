// Where one training step of examples/mnist.ts's CNN goes (batch 64, Adam), on a CPU backend:
// the step's CPU time split into forward, backward and optimizer, the forward alone (no tape), and
// every TF.js kernel the step runs, by phase, name and input shapes, with its CPU time and count
// (process CPU time, which a loaded machine inflates less than wall-clock). What the step takes
// beyond its kernels is tapegrad's and TF.js's per-op work. A markdown table on stdout.
//
//   node --import tsx benchmarks/cnn-step-profile.ts [--backend wasm] [--steps 9] [--rows 30]
import * as tf from '@tensorflow/tfjs-core';
import { parseArgs } from 'node:util';
import * as tg from '../src/index.js';
import { makeCnn } from '../examples/lib/mnist.js';
import { median } from './harness.js';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    steps: { type: 'string', default: '9' },
    rows: { type: 'string', default: '30' },
  },
});
await tg.setBackend(values.backend as tg.BackendName);
const BATCH = 64;
const steps = Number(values.steps);

const cpuMs = (since: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
};

const net = makeCnn();
const opt = new tg.optim.Adam(net.parameters(), { lr: 1e-3 });
const x = tg.tensor(
  Float32Array.from({ length: BATCH * 784 }, (_, i) => ((i * 7919) % 1000) / 1000),
  { shape: [BATCH, 28, 28, 1] },
);
const y = tg.tensor(
  Array.from({ length: BATCH }, (_, i) => i % 10),
  { dtype: 'int32' },
);

// Every kernel TF.js's engine runs passes through runKernelFunc: timed there while `phase` is set,
// the outermost named one only (an op with a custom gradient wraps its kernel in an unnamed call).
type Engine = { runKernelFunc: (p: { kernelName?: string; inputs?: Record<string, tf.Tensor> }) => unknown };
const engine = tf.engine() as unknown as Engine;
const run = engine.runKernelFunc.bind(engine);
let phase: string | null = null;
let inKernel = false;
const kernels = new Map<string, { ms: number; calls: number }>();
engine.runKernelFunc = (p) => {
  if (!phase || !p.kernelName || inKernel) return run(p);
  const t = process.cpuUsage();
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
  const k = kernels.get(key) ?? { ms: 0, calls: 0 };
  k.ms += cpuMs(t);
  k.calls++;
  kernels.set(key, k);
  return out;
};

/** One step: [forward, backward, optimizer, whole] CPU ms; with `profile`, kernels are recorded. */
function step(profile: boolean): number[] {
  const t = process.cpuUsage();
  const marks: number[] = [];
  const loss = tg.tidy(() => {
    phase = profile ? 'forward' : null;
    const l = tg.nn.crossEntropy(net.forward(x), y);
    marks.push(cpuMs(t));
    opt.zeroGrad();
    phase = profile ? 'backward' : null;
    l.backward();
    marks.push(cpuMs(t));
    phase = profile ? 'optimizer' : null;
    opt.step();
    return l;
  });
  loss.dataSync();
  phase = null;
  loss.dispose();
  const whole = cpuMs(t);
  return [marks[0], marks[1] - marks[0], whole - marks[1], whole];
}

for (let i = 0; i < 2; i++) step(false);
const times = Array.from({ length: steps }, () => step(false));
const forwardOnly = Array.from({ length: steps }, () => {
  const t = process.cpuUsage();
  const l = tg.noGrad(() => tg.tidy(() => tg.nn.crossEntropy(net.forward(x), y)));
  l.dataSync();
  l.dispose();
  return cpuMs(t);
});
for (let i = 0; i < steps; i++) step(true);

const col = (k: number) => median(times.map((t) => t[k]));
const f = (ms: number) => ms.toFixed(2);
const rows = [...kernels.entries()].sort((a, b) => b[1].ms - a[1].ms);
const inKernels = rows.reduce((s, [, v]) => s + v.ms, 0) / steps;
console.log(`CNN step on ${tg.getBackend()}, batch ${BATCH}: CPU ms, medians of ${steps} steps\n`);
console.log('| forward | backward | optimizer | step | forward alone (noGrad) | step / forward alone | in kernels |');
console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
console.log(
  `| ${f(col(0))} | ${f(col(1))} | ${f(col(2))} | ${f(col(3))} | ${f(median(forwardOnly))} | ` +
    `${(col(3) / median(forwardOnly)).toFixed(1)} | ${f(inKernels)} |\n`,
);
console.log('| phase | kernel | inputs | CPU ms a step | calls a step |');
console.log('| --- | --- | --- | ---: | ---: |');
for (const [key, v] of rows.slice(0, Number(values.rows))) {
  const [p, name, shapes] = key.split('\t');
  console.log(`| ${p} | ${name} | ${shapes} | ${f(v.ms / steps)} | ${v.calls / steps} |`);
}
opt.dispose();
net.dispose();
tg.dispose([x, y]);
