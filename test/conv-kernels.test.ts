// The convolution and pooling gradients' kernels and fast paths on cpu and wasm, against the cpu
// backend's own TF.js kernels: the max-pool backward (kernels/max-pool-grad.ts), the window matrix
// of the filter gradient (kernels/im2col.ts), the filter gradient wasm lacks
// (conv2dBackpropFilterWithoutKernel: tapegrad's kernel, and without it the window matrix or a
// dilated convolution), wasm's input gradient as a forward convolution (wasm-conv-input-gradient.ts:
// tapegrad's convolution where the filter is finite, TF.js's loop where not) and the leading-axes sums
// (sumFast); then a small CNN's gradients on wasm against cpu's. Each leaves no tensor behind.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../src/index.js';
import * as fused from '../src/backend/fused.js';
import * as defects from '../src/backend/defects.js';
import { sumFast } from '../src/backend/facts.js';
import { CONV2D } from '../kernels/conv2d-forward.js';
import { rng } from '../src/random.js';
import { assertClose, assertNoLeak, assertThrows, NODE_BACKENDS } from './helpers.js';

type Pair = [number, number];
type Pad = 'valid' | 'same';

/** Values in (−2, 2), seeded; `levels` > 0 rounds them to that many steps per unit (ties). */
function values(n: number, seed: number, levels = 0): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => {
    const v = 4 * r.uniform() - 2;
    return levels ? Math.round(v * levels) / levels : v;
  });
}
const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const make = (shape: number[], seed: number, levels = 0) => tf.tensor(values(sizeOf(shape), seed, levels), shape);

/** f's result on `backend` as an array, every tensor it made freed. */
async function on(backend: tg.BackendName, f: () => tf.Tensor): Promise<number[]> {
  await tg.setBackend(backend);
  return tf.tidy(() => Array.from(f().dataSync()));
}

/** The output size of a window k, stride s along n ('same': ⌈n/s⌉). */
const outSize = (n: number, k: number, s: number, pad: Pad | number) =>
  pad === 'same' ? Math.ceil(n / s) : Math.floor((n + 2 * (pad === 'valid' ? 0 : pad) - k) / s) + 1;

interface PoolCase {
  x: number[];
  k: Pair;
  s: Pair;
  pad: Pad;
  levels: number;
}
const POOL_CASES: PoolCase[] = [
  // windows that tile x, batch and channels > 1, many ties (a coarse grid of values)
  { x: [2, 4, 6, 3], k: [2, 2], s: [2, 2], pad: 'valid', levels: 2 },
  // overlapping windows: an entry can be the argmax of several
  { x: [2, 5, 5, 2], k: [3, 3], s: [1, 1], pad: 'valid', levels: 2 },
  // 'same' at stride 2: padded border windows, asymmetric padding
  { x: [1, 6, 5, 3], k: [3, 2], s: [2, 2], pad: 'same', levels: 0 },
  { x: [3, 7, 7, 4], k: [2, 3], s: [2, 1], pad: 'same', levels: 1 },
];

