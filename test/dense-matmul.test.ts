// wasm's plain products in SIMD (kernels/dense-matmul.ts), where TF.js calls XNNPACK: the same bits
// as XNNPACK on odd sizes (rows, columns and inner sizes that no tile or block divides, fewer than 8
// columns), with and without a bias, with relu and relu6, and with signed zeros, infinities and NaN
// among the entries, with the default blocks of rows and terms and with small ones (many blocks and
// their edges on small products), on one thread and split with the helper thread
// (kernels/helper-thread.ts: chunks of whole panels of columns that both threads take, or halves of
// the rows); aᵀ·b with a read in place, and a·bᵀ with b's panels copied
// transposed, the same bits as after a transpose; within
// the float32 rounding bound of a float64 reference; a dense layer's forward as the _FusedMatMul kernel
// on its two matrices (no reshapes), the same bits as tf.fused.matMul, ours or XNNPACK's; (and that check fails on a product missing a
// term); whole MLP training steps give the same losses with the kernel on and off; nothing leaks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../src/index.js';
import {
  BLOCKING,
  setDenseColumnChunks,
  setDenseMatMul,
  setDenseTransposedA,
  setDenseTransposedB,
} from '../kernels/dense-matmul.js';
import { setNarrowLeftInPlace } from '../src/testing.js';
import { assertNoLeak, helperThreadUp, randomValues, withHelperChunks } from './helpers.js';
import { setDirectFusedMatMul } from '../src/backend/facts.js';

type Activation = 'linear' | 'relu' | 'relu6';

/** act(a·b + bias) by tf.fused.matMul (bias and activation given) or tf.matMul, with the kernel on or off. */
function product(a: tf.Tensor2D, b: tf.Tensor2D, bias: tf.Tensor1D | null, act: Activation | null, on: boolean) {
  // the output's memory is likely the last freed block of its size: filled first, so that an entry
  // left unwritten is not the value of the product before
  tf.fill([a.shape[0], b.shape[1]], 7777).dispose();
  setDenseMatMul(on);
  try {
    const c = act === null ? tf.matMul(a, b) : tf.fused.matMul({ a, b, bias: bias ?? undefined, activation: act });
    const out = c.dataSync() as Float32Array;
    c.dispose();
    return out;
  } finally {
    setDenseMatMul(true);
  }
}

/** [M, K, N]: every M mod 4 and N mod 16, fewer columns than a tile, inner sizes below and past a block. */
const SIZES: [number, number, number][] = [
  [1, 1, 4],
  [3, 5, 7],
  [4, 8, 8],
  [5, 17, 9],
  [7, 3, 13],
  [9, 100, 10],
  [13, 33, 21],
  [64, 78, 36],
  [6, 1, 5],
  [2, 9, 1],
  [5, 6, 2],
  [10, 11, 3],
  [11, 13, 6],
  [14, 19, 23],
  [6, 10, 16],
  [3, 7, 32],
  [5, 12, 47],
];

/** The default blocks, and small ones: several blocks of rows and of terms, each with a remainder, on SIZES. */
const BLOCKINGS = [{ ...BLOCKING }, { mc: 6, kc: 7 }, { mc: 1, kc: 1 }, { mc: 9, kc: 4 }];

/** Runs fn with each of BLOCKINGS set, naming it in a failure. */
function eachBlocking(fn: (name: string) => void): void {
  const saved = { ...BLOCKING };
  try {
    for (const b of BLOCKINGS) {
      Object.assign(BLOCKING, b);
      fn(`blocks of ${b.mc} rows, ${b.kc} terms`);
    }
  } finally {
    Object.assign(BLOCKING, saved);
  }
}

