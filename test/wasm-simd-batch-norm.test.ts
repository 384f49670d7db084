// The wasm SIMD batch norm (kernels/wasm-simd-batch-norm.ts) gives the same bits as the JavaScript
// loops of kernels/batch-norm.ts, on the wasm backend: forward (y, μ, σ²) and backward (dx, dweight,
// dbias) for channel counts that are and are not multiples of 4 (the loops take the channels left
// over), row counts that are not multiples of 4 and that cross the sums' blocks of rows, a mean far
// from 0, NaN and ±∞; shared with the helper thread (the sums by channels, the affine pass by rows);
// and the module is small enough for a browser to compile synchronously.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../src/index.js';
import * as fused from '../src/backend/fused.js';
import { batchNormModule, setSharedBatchNorm, setSimdBatchNorm } from '../kernels/wasm-simd-batch-norm.js';
import { rng } from '../src/random.js';
import { assertNoLeak, withHelperChunks } from './helpers.js';

function values(n: number, seed: number, offset = 0): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => offset + 4 * r.uniform() - 2);
}

/** The six outputs of f with the SIMD loops and without, as arrays. */
function both(f: () => tf.Tensor[]): [Float32Array[], Float32Array[]] {
  const run = (on: boolean) => {
    setSimdBatchNorm(on);
    try {
      return tf.tidy(() => f().map((t) => t.dataSync() as Float32Array));
    } finally {
      setSimdBatchNorm(true);
    }
  };
  return [run(true), run(false)];
}

const NAMES = ['y', 'mean', 'variance', 'dx', 'dweight', 'dbias'];

function sameBits(a: Float32Array[], b: Float32Array[], what: string) {
  a.forEach((got, k) => {
    assert.is(got.length, b[k].length, `${what} ${NAMES[k]}`);
    for (let i = 0; i < got.length; i++)
      if (!Object.is(got[i], b[k][i]))
        assert.unreachable(`${what} ${NAMES[k]}: entry ${i} is ${got[i]}, the loop gives ${b[k][i]}`);
  });
}

for (const [shape, offset] of [
  [[1, 4], 0],
  [[3, 5], 0],
  [[2, 3, 3, 7], 0],
  [[2, 5, 5, 8], 0],
  [[1, 1, 1, 13], 0],
  [[3, 11, 9, 16], 0],
  // 600 rows: the sums' blocks of 256 rows, the last one partial
  [[600, 6], 0],
  [[2, 17, 19, 32], 0],
  [[4, 5, 2, 9], 4e6],
  [[1, 3], 0],
] as [number[], number][]) {
  test(`batch norm ${JSON.stringify(shape)} (mean ${offset}): forward and backward, the same bits as the JavaScript loops`, async () => {
    await tg.setBackend('wasm');
    const n = shape.reduce((a, b) => a * b, 1);
    const C = shape[shape.length - 1];
    const x = tf.tensor(values(n, n, offset), shape);
    const dy = tf.tensor(values(n, n + 1), shape);
    const w = tf.tensor(values(C, 3));
    const b = tf.tensor(values(C, 4));
    const eps = 1e-3;
    const [simd, js] = both(() => [...fused.batchNorm(x, w, b, eps), ...fused.batchNormGrad(dy, x, w, eps)]);
    sameBits(simd, js, JSON.stringify(shape));
    assertNoLeak(() => tf.dispose([...fused.batchNorm(x, w, b, eps), ...fused.batchNormGrad(dy, x, w, eps)]));
    tf.dispose([x, dy, w, b]);
  });
}

test('NaN and ±∞ in x and dy go through as in the JavaScript loops', async () => {
  await tg.setBackend('wasm');
  const shape = [7, 9];
  const xv = values(63, 1);
  const gv = values(63, 2);
  xv[10] = Number.NaN; // channel 1
  xv[12] = Infinity; // channel 3
  gv[14] = -Infinity; // channel 5
  gv[17] = Number.NaN; // channel 8, one of the loops' channels
  const [x, dy] = [tf.tensor(xv, shape), tf.tensor(gv, shape)];
  const [w, b] = [tf.tensor(values(9, 3)), tf.tensor(values(9, 4))];
  const [simd, js] = both(() => [...fused.batchNorm(x, w, b, 1e-5), ...fused.batchNormGrad(dy, x, w, 1e-5)]);
  sameBits(simd, js, 'specials');
  tf.dispose([x, dy, w, b]);
});

for (const shape of [
  [64, 28, 28, 16],
  // 12 channels in SIMD, shared in chunks of 4, and one in the loops
  [2, 60, 60, 13],
]) {
  test(`batch norm ${JSON.stringify(shape)} shared with the helper thread: the loops' bits`, async () => {
    await tg.setBackend('wasm');
    const n = shape.reduce((a, b) => a * b, 1);
    const C = shape[shape.length - 1];
    const x = tf.tensor(values(n, 5, 1), shape);
    const dy = tf.tensor(values(n, 6), shape);
    const w = tf.tensor(values(C, 3));
    const b = tf.tensor(values(C, 4));
    const run = () => both(() => [...fused.batchNorm(x, w, b, 1e-5), ...fused.batchNormGrad(dy, x, w, 1e-5)]);
    const [shared, js] = await withHelperChunks(run, 'batch norm');
    setSharedBatchNorm(false);
    const [one] = run();
    setSharedBatchNorm(true);
    sameBits(shared, js, `${JSON.stringify(shape)}, shared`);
    sameBits(one, js, `${JSON.stringify(shape)}, one thread`);
    tf.dispose([x, dy, w, b]);
  });
}

test('the module is under 4 KiB: browsers compile it synchronously on the main thread', () => {
  assert.ok(batchNormModule({ kind: 'import', shared: true }).length < 4096);
});

test.run();
