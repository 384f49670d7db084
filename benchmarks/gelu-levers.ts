// gelu's levers on wasm, each switched off and on in one process (CPU time, medians of interleaved
// rounds): the float32 SIMD lanes against the float64 ones (`setGeluFloat32`), and the forward writing
// the derivative that the adjoint then multiplies by (`setFusedEnabled(·, 'geluWithDerivative')`).
// Measured on the kernels alone ([128, 16, 256], the words transformer's feed-forward activation) and
// on the whole training step of examples/words.ts's transformer (128 words, AdamW). Markdown on stdout.
//
//   node --import tsx benchmarks/gelu-levers.ts [--rounds 7] [--steps 3] [--threads 1]
import * as tf from '@tensorflow/tfjs-core';
import { parseArgs } from 'node:util';
import * as tg from '../src/index.js';
import * as fused from '../src/backend/fused.js';
import { setFusedEnabled, setGeluFloat32 } from '../src/testing.js';
import { Transformer, maskedNll, rowTensors } from '../examples/lib/words.js';
import { median } from './harness.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    steps: { type: 'string', default: '3' },
    threads: { type: 'string', default: '1' },
  },
});
await tg.setBackend('wasm');
await tg.setThreads(Number(values.threads));
const rounds = Number(values.rounds);

/** CPU ms of fn (this process, every thread). */
function cpuMs(fn: () => void): number {
  const t = process.cpuUsage();
  fn();
  const u = process.cpuUsage(t);
  return (u.user + u.system) / 1000;
}

interface Setting {
  name: string;
  float32: boolean;
  derivative: boolean;
}
const SETTINGS: Setting[] = [
  { name: 'float64 lanes, adjoint kernel', float32: false, derivative: false },
  { name: 'float32 lanes, adjoint kernel', float32: true, derivative: false },
  { name: 'float32 lanes, derivative saved', float32: true, derivative: true },
];
const apply = (s: Setting) => {
  setGeluFloat32(s.float32);
  setFusedEnabled(s.derivative, 'geluWithDerivative');
};

// the kernels alone: forward and adjoint as one training step calls them
const x = tf.randomNormal([128, 16, 256], 0, 2, 'float32', 1);
const dy = tf.randomNormal([128, 16, 256], 0, 1, 'float32', 2);
const kernelPass = (s: Setting) => {
  if (s.derivative) {
    const [y, d] = fused.geluWithDerivative(x);
    tf.dispose([y, d, tf.mul(dy, d)]);
  } else tf.dispose([fused.gelu(x), fused.geluGrad(dy, x)]);
};
// the whole step
const WORDS = ['apple', 'banana', 'cherry', 'dog', 'elephant', 'fig', 'grape', 'hippopotamus'];
const net = new Transformer();
const r = rowTensors(Array.from({ length: 128 }, (_, i) => WORDS[i % WORDS.length]));
const opt = new tg.optim.AdamW(net.parameters(), { lr: 3e-3 });
const step = () =>
  tg.tidy(() => {
    opt.zeroGrad();
    maskedNll(net.forward(r.x), r.y, r.mask).backward();
    opt.step();
  });

const kernelMs = SETTINGS.map(() => [] as number[]);
const stepMs = SETTINGS.map(() => [] as number[]);
for (const s of SETTINGS) {
  apply(s);
  kernelPass(s);
  step();
}
for (let round = 0; round < rounds; round++) {
  SETTINGS.forEach((s, i) => {
    apply(s);
    kernelMs[i].push(cpuMs(() => kernelPass(s)));
    stepMs[i].push(
      cpuMs(() => {
        for (let k = 0; k < Number(values.steps); k++) step();
      }) / Number(values.steps),
    );
  });
}
apply(SETTINGS[SETTINGS.length - 1]);
const load = (await import('node:os')).loadavg()[0].toFixed(1);
const entries = x.size;
console.log(
  `gelu's levers, wasm, ${values.threads} thread(s), CPU time, medians of ${rounds} rounds; load average ${load}\n`,
);
console.log('| setting | kernels, ms (ns an entry) | step, ms | step ÷ first |');
console.log('| --- | --- | --- | --- |');
const first = median(stepMs[0]);
SETTINGS.forEach((s, i) => {
  const k = median(kernelMs[i]);
  const st = median(stepMs[i]);
  console.log(
    `| ${s.name} | ${k.toFixed(2)} (${((k * 1e6) / entries).toFixed(2)}) | ${st.toFixed(1)} | ${(first / st).toFixed(2)}× |`,
  );
});
tf.dispose([x, dy]);
