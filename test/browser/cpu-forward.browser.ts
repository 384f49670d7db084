// The reductions under TF.js's default flags. The other browser suites turn WEBGL_CPU_FORWARD and
// WEBGPU_CPU_FORWARD off so that every op runs on the GPU's kernels; a user keeps TF.js's default,
// under which small CPU-resident inputs are computed by TF.js's CPU kernels. Those paths have their
// own bugs: TF.js 4.22's webgpu Prod drops keepDims there (benchmarks/gpu/gpu-check.ts runs it on a GPU).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../../src/index.js';
import { cases, flatCases } from '../op-cases.js';

const forwarding = suite('reductions with TF.js CPU forwarding on (its default)');
const FLAGS = ['WEBGL_CPU_FORWARD', 'WEBGPU_CPU_FORWARD'];
let saved: boolean[] = [];
forwarding.before(() => {
  saved = FLAGS.map((f) => tf.env().getBool(f));
  FLAGS.forEach((f) => tf.env().set(f, true));
});
forwarding.after(() => FLAGS.forEach((f, i) => tf.env().set(f, saved[i])));

forwarding('prod keeps its reduced dimensions as 1s', async () => {
  const x = tg.tensor([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], { shape: [2, 3, 2] });
  const y = tg.prod(x, { axis: [0, -1], keepDims: true });
  assert.equal(y.shape, [1, 3, 1]);
  assert.equal(Array.from(await y.data()), [1 * 2 * 7 * 8, 3 * 4 * 9 * 10, 5 * 6 * 11 * 12]);
  tg.dispose([x, y]);
});

const REDUCTIONS = /^(sum|mean|prod|max|min|logSumExp|variance|std|norm)(#|$)/;
for (const [label, c] of flatCases(cases).filter(([l]) => REDUCTIONS.test(l))) {
  forwarding(label, async () => {
    const before = tg.memory().numTensors;
    const xs = c.make(1);
    try {
      const r = await tg.gradcheck(c.f, xs, { ...c.tol, mode: 'full' });
      assert.ok(r.ok, `${r.failures}/${r.comparisons} entries off; worst ${JSON.stringify(r.worst)}`);
    } finally {
      tg.dispose(xs);
    }
    assert.is(tg.memory().numTensors, before, 'tensors leaked');
  });
}

forwarding.run();