for (const backend of NODE_BACKENDS) {
  test(`[${backend}] the convolution kernels are registered (and off with setFusedEnabled(false))`, async () => {
    await tg.setBackend(backend);
    for (const name of Object.keys(fused.CPU_KERNELS) as (keyof typeof fused.CPU_KERNELS)[]) {
      assert.ok(fused.hasFused(name), name);
      (await import('../src/testing.js')).setFusedEnabled(false);
      const off = fused.hasFused(name);
      (await import('../src/testing.js')).setFusedEnabled(true);
      assert.not.ok(off, `${name} with setFusedEnabled(false)`);
    }
  });

  for (const c of POOL_CASES) {
    const what = `x ${JSON.stringify(c.x)}, window ${c.k}, stride ${c.s}, '${c.pad}'${c.levels ? ', ties' : ''}`;
    test(`[${backend}] maxPoolGrad = cpu's MaxPoolGrad = the reference: ${what}`, async () => {
      const [ho, wo] = [outSize(c.x[1], c.k[0], c.s[0], c.pad), outSize(c.x[2], c.k[1], c.s[1], c.pad)];
      const operands = () => {
        const x = make(c.x, 1, c.levels);
        const y = tf.maxPool(x as tf.Tensor4D, c.k, c.s, c.pad);
        assert.equal(y.shape, [c.x[0], ho, wo, c.x[3]]);
        return { x, y, dy: make(y.shape, 2) };
      };
      const attrs = { filterSize: c.k, strides: c.s, pad: c.pad };
      const want = await on('cpu', () => {
        const { x, y, dy } = operands();
        return tf.engine().runKernel('MaxPoolGrad', { dy, input: x, output: y }, attrs as never) as tf.Tensor;
      });
      const got = await on(backend, () => {
        const { x, y, dy } = operands();
        return fused.maxPoolGrad(dy, x, y, attrs);
      });
      assertClose(got, want, { atol: 1e-6, rtol: 1e-6, msg: 'kernel vs cpu' });
      const ref = await on(backend, () => {
        const { x, y, dy } = operands();
        return fused.maxPoolGradReference(dy, x, y, attrs);
      });
      assertClose(ref, want, { atol: 1e-6, rtol: 1e-6, msg: 'reference vs cpu' });
      await tg.setBackend(backend);
      const { x, y, dy } = operands();
      assertNoLeak(() => fused.maxPoolGrad(dy, x, y, attrs).dispose(), 'maxPoolGrad');
      tf.dispose([x, y, dy]);
    });
  }

  test(`[${backend}] maxPoolGrad: a window whose maximum is NaN passes no gradient (kernel and reference)`, async () => {
    await tg.setBackend(backend);
    const x = tf.tensor([1, NaN, 3, 4, 5, 6, 7, 8], [1, 2, 4, 1]);
    const y = tf.tensor([NaN, 8], [1, 1, 2, 1]);
    const dy = tf.tensor([10, 20], [1, 1, 2, 1]);
    const attrs = { filterSize: [2, 2] as Pair, strides: [2, 2] as Pair, pad: 'valid' as Pad };
    const want = [0, 0, 0, 0, 0, 0, 0, 20];
    assert.equal(Array.from(fused.maxPoolGrad(dy, x, y, attrs).dataSync()), want);
    assert.equal(Array.from(fused.maxPoolGradReference(dy, x, y, attrs).dataSync()), want);
    tf.dispose([x, y, dy]);
  });

  for (const [xShape, k, s, pad] of [
    [[2, 5, 6, 3], [3, 3], [1, 1], 'same'],
    [[2, 6, 5, 2], [3, 2], [2, 2], 'same'],
    [[1, 7, 7, 1], [2, 3], [2, 3], 'valid'],
  ] as [number[], Pair, Pair, Pad][]) {
    test(`[${backend}] im2colT = its reference: x ${JSON.stringify(xShape)}, window ${k}, stride ${s}, '${pad}'`, async () => {
      const attrs = { filterSize: k, strides: s, pad };
      const got = await on(backend, () => fused.im2colT(make(xShape, 3), attrs));
      const want = await on(backend, () => fused.im2colTReference(make(xShape, 3), attrs));
      const [ho, wo] = [outSize(xShape[1], k[0], s[0], pad), outSize(xShape[2], k[1], s[1], pad)];
      assert.is(got.length, k[0] * k[1] * xShape[3] * xShape[0] * ho * wo);
      assert.equal(got, want);
    });
  }

  test(`[${backend}] broadcastLeading = tf.broadcastTo along leading axes, and refuses other broadcasts`, async () => {
    await tg.setBackend(backend);
    for (const [from, to] of [
      [[1], [7]],
      [
        [1, 1, 1, 5],
        [3, 4, 2, 5],
      ],
      [[5], [2, 3, 5]],
      [
        [2, 5],
        [3, 2, 5],
      ],
      [
        [1, 3, 2],
        [4, 3, 2],
      ],
      [
        [3, 2],
        [3, 2],
      ],
    ]) {
      const x = make(from, 10);
      const got = fused.broadcastLeading(x, to);
      const want = fused.broadcastLeadingReference(x, to);
      assert.equal(got.shape, to);
      assert.equal(Array.from(got.dataSync()), Array.from(want.dataSync()), `${from} → ${to}`);
      assertNoLeak(() => fused.broadcastLeading(x, to).dispose());
      tf.dispose([x, got, want]);
    }
    const one = make([1, 4], 12);
    const empty = fused.broadcastLeading(one, [0, 4]);
    assert.equal([empty.shape, empty.size], [[0, 4], 0]);
    tf.dispose([one, empty]);
    assert.not.ok(fused.broadcastsAlongLeadingAxes([3, 1], [3, 4]));
    assert.not.ok(fused.broadcastsAlongLeadingAxes([2, 1, 5], [2, 3, 5]));
    const x = make([3, 1], 11);
    assertThrows(() => fused.broadcastLeading(x, [3, 4]), /^broadcastLeading: \[3,1\] does not broadcast to \[3,4\]/);
    x.dispose();
  });
}

