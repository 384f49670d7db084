// Every kernel tapegrad registers with TF.js (the fused kernels, the linear algebra, and any kernel
// of a name TF.js does not have), on the page's backend: each is registered there, or is listed
// below with the call that falls back to TF.js ops on it; and the calls that use them — an Adam
// and an AdamW training step through relu, leakyRelu and cross-entropy, every factorization —
// give on this backend what they give on cpu, with the kernels and with them turned off.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../../src/index.js';
import { setFusedEnabled } from '../../src/testing.js';
import { registerFusedKernels } from '../../src/backend/fused.js';
import { spd, wellConditioned } from '../op-cases-linalg.js';

/**
 * Kernels registered on some backend but not on `webgl` or `webgpu`, with why the calls that use
 * them still work there (they test hasFused, or the kernel is one backend's speed-up of a TF.js op).
 */
const FALLBACKS: Record<string, string> = {
  TapegradAdamMultiUpdate:
    "cpu and wasm's one call for every parameter; elsewhere hasFused('adamMultiUpdate') is false and " +
    'Adam and AdamW step each parameter with TapegradAdamUpdate (src/optim/adam.ts)',
  TapegradMaxPoolGrad:
    "cpu and wasm's max-pool backward in one pass; elsewhere hasFused('maxPoolGrad') is false and " +
    'maxPoolGradReference finds the argmaxes with TF.js ops (src/backend/fused.ts)',
  TapegradIm2ColT:
    "the window matrix of wasm's filter gradient (wasm lacks Conv2DBackpropFilter); the GPUs run " +
    'their own Conv2DBackpropFilter, and im2colT falls back to im2colTReference (src/backend/fused.ts)',
  TapegradConv2DFilterGrad:
    "wasm's filter gradient (wasm lacks Conv2DBackpropFilter); the GPUs run their own " +
    'Conv2DBackpropFilter, and conv2dFilterGrad falls back to the window matrix times dy (src/backend/fused.ts)',
  TapegradConv2D:
    "wasm's convolution reading its filter in place; elsewhere hasFused('conv2d') is false and " +
    "conv2d runs TF.js's own (src/backend/defects.ts conv2dSamePaddingExplicit)",
  TapegradGelu:
    "cpu and wasm's gelu in one pass (float64 on cpu, float32 SIMD on wasm); elsewhere hasFused('gelu') is false and geluReference computes " +
    'x Φ(x) with TF.js ops (kernels/gelu.ts)',
  TapegradGeluGrad:
    "cpu and wasm's gelu adjoint in one pass; elsewhere hasFused('geluGrad') is false and the adjoint " +
    'is composed of ops (src/ops/elementwise.ts)',
  TapegradGeluWithDerivative:
    "cpu and wasm's gelu with its derivative beside it, for the adjoint to multiply by; elsewhere " +
    "hasFused('geluWithDerivative') is false and the adjoint is composed of ops (src/ops/elementwise.ts)",
  TapegradBroadcastLeading:
    "wasm's broadcastTo along leading axes by copies (src/backend/facts.ts broadcastToFast); elsewhere " +
    "TF.js's own broadcastTo",
  TapegradColumnSum:
    "wasm's sum over leading axes in one pass down the columns (src/backend/facts.ts sumFast); elsewhere " +
    "TF.js's own Sum",
  TapegradBatchNorm:
    "cpu and wasm's batch-norm forward in two passes; elsewhere hasFused('batchNorm') is false and " +
    'batchNormReference computes it with TF.js ops (src/backend/fused.ts)',
  TapegradBatchNormGrad:
    "cpu and wasm's batch-norm backward in two passes; elsewhere hasFused('batchNormGrad') is false and " +
    'batchNormGradReference computes it with TF.js ops (src/backend/fused.ts)',
  TapegradLayerNorm:
    "cpu and wasm's layer-norm forward a row at a time; elsewhere hasFused('layerNorm') is false, LayerNorm " +
    'composes its ops, and the layerNorm op runs layerNormReference (src/backend/fused.ts)',
  TapegradSoftmaxGrad:
    "cpu and wasm's softmax adjoint a row at a time; elsewhere hasFused('softmaxGrad') is false and softmax's " +
    'adjoint is composed of ops (src/ops/nn.ts)',
  TapegradScaledSoftmax:
    "cpu and wasm's attention weights softmax(scale·x + causal mask) a row at a time; elsewhere " +
    "hasFused('scaledSoftmax') is false and scaledSoftmaxReference computes them with TF.js ops (src/backend/fused.ts)",
  TapegradSelfAttention:
    "cpu and wasm's multi-head self-attention from the projection to the heads side by side; elsewhere " +
    "hasFused('selfAttention') is false, MultiheadAttention composes its ops, and the selfAttention op runs " +
    'selfAttentionReference (src/backend/fused.ts)',
  TapegradSelfAttentionGrad:
    "cpu and wasm's self-attention backward; elsewhere hasFused('selfAttentionGrad') is false and " +
    'selfAttentionGradReference computes it with TF.js ops (src/backend/fused.ts)',
  TapegradLayerNormGrad:
    "cpu and wasm's layer-norm backward a row at a time; elsewhere hasFused('layerNormGrad') is false and " +
    'layerNormGradReference computes it with TF.js ops (src/backend/fused.ts)',
};

