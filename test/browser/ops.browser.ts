// The op-registry gradcheck suite on the page's backend (webgl or webgpu): every case of
// test/op-cases.ts, full mode (every entry perturbed) on its small inputs, with gradcheck's
// default tolerances for the backend's float format (stated by the first test).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../../src/index.js';
import { floatPrecision } from '../../src/backend/index.js';
import { cases, compositeCases, flatCases } from '../op-cases.js';

const ops = suite('ops (gradcheck, full mode)');

/** Mantissa bits the backend keeps through a stored intermediate: the largest k with (1 + 2⁻ᵏ) − 1 ≠ 0. */
async function measuredMantissaBits(): Promise<number> {
  let bits = 0;
  for (let k = 1; k <= 30; k++) {
    const d = tf.tidy(() => tf.sub(tf.add(tf.scalar(1), tf.scalar(2 ** -k)), tf.scalar(1)));
    const diff = (await d.data())[0]; // never dataSync: webgpu's synchronous read fails here
    d.dispose();
    if (diff === 0) break;
    bits = k;
  }
  return bits;
}

ops('the float precision gradcheck assumes is the one the backend computes in', async () => {
  const p = floatPrecision();
  const bits = await measuredMantissaBits();
  const r = await tg.gradcheck((x) => x.square().sum(), [tg.tensor([0.5, -1])]);
  const info = { precision: p.name, measuredMantissaBits: bits, gradcheckTolerances: r.tolerances };
  Object.assign((globalThis as { TAPEGRAD_PAGE_INFO?: object }).TAPEGRAD_PAGE_INFO ?? {}, info);
  console.log(`[tapegrad] precision ${JSON.stringify(info)}`);
  assert.is(bits, p.name === 'float32' ? 23 : 10, `measured ${bits} mantissa bits, ${p.name} assumed`);
  assert.is(r.tolerances.precision, p.name);
  assert.ok(r.ok);
});

// In float16 (the webgl-f16 page) gradcheck's step grows to 2⁻⁴·max(1, |x|): at |x| ≈ 5 the
// stencil reaches ±0.5, past the 0.3 gaps these cases leave between pooled entries for float32.
const FLOAT16_TOO_CLOSE = new Set(['maxPool2d#1']);
const half = floatPrecision().name === 'float16';

for (const [label, c] of [...flatCases(cases), ...flatCases(compositeCases)]) {
  if (half && FLOAT16_TOO_CLOSE.has(label)) continue;
  ops(label, async () => {
    const before = tg.memory().numTensors;
    const xs = c.make(1);
    try {
      const r = await tg.gradcheck(c.f, xs, { ...c.tol, mode: 'full' });
      if (!r.ok) {
        const t = r.tolerances;
        assert.unreachable(
          `${r.failures}/${r.comparisons} entries off; worst ${JSON.stringify(r.worst)} (atol ${t.atol}, rtol ${t.rtol}, step ${t.step}, ${t.precision})`,
        );
      }
    } finally {
      tg.dispose(xs);
    }
    assert.is(tg.memory().numTensors, before, 'tensors leaked');
  });
}

ops.run();
