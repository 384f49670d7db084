// Sums over leading axes (kernels/column-sum.ts), a bias gradient's sum over the batch: on wasm the
// SIMD loop gives the JavaScript loop's bits on every number of rows around the block's length and
// every number of columns around the vector's width, with signed zeros, infinities and NaN among the
// entries; on cpu and wasm the sums are within the float32 bound of blocked summation of a float64
// reference (and that check fails on a sum missing a row); on wasm a dense layer's bias gradient is
// one such kernel call, with no Sum or AvgPool; bad shapes are refused; nothing leaks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../src/index.js';
import { columnSum } from '../src/backend/fused.js';
import { COLUMN_SUM_BLOCK, setSimdColumnSum } from '../kernels/column-sum.js';
import { assertNoLeak, randomValues } from './helpers.js';

const ROWS = [1, 2, 3, 4, 5, 7, COLUMN_SUM_BLOCK - 1, COLUMN_SUM_BLOCK, COLUMN_SUM_BLOCK + 1, 1000];
const COLUMNS = [1, 3, 4, 5, 8, 10, 17];

/** columnSum of x [R, C] read back, the SIMD loop on or off. */
function sums(x: tf.Tensor, shape: number[], simd = true): Float32Array {
  setSimdColumnSum(simd);
  try {
    const s = columnSum(x, shape);
    const out = s.dataSync() as Float32Array;
    s.dispose();
    return out;
  } finally {
    setSimdColumnSum(true);
  }
}

/**
 * The largest |s − s₆₄| / (γ · Σ|x|) over the columns, s₆₄ the float64 sum: summed by blocks of B
 * rows, then the blocks' sums in order, each column's float32 sum is within γ = n·u / (1 − n·u),
 * n = (min(R, B) − 1) + (⌈R / B⌉ − 1), of its sum of magnitudes (u = 2⁻²⁴).
 */
function errorOverBound(x: Float32Array, s: Float32Array, R: number, C: number): number {
  const u = 2 ** -24;
  const n = Math.min(R, COLUMN_SUM_BLOCK) - 1 + Math.ceil(R / COLUMN_SUM_BLOCK) - 1;
  const gamma = (n * u) / (1 - n * u);
  let worst = 0;
  for (let j = 0; j < C; j++) {
    let exact = 0;
    let magnitude = 0;
    for (let r = 0; r < R; r++) {
      exact += x[r * C + j];
      magnitude += Math.abs(x[r * C + j]);
    }
    const err = Math.abs(s[j] - exact);
    worst = Math.max(worst, err === 0 ? 0 : err / (gamma * magnitude));
  }
  return worst;
}

test('[wasm] the SIMD loop: the JavaScript loop bits, on every number of rows and columns and on specials', async () => {
  await tg.setBackend('wasm');
  const specials = [0, -0, Infinity, -Infinity, Number.NaN, 3e38, -3e38, 1e-45];
  ROWS.forEach((R, a) =>
    COLUMNS.forEach((C, b) => {
      for (const withSpecials of [false, true]) {
        const x = tf.tensor2d(randomValues(R * C, 100 * a + b, withSpecials ? specials : []), [R, C]);
        const [simd, js] = [sums(x, [C]), sums(x, [C], false)];
        for (let j = 0; j < C; j++)
          if (!Object.is(simd[j], js[j]))
            assert.unreachable(
              `[${R},${C}] specials ${withSpecials}: column ${j} is ${simd[j]} in SIMD, ${js[j]} in the loop`,
            );
        x.dispose();
      }
    }),
  );
  // several leading axes, several trailing ones
  const x = tf.tensor3d(randomValues(3 * 5 * 12, 7), [3, 5, 12]);
  const x4 = tf.reshape(x, [3, 5, 3, 4]);
  assert.equal(Array.from(sums(x4, [3, 4])), Array.from(sums(x, [12])));
  assert.equal(Array.from(sums(x4, [3, 4])), Array.from(sums(x4, [3, 4], false)));
  tf.dispose([x, x4]);
});

for (const backend of ['cpu', 'wasm'] as const)
  test(`[${backend}] within the float32 bound of blocked summation; a sum missing a row fails it`, async () => {
    await tg.setBackend(backend);
    for (const R of [...ROWS, 5000])
      for (const C of [3, 8, 17]) {
        const values = Float32Array.from(randomValues(R * C, R + C));
        const x = tf.tensor2d(values, [R, C]);
        const s = sums(x, [C]);
        const ratio = errorOverBound(values, s, R, C);
        assert.ok(ratio <= 1, `[${R},${C}]: error ${ratio} × the bound`);
        const planted = Float32Array.from(s);
        planted[0] -= values[(R - 1) * C];
        if (R > 1 && values[(R - 1) * C] !== 0) assert.ok(errorOverBound(values, planted, R, C) > 1);
        assertNoLeak(() => columnSum(x, [C]).dispose());
        x.dispose();
      }
    const x = tf.zeros([4, 3]);
    assert.throws(() => columnSum(x, [4]), /columnSum: \[4\] is not the trailing axes of \[4,3\]/);
    assert.throws(() => columnSum(tf.zeros([4, 3], 'int32'), [3]), /columnSum: x must be float32, got int32/);
    // no rows: zeros
    const empty = tf.zeros([0, 3]);
    assert.equal(Array.from(sums(empty, [3])), [0, 0, 0]);
    tf.dispose([x, empty]);
  });

test("[wasm] a dense layer's bias gradient is one column-sum kernel, with no Sum or AvgPool", async () => {
  await tg.setBackend('wasm');
  const x = tg.randn([64, 20], { seed: 1 });
  const w = tg.randn([20, 10], { seed: 2 });
  const b = tg.randn([10], { seed: 3, requiresGrad: true });
  const g = tg.randn([64, 10], { seed: 5 });
  const info = await tf.profile(() =>
    tg.tidy(() => {
      tg.gradients(tg.linear(x, w, b), [b], { seeds: [g] });
    }),
  );
  const names = info.kernels.map((k) => k.name);
  assert.ok(names.includes('TapegradColumnSum'), names.join(', '));
  assert.not.ok(
    names.some((n) => n === 'Sum' || n === 'AvgPool'),
    names.join(', '),
  );
  // keepDims keeps the summed axes as 1s
  const y = tg.randn([6, 5, 4], { seed: 4 });
  const kept = tg.sum(y, { axis: [0, 1], keepDims: true });
  assert.equal(kept.shape, [1, 1, 4]);
  tg.dispose([x, w, b, g, y, kept]);
});

test.run();
