// Multi-head self-attention as one op (selfAttention in src/ops/nn.ts; kernels/self-attention.ts,
// forward and backward): the kernels against their references in TF.js ops on cpu and wasm (heads of
// 1 to 5 entries, so that the products' last columns run in JavaScript; causal or not); on wasm,
// MultiheadAttention and a transformer layer with the op and without it (the unfused ops) give the same
// bits, forward and every gradient, with the batched products' SIMD loop on and off; the op against
// finite differences and its recorded backward (gradgrad); shared with the helper thread, one thread's
// bits; memory; bad input.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../src/index.js';
import * as fused from '../src/backend/fused.js';
import { setFusedEnabled } from '../src/testing.js';
import { selfAttention } from '../src/ops/nn.js';
import { setSharedBatchMatMul, setSimdBatchMatMul } from '../kernels/batch-matmul.js';
import { setSharedScaledSoftmax } from '../kernels/wasm-simd-scaled-softmax.js';
import { setSharedSoftmaxGrad } from '../kernels/wasm-simd-softmax-grad.js';
import { assertClose, assertNoLeak, randomValues, withHelperChunks } from './helpers.js';

/** [N, L, H, D] of qkv [N, L, 3·H·D], causal. */
const SHAPES: [number[], boolean][] = [
  [[1, 1, 1, 1], true],
  [[2, 3, 1, 4], true],
  [[2, 5, 2, 3], false],
  [[3, 7, 3, 5], true],
  [[4, 16, 4, 16], true],
  [[2, 9, 2, 8], false],
];

/** Bitwise equality, naming the first entry that differs (uvu's diff of long arrays takes minutes). */
function sameBits(a: ArrayLike<number>, b: ArrayLike<number>, what: string) {
  assert.is(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++)
    if (!Object.is(a[i], b[i])) assert.unreachable(`${what}: entry ${i} is ${a[i]}, against ${b[i]}`);
}

const qkvOf = ([N, L, H, D]: number[], seed: number) =>
  tf.tensor(randomValues(N * L * 3 * H * D, seed), [N, L, 3 * H * D]);

test('the kernels give their references (TF.js ops) within float32 rounding, on cpu and wasm', async () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    await tg.setBackend(backend);
    for (const [shape, causal] of SHAPES) {
      const [N, L, H, D] = shape;
      const what = `${backend} ${JSON.stringify(shape)} causal ${causal}`;
      const qkv = qkvOf(shape, N * L + D);
      const dy = tf.tensor(randomValues(N * L * H * D, L + 7), [N, L, H * D]);
      const scale = 1 / Math.sqrt(D);
      const [o, w] = fused.selfAttention(qkv, H, scale, causal);
      const [oRef, wRef] = fused.selfAttentionReference(qkv, H, scale, causal);
      assertClose(o.dataSync(), oRef.dataSync(), { atol: 1e-6, rtol: 1e-5, msg: `${what}: o` });
      assertClose(w.dataSync(), wRef.dataSync(), { atol: 1e-6, rtol: 1e-5, msg: `${what}: w` });
      const d = fused.selfAttentionGrad(dy, qkv, w, scale);
      const dRef = fused.selfAttentionGradReference(dy, qkv, w, scale);
      assertClose(d.dataSync(), dRef.dataSync(), { atol: 1e-5, rtol: 1e-5, msg: `${what}: dqkv` });
      tf.dispose([qkv, dy, o, w, oRef, wRef, d, dRef]);
    }
  }
});

/** A transformer layer's output and every gradient (input and parameters), with the op or without. */
function layerRun(withOp: boolean, causal: boolean): Float32Array[] {
  setFusedEnabled(withOp, 'selfAttention');
  setFusedEnabled(withOp, 'selfAttentionGrad');
  try {
    const layer = new tg.nn.TransformerEncoderLayer(12, 3, {
      dimFeedforward: 16,
      dropout: 0,
      normFirst: true,
      seed: 4,
    });
    const x = tg.randn([5, 7, 12], { seed: 5, requiresGrad: true });
    const y = tg.tidy(() => {
      const out = layer.forward(x, { isCausal: causal });
      out
        .mul(tg.randn(out.shape, { seed: 6 }))
        .sum()
        .backward();
      return tg.keep(out.detach());
    });
    const values = [y, x.grad!, ...layer.parameters().map((p) => p.grad!)].map((t) => t.dataSync() as Float32Array);
    tg.dispose([y, x, x.grad!]);
    layer.dispose();
    return values;
  } finally {
    setFusedEnabled(true, 'selfAttention');
    setFusedEnabled(true, 'selfAttentionGrad');
  }
}

test('wasm: a transformer layer with the op gives the unfused ops’ bits, forward and every gradient', async () => {
  await tg.setBackend('wasm');
  for (const simd of [true, false]) {
    setSimdBatchMatMul(simd);
    try {
      for (const causal of [true, false]) {
        const [a, b] = [layerRun(true, causal), layerRun(false, causal)];
        assert.is(a.length, b.length);
        a.forEach((v, i) => sameBits(v, b[i], `SIMD ${simd} causal ${causal}: ${i ? `gradient ${i}` : 'output'}`));
      }
    } finally {
      setSimdBatchMatMul(true);
    }
  }
});

/** The batched products' and the softmax's (and its adjoint's) sharing with the helper thread, off or on. */
function setShared(on: boolean) {
  setSharedBatchMatMul(on);
  setSharedScaledSoftmax(on);
  setSharedSoftmaxGrad(on);
}

