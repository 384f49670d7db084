// A 2-D convolution on wasm that reads its filter in place (kernels/conv2d-forward.ts, its SIMD loop
// in kernels/wasm-simd-conv.ts): the SIMD loop gives the JavaScript loop's bits, on one thread and
// with its pixels shared with the helper thread (in chunks each thread takes as it comes free, or in
// two halves); both are within the float32 rounding bound of a
// float64 sum (γ_K·Σ|terms|, K the terms of a sum) and close to the cpu backend's conv2d; over
// strides, explicit and uneven padding, dilations, batch 1, one input or output channel, pixel and
// channel counts that no tile divides, with and without a bias, and signed zeros, infinities and
// NaN among the entries. conv2d's first and second derivatives through it pass gradcheck; nothing
// leaks; beyond the kernels' scratch limit TF.js's kernels run instead, with the same values. With
// flipFilter (an input gradient's filter, read flipped and transposed) the bits of that filter turned.
// The Winograd form of a 3×3 convolution of stride 1 (kernels/wasm-simd-winograd.ts): within the same
// float32 bound of the float64 sum, on odd sides, unpadded and unevenly padded, with a bias and
// flipped; the direct sums' bits where an output is not finite (±∞ and NaN among x, or an overflow);
// its tiles shared with the helper thread give one thread's bits. The other tests run the direct sums.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../src/index.js';
import * as fused from '../src/backend/fused.js';
import * as defects from '../src/backend/defects.js';
import { conv2dReference, convGeometry, type Conv2DAttrs } from '../kernels/conv2d-forward.js';
import { setSimdConv } from '../kernels/wasm-simd-conv.js';
import { setWinogradConv } from '../kernels/wasm-simd-winograd.js';
import { setHelperThread } from '../kernels/helper-thread.js';
import { setChunkSharing, sharedChunks } from '../kernels/wasm-simd-module.js';
import { assertClose, assertNoLeak, helperThreadUp, randomValues, withHelperChunks } from './helpers.js';

type Pair = [number, number];

interface Case {
  x: number[];
  w: number[];
  attrs: Conv2DAttrs;
  bias: boolean;
}
const at = (s: Pair, padding: [Pair, Pair], dilations: Pair = [1, 1]): Conv2DAttrs => ({
  strides: s,
  dilations,
  padding,
});
const CASES: Case[] = [
  // one input channel, 'same' padding: the MNIST CNN's first layer's shape, smaller
  {
    x: [3, 6, 6, 1],
    w: [3, 3, 1, 16],
    attrs: at(
      [1, 1],
      [
        [1, 1],
        [1, 1],
      ],
    ),
    bias: true,
  },
  // batch 1, 5 outputs (4 + 1 columns), stride 2, uneven padding
  {
    x: [1, 7, 6, 3],
    w: [3, 3, 3, 5],
    attrs: at(
      [2, 2],
      [
        [0, 1],
        [1, 0],
      ],
    ),
    bias: false,
  },
  // 3 outputs: single columns only; stride [2, 1], no padding
  {
    x: [2, 7, 7, 2],
    w: [2, 3, 2, 3],
    attrs: at(
      [2, 1],
      [
        [0, 0],
        [0, 0],
      ],
    ),
    bias: true,
  },
  // 8 + 4 + 1 columns; 2 × 5 × 5 = 50 pixels (tiles of 4, then 2 single pixels)
  {
    x: [2, 5, 5, 8],
    w: [3, 3, 8, 13],
    attrs: at(
      [1, 1],
      [
        [1, 1],
        [1, 1],
      ],
    ),
    bias: true,
  },
  // one row, one column
  {
    x: [2, 5, 4, 1],
    w: [1, 1, 1, 1],
    attrs: at(
      [1, 1],
      [
        [0, 0],
        [0, 0],
      ],
    ),
    bias: false,
  },
  // dilation with stride and padding
  {
    x: [2, 9, 8, 2],
    w: [2, 3, 2, 8],
    attrs: at(
      [2, 1],
      [
        [2, 1],
        [0, 3],
      ],
      [3, 2],
    ),
    bias: true,
  },
  // the MNIST CNN's second layer's shape
  {
    x: [4, 10, 10, 16],
    w: [3, 3, 16, 32],
    attrs: at(
      [1, 1],
      [
        [1, 1],
        [1, 1],
      ],
    ),
    bias: false,
  },
];

