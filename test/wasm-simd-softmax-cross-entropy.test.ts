// The wasm SIMD softmax cross-entropy (kernels/wasm-simd-softmax-cross-entropy.ts) against the
// JavaScript loop of kernels/softmax-cross-entropy.ts, on the wasm backend: rows of 1 to 130 entries
// (multiples of 4 and not), class indices and distributions, an upstream gradient and a scale; −∞,
// +∞ and NaN logits, rows all −∞, signed zeros, huge logits; indices outside the classes (the loop
// runs); crossEntropy's ignoreIndex, label smoothing, class weights and reductions through it; its
// gradient against finite differences; memory; the module's size.
//
// The bound: the module's exponential is within 2 ulp of float64 (Math.exp within 1) and its sums are
// the loop's, in the same order, so a float32 output differs from the loop's only where its float64
// value lies within a few float64 ulp of a float32 rounding boundary (then by one float32 ulp), or
// where it is the difference of larger terms (a loss near 0, a probability near 1 less 1): there by
// at most 2⁻⁴⁶ times the terms' size, 1 + |max − z_y| for a loss, |g|·(1 + Σ|t|) for dlogits.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../src/index.js';
import * as fused from '../src/backend/fused.js';
import * as testing from '../src/testing.js';
import {
  setSimdSoftmaxCrossEntropy,
  simdSoftmaxCrossEntropy,
  softmaxCrossEntropyModule,
} from '../kernels/wasm-simd-softmax-cross-entropy.js';
import { rng } from '../src/random.js';
import { assertNoLeak } from './helpers.js';

function values(n: number, seed: number, lo = -4, hi = 4): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r.uniform());
}

/** With the SIMD loop and without: f's outputs, read. */
function both(f: () => tf.Tensor[]): [Float32Array[], Float32Array[]] {
  const run = (on: boolean) => {
    setSimdSoftmaxCrossEntropy(on);
    try {
      return tf.tidy(() => f().map((t) => t.dataSync() as Float32Array));
    } finally {
      setSimdSoftmaxCrossEntropy(true);
    }
  };
  return [run(true), run(false)];
}

/** One float32 ulp at v. */
const ulp32 = (v: number) => {
  const a = Math.fround(Math.abs(v));
  const next = new Float32Array([a]);
  new Int32Array(next.buffer)[0] += 1;
  return next[0] - a;
};

/** Asserts the bound above: equal (NaN to NaN), within one float32 ulp, or within 2⁻⁴⁶·size. */
function withinBound(simd: Float32Array, js: Float32Array, size: (i: number) => number, what: string) {
  assert.is(simd.length, js.length, what);
  for (let i = 0; i < js.length; i++) {
    const [a, b] = [simd[i], js[i]];
    if (Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b))) continue;
    const d = Math.abs(a - b);
    if (!(d <= ulp32(b) || d <= 2 ** -46 * size(i)))
      assert.unreachable(`${what}: entry ${i} is ${a}, the loop gives ${b}`);
  }
}

/** Loss and dlogits (with a per-row upstream gradient and a scale) for logits z and targets t, checked. */
function check(z: tf.Tensor, t: tf.Tensor, what: string) {
  const [N, C] = z.shape;
  const g = tf.tensor(values(N, N + 5, -2, 2), [N]);
  const [[lossS, dzS, dz1S], [lossJ, dzJ, dz1J]] = both(() => [
    fused.softmaxCrossEntropyLoss(z, t),
    fused.softmaxCrossEntropyGrad(z, t, { upstream: g, scale: 0.25 }),
    fused.softmaxCrossEntropyGrad(z, t),
  ]);
  const zv = z.dataSync();
  const tv = t.dataSync();
  const gv = g.dataSync();
  const dense = t.dtype === 'float32';
  const row = (r: number) => Array.from(zv.subarray(r * C, (r + 1) * C));
  const tAbs = (r: number) =>
    dense ? Array.from(tv.subarray(r * C, (r + 1) * C)).reduce((s, v) => s + Math.abs(v), 0) : 1;
  withinBound(lossS, lossJ, (r) => (1 + Math.max(...row(r).map(Math.abs))) * (1 + tAbs(r)), `${what} loss`);
  withinBound(dzS, dzJ, (i) => 0.25 * Math.abs(gv[Math.floor(i / C)]) * (1 + tAbs(Math.floor(i / C))), `${what} dz·g`);
  withinBound(dz1S, dz1J, (i) => 1 + tAbs(Math.floor(i / C)), `${what} dz`);
  g.dispose();
}

test("class indices and distributions, rows of 1 to 130 entries: the loop's values within the bound", async () => {
  await tg.setBackend('wasm');
  for (const [N, C] of [
    [1, 1],
    [3, 3],
    [5, 4],
    [7, 5],
    [64, 27],
    [9, 64],
    [4, 130],
  ]) {
    const z = tf.tensor(values(N * C, N + C), [N, C]);
    const y = tf.tensor(
      Int32Array.from({ length: N }, (_, r) => (r * 7 + 3) % C),
      [N],
      'int32',
    );
    // distributions, and rows that are not (Σt ≠ 1, negative entries), as label smoothing and weights give
    const t = tf.tensor(values(N * C, N * C, -0.5, 1), [N, C]);
    check(z, y, `[${N}, ${C}] class indices`);
    check(z, t, `[${N}, ${C}] distributions`);
    tf.dispose([z, y, t]);
  }
});

