// The wasm SIMD softmax adjoint (kernels/wasm-simd-softmax-grad.ts) gives the same bits as the
// JavaScript loop of kernels/softmax-grad.ts, on the wasm backend: rows of 4 to 256 entries (the
// multiples of 4 the module takes), one or many rows (attention's [N, H, L, L]), NaN, ±∞ and
// signed zeros; softmax's gradient through the kernel checks against finite differences; and the
// module is small enough for a browser to compile synchronously.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../src/index.js';
import * as fused from '../src/backend/fused.js';
import { setSimdSoftmaxGrad, softmaxGradModule } from '../kernels/wasm-simd-softmax-grad.js';
import { rng } from '../src/random.js';
import { assertNoLeak } from './helpers.js';

function values(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => 4 * r.uniform() - 2);
}

/** dx with the SIMD loop and without. */
function both(dy: tf.Tensor, y: tf.Tensor): [Float32Array, Float32Array] {
  const run = (on: boolean) => {
    setSimdSoftmaxGrad(on);
    try {
      return tf.tidy(() => fused.softmaxGrad(dy, y).dataSync() as Float32Array);
    } finally {
      setSimdSoftmaxGrad(true);
    }
  };
  return [run(true), run(false)];
}

function sameBits(a: Float32Array, b: Float32Array, what: string) {
  assert.is(a.length, b.length, what);
  for (let i = 0; i < a.length; i++)
    if (!Object.is(a[i], b[i])) assert.unreachable(`${what}: entry ${i} is ${a[i]}, the loop gives ${b[i]}`);
}

test('rows of a multiple of 4 entries: the same bits as the JavaScript loop', async () => {
  await tg.setBackend('wasm');
  for (const shape of [
    [1, 4],
    [3, 8],
    [2, 3, 12],
    [7, 64],
    [5, 256],
    [6, 4, 16, 16],
  ]) {
    const n = shape.reduce((a, b) => a * b, 1);
    const y = tf.softmax(tf.tensor(values(n, n), shape));
    const dy = tf.tensor(values(n, n + 1), shape);
    const [simd, js] = both(dy, y);
    sameBits(simd, js, JSON.stringify(shape));
    assertNoLeak(() => fused.softmaxGrad(dy, y).dispose());
    tf.dispose([y, dy]);
  }
});

test('NaN, ±∞ and signed zeros go through as in the JavaScript loop', async () => {
  await tg.setBackend('wasm');
  const yv = values(48, 1).map((v) => Math.abs(v) / 8);
  const gv = values(48, 2);
  yv[3] = Number.NaN; // row 0
  gv[12] = Infinity; // row 1
  gv[20] = -Infinity; // row 2
  yv[27] = 0; // row 3
  gv[27] = Infinity;
  yv[33] = -0; // row 4
  const [y, dy] = [tf.tensor(yv, [6, 8]), tf.tensor(gv, [6, 8])];
  const [simd, js] = both(dy, y);
  sameBits(simd, js, 'specials');
  tf.dispose([y, dy]);
});

test("softmax's gradient through the kernel checks against finite differences", async () => {
  await tg.setBackend('wasm');
  const x = tg.randn([3, 8], { seed: 1, requiresGrad: true });
  const w = tg.randn([3, 8], { seed: 2 });
  const r = await tg.gradcheck((a) => tg.softmax(a).mul(w).sum(), [x]);
  assert.ok(r.ok, JSON.stringify(r.worst));
  tg.dispose([x, w]);
});

test('the module is under 4 KiB: browsers compile it synchronously on the main thread', () => {
  assert.ok(softmaxGradModule({ kind: 'import', shared: true }).length < 4096);
});

test.run();