// ---- the filter and input gradients on wasm, against cpu's own kernels

const FILTER_CASES: { x: number[]; w: number[]; s: Pair; pad: Pad; limit?: number }[] = [
  // small windows (kh·kw·Cin ≤ 32): the window matrix and one matrix product
  { x: [3, 6, 6, 1], w: [3, 3, 1, 4], s: [1, 1], pad: 'same' },
  { x: [2, 7, 6, 3], w: [3, 3, 3, 2], s: [2, 2], pad: 'same' },
  { x: [2, 7, 7, 2], w: [2, 3, 2, 3], s: [2, 1], pad: 'valid' },
  // in batch chunks (a limit of 2 images' columns at a time)
  { x: [5, 6, 6, 1], w: [3, 3, 1, 4], s: [1, 1], pad: 'same', limit: 2 * 9 * 36 },
  // larger windows: a forward convolution with dy as its filter
  { x: [2, 6, 6, 8], w: [3, 3, 8, 4], s: [1, 1], pad: 'same' },
  { x: [2, 7, 6, 5], w: [3, 3, 5, 3], s: [2, 2], pad: 'same' },
  { x: [3, 7, 7, 6], w: [2, 3, 6, 2], s: [2, 1], pad: 'valid' },
];
for (const c of FILTER_CASES) {
  test(`wasm: conv2dBackpropFilterWithoutKernel = cpu's Conv2DBackpropFilter: x ${JSON.stringify(c.x)}, w ${JSON.stringify(c.w)}, stride ${c.s}, '${c.pad}'${c.limit ? ', in chunks' : ''}`, async () => {
    assert.is(
      c.w[0] * c.w[1] * c.w[2] <= defects.SMALL_WINDOW,
      c.x[3] <= 3,
      'the case takes the path it is listed under',
    );
    const [ho, wo] = [outSize(c.x[1], c.w[0], c.s[0], c.pad), outSize(c.x[2], c.w[1], c.s[1], c.pad)];
    const dyShape = [c.x[0], ho, wo, c.w[3]];
    const attrs = { strides: c.s, pad: c.pad, dataFormat: 'NHWC', filterShape: c.w };
    const want = await on(
      'cpu',
      () =>
        tf
          .engine()
          .runKernel('Conv2DBackpropFilter', { x: make(c.x, 4), dy: make(dyShape, 5) }, attrs as never) as tf.Tensor,
    );
    // tapegrad's kernel (kernels/conv2d-filter-grad.ts), then, without it, the paths listed
    for (const kernel of [true, false]) {
      fused.setFusedEnabled(kernel, 'conv2dFilterGrad');
      try {
        const got = await on('wasm', () =>
          defects.conv2dBackpropFilterWithoutKernel(make(c.x, 4), make(dyShape, 5), c.w, c.s, c.pad, c.limit),
        );
        assertClose(got, want, { atol: 1e-4, rtol: 1e-5, msg: kernel ? 'the kernel' : 'without the kernel' });
        const [x, dy] = [make(c.x, 4), make(dyShape, 5)];
        assertNoLeak(() => defects.conv2dBackpropFilterWithoutKernel(x, dy, c.w, c.s, c.pad, c.limit).dispose());
        tf.dispose([x, dy]);
      } finally {
        fused.setFusedEnabled(true, 'conv2dFilterGrad');
      }
    }
  });
}

