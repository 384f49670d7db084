// A convolution's filter gradient on wasm (kernels/conv2d-filter-grad.ts, its SIMD loop in
// kernels/wasm-simd-conv.ts): the SIMD loop gives the JavaScript loop's bits, on one thread and with
// its rows split with the helper thread; both are within the float32 rounding bound of a float64
// sum (γ_K·Σ|x·dy|, K the terms of a sum) and close to the cpu backend's Conv2DBackpropFilter; over
// strides, 'same' and 'valid' padding, batch 1, one input or output channel, output channels and
// filter rows that no tile divides, and signed zeros, infinities and NaN among x and dy. conv2d's
// gradients through it pass gradcheck with stride, padding, dilation and groups; nothing leaks; the
// modules are small enough for a browser to compile synchronously.
// The Winograd form of a 3×3 filter gradient of stride 1 (kernels/wasm-simd-winograd.ts): within its
// stated bound of the float64 sum, on odd sides, 'same' and 'valid'; the direct sums' bits where an
// entry is not finite (±∞ and NaN among x and dy, or an overflow); the same bits on one thread as
// with its chunks shared with the helper thread. The other tests run the direct sums.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../src/index.js';
import * as fused from '../src/backend/fused.js';
import { conv2dFilterGradReference, filterGradGeometry } from '../kernels/conv2d-filter-grad.js';
import { convModule, filterGradModule, setSimdConv } from '../kernels/wasm-simd-conv.js';
import { setWinogradFilterGrad, winogradFilterGradModule } from '../kernels/wasm-simd-winograd.js';
import { setHelperThread } from '../kernels/helper-thread.js';
import { setChunkSharing, sharedChunks } from '../kernels/wasm-simd-module.js';
import { assertClose, assertNoLeak, helperThreadUp, randomValues, withHelperChunks } from './helpers.js';

type Pair = [number, number];
type Pad = 'valid' | 'same';

interface Case {
  x: number[];
  w: number[];
  s: Pair;
  pad: Pad;
}
const CASES: Case[] = [
  { x: [3, 6, 6, 1], w: [3, 3, 1, 4], s: [1, 1], pad: 'same' }, // one input channel: 9 rows
  { x: [1, 7, 6, 3], w: [3, 3, 3, 5], s: [2, 2], pad: 'same' }, // batch 1, 5 outputs: 4 + 1 columns
  { x: [2, 7, 7, 2], w: [2, 3, 2, 3], s: [2, 1], pad: 'valid' }, // 3 outputs: single columns only
  { x: [2, 6, 6, 8], w: [3, 3, 8, 13], s: [1, 1], pad: 'same' }, // 8 + 4 + 1 columns
  { x: [2, 5, 4, 1], w: [1, 1, 1, 1], s: [1, 1], pad: 'valid' }, // one row, one column
  { x: [2, 9, 8, 2], w: [4, 2, 2, 8], s: [3, 2], pad: 'same' }, // even window: more padding after
  { x: [4, 10, 10, 16], w: [3, 3, 16, 32], s: [1, 1], pad: 'same' }, // the MNIST CNN's second layer's shape
];

/** The kernel's output for x and dy with the SIMD loop on or off (the direct sums, or the Winograd form where it fits). */
function filterGrad(x: tf.Tensor, dy: tf.Tensor, c: Case, simd: boolean, winograd = false): Float32Array {
  setSimdConv(simd);
  setWinogradFilterGrad(winograd);
  try {
    return tf
      .tidy(() => fused.conv2dFilterGrad(x, dy, { filterSize: [c.w[0], c.w[1]], strides: c.s, pad: c.pad }))
      .dataSync() as Float32Array;
  } finally {
    setSimdConv(true);
    setWinogradFilterGrad(true);
  }
}

function operands(c: Case, specials: number[] = []) {
  const { Ho, Wo } = filterGradGeometry(c.x, { filterSize: [c.w[0], c.w[1]], strides: c.s, pad: c.pad });
  const dyShape = [c.x[0], Ho, Wo, c.w[3]];
  const xv = randomValues(
    c.x.reduce((a, b) => a * b, 1),
    1,
    specials,
  );
  const dyv = randomValues(
    dyShape.reduce((a, b) => a * b, 1),
    2,
    [...specials].reverse(),
  );
  return { xv, dyv, dyShape, x: tf.tensor(xv, c.x), dy: tf.tensor(dyv, dyShape) };
}