test('plain and fused products: the same bits as XNNPACK', async () => {
  await tg.setBackend('wasm');
  const specials = [0, -0, Infinity, -Infinity, Number.NaN, 3e38, -3e38];
  SIZES.forEach(([M, K, N], c) => {
    for (const withSpecials of [false, true]) {
      const a = tf.tensor2d(randomValues(M * K, 3 * c, withSpecials ? specials : []), [M, K]);
      const b = tf.tensor2d(randomValues(K * N, 3 * c + 1, withSpecials ? [...specials].reverse() : []), [K, N]);
      const bias = tf.tensor1d(randomValues(N, 3 * c + 2, withSpecials ? [Number.NaN, -0] : []));
      for (const [withBias, act] of [
        [false, null],
        [false, 'linear'],
        [true, 'linear'],
        [true, 'relu'],
        [false, 'relu'],
        [true, 'relu6'],
      ] as const) {
        const xnn = product(a, b, withBias ? bias : null, act, false);
        eachBlocking((blocks) => {
          const ours = product(a, b, withBias ? bias : null, act, true);
          for (let i = 0; i < ours.length; i++)
            if (!Object.is(ours[i], xnn[i]))
              assert.unreachable(
                `[${M},${K}]·[${K},${N}] bias ${withBias} ${act} specials ${withSpecials}, ${blocks}: ` +
                  `entry ${i} is ${ours[i]}, XNNPACK ${xnn[i]}`,
              );
        });
      }
      assertNoLeak(() => tf.fused.matMul({ a, b, bias, activation: 'relu' }).dispose());
      assertNoLeak(() => tf.matMul(a, b).dispose());
      tf.dispose([a, b, bias]);
    }
  });
});

/**
 * The largest |c − c₆₄| / (γ · (|bias| + Σₖ |a_ik b_kj|)) over the entries, c₆₄ the float64 sum: the
 * float32 sum of K products and a bias, in any order, is within γ = (K + 1)·u / (1 − (K + 1)·u)
 * of that sum of magnitudes (u = 2⁻²⁴), so an accurate product gives at most 1.
 */
function errorOverBound(a: Float32Array, b: Float32Array, bias: Float32Array, c: Float32Array, M: number, K: number) {
  const N = bias.length;
  const u = 2 ** -24;
  const gamma = ((K + 1) * u) / (1 - (K + 1) * u);
  let worst = 0;
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let exact = bias[j];
      let magnitude = Math.abs(bias[j]);
      for (let k = 0; k < K; k++) {
        exact += a[i * K + k] * b[k * N + j];
        magnitude += Math.abs(a[i * K + k] * b[k * N + j]);
      }
      worst = Math.max(worst, Math.abs(c[i * N + j] - exact) / (gamma * magnitude));
    }
  return worst;
}

test('products shared with the helper thread (chunks of columns, or halves of the rows): the same bits as XNNPACK', async () => {
  await tg.setBackend('wasm');
  await helperThreadUp();
  for (const chunks of [true, false]) {
    setDenseColumnChunks(chunks);
    try {
      for (const [M, K, N] of [
        [8, 1 << 17, 4],
        [37, 3000, 61],
        [64, 784, 256],
        [13, 20_000, 24],
        [301, 611, 131],
      ] as [number, number, number][]) {
        const a = tf.tensor2d(randomValues(M * K, M), [M, K]);
        const b = tf.tensor2d(randomValues(K * N, K), [K, N]);
        const bias = tf.tensor1d(randomValues(N, N));
        for (const act of [null, 'relu'] as const) {
          const xnn = product(a, b, bias, act, false);
          eachBlocking((blocks) => {
            const ours = product(a, b, bias, act, true);
            for (let i = 0; i < ours.length; i++)
              if (!Object.is(ours[i], xnn[i]))
                assert.unreachable(
                  `[${M},${K}]·[${K},${N}] ${act}, ${blocks}, column chunks ${chunks}: entry ${i} is ${ours[i]}, XNNPACK ${xnn[i]}`,
                );
          });
        }
        if (chunks && N >= 64 && M <= BLOCKING.mc) {
          // the helper takes some of the chunks (it may take none in one call on a loaded machine)
          const ours = await withHelperChunks(() => product(a, b, bias, 'relu', true), `[${M},${K}]·[${K},${N}]`);
          const xnn = product(a, b, bias, 'relu', false);
          for (let i = 0; i < ours.length; i++)
            if (!Object.is(ours[i], xnn[i])) assert.unreachable(`[${M},${K}]·[${K},${N}] shared: entry ${i}`);
        }
        tf.dispose([a, b, bias]);
      }
    } finally {
      setDenseColumnChunks(true);
    }
  }
});

