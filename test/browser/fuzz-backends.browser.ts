// The backends fuzzer (test/fuzz/backends.ts) in the browser: random op compositions and random
// tg.nn layers on the page's GPU backend (webgl or webgpu, every op on the GPU) against cpu in the
// same page, values and every gradient, and through tg.compile, whose replay must give the eager
// bits. Finite inputs: the shading languages leave NaN and ±∞ to the implementation.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import * as tg from '../../src/index.js';
import { backendsPropertyOf, layerBackendsPropertyOf } from '../fuzz/backends.js';

const fuzz = suite('backends fuzzer');
const RUNS = 60;
const SEED = 20261202;

/** Runs the property; a failure reports the case and what disagreed (fast-check's own message omits the latter here). */
async function check(property: fc.IAsyncPropertyWithHooks<unknown[]>): Promise<void> {
  const tested = tg.getBackend();
  const r = await fc.check(property, { seed: SEED, numRuns: RUNS, endOnFailure: true });
  if (r.failed)
    assert.unreachable(`seed ${SEED}, case ${r.numRuns}: ${(r.errorInstance as Error)?.message ?? r.errorInstance}`);
  assert.is(tg.getBackend(), tested);
}

fuzz(`${RUNS} random compositions agree with cpu, values and gradients`, async () => {
  await check(backendsPropertyOf(false, tg.getBackend() as 'webgl' | 'webgpu'));
});

fuzz(`${RUNS} random tg.nn layers agree with cpu, values and every gradient`, async () => {
  await check(layerBackendsPropertyOf(false, tg.getBackend() as 'webgl' | 'webgpu'));
});

fuzz.run();
