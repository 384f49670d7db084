// The wasm SIMD layer norm (kernels/wasm-simd-layer-norm.ts) gives the same bits as the JavaScript
// loops of kernels/layer-norm.ts, on the wasm backend: forward (y) and backward (dx, dweight, dbias)
// for rows of 4 to 256 entries (the multiples of 4 the module takes), one or many rows, two
// normalised axes, a mean far from 0, NaN and ±∞, shared with the helper thread or not; the loops on
// other widths match float64; and the module is small enough for a browser to compile synchronously.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../src/index.js';
import * as fused from '../src/backend/fused.js';
import { layerNormModule, setSharedLayerNorm, setSimdLayerNorm } from '../kernels/wasm-simd-layer-norm.js';
import { rng } from '../src/random.js';
import { assertNoLeak, withHelperChunks } from './helpers.js';

function values(n: number, seed: number, offset = 0): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => offset + 4 * r.uniform() - 2);
}

/** The four outputs of f with the SIMD loops and without, as arrays. */
function both(f: () => tf.Tensor[]): [Float32Array[], Float32Array[]] {
  const run = (on: boolean) => {
    setSimdLayerNorm(on);
    try {
      return tf.tidy(() => f().map((t) => t.dataSync() as Float32Array));
    } finally {
      setSimdLayerNorm(true);
    }
  };
  return [run(true), run(false)];
}

const NAMES = ['y', 'dx', 'dweight', 'dbias'];

function sameBits(a: Float32Array[], b: Float32Array[], what: string) {
  a.forEach((got, k) => {
    assert.is(got.length, b[k].length, `${what} ${NAMES[k]}`);
    for (let i = 0; i < got.length; i++)
      if (!Object.is(got[i], b[k][i]))
        assert.unreachable(`${what} ${NAMES[k]}: entry ${i} is ${got[i]}, the loop gives ${b[k][i]}`);
  });
}

const both4 = (x: tf.Tensor, dy: tf.Tensor, w: tf.Tensor, b: tf.Tensor, eps: number) =>
  both(() => [fused.layerNorm(x, w, b, eps), ...fused.layerNormGrad(dy, x, w, eps)]);

for (const [shape, k, offset] of [
  [[1, 4], 1, 0],
  [[3, 8], 1, 0],
  [[2, 3, 12], 1, 0],
  [[7, 64], 1, 0],
  [[5, 256], 1, 0],
  [[2048, 64], 1, 0],
  [[3, 2, 8], 2, 0],
  [[6, 16], 1, 4e6],
] as [number[], number, number][]) {
  test(`layer norm ${JSON.stringify(shape)} over ${k} axes (mean ${offset}): forward and backward, the same bits as the JavaScript loops`, async () => {
    await tg.setBackend('wasm');
    const n = shape.reduce((a, b) => a * b, 1);
    const wShape = shape.slice(shape.length - k);
    const C = wShape.reduce((a, b) => a * b, 1);
    const x = tf.tensor(values(n, n, offset), shape);
    const dy = tf.tensor(values(n, n + 1), shape);
    const w = tf.tensor(values(C, 3), wShape);
    const b = tf.tensor(values(C, 4), wShape);
    const [simd, js] = both4(x, dy, w, b, 1e-3);
    sameBits(simd, js, JSON.stringify(shape));
    assertNoLeak(() => tf.dispose([fused.layerNorm(x, w, b, 1e-3), ...fused.layerNormGrad(dy, x, w, 1e-3)]));
    tf.dispose([x, dy, w, b]);
  });
}

test('NaN and ±∞ in x and dy go through as in the JavaScript loops', async () => {
  await tg.setBackend('wasm');
  const shape = [6, 8];
  const xv = values(48, 1);
  const gv = values(48, 2);
  xv[3] = Number.NaN; // row 0
  xv[12] = Infinity; // row 1
  gv[20] = -Infinity; // row 2
  gv[27] = Number.NaN; // row 3
  xv[33] = -0; // row 4
  const [x, dy] = [tf.tensor(xv, shape), tf.tensor(gv, shape)];
  const [w, b] = [tf.tensor(values(8, 3)), tf.tensor(values(8, 4))];
  const [simd, js] = both4(x, dy, w, b, 1e-5);
  sameBits(simd, js, 'specials');
  tf.dispose([x, dy, w, b]);
});

for (const shape of [
  [2048, 64],
  [37, 29, 64],
]) {
  test(`layer norm ${JSON.stringify(shape)} shared with the helper thread (rows forward, groups backward): the loops' bits`, async () => {
    await tg.setBackend('wasm');
    const n = shape.reduce((a, b) => a * b, 1);
    const x = tf.tensor(values(n, 5, 1), shape);
    const dy = tf.tensor(values(n, 6), shape);
    const w = tf.tensor(values(64, 3));
    const b = tf.tensor(values(64, 4));
    const run = () => both4(x, dy, w, b, 1e-5);
    try {
      const [shared, js] = await withHelperChunks(run, 'layer norm');
      setSharedLayerNorm(false);
      const [one] = run();
      sameBits(shared, js, `${JSON.stringify(shape)}, shared`);
      sameBits(one, js, `${JSON.stringify(shape)}, one thread`);
    } finally {
      setSharedLayerNorm(true);
      tg.setThreads(1);
      tf.dispose([x, dy, w, b]);
    }
  });
}

test('the module is under 4 KiB: browsers compile it synchronously on the main thread', () => {
  assert.ok(layerNormModule({ kind: 'import', shared: true }).length < 4096);
});

test.run();
