// Attention's weights softmax(scale·x + causal mask) as one kernel (kernels/scaled-softmax.ts) and
// its wasm SIMD loop (kernels/wasm-simd-scaled-softmax.ts): the SIMD loop against the JavaScript
// loop (rows of 1 to 33 entries, causal or not, L above and below S; NaN, ±∞, huge entries); both
// against the unfused TF.js ops (a product, the mask's sum, a softmax: within 2⁻²⁰ relative plus
// 2⁻²⁴ absolute, the float32 ops' roundings); on cpu too; the op's gradient against finite
// differences; scaledDotProductAttention and MultiheadAttention with isCausal (the fused op) against
// the same with the causal mask given as a mask (the unfused path); memory; the module's size.
//
// The SIMD loop's exponential is a float32 polynomial (within about 2 float32 ulp) and its sums are the
// loop's, in the same order: its outputs are the loop's within 2⁻²¹ relative (8 float32 ulp; 2.6 seen),
// or 2⁻¹²⁶ absolute where e^t is below float32's normal range (it gives 0 there).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../src/index.js';
import * as fused from '../src/backend/fused.js';
import { scaledSoftmax } from '../src/ops/nn.js';
import { scaledSoftmaxModule, setSimdScaledSoftmax } from '../kernels/wasm-simd-scaled-softmax.js';
import { rng } from '../src/random.js';
import { assertClose, assertNoLeak } from './helpers.js';

function values(n: number, seed: number, lo = -6, hi = 6): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r.uniform());
}

/** The kernel with the SIMD loop and without. */
function both(x: tf.Tensor, scale: number, causal: boolean): [Float32Array, Float32Array] {
  const run = (on: boolean) => {
    setSimdScaledSoftmax(on);
    try {
      return tf.tidy(() => fused.scaledSoftmax(x, scale, causal).dataSync() as Float32Array);
    } finally {
      setSimdScaledSoftmax(true);
    }
  };
  return [run(true), run(false)];
}

/** The bound above: equal (NaN to NaN), or within 2⁻²¹ relative + 2⁻¹²⁶. */
function withinBound(simd: Float32Array, js: Float32Array, what: string) {
  assert.is(simd.length, js.length, what);
  for (let i = 0; i < js.length; i++) {
    if (Object.is(simd[i], js[i]) || (Number.isNaN(simd[i]) && Number.isNaN(js[i]))) continue;
    if (!(Math.abs(simd[i] - js[i]) <= 2 ** -21 * Math.abs(js[i]) + 2 ** -126))
      assert.unreachable(`${what}: entry ${i} is ${simd[i]}, the loop gives ${js[i]}`);
  }
}

const SHAPES: [number[], boolean][] = [
  [[1, 1], true],
  [[3, 3], true],
  [[2, 5, 4], true],
  [[3, 7, 5], true],
  [[128, 4, 16, 16], true],
  [[2, 9, 33], false],
  [[2, 33, 9], true], // L above S: the last rows take every key
  [[2, 6, 13], true], // L below S
];

test("the SIMD loop gives the JavaScript loop's values within the bound; both the unfused ops' within 2⁻²⁰ relative + 2⁻²⁴", async () => {
  await tg.setBackend('wasm');
  for (const [shape, causal] of SHAPES) {
    const n = shape.reduce((a, b) => a * b, 1);
    const x = tf.tensor(values(n, n), shape);
    const [simd, js] = both(x, 0.35, causal);
    withinBound(simd, js, JSON.stringify(shape));
    const unfused = fused.scaledSoftmaxReference(x, 0.35, causal);
    assertClose(simd, unfused.dataSync(), {
      atol: 2 ** -24,
      rtol: 2 ** -20,
      msg: `${JSON.stringify(shape)} vs unfused`,
    });
    tf.dispose([x, unfused]);
  }
});

test('on cpu: the JavaScript loop against the unfused ops', async () => {
  await tg.setBackend('cpu');
  for (const [shape, causal] of SHAPES.slice(0, 4)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const x = tf.tensor(values(n, n + 1), shape);
    const y = fused.scaledSoftmax(x, 2, causal);
    const unfused = fused.scaledSoftmaxReference(x, 2, causal);
    assertClose(y.dataSync(), unfused.dataSync(), { atol: 2 ** -24, rtol: 2 ** -20, msg: JSON.stringify(shape) });
    tf.dispose([x, y, unfused]);
  }
});

test('NaN, ±∞ and huge entries go through as in the JavaScript loop; masked keys are 0', async () => {
  await tg.setBackend('wasm');
  const rows = [
    [1, 2, 3, 4, 5, 6],
    [Number.NaN, 2, 3, 4, 5, 6], // NaN among the keys: the row is NaN
    [1, Infinity, 3, 4, 5, 6],
    [-Infinity, -Infinity, 0, 1, 2, 3],
    [3e38, -3e38, 1e30, 0, -1e30, 3e38],
    [1, 2, 3, 4, 5, Number.NaN], // NaN masked out (query 5 takes key 5; the next row's query 0 does not)
    [Number.NaN, Number.NaN, Number.NaN, Number.NaN, Number.NaN, Number.NaN],
    [0, -0, -Infinity, Infinity, 0, 0],
  ];
  const x = tf.tensor(rows.flat(), [1, rows.length, 6]);
  for (const causal of [false, true]) {
    const [simd, js] = both(x, 0.5, causal);
    withinBound(simd, js, `specials, causal ${causal}`);
    if (causal)
      for (let i = 0; i < 6; i++) for (let j = i + 1; j < 6; j++) assert.is(simd[i * 6 + j], 0, `(${i}, ${j})`);
  }
  x.dispose();
});