const own = suite('tapegrad kernels on the page backend');
let page: tg.BackendName = 'webgl';
own.before(async () => {
  page = tg.getBackend() as tg.BackendName;
});
own.after(async () => {
  setFusedEnabled(true);
  await tg.setBackend(page);
});

own('every kernel tapegrad registers anywhere is registered on this backend, or falls back', async () => {
  // Backends register some kernels when they start: start the others once, then come back.
  for (const name of ['cpu', 'wasm'] as const) {
    registerFusedKernels(name);
    await tg.setBackend(name).catch(() => undefined);
  }
  await tg.setBackend(page);
  const tfNames = new Set(Object.values(tf as Record<string, unknown>).filter((v) => typeof v === 'string'));
  const ours = new Set<string>();
  for (const backend of ['cpu', 'wasm', 'webgl', 'webgpu'] as const)
    for (const k of tf.getKernelsForBackend(backend)) if (!tfNames.has(k.kernelName)) ours.add(k.kernelName);
  assert.ok(ours.has('TapegradAdamUpdate') && ours.has('LinalgLu'), `found only ${[...ours]}`);
  const missing = [...ours].filter((k) => !tf.getKernel(k, page) && !(k in FALLBACKS));
  assert.equal(missing, [], `registered elsewhere, not on ${page}, and not listed as falling back`);
});

/** A few Adam (or AdamW) steps of a small MLP through relu, leakyRelu and cross-entropy: the losses and parameters. */
async function trainingRun(decoupled: boolean): Promise<number[]> {
  const x = tg.randn([16, 6], { seed: 1 });
  const y = tg.tensor(
    Array.from({ length: 16 }, (_, i) => i % 3),
    { dtype: 'int32' },
  );
  const w1 = tg.randn([6, 8], { seed: 2, requiresGrad: true });
  const w2 = tg.randn([8, 3], { seed: 3, requiresGrad: true });
  const params = [w1, w2];
  const opt = decoupled ? new tg.optim.AdamW(params, { lr: 0.05 }) : new tg.optim.Adam(params, { lr: 0.05 });
  const out: number[] = [];
  for (let step = 0; step < 3; step++) {
    const loss = tg.tidy(() => {
      const h = tg.leakyRelu(tg.relu(x.matmul(w1)).sub(0.1), 0.2);
      const l = tg.nn.crossEntropy(h.matmul(w2), y);
      opt.zeroGrad();
      l.backward();
      opt.step();
      return tg.keep(l);
    });
    out.push(...(await loss.data()));
    loss.dispose();
  }
  for (const p of params) out.push(...(await p.data()));
  opt.zeroGrad();
  opt.dispose();
  tg.dispose([x, y, ...params]);
  return out;
}

/** Every factorization of tg.linalg on small matrices, flattened. */
async function linalgRun(): Promise<number[]> {
  const a = wellConditioned([2], 5, 4);
  const p = spd([2], 5, 5);
  const b = tg.randn([2, 5, 2], { seed: 6 });
  const parts = tg.tidy(() => {
    const lu = tg.linalg.lu(a);
    const { Q, R } = tg.linalg.qr(a);
    const { values } = tg.linalg.eigh(p);
    return [
      lu.L.matmul(lu.U),
      tg.linalg.cholesky(p),
      tg.linalg.solve(a, b),
      tg.linalg.inv(a),
      tg.linalg.det(a),
      Q.matmul(R),
      values,
      tg.linalg.svdvals(a),
      tg.linalg.matrixExp(a.mul(0.1)),
      tg.linalg.triangularSolve(tg.linalg.cholesky(p), b, { lower: true }),
    ];
  });
  const out: number[] = [];
  for (const t of parts) out.push(...(await t.data()));
  tg.dispose([a, p, b, ...parts]);
  return out;
}

const close = (got: number[], want: number[], what: string) => {
  assert.is(got.length, want.length, what);
  const worst = Math.max(...got.map((g, i) => Math.abs(g - want[i]) / (1 + Math.abs(want[i]))));
  assert.ok(worst < 2e-3, `${what}: off by ${worst} (relative)`);
};

for (const decoupled of [false, true]) {
  own(
    `${decoupled ? 'AdamW' : 'Adam'} steps through relu, leakyRelu and cross-entropy equal cpu's, kernels on and off`,
    async () => {
      const before = tg.memory().numTensors;
      await tg.setBackend('cpu');
      const want = await trainingRun(decoupled);
      await tg.setBackend(page);
      close(await trainingRun(decoupled), want, `${page}, fused kernels`);
      setFusedEnabled(false);
      close(await trainingRun(decoupled), want, `${page}, composed ops`);
      setFusedEnabled(true);
      assert.is(tg.memory().numTensors, before, 'no tensor left behind');
    },
  );
}

own('every factorization gives what it gives on cpu', async () => {
  const before = tg.memory().numTensors;
  await tg.setBackend('cpu');
  const want = await linalgRun();
  await tg.setBackend(page);
  close(await linalgRun(), want, page);
  assert.is(tg.memory().numTensors, before, 'no tensor left behind');
});

own.run();
