// Memory soak, short: 1,000 training steps and a few hundred repeated transform calls must keep
// tg.memory() flat and leave nothing behind (scripts/soak.ts runs 10,000).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../src/index.js';
import { WORKLOADS, plantLeak, soak } from './soak/workloads.js';

const STEPS = 1000;

for (const w of WORKLOADS) {
  const n = Math.max(50, Math.round(STEPS * w.scale));
  test(`${w.name}: ${n} steps keep numTensors and numBytes flat`, async () => {
    const r = await soak(w, n, 5);
    const s = r.samples.map((x) => `${x.numTensors}/${x.numBytes}`).join(' → ');
    assert.not.ok(r.grew, `memory grew: ${s}`);
    assert.equal(r.residue, { numTensors: 0, numBytes: 0 }, 'left tensors behind after teardown');
  });
}

test('a planted leak (one tensor every 20 steps) is caught', async () => {
  const kept: tg.Tensor[] = [];
  const r = await soak(WORKLOADS.find((w) => w.name === 'mlp+manual-sgd')!, 200, 5, plantLeak(20, kept));
  assert.ok(r.grew, 'the growth is seen');
  assert.is(r.residue.numTensors, 10);
  tg.dispose(kept);
});

test.run();