function sameBits(a: Float32Array, b: Float32Array, what: string): void {
  assert.is(a.length, b.length, what);
  for (let i = 0; i < a.length; i++)
    if (!Object.is(a[i], b[i])) assert.unreachable(`${what}: entry ${i} is ${a[i]}, the JavaScript loop gives ${b[i]}`);
}

/** The largest error of `got` against the float64 sums, in units of its bound γ_K·Σ|x·dy|. */
function worstInBounds(got: Float32Array, c: Case, xv: Float32Array, dyv: Float32Array): number {
  const attrs = { filterSize: [c.w[0], c.w[1]] as Pair, strides: c.s, pad: c.pad };
  const { sum, magnitude } = conv2dFilterGradReference(xv, c.x, dyv, c.w[3], attrs);
  const { N, Ho, Wo } = filterGradGeometry(c.x, attrs);
  const K = N * Ho * Wo;
  const u = 2 ** -24;
  const gamma = (K * u) / (1 - K * u);
  let worst = 0;
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i] - sum[i]);
    worst = Math.max(worst, err === 0 ? 0 : err / (gamma * magnitude[i]));
  }
  return worst;
}

for (const c of CASES) {
  const what = `x ${JSON.stringify(c.x)}, w ${JSON.stringify(c.w)}, stride ${c.s}, '${c.pad}'`;
  test(`filter gradient ${what}: SIMD = JavaScript, within γ_K·Σ|x·dy| of float64, ≈ cpu's kernel`, async () => {
    await tg.setBackend('wasm');
    const { xv, dyv, dyShape, x, dy } = operands(c);
    const simd = filterGrad(x, dy, c, true);
    const js = filterGrad(x, dy, c, false);
    assert.is(
      simd.length,
      c.w.reduce((a, b) => a * b, 1),
    );
    sameBits(simd, js, what);
    const worst = worstInBounds(simd, c, xv, dyv);
    assert.ok(worst <= 1, `${what}: an error ${worst} times its bound`);
    assertNoLeak(() =>
      fused.conv2dFilterGrad(x, dy, { filterSize: [c.w[0], c.w[1]], strides: c.s, pad: c.pad }).dispose(),
    );
    tf.dispose([x, dy]);
    await tg.setBackend('cpu');
    const attrs = { strides: c.s, pad: c.pad, dataFormat: 'NHWC', filterShape: c.w } as never;
    const inputs = () => ({ x: tf.tensor(xv, c.x), dy: tf.tensor(dyv, dyShape) });
    const want = tf.tidy(() => tf.engine().runKernel('Conv2DBackpropFilter', inputs(), attrs) as tf.Tensor);
    assertClose(simd, want.dataSync(), { atol: 1e-4, rtol: 1e-5, msg: `${what} against cpu` });
    want.dispose();
  });
}

test('filter gradient with ±0, ±∞, NaN and huge values: SIMD = JavaScript; NaN where the float64 sum is', async () => {
  await tg.setBackend('wasm');
  for (const c of [CASES[0], CASES[3], CASES[5]]) {
    // ±3e38: sums that overflow float32 (not compared with the float64 sums)
    for (const specials of [
      [0, -0, Infinity, -Infinity, Number.NaN, 1e-45],
      [0, -0, Infinity, Number.NaN, -3e38, 3e38, 3e38],
    ]) {
      const { xv, dyv, x, dy } = operands(c, specials);
      const simd = filterGrad(x, dy, c, true);
      sameBits(simd, filterGrad(x, dy, c, false), `specials ${specials}, x ${JSON.stringify(c.x)}`);
      const attrs = { filterSize: [c.w[0], c.w[1]] as Pair, strides: c.s, pad: c.pad };
      const { sum } = conv2dFilterGradReference(xv, c.x, dyv, c.w[3], attrs);
      if (specials.length === 6)
        for (let i = 0; i < simd.length; i++)
          if (
            Number.isNaN(sum[i]) !== Number.isNaN(simd[i]) ||
            (!Number.isFinite(sum[i]) && sum[i] !== simd[i] && !Number.isNaN(sum[i]))
          )
            assert.unreachable(`entry ${i}: ${simd[i]}, the float64 sum ${sum[i]}`);
      tf.dispose([x, dy]);
    }
  }
});

