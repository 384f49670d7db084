// The small training steps, each lever switched off and on between interleaved rounds in one
// process: examples/mnist.ts's MLP (Adam, batches of 64 from the DataLoader) and the cpu suite's
// Adam step at B = 64 and 256 (eager, and compiled whole). Prints, per workload and lever, the
// medians of wall-clock and CPU ms a step with the lever off and on, and their ratios; checks that
// the losses are the same bits both ways (the levers that change the arithmetic, arithmeticLevers,
// are marked so).
//
//   node --import tsx benchmarks/small-steps.ts [--threads 1|2] [--rounds 9] [--steps 20]
//        [--work mlp,adam64,adam256,compiled64,compiled256] [--levers a,b] [--profile-steps n]
import { parseArgs } from 'node:util';
import * as tg from '../src/index.js';
import { digitTensors, makeMlp, mnistSplit } from '../examples/lib/mnist.js';
import { loadMnist } from '../examples/lib/mnist-node.js';
import { trainingStep } from '../examples/lib/train.js';
import { compiledMlpAdamStep, mlpAdamStep } from './gpu/mlp-step.js';
import { endlessBatches } from './common.js';
import { median } from './harness.js';
import { arithmeticLevers, smallStepLevers } from '../src/testing.js';

const { values } = parseArgs({
  options: {
    threads: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '9' },
    steps: { type: 'string', default: '20' },
    work: { type: 'string', default: 'mlp,adam64,adam256,compiled64,compiled256' },
    levers: { type: 'string' },
    'profile-steps': { type: 'string' },
  },
});
await tg.setBackend('wasm');
await tg.setThreads(Number(values.threads));

interface Work {
  step: () => tg.Tensor;
  dispose: () => void;
}

function mnistMlp(): Work {
  const digits = loadMnist();
  const { x, y } = digitTensors(digits, mnistSplit().train, true);
  const net = makeMlp();
  const opt = new tg.optim.Adam(net.parameters(), { lr: 1e-3 });
  const loader = new tg.data.DataLoader(new tg.data.TensorDataset(x, y), { batchSize: 64, shuffle: true, seed: 1 });
  const batches = endlessBatches(loader);
  return {
    step: () => {
      const [xb, yb] = batches.next();
      return trainingStep(opt, () => tg.nn.crossEntropy(net.forward(xb), yb));
    },
    dispose: () => {
      batches.stop();
      opt.dispose();
      net.dispose();
      tg.dispose([x, y]);
    },
  };
}

const makers: Record<string, () => Work> = {
  mlp: mnistMlp,
  adam64: () => mlpAdamStep(64, 64, 64),
  adam256: () => mlpAdamStep(256, 256, 256),
  compiled64: () => compiledMlpAdamStep(64, 64, 64),
  compiled256: () => compiledMlpAdamStep(256, 256, 256),
};

const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;
const steps = Number(values.steps);

/** n steps, each loss read synchronously; [wall, CPU] ms a step and the losses. */
function round(w: Work, n: number): { wall: number; cpu: number; losses: number[] } {
  const losses: number[] = [];
  const c = process.cpuUsage();
  const t = performance.now();
  for (let i = 0; i < n; i++) {
    const l = w.step();
    losses.push((l.dataSync() as Float32Array)[0]);
    l.dispose();
  }
  return { wall: (performance.now() - t) / n, cpu: cpuMs(process.cpuUsage(c)) / n, losses };
}

const profileSteps = values['profile-steps'];
if (profileSteps) {
  // a steady run for node --cpu-prof: warm-up, then a mark, then the steps
  for (const name of values.work.split(',')) {
    const w = makers[name]();
    round(w, 20);
    console.log(`profile-mark ${name} ${performance.timeOrigin + performance.now()}`);
    const r = round(w, Number(profileSteps));
    console.log(`${name}: ${r.wall.toFixed(3)} ms wall, ${r.cpu.toFixed(3)} ms CPU a step`);
    w.dispose();
  }
  process.exit(0);
}

const levers = { ...smallStepLevers, ...arithmeticLevers };
const leverNames = values.levers ? values.levers.split(',') : Object.keys(levers);
const f = (x: number) => x.toFixed(3);
const { loadavg: uptime } = await import('node:os');
console.log(
  `threads ${tg.getThreads()}, load average ${uptime()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
console.log('| workload | lever | wall off | wall on | wall × | CPU off | CPU on | CPU × | same bits |');
console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
// V8 optimises the code the steps share over the first few hundred steps: run them before any round
for (const name of values.work.split(',')) {
  const w = makers[name]();
  round(w, name === 'mlp' || name.endsWith('256') ? 100 : 400);
  w.dispose();
}
for (const lever of [...leverNames, 'all']) {
  const set = (on: boolean) => {
    for (const [name, sw] of Object.entries(levers)) sw(lever === 'all' || lever === name ? on : true);
  };
  for (const name of values.work.split(',')) {
    // two copies of the same problem, one stepped with the lever off, one with it on: their losses must agree
    const off = makers[name]();
    const on = makers[name]();
    const times = { off: [] as { wall: number; cpu: number }[], on: [] as { wall: number; cpu: number }[] };
    const losses = { off: [] as number[], on: [] as number[] };
    // warm-up rounds (V8 optimises both paths), then rounds in the order off, on, on, off, …
    const warm = 3;
    for (let r = -warm; r < Number(values.rounds); r++) {
      for (const which of (r & 1) === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
        set(which === 'on');
        const res = round(which === 'on' ? on : off, steps);
        if (r >= 0) times[which].push(res);
        losses[which].push(...res.losses);
      }
    }
    const same = losses.off.every((v, i) => Object.is(v, losses.on[i]));
    set(true);
    off.dispose();
    on.dispose();
    const m = (which: 'off' | 'on', k: 'wall' | 'cpu') => median(times[which].map((t) => t[k]));
    const cells = (k: 'wall' | 'cpu') =>
      `${f(m('off', k))} | ${f(m('on', k))} | ${(m('off', k) / m('on', k)).toFixed(2)}×`;
    const expected = lever === 'all' || lever in arithmeticLevers ? ' (the arithmetic changes)' : '';
    console.log(`| ${name} | ${lever} | ${cells('wall')} | ${cells('cpu')} | ${same ? 'yes' : 'NO'}${expected} |`);
  }
}
console.log(
  `load average ${uptime()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