const sizeOf = (s: number[]) => s.reduce((a, b) => a * b, 1);

function operands(c: Case, specials: number[] = []) {
  const [xv, wv, bv] = [
    randomValues(sizeOf(c.x), 1, specials),
    randomValues(sizeOf(c.w), 2, specials),
    randomValues(c.w[3], 3),
  ];
  return {
    xv,
    wv,
    bv: c.bias ? bv : null,
    x: tf.tensor(xv, c.x),
    w: tf.tensor(wv, c.w),
    b: c.bias ? tf.tensor(bv) : null,
  };
}

/** The kernel's output with the SIMD loop on or off (the direct sums, or the Winograd form where it fits). */
function conv(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor | null, c: Case, simd: boolean, winograd = false): Float32Array {
  setSimdConv(simd);
  setWinogradConv(winograd);
  try {
    return tf.tidy(() => fused.conv2dWithFilterInPlace(x, w, b, c.attrs)).dataSync() as Float32Array;
  } finally {
    setSimdConv(true);
    setWinogradConv(true);
  }
}

function sameBits(a: Float32Array, b: Float32Array, what: string): void {
  assert.is(a.length, b.length, what);
  for (let i = 0; i < a.length; i++)
    if (!Object.is(a[i], b[i])) assert.unreachable(`${what}: entry ${i} is ${a[i]}, the JavaScript loop gives ${b[i]}`);
}

for (const c of CASES) {
  const what = `x ${JSON.stringify(c.x)}, w ${JSON.stringify(c.w)}, ${JSON.stringify(c.attrs)}${c.bias ? ', bias' : ''}`;
  test(`conv2d ${what}: SIMD = JavaScript, within γ_K·Σ|terms| of float64, ≈ cpu's conv2d`, async () => {
    await tg.setBackend('wasm');
    const { xv, wv, bv, x, w, b } = operands(c);
    const simd = conv(x, w, b, c, true);
    const g = convGeometry(c.x, c.w, c.attrs);
    assert.is(simd.length, g.N * g.Ho * g.Wo * g.cout);
    sameBits(simd, conv(x, w, b, c, false), what);
    const { sum, magnitude } = conv2dReference(xv, c.x, wv, c.w, bv, c.attrs);
    const K = c.w[0] * c.w[1] * c.w[2] + 1;
    const gamma = (K * 2 ** -24) / (1 - K * 2 ** -24);
    for (let i = 0; i < simd.length; i++)
      if (Math.abs(simd[i] - sum[i]) > gamma * magnitude[i])
        assert.unreachable(`${what}: entry ${i} is ${simd[i]}, the float64 sum ${sum[i]}`);
    assertNoLeak(() => fused.conv2dWithFilterInPlace(x, w, b, c.attrs).dispose());
    tf.dispose([x, w, ...(b ? [b] : [])]);
    await tg.setBackend('cpu');
    const want = tf.tidy(() => {
      const pad = [[0, 0], ...c.attrs.padding, [0, 0]] as [Pair, Pair, Pair, Pair];
      const plain = c.attrs.dilations[0] * c.attrs.dilations[1] === 1;
      // TF.js refuses strides with dilations: those take every stride-th output of the dilated one
      const y = tf.conv2d(
        tf.tensor4d(xv, c.x as [number, number, number, number]),
        tf.tensor4d(wv, c.w as [number, number, number, number]),
        plain ? c.attrs.strides : 1,
        pad,
        'NHWC',
        c.attrs.dilations,
      );
      const strided = plain
        ? y
        : tf.stridedSlice(y, [0, 0, 0, 0], y.shape, [1, c.attrs.strides[0], c.attrs.strides[1], 1]);
      return bv ? tf.add(strided, tf.tensor(bv)) : strided;
    });
    assertClose(simd, want.dataSync(), { atol: 1e-5, rtol: 1e-5, msg: `${what} against cpu` });
    want.dispose();
  });
}