test('filter gradient shared with the helper thread, in chunks or in halves: the same bits as on one thread', async () => {
  await tg.setBackend('wasm');
  await helperThreadUp();
  // ≥ 2²² multiply-adds: shared in chunks of 4 rows, or split 4 + 5 (9 rows), 72 + 72 (144)
  for (const c of [
    { x: [64, 28, 28, 1], w: [3, 3, 1, 16], s: [1, 1], pad: 'same' },
    { x: [16, 14, 14, 16], w: [3, 3, 16, 32], s: [1, 1], pad: 'same' },
    { x: [64, 31, 31, 6], w: [3, 3, 6, 13], s: [2, 2], pad: 'valid' },
  ] as Case[]) {
    const { x, dy } = operands(c, [Number.NaN, -0]);
    const before = sharedChunks().there;
    // the chunks are taken as each thread comes free: on a loaded machine the helper may take none in one call
    let shared = filterGrad(x, dy, c, true);
    for (let tries = 1; sharedChunks().there === before && tries < 50; tries++) shared = filterGrad(x, dy, c, true);
    assert.ok(sharedChunks().there > before, 'the helper thread ran some of the chunks');
    setChunkSharing(false);
    const halves = filterGrad(x, dy, c, true);
    setChunkSharing(true);
    setHelperThread(false);
    const one = filterGrad(x, dy, c, true);
    setHelperThread(true);
    sameBits(shared, one, `shared in chunks, x ${JSON.stringify(c.x)}`);
    sameBits(halves, one, `split in halves, x ${JSON.stringify(c.x)}`);
    tf.dispose([x, dy]);
  }
});

for (const opts of [
  { stride: 2, padding: 'same' },
  { stride: [1, 2], padding: 1 },
  { padding: 'valid', dilation: 2 },
  { padding: 'same', groups: 2 },
] as tg.Conv2dOptions[]) {
  test(`conv2d gradcheck on wasm through the kernel: ${JSON.stringify(opts)}`, async () => {
    await tg.setBackend('wasm');
    const x = tg.tensor(randomValues(2 * 6 * 5 * 2, 3), { shape: [2, 6, 5, 2] });
    const w = tg.tensor(randomValues(3 * 2 * (opts.groups ? 1 : 2) * 4, 4), { shape: [3, 2, opts.groups ? 1 : 2, 4] });
    const report = await tg.gradcheck((a: tg.Tensor, b: tg.Tensor) => tg.conv2d(a, b, opts), [x, w]);
    assert.ok(report.ok, JSON.stringify(report.worst));
    tg.dispose([x, w]);
  });
}

/** 3×3 filter gradients of stride 1 with cin a multiple of 4 and cout of 8: the Winograd form's. */
const WINOGRAD_CASES: Case[] = [
  { x: [4, 10, 10, 16], w: [3, 3, 16, 32], s: [1, 1], pad: 'same' }, // the MNIST CNN's second layer's shape
  { x: [3, 7, 9, 8], w: [3, 3, 8, 16], s: [1, 1], pad: 'same' }, // odd sides: tiles with one column or one row of dy
  { x: [1, 7, 6, 4], w: [3, 3, 4, 8], s: [1, 1], pad: 'valid' }, // 6 tiles, rounded up to a whole group
  { x: [2, 5, 6, 4], w: [3, 3, 4, 24], s: [1, 1], pad: 'valid' },
];

/**
 * The Winograd form's bound on |w̄ − the float64 sum|: 4·γ_{T+21}·Σ_t X_t·Y_t + u·|sum|, where for each
 * input channel c and output channel o, X_t = Σ|xₚ| over tile t's 4×4 patch and Y_t = Σ|dy| over its
 * 2×2 outputs, T the tiles (each transformed value a ±sum of at most 4 of these, rounded twice; each
 * product once; each sum over the tiles and the chunks T + 16 times at most; Gᵀ·du·G in float64 with
 * Σ|G[·, a]|·Σ|G[·, b]| ≤ 4, rounded once).
 */
