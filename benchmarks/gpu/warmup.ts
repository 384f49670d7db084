// How a tapegrad process reaches its speed on webgpu (Dawn): the MLP Adam step of the GPU check,
// timed in rounds of 20 pipelined steps from the first step on — for a fresh model (A), then a
// second fresh model of the same shapes (B), then one of other shapes (C). If B starts as fast as
// A ends, the warm-up belongs to the process (JavaScript's JIT, its heap), not to the model.
//
//   bash scripts/gpu-bundle.sh                               # here: bundles .gpu/warmup.mjs
//   bash .gpu/run.sh warmup.mjs [B] [--quick]                # there; JSON to $OUT
// --quick (a dry run on a software adapter): rounds of 5 steps, a fifth as many rounds.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startGpuScript } from './gpu-script.js';
const { mlpAdamStep, pipelinedRound } = await import('./mlp-step.js');

const B = Number(process.argv[2] ?? 1024);
const quick = process.argv.includes('--quick');
const roundSteps = quick ? 5 : 20;
const scaled = (n: number) => (quick ? Math.max(2, Math.ceil(n / 5)) : n);
const { gpu, date } = await startGpuScript('warmup');

/** ms per step, per round of 20 pipelined steps, for a fresh D → D → 10 MLP on D samples. */
async function rounds(D: number, n: number): Promise<number[]> {
  const { step, dispose } = mlpAdamStep(D, D, D);
  const out: number[] = [];
  for (let r = 0; r < scaled(n); r++) out.push(+(await pipelinedRound(step, roundSteps)).ms.toFixed(3));
  dispose();
  return out;
}

const result = {
  gpu,
  date,
  batch: B,
  roundSteps,
  nodeOptions: process.env.NODE_OPTIONS ?? '',
  A: await rounds(B, 40),
  B: await rounds(B, 15),
  C: await rounds(B / 2, 15),
};
for (const k of ['A', 'B', 'C'] as const) console.log(`${k}: ${result[k].join(' ')}`);
const dir = process.env.OUT ?? '.';
mkdirSync(dir, { recursive: true });
writeFileSync(
  join(
    dir,
    `warmup-${B}${process.env.NODE_OPTIONS ? '-' + process.env.NODE_OPTIONS.replace(/[^a-z0-9]+/gi, '') : ''}.json`,
  ),
  JSON.stringify(result, null, 1) + '\n',
);
process.exit(0);