/** f() with wasm's TapegradConv2D counting its calls: the result and the count. */
function countingConvCalls<T>(f: () => T): [T, number] {
  const config = tf.getKernel(CONV2D, 'wasm')!;
  let calls = 0;
  tf.unregisterKernel(CONV2D, 'wasm');
  tf.registerKernel({ ...config, kernelFunc: (args) => (calls++, config.kernelFunc(args)) });
  try {
    return [f(), calls];
  } finally {
    tf.unregisterKernel(CONV2D, 'wasm');
    tf.registerKernel(config);
  }
}

for (const [xShape, w, s, pad] of [
  [[2, 6, 5, 3], [3, 3, 3, 4], [1, 1], 'same'],
  [[2, 6, 5, 3], [2, 3, 3, 2], [1, 1], 'same'], // even window: more padding after than before
  [[1, 7, 6, 2], [3, 2, 2, 3], [1, 1], 'valid'],
  [[2, 7, 6, 2], [3, 3, 2, 3], [2, 2], 'same'],
  // strides above 1: dy spread out by the stride
  [[2, 8, 7, 3], [3, 3, 3, 4], [2, 2], 'valid'],
  [[1, 9, 8, 2], [2, 3, 2, 3], [3, 2], 'same'],
  [[2, 6, 6, 2], [1, 1, 2, 3], [2, 2], 'same'],
  [[1, 10, 9, 1], [4, 3, 1, 2], [3, 3], 'valid'],
  [[1, 7, 7, 2], [3, 3, 2, 3], [2, 2], 1], // numeric padding
] as [number[], number[], Pair, Pad | number][]) {
  test(`wasm: Conv2DBackpropInput = cpu's: x ${JSON.stringify(xShape)}, w ${JSON.stringify(w)}, stride ${s}, pad ${pad}`, async () => {
    const [ho, wo] = [outSize(xShape[1], w[0], s[0], pad), outSize(xShape[2], w[1], s[1], pad)];
    const dyShape = [xShape[0], ho, wo, w[3]];
    const grad = (dy: tf.Tensor, f: tf.Tensor) =>
      tf.conv2dTranspose(dy as tf.Tensor4D, f as tf.Tensor4D, xShape as never, s, pad);
    // a finite filter, then one with NaN and +∞ (TF.js's loop on wasm: NaN only where they are read)
    const finite = values(sizeOf(w), 7);
    const special = finite.map((v, i) => (i % 4 === 0 ? Number.NaN : i % 4 === 2 ? Infinity : v));
    for (const [k, filter] of [finite, special].entries()) {
      const want = await on('cpu', () => grad(make(dyShape, 6), tf.tensor(filter, w)));
      // tapegrad's convolution (kernels/conv2d-forward.ts) for the finite filter, then without it TF.js's loop
      for (const kernel of [true, false]) {
        fused.setFusedEnabled(kernel, 'conv2d');
        try {
          await tg.setBackend('wasm');
          const f = tf.tensor(filter, w);
          const [got, calls] = countingConvCalls(() => tf.tidy(() => Array.from(grad(make(dyShape, 6), f).dataSync())));
          assert.is(calls, kernel && k === 0 ? 1 : 0, 'the forward convolution ran');
          const msg = `${kernel ? 'the kernel' : 'without the kernel'}, ${k === 0 ? 'finite' : 'NaN and ∞ in the'} filter`;
          assertClose(got, want, { atol: 1e-5, rtol: 1e-5, msg });
          const dy = make(dyShape, 6);
          assertNoLeak(() => grad(dy, f).dispose());
          tf.dispose([dy, f]);
        } finally {
          fused.setFusedEnabled(true, 'conv2d');
        }
      }
    }
  });
}