function winogradBound(c: Case, xv: Float32Array, dyv: Float32Array, sum: Float64Array): Float64Array {
  const [N, H, W, C] = c.x;
  const cout = c.w[3];
  const attrs = { filterSize: [3, 3] as Pair, strides: c.s, pad: c.pad };
  const { ph, pw, Ho, Wo } = filterGradGeometry(c.x, attrs);
  const [th, tw] = [Math.ceil(Ho / 2), Math.ceil(Wo / 2)];
  const magnitude = new Float64Array(C * cout);
  const xAt = (n: number, r: number, q: number, ch: number) => {
    const [i, j] = [r - ph[0], q - pw[0]];
    return i >= 0 && i < H && j >= 0 && j < W ? Math.abs(xv[((n * H + i) * W + j) * C + ch]) : 0;
  };
  for (let n = 0; n < N; n++)
    for (let ti = 0; ti < th; ti++)
      for (let tj = 0; tj < tw; tj++) {
        const X = Array.from({ length: C }, (_, ch) => {
          let s = 0;
          for (let r = 0; r < 4; r++) for (let q = 0; q < 4; q++) s += xAt(n, 2 * ti + r, 2 * tj + q, ch);
          return s;
        });
        const Y = Array.from({ length: cout }, (_, o) => {
          let s = 0;
          for (let r = 2 * ti; r < Math.min(Ho, 2 * ti + 2); r++)
            for (let q = 2 * tj; q < Math.min(Wo, 2 * tj + 2); q++)
              s += Math.abs(dyv[((n * Ho + r) * Wo + q) * cout + o]);
          return s;
        });
        for (let ch = 0; ch < C; ch++) for (let o = 0; o < cout; o++) magnitude[ch * cout + o] += X[ch] * Y[o];
      }
  const K = N * th * tw + 21;
  const gamma = (K * 2 ** -24) / (1 - K * 2 ** -24);
  return sum.map((v, i) => 4 * gamma * magnitude[i % (C * cout)] + 2 ** -24 * Math.abs(v));
}

for (const c of WINOGRAD_CASES) {
  const what = `x ${JSON.stringify(c.x)}, w ${JSON.stringify(c.w)}, '${c.pad}'`;
  test(`Winograd filter gradient, ${what}: within its bound of float64, not the direct sums' bits`, async () => {
    await tg.setBackend('wasm');
    const { xv, dyv, x, dy } = operands(c);
    const got = filterGrad(x, dy, c, true, true);
    const direct = filterGrad(x, dy, c, true, false);
    assert.is(got.length, direct.length);
    assert.ok(
      got.some((v, i) => !Object.is(v, direct[i])),
      "the Winograd form ran (its values are not the direct sums' bits)",
    );
    const attrs = { filterSize: [3, 3] as Pair, strides: c.s, pad: c.pad };
    const { sum } = conv2dFilterGradReference(xv, c.x, dyv, c.w[3], attrs);
    const bound = winogradBound(c, xv, dyv, sum);
    for (let i = 0; i < got.length; i++)
      if (!(Math.abs(got[i] - sum[i]) <= bound[i]))
        assert.unreachable(`${what}: entry ${i} is ${got[i]}, the float64 sum ${sum[i]}, bound ${bound[i]}`);
    // the direct sums' bound too, on these values
    assert.ok(worstInBounds(got, c, xv, dyv) <= 1, `${what}: beyond γ_K·Σ|x·dy|`);
    setWinogradFilterGrad(true);
    assertNoLeak(() => fused.conv2dFilterGrad(x, dy, { filterSize: [3, 3], strides: c.s, pad: c.pad }).dispose());
    tf.dispose([x, dy]);
  });
}

test('Winograd filter gradient with ±∞, NaN and huge values: the direct sums run instead, their bits', async () => {
  await tg.setBackend('wasm');
  for (const c of WINOGRAD_CASES.slice(0, 2))
    for (const specials of [[Infinity, Infinity, -Infinity], [Number.NaN], [3e38, 3e38, 3e38, -3e38], [0, -0, 1e-45]]) {
      const { x, dy } = operands(c, specials);
      const got = filterGrad(x, dy, c, true, true);
      const direct = filterGrad(x, dy, c, true, false);
      if (specials[0] === 0) assert.ok(got.every(Number.isFinite), 'finite values stay with the Winograd form');
      else sameBits(got, direct, `specials ${specials}, x ${c.x}`);
      tf.dispose([x, dy]);
    }
});

test('Winograd filter gradient shared with the helper thread by chunks of tiles: the same bits as on one thread', async () => {
  await tg.setBackend('wasm');
  const c: Case = { x: [16, 14, 14, 16], w: [3, 3, 16, 32], s: [1, 1], pad: 'same' };
  const { x, dy } = operands(c, [-0]);
  setHelperThread(false);
  const one = filterGrad(x, dy, c, true, true);
  setHelperThread(true);
  const shared = await withHelperChunks(() => filterGrad(x, dy, c, true, true), 'Winograd filter gradient');
  sameBits(shared, one, 'shared by chunks of tiles');
  tf.dispose([x, dy]);
  tg.setThreads(1);
});

test('the modules are small enough to compile synchronously in a browser', () => {
  for (const build of [filterGradModule, convModule, winogradFilterGradModule])
    assert.ok(build({ kind: 'import', shared: false }).length < 4096);
});

test.run();