test('aᵀ·b with a read in place: the same bits as a transposed first, on one thread and two; no Transpose kernel', async () => {
  await tg.setBackend('wasm');
  const specials = [0, -0, Infinity, -Infinity, Number.NaN, 3e38, -3e38];
  /** aᵀ·b (a [K, M]) through the BatchMatMul kernel, the kernel reading a in place or not. */
  const transposedProduct = (a: tf.Tensor2D, b: tf.Tensor2D, inPlace: boolean) => {
    setDenseTransposedA(inPlace);
    try {
      const c = tf.matMul(a, b, true, false);
      const out = c.dataSync() as Float32Array;
      c.dispose();
      return out;
    } finally {
      setDenseTransposedA(true);
    }
  };
  const check = (shapes: [number, number, number][], what: string) =>
    shapes.forEach(([M, K, N], c) => {
      const a = tf.tensor2d(randomValues(K * M, 5 * c, c % 2 ? specials : []), [K, M]);
      const b = tf.tensor2d(randomValues(K * N, 5 * c + 1), [K, N]);
      // the reference: a transposed first, then the plain product (the dense kernel's, as XNNPACK's bits)
      const at = tf.transpose(a) as tf.Tensor2D;
      const want = product(at, b, null, null, true);
      eachBlocking((blocks) => {
        const got = transposedProduct(a, b, true);
        for (let i = 0; i < got.length; i++)
          if (!Object.is(got[i], want[i]))
            assert.unreachable(
              `[${K},${M}]ᵀ·[${K},${N}] ${what}, ${blocks}: entry ${i} is ${got[i]}, ${want[i]} after a transpose`,
            );
      });
      assertNoLeak(() => tf.matMul(a, b, true, false).dispose());
      tf.dispose([a, b, at]);
    });
  check(SIZES, 'on one thread');
  await helperThreadUp();
  check(
    [
      [64, 784, 256],
      [301, 611, 131],
      [784, 64, 256],
    ],
    'split with the helper thread',
  );
  // the weight gradient of a dense layer: x read in place, no Transpose kernel
  const x = tg.randn([64, 784], { seed: 1 });
  const w = tg.randn([784, 256], { seed: 2, requiresGrad: true });
  const seen: string[] = [];
  const info = await tf.profile(() =>
    tg.tidy(() => {
      tg.gradients(tg.linear(x, w).sum(), [w]);
    }),
  );
  seen.push(...info.kernels.map((k) => k.name));
  assert.not.ok(seen.includes('Transpose'), `kernels: ${seen.join(', ')}`);
  tg.dispose([x, w]);
});

test('a narrow x of a weight gradient xᵀ·g is read in place whatever g (setNarrowLeftInPlace): no Transpose kernel, the same bits as off', async () => {
  await tg.setBackend('wasm');
  // the words transformer's: the feed-forward layers' (x 64 and 256 wide) and the input projection's (g 192 wide)
  for (const [K, I, O] of [
    [2064, 64, 256],
    [2064, 256, 64],
    [2064, 64, 192],
  ]) {
    const x = tg.tensor(randomValues(K * I, I), { shape: [K, I] });
    const w = tg.tensor(randomValues(I * O, O), { shape: [I, O], requiresGrad: true });
    const g = tg.tensor(randomValues(K * O, K), { shape: [K, O] });
    const grads: Float32Array[] = [];
    for (const on of [true, false]) {
      setNarrowLeftInPlace(on);
      try {
        const info = await tf.profile(() => {
          const [gw] = tg.tidy(() => tg.gradients(tg.linear(x, w).mul(g).sum(), [w]));
          grads.push(gw!.dataSync() as Float32Array);
          gw!.dispose();
        });
        const names = info.kernels.map((k) => k.name);
        assert.is(
          names.includes('Transpose'),
          !on,
          `[${K},${I}]ᵀ·[${K},${O}] ${on ? 'on' : 'off'}: ${names.join(' ')}`,
        );
      } finally {
        setNarrowLeftInPlace(true);
      }
    }
    for (let i = 0; i < grads[0].length; i++)
      if (!Object.is(grads[0][i], grads[1][i]))
        assert.unreachable(`[${K},${I}]ᵀ·[${K},${O}]: entry ${i} is ${grads[0][i]} in place, ${grads[1][i]} off`);
    tg.dispose([x, w, g]);
  }
});