test('wasm: sumFast over leading axes (sum and mean, keepDims) = float64 sums; other axes as tf.sum', async () => {
  await tg.setBackend('wasm');
  const shape = [6, 9, 10, 12];
  const v = values(sizeOf(shape), 8);
  const x = tf.tensor(v, shape);
  const exact = (k: number) => {
    const rest = sizeOf(shape.slice(k));
    const out = new Float64Array(rest);
    for (let i = 0; i < v.length; i++) out[i % rest] += v[i];
    return Array.from(out);
  };
  for (const k of [1, 2, 3]) {
    const axes = Array.from({ length: k }, (_, i) => i);
    const rows = sizeOf(shape.slice(0, k));
    for (const keepDims of [false, true]) {
      const s = sumFast(x, axes, keepDims);
      const m = sumFast(x, axes, keepDims, true);
      const kept = keepDims ? [...axes.map(() => 1), ...shape.slice(k)] : shape.slice(k);
      assert.equal(s.shape, kept);
      assert.equal(m.shape, kept);
      assertClose(s.dataSync(), exact(k), { atol: 1e-4, rtol: 1e-5, msg: `sum over ${k} axes` });
      assertClose(
        m.dataSync(),
        exact(k).map((e) => e / rows),
        { atol: 1e-6, rtol: 1e-5, msg: `mean over ${k} axes` },
      );
      tf.dispose([s, m]);
    }
  }
  for (const axes of [[1, 2], [3], [0, 1, 2, 3]]) {
    const got = sumFast(x, axes, false);
    const want = tf.sum(x, axes);
    assert.equal(Array.from(got.dataSync()), Array.from(want.dataSync()), `axes ${axes}`);
    tf.dispose([got, want]);
  }
  assertNoLeak(() => sumFast(x, [0, 1], true).dispose());
  x.dispose();
});

// ---- a small CNN's gradients: wasm against cpu

test("a small CNN's gradients (conv, batch norm, relu, max pool, linear) on wasm = on cpu", async () => {
  const grads = async (backend: tg.BackendName) => {
    await tg.setBackend(backend);
    const net = new tg.nn.Sequential(
      new tg.nn.Conv2d(1, 4, 3, { padding: 'same', seed: 1 }),
      new tg.nn.BatchNorm2d(4),
      new tg.nn.ReLU(),
      new tg.nn.MaxPool2d(2),
      new tg.nn.Conv2d(4, 6, 3, { padding: 'same', seed: 2 }),
      new tg.nn.ReLU(),
      new tg.nn.MaxPool2d(2),
      new tg.nn.Flatten(),
      new tg.nn.Linear(2 * 2 * 6, 3, { seed: 3 }),
    );
    const x = tg.tensor(values(5 * 8 * 8, 9), { shape: [5, 8, 8, 1] });
    const y = tg.tensor([0, 1, 2, 1, 0], { dtype: 'int32' });
    const before = tg.memory().numTensors;
    tg.tidy(() => tg.nn.crossEntropy(net.forward(x), y).backward());
    const out = net.parameters().map((p) => Array.from(p.grad!.dataSync()));
    for (const p of net.parameters()) p.grad!.dispose(), (p.grad = null);
    assert.is(tg.memory().numTensors, before, `${backend}: the step left tensors behind`);
    net.dispose();
    tg.dispose([x, y]);
    return out;
  };
  const want = await grads('cpu');
  const got = await grads('wasm');
  assert.is(got.length, want.length);
  got.forEach((g, i) => assertClose(g, want[i], { atol: 1e-5, rtol: 1e-4, msg: `parameter ${i}` }));
});

test.run();