test("the module instantiates on the wasm backend's heap (the comparisons above are not loop against loop)", async () => {
  await tg.setBackend('wasm');
  const m = (
    tf.backend() as unknown as { wasm: { wasmMemory?: WebAssembly.Memory; asm?: { memory?: WebAssembly.Memory } } }
  ).wasm;
  assert.ok(simdSoftmaxCrossEntropy(m.wasmMemory ?? m.asm?.memory ?? null));
  setSimdSoftmaxCrossEntropy(false);
  assert.is(simdSoftmaxCrossEntropy(m.wasmMemory ?? m.asm?.memory ?? null), null);
  setSimdSoftmaxCrossEntropy(true);
});

test('−∞, +∞ and NaN logits, rows all −∞, signed zeros and huge logits go through as in the loop', async () => {
  await tg.setBackend('wasm');
  const C = 6;
  const rows = [
    [-Infinity, 1, 2, -Infinity, 0, 3], // −∞ off the class
    [1, Number.NaN, 2, 3, 4, 5], // NaN
    [1, Infinity, 2, 3, 4, 5], // +∞
    [-Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity],
    [0, -0, 0, -0, -0, 0],
    [3e38, -3e38, 1e30, 0, -1e30, 3e38],
    [40, 0, 0, 0, 0, 0], // a loss near 0, a probability near 1
    [-Infinity, 5, 5, 5, 5, -Infinity], // −∞ at the class
  ];
  const z = tf.tensor(rows.flat(), [rows.length, C]);
  const y = tf.tensor([1, 0, 0, 2, 1, 5, 0, 0], [rows.length], 'int32');
  const t = tf.tensor(
    rows.flatMap((_, r) => Array.from({ length: C }, (_, j) => (j === (r * 5) % C ? 0.5 : j === 4 ? -0 : 0.1))),
    [rows.length, C],
  );
  check(z, y, 'specials, class indices');
  check(z, t, 'specials, distributions');
  tf.dispose([z, y, t]);
});

test('class indices outside the classes: the loop runs (nothing is written outside dlogits)', async () => {
  await tg.setBackend('wasm');
  const z = tf.tensor(values(3 * 8, 3), [3, 8]);
  for (const bad of [8, -1, 1 << 20]) {
    const y = tf.tensor([1, bad, 2], [3], 'int32');
    const [simd, js] = both(() => [fused.softmaxCrossEntropyGrad(z, y)]);
    assert.equal(Array.from(simd[0]), Array.from(js[0]), `index ${bad}`);
    y.dispose();
  }
  z.dispose();
});

test('crossEntropy through the kernel: ignoreIndex, label smoothing, weights and reductions as without it', async () => {
  await tg.setBackend('wasm');
  const [N, C] = [6, 27];
  const zv = values(N * C, 11);
  const labels = [3, -100, 26, 0, -100, 13];
  const w = tg.tensor(Array.from(values(C, 12, 0.5, 2)));
  const cases: [string, tg.nn.CrossEntropyOptions][] = [
    ['mean', {}],
    ['sum', { reduction: 'sum' }],
    ['none', { reduction: 'none' }],
    ['ignoreIndex', { ignoreIndex: -100 }],
    ['label smoothing', { labelSmoothing: 0.1, ignoreIndex: -100 }],
    ['weights', { weight: w, ignoreIndex: -100, reduction: 'sum' }],
  ];
  for (const [name, opts] of cases) {
    const [simd, js] = both(() =>
      tg.tidy(() => {
        const z = tg.tensor(Array.from(zv), { shape: [N, C], requiresGrad: true });
        const valid = opts.ignoreIndex === undefined ? labels.map((v) => Math.max(v, 0)) : labels;
        const y = tg.tensor(valid, { dtype: 'int32' });
        const loss = tg.nn.crossEntropy(z, y, opts);
        loss.sum().backward();
        return [tf.clone(loss.value), tf.clone(z.grad!.value)];
      }),
    );
    withinBound(simd[0], js[0], () => 64, `${name}: loss`);
    withinBound(simd[1], js[1], () => 4, `${name}: gradient`);
  }
  w.dispose();
});

test('crossEntropy through the kernel checks against finite differences, class indices and distributions', async () => {
  await tg.setBackend('wasm');
  const z = tg.randn([3, 5], { seed: 1, requiresGrad: true });
  const y = tg.tensor([4, 0, 2], { dtype: 'int32' });
  const t = tg.softmax(tg.randn([3, 5], { seed: 2 }));
  for (const [name, target] of [
    ['class indices', y],
    ['distributions', t],
  ] as const) {
    const r = await tg.gradcheck((a) => tg.nn.crossEntropy(a, target, { reduction: 'sum' }), [z]);
    assert.ok(r.ok, `${name}: ${JSON.stringify(r.worst)}`);
  }
  tg.dispose([z, y, t]);
});

test('memory returns to its start', async () => {
  await tg.setBackend('wasm');
  const z = tf.tensor(values(7 * 27, 4), [7, 27]);
  const y = tf.tensor([0, 1, 2, 3, 4, 5, 26], [7], 'int32');
  assertNoLeak(() => {
    tf.dispose([fused.softmaxCrossEntropyLoss(z, y), fused.softmaxCrossEntropyGrad(z, y)]);
    const s = testing.softmaxCrossEntropy(z, y);
    tf.dispose([s.loss, s.dlogits]);
  });
  assertNoLeak(() => {
    const x = tg.tensor(Array.from(values(7 * 27, 5)), { shape: [7, 27], requiresGrad: true });
    tg.tidy(() => tg.nn.crossEntropy(x, tg.tensor([0, 1, 2, 3, 4, 5, 26], { dtype: 'int32' })).backward());
    x.grad?.dispose();
    x.dispose();
  });
  tf.dispose([z, y]);
});

test('the module is under 4 KiB: browsers compile it synchronously on the main thread', () => {
  assert.ok(softmaxCrossEntropyModule({ kind: 'import', shared: true }).length < 4096);
});

test.run();