test('wasm, two threads: the kernels shared with the helper thread give one thread’s bits', async () => {
  await tg.setBackend('wasm');
  const shape = [64, 16, 4, 16];
  const qkv = qkvOf(shape, 11);
  const dy = tf.tensor(randomValues(64 * 16 * 64, 12), [64, 16, 64]);
  const x = tf.tensor(randomValues(37 * 4 * 16 * 16, 13), [37, 4, 16, 16]);
  const run = () =>
    tf.tidy(() => {
      const [o, w] = fused.selfAttention(qkv, 4, 0.25, true);
      const outputs = [o, w, fused.selfAttentionGrad(dy, qkv, w, 0.25)];
      // the softmax and its adjoint as their own kernels
      const y = fused.scaledSoftmax(x, 0.3, true);
      outputs.push(y, fused.softmaxGrad(x, y), fused.scaledSoftmax(x, 0.3, false));
      return outputs.map((t) => Array.from(t.dataSync()));
    });
  try {
    setShared(true);
    const shared = await withHelperChunks(run, 'self-attention');
    setShared(false);
    const one = run();
    ['o', 'w', 'dqkv', 'causal softmax', 'softmax adjoint', 'softmax'].forEach((what, i) =>
      sameBits(shared[i], one[i], what),
    );
  } finally {
    setShared(false);
    tg.setThreads(1);
    tf.dispose([qkv, dy, x]);
  }
});

test('cpu: a transformer layer with the op gives the unfused ops’ values', async () => {
  await tg.setBackend('cpu');
  const [a, b] = [layerRun(true, true), layerRun(false, true)];
  a.forEach((v, i) => assertClose(v, b[i], { atol: 1e-6, rtol: 1e-5, msg: i ? `gradient ${i}` : 'output' }));
});

test('the op checks against finite differences, and gradgrad (recorded backward)', async () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    await tg.setBackend(backend);
    const qkv = tg.randn([2, 3, 12], { seed: 3, requiresGrad: true });
    const w = tg.randn([2, 3, 4], { seed: 4 });
    for (const causal of [true, false]) {
      const r = await tg.gradcheck((a) => selfAttention(a, 2, 0.6, causal).mul(w).sum(), [qkv]);
      assert.ok(r.ok, `${backend} causal ${causal}: ${JSON.stringify(r.worst)}`);
    }
    const r2 = await tg.gradgradcheck((a) => selfAttention(a, 2, 0.6, true).mul(w).sum(), [qkv]);
    assert.ok(r2.ok, `${backend} gradgrad: ${JSON.stringify(r2.worst)}`);
    tg.dispose([qkv, w]);
  }
});

test('memory returns to its start: the kernels, the op (recorded or not, needing a gradient or not), a layer', async () => {
  await tg.setBackend('wasm');
  const qkv = qkvOf([2, 5, 2, 4], 1);
  const dy = tf.tensor(randomValues(2 * 5 * 8, 2), [2, 5, 8]);
  assertNoLeak(() => {
    const [o, w] = fused.selfAttention(qkv, 2, 0.5, true);
    tf.dispose([o, w, fused.selfAttentionGrad(dy, qkv, w, 0.5)]);
  }, 'kernels');
  const x = tg.tensor(qkv.dataSync() as Float32Array, { shape: qkv.shape });
  const xg = tg.randn([2, 5, 24], { seed: 7, requiresGrad: true });
  assertNoLeak(() => selfAttention(x, 2, 0.5, true).dispose(), 'no gradient needed');
  assertNoLeak(() => tg.noGrad(() => selfAttention(xg, 2, 0.5, true)).dispose(), 'noGrad');
  assertNoLeak(() => selfAttention(xg, 2, 0.5, true).dispose(), 'recorded, disposed unused');
  assertNoLeak(() => {
    tg.tidy(() => selfAttention(xg, 2, 0.5, true).sum().backward());
    xg.grad?.dispose();
    xg.grad = null;
  }, 'recorded, backward');
  const layer = new tg.nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0, seed: 1 });
  const h = tg.randn([2, 5, 8], { seed: 2 });
  assertNoLeak(() => {
    tg.tidy(() => layer.forward(h, { isCausal: true }).sum().backward());
    for (const p of layer.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }, 'layer');
  tg.dispose([qkv, dy, x, xg, h]);
  layer.dispose();
});

test('bad input: TapegradError', async () => {
  await tg.setBackend('wasm');
  const x = tg.randn([2, 3, 12]);
  for (const bad of [0, -1, Number.NaN, Infinity])
    assert.throws(() => selfAttention(x, 2, bad, false), /selfAttention: scale must be a finite number > 0/);
  assert.throws(() => selfAttention(x, 5, 1, false), /selfAttention: expected float32 qkv \[N, L, 3E\]/);
  assert.throws(() => selfAttention(tg.randn([3, 12]), 2, 1, false), /selfAttention: expected float32 qkv/);
  const q = tf.zeros([2, 3, 12]);
  assert.throws(
    () => fused.selfAttentionGrad(tf.zeros([2, 3, 5]), q, tf.zeros([2, 2, 3, 3]), 1),
    /selfAttentionGrad: expected dy \[N, L, E\]/,
  );
  tg.dispose([x, q]);
});

test.run();