test('conv2d with ±0, ±∞, NaN and huge values: SIMD = JavaScript; NaN where the float64 sum is', async () => {
  await tg.setBackend('wasm');
  for (const c of [CASES[0], CASES[3], CASES[5]]) {
    for (const specials of [
      [0, -0, Infinity, -Infinity, Number.NaN, 1e-45],
      [0, -0, Infinity, Number.NaN, -3e38, 3e38, 3e38],
    ]) {
      const { xv, wv, bv, x, w, b } = operands(c, specials);
      const simd = conv(x, w, b, c, true);
      sameBits(simd, conv(x, w, b, c, false), `specials ${specials}, x ${JSON.stringify(c.x)}`);
      tf.dispose([x, w, ...(b ? [b] : [])]);
      if (specials.length !== 6) continue;
      // the float64 sums with the specials in x only (a padding zero times an infinite w is NaN here)
      const finiteW = randomValues(sizeOf(c.w), 2);
      const [x2, w2] = [tf.tensor(xv, c.x), tf.tensor(finiteW, c.w)];
      const got = conv(x2, w2, b ? tf.tensor(bv!) : null, c, true);
      const { sum } = conv2dReference(xv, c.x, finiteW, c.w, bv, c.attrs);
      for (let i = 0; i < got.length; i++)
        if (Number.isNaN(sum[i]) !== Number.isNaN(got[i]) || (Math.abs(sum[i]) === Infinity && sum[i] !== got[i]))
          assert.unreachable(`entry ${i}: ${got[i]}, the float64 sum ${sum[i]}`);
      tf.dispose([x2, w2]);
      void wv;
    }
  }
});

test('conv2d shared with the helper thread, in chunks or in halves: the same bits as on one thread', async () => {
  await tg.setBackend('wasm');
  await helperThreadUp();
  // ≥ 2²² multiply-adds: split
  for (const c of [
    {
      x: [64, 28, 28, 1],
      w: [3, 3, 1, 16],
      attrs: at(
        [1, 1],
        [
          [1, 1],
          [1, 1],
        ],
      ),
      bias: true,
    },
    {
      x: [16, 14, 14, 16],
      w: [3, 3, 16, 32],
      attrs: at(
        [1, 1],
        [
          [1, 1],
          [1, 1],
        ],
      ),
      bias: false,
    },
    {
      x: [64, 31, 31, 6],
      w: [3, 3, 6, 13],
      attrs: at(
        [2, 2],
        [
          [0, 1],
          [1, 0],
        ],
      ),
      bias: true,
    },
  ] as Case[]) {
    const { x, w, b } = operands(c, [Number.NaN, -0]);
    const before = sharedChunks().there;
    // the chunks are taken as each thread comes free: on a loaded machine the helper may take none in one call
    let shared = conv(x, w, b, c, true);
    for (let tries = 1; sharedChunks().there === before && tries < 50; tries++) shared = conv(x, w, b, c, true);
    assert.ok(sharedChunks().there > before, 'the helper thread ran some of the chunks');
    setChunkSharing(false);
    const halves = conv(x, w, b, c, true);
    setChunkSharing(true);
    setHelperThread(false);
    const one = conv(x, w, b, c, true);
    setHelperThread(true);
    sameBits(shared, one, `shared in chunks, x ${JSON.stringify(c.x)}`);
    sameBits(halves, one, `split in halves, x ${JSON.stringify(c.x)}`);
    tf.dispose([x, w, ...(b ? [b] : [])]);
  }
});

test("flipFilter: the filter read flipped and transposed gives the flipped filter's bits (SIMD, JavaScript, TF.js)", async () => {
  await tg.setBackend('wasm');
  for (const c of CASES) {
    const [kh, kw, C, cout] = c.w;
    const { x, w, b } = operands(c, [Number.NaN, -0]);
    // the filter as an input gradient's convolution holds it: [kh, kw, Cout, Cin], turned half a turn
    const given = tf.tidy(() => tf.transpose(tf.reverse(w, [0, 1]), [0, 1, 3, 2]));
    assert.equal(given.shape, [kh, kw, cout, C]);
    const flip = { ...c, attrs: { ...c.attrs, flipFilter: true } };
    for (const simd of [true, false]) {
      const what = `${simd ? 'SIMD' : 'JavaScript'}, x ${JSON.stringify(c.x)}, w ${JSON.stringify(c.w)}`;
      sameBits(conv(x, given, b, flip, simd), conv(x, w, b, c, simd), what);
    }
    tf.dispose([x, w, given, ...(b ? [b] : [])]);
    // beyond the scratch limit (TF.js's conv2d after a Reverse and a Transpose): the kernel's values
    // (TF.js's conv2d takes no stride with a dilation)
    const strided = c.attrs.strides.some((v) => v !== 1);
    if (strided && c.attrs.dilations.some((v) => v !== 1)) continue;
    const finite = operands(c);
    const turned = tf.tidy(() => tf.transpose(tf.reverse(finite.w, [0, 1]), [0, 1, 3, 2]));
    const want = conv(finite.x, finite.w, finite.b, c, true);
    const limit = fused.setConvScratchLimit(0);
    try {
      assertClose(conv(finite.x, turned, finite.b, flip, true), want, { atol: 1e-5, rtol: 1e-5 });
    } finally {
      fused.setConvScratchLimit(limit);
    }
    tf.dispose([finite.x, finite.w, turned, ...(finite.b ? [finite.b] : [])]);
  }
});

