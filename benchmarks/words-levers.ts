// The words transformer's levers on wasm, each switched off and on in one process: AdamW steps of
// examples/words.ts's transformer on real batches of 128 words (the same few batches in turn), in
// interleaved rounds (off, on, on, off, …), a copy of the model for each side so that both step the
// same weights; the losses of the two copies compared at every round (the levers keep the bits).
// CPU time of the process and wall-clock, medians over the rounds. Markdown on stdout.
//
//   node --import tsx benchmarks/words-levers.ts [--rounds 9] [--steps 4] [--threads 1] [--lever name]
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import * as tg from '../src/index.js';
import { setFusedEnabled, setNarrowLeftInPlace, setSharedGradientHandles } from '../src/testing.js';
import { setSharedLayerNorm } from '../kernels/wasm-simd-layer-norm.js';
import { setSharedBatchMatMul } from '../kernels/batch-matmul.js';
import { setSharedScaledSoftmax } from '../kernels/wasm-simd-scaled-softmax.js';
import { setSharedSoftmaxGrad } from '../kernels/wasm-simd-softmax-grad.js';
import { Transformer, maskedNll, rowTensors } from '../examples/lib/words.js';
import { median } from './harness.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '9' },
    steps: { type: 'string', default: '4' },
    threads: { type: 'string', default: '1' },
    lever: { type: 'string' },
  },
});
await tg.setBackend('wasm');
await tg.setThreads(Number(values.threads));
const rounds = Number(values.rounds);
const steps = Number(values.steps);

/** A lever: its name and its switch. */
interface Lever {
  name: string;
  set: (on: boolean) => void;
  /** Leaves the switch as the library has it, where that is not on. */
  after?: () => void;
}
const LEVERS: Lever[] = [
  {
    name: "the tape's second handle on a gradient (add's adjoint) sharing its values rather than a copy",
    set: setSharedGradientHandles,
  },
  {
    name: 'weight gradients xᵀ·g reading a narrow x in place (rows of ≤ 256 entries; kept where g is wider)',
    set: setNarrowLeftInPlace,
  },
  {
    name: 'self-attention as one op, forward and backward kernels (kernels/self-attention.ts)',
    set: (on) => {
      setFusedEnabled(on, 'selfAttention');
      setFusedEnabled(on, 'selfAttentionGrad');
    },
  },
  {
    name: 'layer norm shared with the helper thread (rows forward, groups backward; --threads 2)',
    set: setSharedLayerNorm,
  },
  {
    name: "attention's products, softmax and its adjoint shared with the helper thread (--threads 2)",
    set: (on) => {
      setSharedBatchMatMul(on);
      setSharedScaledSoftmax(on);
      setSharedSoftmaxGrad(on);
    },
    // off by default (kernels/batch-matmul.ts): measured here on demand
    after: () => {
      setSharedBatchMatMul(false);
      setSharedScaledSoftmax(false);
      setSharedSoftmaxGrad(false);
    },
  },
];

const all: string[] = JSON.parse(
  readFileSync(createRequire(import.meta.url).resolve('an-array-of-english-words/index.json'), 'utf8'),
);
// four batches of 128 words spread over the list
const batches = Array.from({ length: 4 }, (_, b) =>
  rowTensors(Array.from({ length: 128 }, (_, i) => all[(((b * 128 + i) * 7919) % all.length) | 0])),
);

/** A model and its optimizer, stepping through the batches in turn. */
function learner() {
  const net = new Transformer();
  const opt = new tg.optim.AdamW(net.parameters(), { lr: 3e-3 });
  let at = 0;
  const step = (): number => {
    const r = batches[at++ % batches.length];
    const loss = tg.tidy(() => {
      opt.zeroGrad();
      const l = maskedNll(net.forward(r.x), r.y, r.mask);
      l.backward();
      opt.step();
      return l;
    });
    const v = loss.item();
    loss.dispose();
    return v;
  };
  return { step, dispose: () => (opt.dispose(), net.dispose()) };
}

/** [CPU ms, wall ms] a step over `steps` steps, and the last loss. */
function timed(step: () => number): [number, number, number] {
  const t = process.cpuUsage();
  const wall = performance.now();
  let loss = 0;
  for (let k = 0; k < steps; k++) loss = step();
  const u = process.cpuUsage(t);
  return [(u.user + u.system) / 1000 / steps, (performance.now() - wall) / steps, loss];
}

const load = () => loadavg()[0].toFixed(1);
console.log(
  `words transformer levers, wasm, ${values.threads} thread(s), medians of ${rounds} rounds of ${steps} steps; ` +
    `load average ${load()} at the start\n`,
);
console.log('| lever | off: CPU ms (wall) | on: CPU ms (wall) | × CPU | × wall | losses same bits |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const lever of LEVERS.filter((l) => !values.lever || l.name.includes(values.lever))) {
  const sides = [learner(), learner()];
  const ms = [
    { cpu: [] as number[], wall: [] as number[] },
    { cpu: [] as number[], wall: [] as number[] },
  ];
  let same = true;
  const losses: number[][] = [[], []];
  for (let round = 0; round < rounds + 1; round++) {
    const order = round % 2 ? [1, 0] : [0, 1];
    for (const side of order) {
      lever.set(side === 1);
      const [cpu, wall, loss] = timed(sides[side].step);
      losses[side].push(loss);
      // the first round warms up
      if (round > 0) {
        ms[side].cpu.push(cpu);
        ms[side].wall.push(wall);
      }
    }
    same &&= losses[0][round] === losses[1][round];
  }
  lever.set(true);
  lever.after?.();
  sides.forEach((s) => s.dispose());
  const [off, on] = ms.map((m) => [median(m.cpu), median(m.wall)]);
  const f = (x: number) => x.toFixed(1);
  console.log(
    `| ${lever.name} | ${f(off[0])} (${f(off[1])}) | ${f(on[0])} (${f(on[1])}) | ` +
      `${(off[0] / on[0]).toFixed(3)}× | ${(off[1] / on[1]).toFixed(3)}× | ${same ? 'yes' : 'no'} |`,
  );
}
console.log(`\nload average ${load()} at the end`);
tg.dispose(batches.flatMap((b) => [b.x, b.y, b.mask]));
