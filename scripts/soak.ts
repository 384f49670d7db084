// Memory soak: runs each workload (an MLP trained with tg.nn + Adam, a model with every newer
// tg.nn layer (convolutions, pools, resampling, norms, attention, recurrent), the same MLP with a
// hand-written SGD step, nested grad, jacobian, hessian, gradcheck) for many steps and prints
// numTensors and numBytes every tenth of the run. Exits 1 if either grows after the first sample,
// or if a workload leaves tensors behind after its teardown.
//   node --import tsx scripts/soak.ts [--steps 10000] [--only jacobian] [--backend cpu] [--plant-leak]
import * as tg from '../src/index.js';
import { WORKLOADS, plantLeak, soak } from '../test/soak/workloads.js';
import { progress } from './progress.js';

const arg = (name: string, dflt?: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? '') : dflt;
};
const steps = Number(arg('steps', '10000'));
const only = arg('only');
const backend = (arg('backend') ?? tg.getBackend()) as tg.BackendName;
const leak = process.argv.includes('--plant-leak');
await tg.setBackend(backend);
console.log(
  `memory soak on ${backend}: ${steps} MLP steps (fewer for the slower workloads)${leak ? ', with a planted leak' : ''}`,
);

let failed = false;
for (const w of WORKLOADS.filter((w) => !only || w.name.includes(only))) {
  const n = Math.max(10, Math.round(steps * w.scale));
  const planted = leak ? plantLeak(100) : undefined;
  const bar = progress(w.name, n);
  const r = await soak(
    w,
    n,
    10,
    (i) => {
      planted?.(i);
      bar.tick();
    },
    console.log,
  );
  bar.done();
  const first = r.samples[0];
  const last = r.samples[r.samples.length - 1];
  const verdict = r.grew || r.residue.numTensors !== 0 ? 'FAIL' : 'flat';
  if (verdict === 'FAIL') failed = true;
  console.log(
    `${verdict}: ${w.name}, ${n} steps in ${(r.ms / 1000).toFixed(1)} s; numTensors ${first.numTensors} → ${last.numTensors}, numBytes ${first.numBytes} → ${last.numBytes}; left after teardown: ${r.residue.numTensors} tensors, ${r.residue.numBytes} bytes\n`,
  );
}
process.exit(failed ? 1 : 0);