test('a·bᵀ with b copied into the panels transposed: the same bits as b transposed first, on one thread and two; no Transpose kernel', async () => {
  await tg.setBackend('wasm');
  const specials = [0, -0, Infinity, -Infinity, Number.NaN, 3e38, -3e38];
  const check = (shapes: [number, number, number][], what: string) =>
    shapes.forEach(([M, K, N], c) => {
      const a = tf.tensor2d(randomValues(M * K, 7 * c), [M, K]);
      const b = tf.tensor2d(randomValues(N * K, 7 * c + 1, c % 2 ? specials : []), [N, K]);
      // the reference: b transposed first, then the plain product (the dense kernel's, as XNNPACK's bits)
      const bt = tf.transpose(b) as tf.Tensor2D;
      const want = product(a, bt, null, null, true);
      eachBlocking((blocks) => {
        tf.fill([M, N], 7777).dispose();
        const c = tf.matMul(a, b, false, true);
        const got = c.dataSync() as Float32Array;
        c.dispose();
        for (let i = 0; i < got.length; i++)
          if (!Object.is(got[i], want[i]))
            assert.unreachable(
              `[${M},${K}]·[${N},${K}]ᵀ ${what}, ${blocks}: entry ${i} is ${got[i]}, ${want[i]} after a transpose`,
            );
      });
      assertNoLeak(() => tf.matMul(a, b, false, true).dispose());
      tf.dispose([a, b, bt]);
    });
  check(SIZES, 'on one thread');
  await helperThreadUp();
  check(
    [
      [64, 784, 256],
      [301, 611, 131],
      [784, 64, 256],
    ],
    'split with the helper thread',
  );
  // the input gradient of a dense layer g·Wᵀ: W's panels copied transposed, no Transpose kernel; and
  // with the kernel declining it, a transpose again and the same gradient's bits
  const x = tg.randn([64, 200], { seed: 1, requiresGrad: true });
  const w = tg.randn([200, 72], { seed: 2 });
  const gradient = () =>
    tg.tidy(() => tg.gradients(tg.linear(x, w).square().sum(), [x])[0]!.dataSync() as Float32Array);
  const info = await tf.profile(() => void gradient());
  const seen = info.kernels.map((k) => k.name);
  assert.not.ok(seen.includes('Transpose'), `kernels: ${seen.join(', ')}`);
  const inPlace = gradient();
  setDenseTransposedB(false);
  try {
    const declined = await tf.profile(() => void gradient());
    assert.ok(
      declined.kernels.some((k) => k.name === 'Transpose'),
      'off: a Transpose kernel',
    );
    const transposed = gradient();
    for (let i = 0; i < inPlace.length; i++)
      if (!Object.is(inPlace[i], transposed[i]))
        assert.unreachable(`g·Wᵀ entry ${i}: ${inPlace[i]}, ${transposed[i]} off`);
  } finally {
    setDenseTransposedB(true);
  }
  tg.dispose([x, w]);
});

test("linear's forward: _FusedMatMul on two matrices, no Reshape kernel, tf.fused.matMul's bits (ours and XNNPACK's)", async () => {
  await tg.setBackend('wasm');
  for (const [M, K, N] of [
    [64, 78, 36],
    [13, 33, 21],
    [200, 40, 10],
  ] as [number, number, number][]) {
    const x = tg.tensor(randomValues(M * K, M), { shape: [M, K] });
    const w = tg.tensor(randomValues(K * N, K), { shape: [K, N] });
    const b = tg.tensor(randomValues(N, N), { shape: [N] });
    for (const activation of ['none', 'relu'] as const)
      for (const dense of [true, false]) {
        setDenseMatMul(dense);
        try {
          const layer = () => tg.tidy(() => tg.linear(x, w, b, { activation }).dataSync() as Float32Array);
          const kernels = (await tf.profile(() => void layer())).kernels.map((k) => k.name);
          assert.equal(kernels, ['_FusedMatMul'], `[${M},${K}]·[${K},${N}] ${activation}`);
          const direct = layer();
          setDirectFusedMatMul(false);
          const through = layer();
          setDirectFusedMatMul(true);
          const want = tf.tidy(() =>
            tf.fused
              .matMul({ a: x.value, b: w.value, bias: b.value, activation: activation === 'relu' ? 'relu' : 'linear' })
              .dataSync(),
          );
          for (let i = 0; i < want.length; i++)
            if (!Object.is(direct[i], want[i]) || !Object.is(through[i], want[i]))
              assert.unreachable(`[${M},${K}]·[${K},${N}] ${activation} dense ${dense}: entry ${i}`);
          assertNoLeak(() => layer());
        } finally {
          setDenseMatMul(true);
          setDirectFusedMatMul(true);
        }
      }
    tg.dispose([x, w, b]);
  }
});

