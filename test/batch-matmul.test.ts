// wasm's BatchMatMul in SIMD (kernels/batch-matmul.ts) gives TF.js's loop's bits where it replaces it:
// batches of small products with every transpose flag, one operand's single matrix broadcast over
// the other's batch, column counts that are not multiples of 4 or 16, inner sizes over one block of
// 48 terms, unbatched products with a flag, and signed zeros, infinities and NaN among the entries;
// transposeB's copy of B by the SIMD transpose and, with that off, by the kernel's own loop;
// and the matmul gradient through attention's batched products checks against finite differences.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../src/index.js';
import { setSimdBatchMatMul } from '../kernels/batch-matmul.js';
import { setSimdTranspose } from '../kernels/wasm-simd-transpose.js';
import { assertNoLeak, randomValues } from './helpers.js';

function randomTensor(shape: number[], seed: number, specials: number[] = []): tf.Tensor {
  return tf.tensor(
    randomValues(
      shape.reduce((a, b) => a * b, 1),
      seed,
      specials,
    ),
    shape,
  );
}

/** op(a)·op(b) with the SIMD kernel and with TF.js's loop. */
function both(a: tf.Tensor, b: tf.Tensor, tA: boolean, tB: boolean): [Float32Array, Float32Array, number[]] {
  const run = (on: boolean) => {
    setSimdBatchMatMul(on);
    try {
      const c = tf.matMul(a, b, tA, tB);
      const out = [c.dataSync() as Float32Array, c.shape] as const;
      c.dispose();
      return out;
    } finally {
      setSimdBatchMatMul(true);
    }
  };
  const [simd, shape] = run(true);
  const [loop, loopShape] = run(false);
  assert.equal(shape, loopShape, 'output shapes');
  return [simd, loop, shape];
}

test('batched and transposed products: the same bits as TF.js loop', async () => {
  await tg.setBackend('wasm');
  const cases: [number[], number[], boolean, boolean][] = [
    [[8, 16, 16], [8, 16, 16], false, false],
    [[8, 16, 16], [8, 16, 16], false, true],
    [[8, 16, 16], [8, 16, 16], true, false],
    [[8, 16, 16], [8, 16, 16], true, true],
    [[2, 4, 16, 16], [2, 4, 16, 16], false, true],
    [[3, 5, 7], [3, 7, 9], false, false],
    [[3, 7, 5], [1, 9, 7], true, true],
    [[2, 3, 5, 4], [4, 6], false, false],
    [[1, 5, 100], [4, 100, 21], false, false],
    [[2, 6, 130], [2, 130, 36], false, false],
    [[40, 3], [40, 5], true, false],
    [[3, 40], [5, 40], false, true],
    [[6, 1, 1], [6, 1, 1], false, false],
  ];
  const specials = [0, -0, Infinity, -Infinity, Number.NaN, 3e38];
  cases.forEach(([sa, sb, tA, tB], c) => {
    for (const withSpecials of [false, true]) {
      const a = randomTensor(sa, 2 * c, withSpecials ? specials : []);
      const b = randomTensor(sb, 2 * c + 1, withSpecials ? [...specials].reverse() : []);
      const [simd, loop, shape] = both(a, b, tA, tB);
      for (let i = 0; i < simd.length; i++)
        if (!Object.is(simd[i], loop[i]))
          assert.unreachable(
            `[${sa}]·[${sb}] (tA ${tA}, tB ${tB}) → [${shape}]: entry ${i} is ${simd[i]}, TF.js ${loop[i]}`,
          );
      assertNoLeak(() => tf.matMul(a, b, tA, tB).dispose());
      tf.dispose([a, b]);
    }
  });
});

test('transposeB with the SIMD transpose off (B copied by its own loop): the same bits as TF.js loop', async () => {
  await tg.setBackend('wasm');
  setSimdTranspose(false);
  try {
    for (const [sa, sb] of [
      [
        [8, 16, 16],
        [8, 16, 16],
      ],
      [
        [3, 40],
        [5, 40],
      ],
      [
        [2, 3, 5, 7],
        [2, 3, 9, 7],
      ],
    ]) {
      const a = randomTensor(sa, sa.length);
      const b = randomTensor(sb, sb.length + 7);
      const [simd, loop] = both(a, b, false, true);
      for (let i = 0; i < simd.length; i++)
        if (!Object.is(simd[i], loop[i]))
          assert.unreachable(`[${sa}]·[${sb}]ᵀ: entry ${i} is ${simd[i]}, TF.js ${loop[i]}`);
      tf.dispose([a, b]);
    }
  } finally {
    setSimdTranspose(true);
  }
});

test('attention through the batched products: gradients check against finite differences', async () => {
  await tg.setBackend('wasm');
  const q = tg.randn([2, 3, 5, 4], { seed: 1, requiresGrad: true });
  const k = tg.randn([2, 3, 6, 4], { seed: 2, requiresGrad: true });
  const v = tg.randn([2, 3, 6, 5], { seed: 3, requiresGrad: true });
  const r = await tg.gradcheck((a, b, c) => tg.nn.scaledDotProductAttention(a, b, c).sum(), [q, k, v]);
  assert.ok(r.ok, JSON.stringify(r.worst));
  tg.dispose([q, k, v]);
});

test.run();
