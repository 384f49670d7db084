// A convolution's filter gradient on wasm (kernels/conv2d-filter-grad.ts, its SIMD loop in
// kernels/wasm-simd-conv.ts): the SIMD loop gives the JavaScript loop's bits, on one thread and with
// its rows split with the helper thread; both are within the float32 rounding bound of a float64
// sum (γ_K·Σ|x·dy|, K the terms of a sum) and close to the cpu backend's Conv2DBackpropFilter; over
// strides, 'same' and 'valid' padding, batch 1, one input or output channel, output channels and
// filter rows that no tile divides, and signed zeros, infinities and NaN among x and dy. conv2d's
// gradients through it pass gradcheck with stride, padding, dilation and groups; nothing leaks; the
// module is small enough for a browser to compile synchronously.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../src/index.js';
import * as fused from '../src/backend/fused.js';
import { conv2dFilterGradReference, filterGradGeometry } from '../kernels/conv2d-filter-grad.js';
import { convModule, filterGradModule, setSimdConv } from '../kernels/wasm-simd-conv.js';
import { setHelperThread } from '../kernels/helper-thread.js';
import { setChunkSharing, sharedChunks } from '../kernels/wasm-simd-module.js';
import { assertClose, assertNoLeak, helperThreadUp, randomValues } from './helpers.js';

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

/** The kernel's output for x and dy with the SIMD loop on or off. */
function filterGrad(x: tf.Tensor, dy: tf.Tensor, c: Case, simd: boolean): Float32Array {
  setSimdConv(simd);
  try {
    return tf
      .tidy(() => fused.conv2dFilterGrad(x, dy, { filterSize: [c.w[0], c.w[1]], strides: c.s, pad: c.pad }))
      .dataSync() as Float32Array;
  } finally {
    setSimdConv(true);
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

test('the modules are small enough to compile synchronously in a browser', () => {
  for (const build of [filterGradModule, convModule]) assert.ok(build({ kind: 'import', shared: false }).length < 4096);
});

test.run();