test("a fused product keeps NaN through relu and relu6 (tg.linear, nn.MLP), our kernel or TF.js's beneath it", () => {
  for (const [M, K, N] of [
    [1, 2, 2],
    [5, 3, 9],
    [300, 64, 40],
  ]) {
    const xs = Array.from({ length: M * K }, (_, i) => (i % 7) - 3);
    xs[0] = NaN;
    const x = tg.tensor(xs, { shape: [M, K] });
    const w = tg.ones([K, N]);
    for (const activation of ['relu', 'relu6'] as const) {
      const y = tf.fused.matMul({ a: x.value, b: w.value, activation });
      const v = y.dataSync();
      assert.ok(Number.isNaN(v[0]) && Number.isNaN(v[N - 1]), `${M}×${K}×${N} ${activation}: row 0 is NaN`);
      if (M > 1) assert.ok(!Number.isNaN(v[N]), `${M}×${K}×${N} ${activation}: row 1 is a number`);
      y.dispose();
    }
    const lin = tg.linear(x, w, null, { activation: 'relu' });
    assert.ok(Number.isNaN(lin.dataSync()[0]), 'tg.linear');
    const mlp = new tg.nn.MLP([K, 4, 2], { activation: 'relu', seed: 1 });
    const out = mlp.forward(x);
    assert.ok(Number.isNaN(out.dataSync()[0]), 'nn.MLP: a NaN input gives a NaN output, as in PyTorch');
    tg.dispose([x, w, lin, out]);
    mlp.dispose();
  }
  // −0 still becomes +0, as TF.js's Relu makes it
  const z = tf.fused.matMul({ a: tf.tensor([[-0]]), b: tf.tensor([[1]]), activation: 'relu' });
  assert.ok(Object.is(z.dataSync()[0], 0));
  z.dispose();
});

test('within the float32 rounding bound of a float64 reference; a product missing a term fails it', async () => {
  await tg.setBackend('wasm');
  for (const [M, K, N] of [...SIZES, [65, 783, 37] as [number, number, number]]) {
    const [av, bv, biasv] = [randomValues(M * K, M), randomValues(K * N, K), randomValues(N, N)];
    const c = product(tf.tensor2d(av, [M, K]), tf.tensor2d(bv, [K, N]), tf.tensor1d(biasv), 'linear', true);
    const ratio = errorOverBound(av, bv, biasv, c, M, K);
    assert.ok(ratio <= 1, `[${M},${K}]·[${K},${N}]: error ${ratio} × the bound`);
    // the same check on a result whose first entry lacks its last term
    const planted = Float32Array.from(c);
    planted[0] -= av[K - 1] * bv[(K - 1) * N];
    if (K > 1 && av[K - 1] * bv[(K - 1) * N] !== 0) assert.ok(errorOverBound(av, bv, biasv, planted, M, K) > 1);
  }
  tf.disposeVariables();
});

test('MLP training steps: the same losses with the kernel on and off', async () => {
  await tg.setBackend('wasm');
  const run = (on: boolean) => {
    setDenseMatMul(on);
    try {
      const net = new tg.nn.Sequential(
        new tg.nn.Linear(36, 20, { seed: 1 }),
        new tg.nn.ReLU(),
        new tg.nn.Linear(20, 12, { seed: 2 }),
        new tg.nn.ReLU(),
        new tg.nn.Linear(12, 5, { seed: 3 }),
      );
      const opt = new tg.optim.Adam(net.parameters(), { lr: 1e-2 });
      const x = tg.randn([17, 36], { seed: 4 });
      const y = tg.tensor(
        Array.from({ length: 17 }, (_, i) => i % 5),
        { dtype: 'int32' },
      );
      const losses: number[] = [];
      for (let s = 0; s < 4; s++) {
        opt.zeroGrad();
        const loss = tg.tidy(() => {
          const l = tg.nn.crossEntropy(net.forward(x), y);
          l.backward();
          opt.step();
          return l;
        });
        losses.push(loss.item());
        loss.dispose();
      }
      opt.zeroGrad();
      opt.dispose();
      tg.dispose([x, y, ...net.parameters()]);
      return losses;
    } finally {
      setDenseMatMul(true);
    }
  };
  const before = tg.memory();
  assert.equal(run(true), run(false));
  assert.is(tg.memory().numTensors, before.numTensors);
});

test.run();