test('the op checks against finite differences, and gradgrad (recorded backward)', async () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    await tg.setBackend(backend);
    const x = tg.randn([2, 3, 4], { seed: 3, requiresGrad: true });
    const w = tg.randn([2, 3, 4], { seed: 4 });
    for (const causal of [true, false]) {
      const r = await tg.gradcheck((a) => scaledSoftmax(a, 0.6, causal).mul(w).sum(), [x]);
      assert.ok(r.ok, `${backend} causal ${causal}: ${JSON.stringify(r.worst)}`);
    }
    const r2 = await tg.gradgradcheck((a) => scaledSoftmax(a, 0.6, true).mul(w).sum(), [x]);
    assert.ok(r2.ok, `${backend} gradgrad: ${JSON.stringify(r2.worst)}`);
    tg.dispose([x, w]);
  }
});

test('bad scale or input: TapegradError', async () => {
  await tg.setBackend('wasm');
  const x = tg.randn([2, 3]);
  for (const bad of [0, -1, Number.NaN, Infinity])
    assert.throws(() => scaledSoftmax(x, bad, false), /scaledSoftmax: scale must be a finite number > 0/);
  assert.throws(() => scaledSoftmax(tg.tensor([1, 2]), 1, true), /scaledSoftmax: expected float32 scores/);
  x.dispose();
});

test('attention with isCausal (the fused op) = with the causal mask given (unfused): outputs and gradients', async () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    await tg.setBackend(backend);
    const [N, H, L, E] = [2, 2, 5, 4];
    const q = tg.randn([N, H, L, E], { seed: 5, requiresGrad: true });
    const k = tg.randn([N, H, L, E], { seed: 6, requiresGrad: true });
    const v = tg.randn([N, H, L, E], { seed: 7, requiresGrad: true });
    const tril = tg.tensor(
      Array.from({ length: L }, (_, i) => Array.from({ length: L }, (_, j) => j <= i)),
      { dtype: 'bool' },
    );
    const run = (opts: tg.nn.AttentionOptions) => {
      const out = tg.tidy(() => {
        const o = tg.nn.scaledDotProductAttention(q, k, v, opts);
        o.mul(tg.randn(o.shape, { seed: 8 }))
          .sum()
          .backward();
        return tg.keep(o.detach());
      });
      const grads = [q, k, v].map((t) => {
        const g = t.grad!;
        t.grad = null;
        return g;
      });
      return [out, ...grads];
    };
    const fusedRun = run({ isCausal: true });
    const unfusedRun = run({ mask: tril });
    for (let i = 0; i < 4; i++)
      assertClose(fusedRun[i], unfusedRun[i], {
        atol: 1e-6,
        rtol: 1e-5,
        msg: `${backend} ${['output', 'q̄', 'k̄', 'v̄'][i]}`,
      });
    tg.dispose([...fusedRun, ...unfusedRun, q, k, v, tril]);

    // MultiheadAttention: isCausal alone (fused) against the same mask as attnMask (true: masked out)
    const mha = new tg.nn.MultiheadAttention(8, 2, { seed: 9 });
    const x = tg.randn([2, L, 8], { seed: 10 });
    const future = tg.tensor(
      Array.from({ length: L }, (_, i) => Array.from({ length: L }, (_, j) => j > i)),
      { dtype: 'bool' },
    );
    const a = mha.forward(x, x, x, { isCausal: true });
    const b = mha.forward(x, x, x, { attnMask: future });
    assertClose(a, b, { atol: 1e-6, rtol: 1e-5, msg: `${backend} MultiheadAttention` });
    tg.dispose([a, b, x, future]);
    mha.dispose();
  }
});

test('memory returns to its start: the kernel, the op forward and backward, a transformer layer', async () => {
  await tg.setBackend('wasm');
  const x = tf.tensor(values(2 * 3 * 16 * 16, 9), [2, 3, 16, 16]);
  assertNoLeak(() => fused.scaledSoftmax(x, 0.25, true).dispose());
  x.dispose();
  const layer = new tg.nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0, seed: 1 });
  const h = tg.randn([2, 5, 8], { seed: 2 });
  assertNoLeak(() => {
    tg.tidy(() => layer.forward(h, { isCausal: true }).sum().backward());
    for (const p of layer.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
  });
  tg.dispose([h]);
  layer.dispose();
});

test('the module is under 4 KiB: browsers compile it synchronously on the main thread', () => {
  assert.ok(scaledSoftmaxModule({ kind: 'import', shared: true }).length < 4096);
});

test.run();
