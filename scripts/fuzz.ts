// Longer gradient fuzzing than `npm test` runs: npm run fuzz -- --runs 500 --seed 7 [--backend cpu] [--order 2]
// (--order 2 checks gradients of gradients with tg.gradgradcheck, which reaches the adjoints' own adjoints).
// Prints the shrunk failing case as a runnable TypeScript snippet and exits 1 on a failure.
import fc from 'fast-check';
import * as tg from '../src/index.js';
import { propertyOf, minimize, runCase, snippet, type Case } from '../test/fuzz/gen.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : dflt;
};
const runs = Number(arg('runs', '200'));
const seed = Number(arg('seed', String(Date.now() % 1_000_000)));
const backend = arg('backend', 'wasm') as tg.BackendName;
const order = Number(arg('order', '1'));
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(seed) || (order !== 1 && order !== 2)) {
  console.error('usage: npm run fuzz -- [--runs N] [--seed S] [--backend wasm|cpu] [--order 1|2]');
  process.exit(2);
}
await tg.setBackend(backend);
console.log(`fuzzing ${runs} cases on ${backend}, seed ${seed}${order === 2 ? ', second order' : ''}`);
const t0 = performance.now();
const r = await fc.check(propertyOf(order as 1 | 2), { seed, numRuns: runs });
const secs = ((performance.now() - t0) / 1000).toFixed(1);
if (r.failed) {
  console.log(`FAILED after ${r.numRuns} cases (${r.numShrinks} shrinks, ${secs} s); reproduce with --seed ${seed} --runs ${runs}`);
  const smallest = await minimize(r.counterexample![0] as Case);
  console.log(snippet(smallest, await runCase(smallest)));
  process.exit(1);
}
console.log(`ok: ${r.numRuns} cases passed, ${r.numSkips} skipped near a kink (${secs} s)`);
