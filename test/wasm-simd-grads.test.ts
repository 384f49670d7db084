// The wasm SIMD relu and max-pool backward (kernels/wasm-simd-grads.ts) give the same bits as the
// JavaScript loops beside them in relu-grad.ts and max-pool-grad.ts, on the wasm backend: relu and
// leakyRelu over signed zeros, ±∞, NaN and every length mod 4; max pools whose windows tile x
// (2×2, 3×3, 2×3) with ties in a window, NaN windows and 4 to 16 channels; both shared with the
// helper thread; and the module is small enough for a browser to compile synchronously.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../src/index.js';
import * as fused from '../src/backend/fused.js';
import {
  GRADS_SHARE_MIN,
  gradsModule,
  setSharedGrads,
  setSimdGrads,
  simdGradsHelper,
} from '../kernels/wasm-simd-grads.js';
import { heapOf, type WasmBackend } from '../kernels/wasm-simd-module.js';
import { MAX_CHUNKS } from '../kernels/helper-thread.js';
import { rng } from '../src/random.js';
import { assertNoLeak, withHelperChunks } from './helpers.js';

/** Values in (−2, 2) on a grid of quarters (so that windows hold ties), with a few specials. */
function values(n: number, seed: number, specials: number[] = []): Float32Array {
  const r = rng(seed);
  const v = Float32Array.from({ length: n }, () => Math.round((4 * r.uniform() - 2) * 4) / 4);
  specials.forEach((s, i) => {
    if (n) v[(i * 7919) % n] = s;
  });
  return v;
}

/** f's output with the SIMD loops and without, as arrays. */
function both(f: () => tf.Tensor): [Float32Array, Float32Array] {
  const run = (on: boolean) => {
    setSimdGrads(on);
    try {
      return tf.tidy(() => f().dataSync() as Float32Array);
    } finally {
      setSimdGrads(true);
    }
  };
  return [run(true), run(false)];
}

const sameBits = (a: Float32Array, b: Float32Array, what: string) => {
  assert.is(a.length, b.length, what);
  for (let i = 0; i < a.length; i++)
    if (!Object.is(a[i], b[i])) assert.unreachable(`${what}: entry ${i} is ${a[i]}, the loop gives ${b[i]}`);
};

test('relu and leakyRelu backward: the same bits as the JavaScript loop', async () => {
  await tg.setBackend('wasm');
  const specials = [0, -0, Infinity, -Infinity, Number.NaN, 1e-45, -1e-45];
  for (const n of [1, 2, 3, 4, 5, 7, 8, 33, 1027]) {
    const x = tf.tensor(values(n, n, specials));
    const dy = tf.tensor(values(n, n + 1, [...specials].reverse()));
    for (const alpha of [0, 0.2, 0.01]) {
      const [simd, js] = both(() => (alpha ? fused.leakyReluGrad(dy, x, alpha) : fused.reluGrad(dy, x)));
      sameBits(simd, js, `n = ${n}, α = ${alpha}`);
    }
    assertNoLeak(() => fused.reluGrad(dy, x).dispose());
    tf.dispose([x, dy]);
  }
});

for (const [shape, k] of [
  [
    [2, 4, 6, 4],
    [2, 2],
  ],
  [
    [3, 6, 6, 16],
    [3, 3],
  ],
  [
    [1, 4, 9, 8],
    [2, 3],
  ],
  [
    [2, 2, 2, 12],
    [2, 2],
  ],
] as [number[], [number, number]][]) {
  test(`max-pool backward ${JSON.stringify(shape)}, window ${k}: the same bits as the JavaScript loop`, async () => {
    await tg.setBackend('wasm');
    const n = shape.reduce((a, b) => a * b, 1);
    // a NaN makes its window's maximum NaN: no entry equals it, no gradient passes
    const x = tf.tensor4d(values(n, 5, [Number.NaN, -0, 0]), shape as [number, number, number, number]);
    const y = tf.maxPool(x, k, k, 'valid');
    const dy = tf.tensor(values(y.size, 6), y.shape);
    const attrs = { filterSize: k, strides: k, pad: 'valid' as const };
    const [simd, js] = both(() => fused.maxPoolGrad(dy, x, y, attrs));
    sameBits(simd, js, 'dx');
    const ref = tf.tidy(() => fused.maxPoolGradReference(dy, x, y, attrs).dataSync() as Float32Array);
    sameBits(simd, ref, 'dx against the TF.js reference');
    assertNoLeak(() => fused.maxPoolGrad(dy, x, y, attrs).dispose());
    tf.dispose([x, y, dy]);
  });
}

test('shared with the helper thread (entries, rows of windows): the same bits as the JavaScript loops', async () => {
  await tg.setBackend('wasm');
  // ≥ GRADS_SHARE_MIN entries; a length that is not a multiple of 4, rows that no chunk count divides
  const n = 70001;
  const x = tf.tensor(values(n, 7, [Number.NaN, -0]));
  const dy = tf.tensor(values(n, 8, [Infinity]));
  const shared = await withHelperChunks(() => both(() => fused.leakyReluGrad(dy, x, 0.2))[0], 'relu backward');
  setSharedGrads(false);
  const [one, js] = both(() => fused.leakyReluGrad(dy, x, 0.2));
  setSharedGrads(true);
  sameBits(shared, js, 'relu backward, shared');
  sameBits(one, js, 'relu backward, one thread');
  const shape: [number, number, number, number] = [9, 58, 30, 12];
  const xp = tf.tensor4d(values(9 * 58 * 30 * 12, 9, [Number.NaN, -0, 0]), shape);
  const y = tf.maxPool(xp, 2, 2, 'valid');
  const g = tf.tensor(values(y.size, 10), y.shape);
  const attrs = { filterSize: [2, 2] as [number, number], strides: [2, 2] as [number, number], pad: 'valid' as const };
  const pooled = await withHelperChunks(() => both(() => fused.maxPoolGrad(g, xp, y, attrs))[0], 'max-pool backward');
  const [, poolJs] = both(() => fused.maxPoolGrad(g, xp, y, attrs));
  sameBits(pooled, poolJs, 'max-pool backward, shared');
  tf.dispose([x, dy, xp, y, g]);
});

test('share: more chunks than the shared array holds, or a single chunk, all run (on this thread)', async () => {
  await tg.setBackend('wasm');
  const n = 4 * (MAX_CHUNKS + 6);
  const x = tf.tensor(values(n, 11, [Number.NaN, -0]));
  const dy = tf.tensor(values(n, 12));
  const want = both(() => fused.reluGrad(dy, x))[1];
  const big = tf.tensor(values(GRADS_SHARE_MIN, 13));
  await withHelperChunks(() => both(() => fused.reluGrad(big, big))[0], 'relu backward');
  const backend = tf.backend() as unknown as WasmBackend;
  const helper = simdGradsHelper(heapOf(backend))!;
  for (const chunks of [MAX_CHUNKS + 6, 1]) {
    const out = tf.zeros([n]);
    const [xv, gv, ov] = [x, dy, out].map((t) => backend.typedArrayFromHeap(t));
    const step = n / chunks;
    const args = Array.from({ length: chunks }, (_, k) =>
      [gv, xv, ov].map((v) => v.byteOffset + 4 * k * step).concat([step, 0]),
    );
    helper.share('reluGrad', args);
    sameBits(out.dataSync() as Float32Array, want, `${chunks} chunks`);
    out.dispose();
  }
  tf.dispose([x, dy, big]);
});

test('the module is under 4 KiB: browsers compile it synchronously on the main thread', () => {
  assert.ok(gradsModule({ kind: 'import', shared: true }).length < 4096);
});

test.run();
