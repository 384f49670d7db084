// The MNIST CNN's training step (examples/mnist.ts's model, batch 64, Adam, wasm) with each lever
// turned off and on by its switch in one process: rounds of a few steps with the lever off, then
// on, interleaved, and the medians of each round's wall-clock and process CPU ms a step. On a loaded
// machine, the load moves both; the ratio of interleaved medians is what to read.
//
//   node --import tsx benchmarks/cnn-levers.ts [--rounds 12] [--steps 4] [--threads n] [--lever name ...]
//
// On a shared machine, `chrt -f 5` before the command runs it at real-time priority, the cores its
// own for the few seconds it takes (the other jobs wait): the nearest to a quiet machine.
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import * as tg from '../src/index.js';
import {
  setChunkSharing,
  setHelperSpin,
  setSharedBatchNorm,
  setSharedGrads,
  setSimdMaxPool,
  setSimdPad,
  setSimdRelu,
  setWinogradConv,
  setWinogradFilterGrad,
} from '../src/testing.js';
import { makeCnn } from '../examples/lib/mnist.js';
import { median } from './harness.js';

const LEVERS: Record<string, (on: boolean) => void> = {
  'chunk-sharing': setChunkSharing,
  'spin before sleeping': setHelperSpin,
  'shared relu and max-pool backward': setSharedGrads,
  'shared batch norm': setSharedBatchNorm,
  'relu forward in SIMD, shared': setSimdRelu,
  'x padded in SIMD': setSimdPad,
  '3×3 convolutions in the Winograd form': setWinogradConv,
  'max-pool forward in SIMD': setSimdMaxPool,
  '3×3 filter gradients in the Winograd form': setWinogradFilterGrad,
};
LEVERS['all of the above'] = (on) => {
  for (const set of Object.values(LEVERS)) if (set !== LEVERS['all of the above']) set(on);
};

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '12' },
    steps: { type: 'string', default: '4' },
    lever: { type: 'string', multiple: true },
    threads: { type: 'string' },
  },
});
const chosen = values.lever ?? Object.keys(LEVERS);
for (const name of chosen) if (!LEVERS[name]) throw new Error(`--lever is one of ${Object.keys(LEVERS).join(', ')}`);
await tg.setBackend('wasm');
if (values.threads) await tg.setThreads(Number(values.threads));

const BATCH = 64;
const x = tg.tensor(
  Float32Array.from({ length: BATCH * 784 }, (_, i) => ((i * 7919) % 1000) / 1000),
  { shape: [BATCH, 28, 28, 1] },
);
const y = tg.tensor(
  Array.from({ length: BATCH }, (_, i) => i % 10),
  { dtype: 'int32' },
);
const net = makeCnn();
const opt = new tg.optim.Adam(net.parameters(), { lr: 1e-3 });
const step = () => {
  const loss = tg.tidy(() => {
    const l = tg.nn.crossEntropy(net.forward(x), y);
    opt.zeroGrad();
    l.backward();
    opt.step();
    return l;
  });
  loss.dataSync();
  loss.dispose();
};
/** [wall-clock, CPU] ms a step over `steps` steps. */
const round = (steps: number): [number, number] => {
  const cpu = process.cpuUsage();
  const wall = performance.now();
  for (let i = 0; i < steps; i++) step();
  const u = process.cpuUsage(cpu);
  return [(performance.now() - wall) / steps, (u.user + u.system) / 1000 / steps];
};

for (let i = 0; i < 5; i++) step();
const rounds = Number(values.rounds);
const steps = Number(values.steps);
const f = (v: number) => v.toFixed(2);
const load = () => loadavg()[0].toFixed(1);
console.log(`MNIST CNN step on wasm, ${tg.getThreads()} thread(s), ms a step, medians of ${rounds} rounds of ${steps}`);
console.log('\n| lever | wall off | wall on | wall gain | CPU off | CPU on | CPU gain | load |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const name of chosen) {
  const start = load();
  const off: [number, number][] = [];
  const on: [number, number][] = [];
  for (let r = 0; r < rounds; r++) {
    LEVERS[name](false);
    off.push(round(steps));
    LEVERS[name](true);
    on.push(round(steps));
  }
  const m = (v: [number, number][], k: 0 | 1) => median(v.map((p) => p[k]));
  console.log(
    `| ${name} | ${f(m(off, 0))} | ${f(m(on, 0))} | ${(m(off, 0) / m(on, 0)).toFixed(2)}× | ${f(m(off, 1))} | ` +
      `${f(m(on, 1))} | ${(m(off, 1) / m(on, 1)).toFixed(2)}× | ${start}–${load()} |`,
  );
}
opt.dispose();
net.dispose();
tg.dispose([x, y]);