test('the window corners kept for a geometry: shapes that differ only in stride, in turn, each the loop bits', async () => {
  await tg.setBackend('wasm');
  // both: x [1, 7, 7, 2] to 4 × 4 outputs, unpadded; one by a 1×1 window of stride 2, one by 4×4 of stride 1
  const cases: Case[] = [
    {
      x: [1, 7, 7, 2],
      w: [1, 1, 2, 4],
      attrs: at(
        [2, 2],
        [
          [0, 0],
          [0, 0],
        ],
      ),
      bias: false,
    },
    {
      x: [1, 7, 7, 2],
      w: [4, 4, 2, 4],
      attrs: at(
        [1, 1],
        [
          [0, 0],
          [0, 0],
        ],
      ),
      bias: false,
    },
  ];
  for (const c of [...cases, ...cases]) {
    const { x, w } = operands(c);
    sameBits(
      conv(x, w, null, c, true),
      conv(x, w, null, c, false),
      `x ${JSON.stringify(c.x)}, w ${JSON.stringify(c.w)}`,
    );
    tf.dispose([x, w]);
  }
});

test('conv2d through the kernel on wasm: gradcheck and gradgradcheck (stride, padding)', async () => {
  await tg.setBackend('wasm');
  const x = tg.tensor(randomValues(2 * 5 * 5 * 2, 3), { shape: [2, 5, 5, 2] });
  const w = tg.tensor(randomValues(3 * 3 * 2 * 3, 4), { shape: [3, 3, 2, 3] });
  for (const opts of [{ padding: 'same' }, { stride: 2, padding: 1 }] as tg.Conv2dOptions[]) {
    const f = (a: tg.Tensor, b: tg.Tensor) => tg.conv2d(a, b, opts);
    const first = await tg.gradcheck(f, [x, w]);
    assert.ok(first.ok, `gradcheck ${JSON.stringify(opts)}: ${JSON.stringify(first.worst)}`);
    const second = await tg.gradgradcheck(f, [x, w], { mode: 'fast' });
    assert.ok(second.ok, `gradgradcheck ${JSON.stringify(opts)}: ${JSON.stringify(second.worst)}`);
  }
  tg.dispose([x, w]);
});

test('beyond the scratch limit, TF.js runs the convolution and the filter gradient: the same values', async () => {
  await tg.setBackend('wasm');
  const c = CASES[3];
  const { x, w, b } = operands(c);
  const dy = tf.tensor(randomValues(2 * 5 * 5 * 13, 5), [2, 5, 5, 13]);
  const run = () =>
    tf.tidy(() => [
      fused.conv2dWithFilterInPlace(x, w, b, c.attrs).dataSync() as Float32Array,
      defects.conv2dBackpropFilterWithoutKernel(x, dy, c.w, [1, 1], 'same').dataSync() as Float32Array,
    ]);
  const kernels = (await tf.profile(() => void run())).kernelNames;
  const before = fused.setConvScratchLimit(10);
  let limited: Float32Array[];
  let limitedKernels: string[];
  try {
    limited = run();
    limitedKernels = (await tf.profile(() => void run())).kernelNames;
  } finally {
    fused.setConvScratchLimit(before);
  }
  const [y, gw] = run();
  assert.ok(kernels.includes('TapegradConv2D') && kernels.includes('TapegradConv2DFilterGrad'), kernels.join());
  assert.not.ok(limitedKernels.includes('TapegradConv2D') || limitedKernels.includes('TapegradConv2DFilterGrad'));
  assertClose(limited[0], y, { atol: 1e-5, rtol: 1e-5, msg: 'conv2d' });
  assertClose(limited[1], gw, { atol: 1e-4, rtol: 1e-5, msg: 'filter gradient' });
  tf.dispose([x, w, b!, dy]);
});

