// The SIMD loop that replaces wasm's MaxPool for 2×2 windows of stride 2 that tile a large float32 x
// (src/backend/wasm-max-pool.ts), on one thread and shared with the helper thread, gives bit for bit
// what TF.js's own kernel gives but for the windows holding NaN, which are NaN (XNNPACK turns a NaN
// that comes first into −∞ and drops a later one), on special values anywhere in a window (±0 ties,
// ±∞, subnormals) and with 'same' padding that adds none; other pools (3×3, stride 1, odd sides,
// channels not a multiple of 4, small x) still go to TF.js's kernel, their NaN windows set after;
// nothing leaks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../../src/index.js';
import { MAX_POOL_SHARE_MIN, MAX_POOL_SIMD_MIN, setSimdMaxPool } from '../../src/backend/wasm-max-pool.js';
import { originalWasmKernel } from '../../src/backend/kernel-replacement.js';
import { setHelperThread } from '../../kernels/helper-thread.js';
import { assertNoLeak, assertSameBitsAsTfjs, randomValues, withHelperChunks } from '../helpers.js';

const SPECIAL = [Number.NaN, 0, -0, 0, -0, Infinity, -Infinity, 1e-45, -1e-45, 3.4e38, -3.4e38, Number.NaN];

interface Pool {
  size: number;
  stride: number;
  pad: 'valid' | 'same';
}
const SQUARE: Pool = { size: 2, stride: 2, pad: 'valid' };

/** TF.js's own wasm kernel. */
function raw(x: tf.Tensor, p: Pool): Float32Array {
  const attrs = { filterSize: p.size, strides: p.stride, pad: p.pad };
  const info = originalWasmKernel('MaxPool')!({ inputs: { x }, backend: tf.backend(), attrs }) as tf.TensorInfo;
  const t = tf.engine().makeTensorFromTensorInfo(info);
  const values = t.dataSync() as Float32Array;
  t.dispose();
  return values;
}

/** TF.js's kernel, with each window that holds a NaN set to NaN (PyTorch's maximum). */
function rawButNaN(x: tf.Tensor, p: Pool): Float32Array {
  const want = raw(x, p);
  const v = x.dataSync();
  const [N, H, W, C] = x.shape;
  const info = tf.backend_util.computePool2DInfo(
    x.shape as [number, number, number, number],
    p.size,
    p.stride,
    1,
    p.pad,
  );
  const { outHeight: Ho, outWidth: Wo } = info;
  for (let n = 0; n < N; n++)
    for (let oh = 0; oh < Ho; oh++)
      for (let ow = 0; ow < Wo; ow++)
        for (let c = 0; c < C; c++)
          for (let dh = 0; dh < p.size; dh++)
            for (let dw = 0; dw < p.size; dw++) {
              const h = oh * p.stride - info.padInfo.top + dh;
              const w = ow * p.stride - info.padInfo.left + dw;
              if (h >= 0 && h < H && w >= 0 && w < W && Number.isNaN(v[((n * H + h) * W + w) * C + c]))
                want[((n * Ho + oh) * Wo + ow) * C + c] = Number.NaN;
            }
  return want;
}

/** maxPool(x), its output likely in a block of the heap just freed holding 7s (an entry left unwritten shows). */
const pool = (x: tf.Tensor, p: Pool = SQUARE) =>
  tf.tidy(() => {
    tf.fill([x.size / 4 + 8], 7).dispose();
    return tf.maxPool(x as tf.Tensor4D, p.size, p.stride, p.pad).dataSync() as Float32Array;
  });

/** x of `shape` from seed, with the specials spread among the entries, and every window pattern of ±0 and NaN. */
function input(shape: number[], seed: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = randomValues(n, seed, SPECIAL);
  // the first windows of channel 0: NaN or −0 / +0 at each of the four places
  const [, , W, C] = shape;
  const patterns = [
    [Number.NaN, 1, 2, 3],
    [1, Number.NaN, 2, 3],
    [1, 2, Number.NaN, 3],
    [1, 2, 3, Number.NaN],
    [-0, 0, -0, -0],
    [0, -0, -0, -0],
    [-1, -0, 0, -1],
    [-1, 0, -0, -1],
    [Number.NaN, Number.NaN, -Infinity, -Infinity],
  ];
  patterns.forEach((p, k) => {
    const at = 2 * k * C;
    [at, at + C, at + W * C, at + W * C + C].forEach((i, e) => {
      v[i] = p[e];
    });
  });
  return tf.tensor(v, shape);
}

test("2×2 pools of stride 2: TF.js's bits (NaN windows NaN), on one thread and shared with the helper thread", async () => {
  await tg.setBackend('wasm');
  for (const shape of [
    [1, 32, 32, 16],
    [64, 28, 28, 16],
    [5, 14, 22, 12],
    [8, 128, 128, 16],
  ]) {
    const x = input(shape, shape[0]);
    assert.ok(x.size >= MAX_POOL_SIMD_MIN);
    const want = rawButNaN(x, SQUARE);
    setHelperThread(false);
    assertSameBitsAsTfjs(pool(x), want, `x ${shape}, one thread`);
    setHelperThread(true);
    if (x.size >= MAX_POOL_SHARE_MIN) {
      const shared = await withHelperChunks(() => pool(x), `x ${shape}`);
      assertSameBitsAsTfjs(shared, want, `x ${shape}, shared`);
    }
    // 'same' padding adds none here
    assertSameBitsAsTfjs(pool(x, { ...SQUARE, pad: 'same' }), want, `x ${shape}, 'same'`);
    assertNoLeak(() => tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid').dispose());
    tf.dispose(x);
  }
  tg.setThreads(1);
});

test("other pools, small x, and the loop switched off: TF.js's kernel, NaN windows NaN", async () => {
  await tg.setBackend('wasm');
  const cases: [number[], Pool][] = [
    [[2, 30, 30, 16], { size: 3, stride: 1, pad: 'same' }],
    [[2, 30, 30, 16], { size: 2, stride: 1, pad: 'valid' }],
    [[2, 31, 30, 16], SQUARE],
    [[2, 30, 30, 14], SQUARE],
    [[1, 8, 8, 4], SQUARE],
  ];
  for (const [shape, p] of cases) {
    const x = input(shape, 3);
    assertSameBitsAsTfjs(pool(x, p), rawButNaN(x, p), `x ${shape}, ${JSON.stringify(p)}`);
    tf.dispose(x);
  }
  const x = input([4, 28, 28, 16], 4);
  setSimdMaxPool(false);
  try {
    assertSameBitsAsTfjs(pool(x), rawButNaN(x, SQUARE), 'switched off');
  } finally {
    setSimdMaxPool(true);
  }
  tf.dispose(x);
});

test.run();