const same: [Pair, Pair] = [
  [1, 1],
  [1, 1],
];
/** 3×3 convolutions of stride 1 with cin a multiple of 4 and cout of 8: the Winograd form's. */
const WINOGRAD_CASES: Case[] = [
  // the MNIST CNN's second layer's shape, smaller
  { x: [4, 10, 10, 16], w: [3, 3, 16, 32], attrs: at([1, 1], same), bias: false },
  // odd sides (tiles with one column or one row of outputs), a bias
  { x: [3, 7, 9, 8], w: [3, 3, 8, 16], attrs: at([1, 1], same), bias: true },
  // no padding; 6 tiles, rounded up to 8
  {
    x: [1, 7, 6, 4],
    w: [3, 3, 4, 8],
    attrs: at(
      [1, 1],
      [
        [0, 0],
        [0, 0],
      ],
    ),
    bias: true,
  },
  // uneven padding
  {
    x: [2, 6, 5, 4],
    w: [3, 3, 4, 24],
    attrs: at(
      [1, 1],
      [
        [0, 1],
        [1, 0],
      ],
    ),
    bias: false,
  },
];

for (const c of WINOGRAD_CASES) {
  const what = `x ${JSON.stringify(c.x)}, w ${JSON.stringify(c.w)}, ${JSON.stringify(c.attrs.padding)}${c.bias ? ', bias' : ''}`;
  test(`Winograd form, ${what}: within γ_K·Σ|terms| of float64, not the direct sums' bits; flipped the same`, async () => {
    await tg.setBackend('wasm');
    const { xv, wv, bv, x, w, b } = operands(c);
    const got = conv(x, w, b, c, true, true);
    const direct = conv(x, w, b, c, true, false);
    assert.is(got.length, direct.length);
    assert.ok(
      got.some((v, i) => !Object.is(v, direct[i])),
      "the Winograd form ran (its values are not the direct sums' bits)",
    );
    const { sum, magnitude } = conv2dReference(xv, c.x, wv, c.w, bv, c.attrs);
    const K = 9 * c.w[2] + 1;
    const gamma = (K * 2 ** -24) / (1 - K * 2 ** -24);
    for (let i = 0; i < got.length; i++)
      if (!(Math.abs(got[i] - sum[i]) <= gamma * magnitude[i]))
        assert.unreachable(`${what}: entry ${i} is ${got[i]}, the float64 sum ${sum[i]}`);
    // an input gradient's filter, [3, 3, cout, cin] turned half a turn: the same filter, the same bits
    const given = tf.tidy(() => tf.transpose(tf.reverse(w, [0, 1]), [0, 1, 3, 2]));
    sameBits(conv(x, given, b, { ...c, attrs: { ...c.attrs, flipFilter: true } }, true, true), got, `${what}, flipped`);
    assertNoLeak(() => fused.conv2dWithFilterInPlace(x, w, b, c.attrs).dispose());
    tf.dispose([x, w, given, ...(b ? [b] : [])]);
  });
}

test('Winograd form with ±∞, NaN and huge values: the direct sums run instead, their bits', async () => {
  await tg.setBackend('wasm');
  for (const c of WINOGRAD_CASES.slice(0, 2))
    for (const specials of [[Infinity, Infinity, -Infinity], [Number.NaN], [3e38, 3e38, 3e38, -3e38]]) {
      const { x, w, b } = operands(c, specials);
      sameBits(conv(x, w, b, c, true, true), conv(x, w, b, c, true, false), `specials ${specials}, x ${c.x}`);
      tf.dispose([x, w, ...(b ? [b] : [])]);
    }
});

test('Winograd form shared with the helper thread by tiles: the same bits as on one thread', async () => {
  await tg.setBackend('wasm');
  const c: Case = { x: [16, 14, 14, 16], w: [3, 3, 16, 32], attrs: at([1, 1], same), bias: true };
  const { x, w, b } = operands(c);
  setHelperThread(false);
  const one = conv(x, w, b, c, true, true);
  setHelperThread(true);
  const shared = await withHelperChunks(() => conv(x, w, b, c, true, true), 'Winograd');
  sameBits(shared, one, 'shared by tiles');
  tf.dispose([x, w, ...(b ? [b] : [])]);
  tg.setThreads(1);
});

test.run();
