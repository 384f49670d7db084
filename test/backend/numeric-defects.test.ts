// The numeric defects of TF.js 4.22's wasm and cpu kernels that src/backend/ works around: for
// each, a check that TF.js's own kernel is still wrong on the failing input (when one fails, the
// workaround can go), and a check that the workaround is right.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../../src/index.js';
import {
  guardWasmUnwrittenOutputs,
  leftUnwritten,
  withRawWasmKernels,
} from '../../src/backend/wasm-unwritten-output.js';
import { originalKernel, originalWasmKernel } from '../../src/backend/kernel-replacement.js';
import { WASM_HEAP_MAX, guardWasmHeap } from '../../src/backend/wasm-heap-limit.js';
import { assertClose, assertNoLeak, assertThrows } from '../helpers.js';

const values = (t: tf.Tensor) => Array.from(t.dataSync());
const rank7 = [2, 1, 1, 1, 1, 1, 1];

const still = suite("TF.js's own kernels are still wrong (a failure here means a workaround can go)");
still.before(async () => {
  await tg.setBackend('wasm');
});

still(
  'wasm kernels leave their output unwritten: rank-7 add and pad, empty reductions, inner dimension 0, exp of bool',
  () => {
    tf.tidy(() => {
      const cases: [string, () => tf.Tensor][] = [
        ['Add rank 7', () => tf.add(tf.ones(rank7), tf.ones(rank7))],
        [
          'PadV2 rank 7',
          () =>
            tf.pad(
              tf.ones(rank7),
              rank7.map(() => [0, 1] as [number, number]),
            ),
        ],
        ['Sum of [0,3] over axis 0', () => tf.sum(tf.zeros([0, 3]), 0)],
        ['Max of [0,3] over axis 0', () => tf.max(tf.zeros([0, 3]), 0)],
        ['BatchMatMul [2,0]·[0,3]', () => tf.matMul(tf.zeros([2, 0]), tf.zeros([0, 3]))],
        ['Exp of bool', () => tf.exp(tf.tensor([true, false], [2], 'bool'))],
      ];
      for (const [what, make] of cases) assert.ok(leftUnwritten(withRawWasmKernels(make)), `${what} is written now`);
    });
  },
);

still('wasm Cast to bool keeps a low byte: −2 → 254, 256 → 0, −0.5 and 0.25 → 0', () => {
  const raw = originalWasmKernel('Cast')!;
  const backend = tf.backend();
  for (const [data, dtype, wrong] of [
    [[-2, 256], 'int32', [254, 0]],
    [[-0.5, 0.25], 'float32', [0, 0]],
  ] as const) {
    const x = tf.tensor(data as unknown as number[], [2], dtype);
    const out = raw({ inputs: { x }, attrs: { dtype: 'bool' }, backend }) as tf.TensorInfo;
    assert.equal(Array.from(backend.readSync(out.dataId) as Uint8Array), wrong);
    backend.disposeData(out.dataId);
    x.dispose();
  }
});

still('wasm malloc takes a 32-bit size: 4 GiB + 64 bytes wraps around to 64', () => {
  const wasm = (tf.backend() as unknown as { wasm: { asm: { malloc(n: number): number; free(p: number): void } } }).wasm
    .asm;
  const at = wasm.malloc(2 ** 32 + 64);
  assert.ok(at !== 0, 'the allocation failed, as it should');
  wasm.free(at);
});

/** TF.js's own wasm kernel `name` applied to xs. */
function raw(name: 'Sin' | 'Cos' | 'Log1p' | 'Sign' | 'Sigmoid', xs: number[]): number[] {
  const backend = tf.backend();
  const x = tf.tensor(xs);
  const out = originalWasmKernel(name)!({ inputs: { x }, attrs: {}, backend }) as tf.TensorInfo;
  const got = Array.from(backend.readSync(out.dataId) as Float32Array);
  backend.disposeData(out.dataId);
  x.dispose();
  return got;
}

still(
  'wasm Log1p is log(1 + x) in float32; wasm Sin is wrong for small negative x; Cos has the wrong sign at −π/2',
  () => {
    assert.ok(Math.abs(raw('Log1p', [1e-7])[0] / 1e-7 - 1) > 0.1, 'log1p(1e-7) is right');
    assert.ok(raw('Sin', [-1e-8])[0] > 0, 'sin(−1e−8) is negative');
    // cos(−1.5707963) = +7.5e−8
    assert.ok(raw('Cos', [-1.5707963])[0] < 0, 'cos(−1.5707963) has the right sign');
  },
);

still('wasm Sign is 0 for small nonzero x', () => {
  assert.equal(raw('Sign', [1e-7, -1e-8]), [0, 0], 'sign(1e−7) and sign(−1e−8) are ±1');
});

still('wasm Sigmoid flushes results below 2⁻¹²⁶ to 0: σ(−90) and σ(−103) are subnormal, not 0', () => {
  assert.equal(raw('Sigmoid', [-90, -103]), [0, 0], 'σ(−90) and σ(−103) are right');
});

still("wasm _FusedMatMul's relu and relu6 turn NaN into 0 (XNNPACK's clamp), where Relu keeps it", () => {
  const backend = tf.backend();
  const a = tf.tensor([NaN, 1, 2, 3], [1, 2, 2]);
  const b = tf.tensor([1, 0, 0, 1], [1, 2, 2]);
  for (const activation of ['relu', 'relu6']) {
    const out = originalWasmKernel('_FusedMatMul')!({
      inputs: { a, b },
      attrs: { transposeA: false, transposeB: false, activation, leakyreluAlpha: 0.2 },
      backend,
    }) as tf.TensorInfo;
    const got = Array.from(backend.readSync(out.dataId) as Float32Array);
    backend.disposeData(out.dataId);
    assert.equal(got.slice(0, 2), [0, 0], `${activation}: NaN·1 + 1·0 is kept`);
  }
  tf.dispose([a, b]);
});

still('wasm Maximum, Minimum and ClipByValue let NaN lose: maximum(1, NaN) = 1, clip(NaN, −1, 1) = −1', () => {
  const backend = tf.backend();
  const run = (name: string, inputs: Record<string, tf.Tensor>, attrs = {}) => {
    const out = originalWasmKernel(name)!({ inputs, attrs, backend }) as tf.TensorInfo;
    const got = Array.from(backend.readSync(out.dataId) as Float32Array);
    backend.disposeData(out.dataId);
    return got;
  };
  const [one, nan] = [tf.tensor([1]), tf.tensor([Number.NaN])];
  assert.equal(run('Maximum', { a: one, b: nan }), [1]);
  assert.equal(run('Minimum', { a: one, b: nan }), [1]);
  assert.equal(run('ClipByValue', { x: nan }, { clipValueMin: -1, clipValueMax: 1 }), [-1]);
  tf.dispose([one, nan]);
});

still(
  'a pooling window holding NaN: −∞ from wasm MaxPool and AvgPool, the largest other entry from cpu MaxPool',
  async () => {
    const window = () => tf.tensor4d([Number.NaN, 1, 2, 3], [1, 2, 2, 1]);
    const x = window();
    const backend = tf.backend();
    const info = originalWasmKernel('MaxPool')!({
      inputs: { x },
      attrs: { filterSize: 2, strides: 1, pad: 'valid' },
      backend,
    }) as tf.TensorInfo;
    assert.equal(Array.from(backend.readSync(info.dataId) as Float32Array), [Number.NEGATIVE_INFINITY]);
    backend.disposeData(info.dataId);
    const avg = originalWasmKernel('AvgPool')!({
      inputs: { x },
      attrs: { filterSize: 2, strides: 1, pad: 'valid' },
      backend,
    }) as tf.TensorInfo;
    assert.equal(Array.from(backend.readSync(avg.dataId) as Float32Array), [Number.NEGATIVE_INFINITY]);
    backend.disposeData(avg.dataId);
    x.dispose();
    await tg.setBackend('cpu');
    const c = window();
    const cpu = tf.backend();
    const max = originalKernel('cpu', 'MaxPool')!({
      inputs: { x: c },
      attrs: { filterSize: 2, strides: 1, pad: 'valid' },
      backend: cpu,
    }) as tf.TensorInfo;
    assert.equal(Array.from(cpu.readSync(max.dataId) as Float32Array), [3]);
    cpu.disposeData(max.dataId);
    c.dispose();
    await tg.setBackend('wasm');
  },
);

still(
  "cpu's Conv2DBackpropFilter skips 'same' padding: a NaN of dy leaves the entries only padding meets finite",
  async () => {
    await tg.setBackend('cpu');
    const dy = tf.tensor4d([Number.NaN, 1, 1, 1, 1, 1, 1, 1, 1], [1, 3, 3, 1]);
    const x = tf.ones([1, 3, 3, 1]);
    const w = tf
      .engine()
      .runKernel(
        'Conv2DBackpropFilter',
        { x, dy },
        { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 1, 1] },
      ) as tf.Tensor;
    assert.ok(values(w).some(Number.isFinite));
    tf.dispose([dy, x, w]);
    await tg.setBackend('wasm');
  },
);

still('cpu Pow is Math.pow: 1 to the power NaN or ∞, and −1 to the power ±∞, are NaN (C and PyTorch: 1)', async () => {
  await tg.setBackend('cpu');
  const y = tf.pow(tf.tensor([1, 1, -1]), tf.tensor([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]));
  assert.ok(values(y).every(Number.isNaN));
  y.dispose();
  await tg.setBackend('wasm');
});

still('logSumExp of a row of −∞ is NaN (TF.js shifts by the max, −∞ itself)', () => {
  tf.tidy(() => {
    assert.ok(
      Number.isNaN(values(tf.logSumExp(tf.tensor([-Infinity, -Infinity])))[0]),
      'logSumExp([−∞, −∞]) is not NaN',
    );
  });
});

still("cpu Erf's error is absolute (erf(1e−30) ≈ 1e−9); cpu Elu's eˣ − 1 rounds elu(−1e−30) to 0", async () => {
  await tg.setBackend('cpu');
  tf.tidy(() => {
    assert.ok(values(tf.erf(tf.tensor([1e-30])))[0] > 1e-20, 'erf(1e−30) is right');
    assert.is(values(tf.elu(tf.tensor([-1e-30])))[0], 0, 'elu(−1e−30) is right');
  });
  await tg.setBackend('wasm');
});

still.run();

const fixed = suite('the workarounds');
fixed.before(async () => {
  await tg.setBackend('wasm');
});

fixed(
  'a wasm kernel that leaves its output unwritten is run again on cpu: rank-7 binary ops and pads are right',
  () => {
    assertNoLeak(() => {
      tf.tidy(() => {
        const a = tf.reshape(tf.range(0, 2), rank7);
        assert.equal(values(tf.add(a, tf.ones(rank7))), [1, 2]);
        assert.equal(values(tf.mul(a, tf.fill(rank7, 3))), [0, 3]);
        assert.equal(values(tf.greater(a, tf.zeros(rank7))), [0, 1]);
        assert.equal(
          tf.pad(
            a,
            rank7.map(() => [0, 1] as [number, number]),
          ).shape,
          rank7.map((d) => d + 1),
        );
        assert.equal(values(tf.exp(tf.tensor([true, false], [2], 'bool'))), [Math.fround(Math.E), 1]);
      });
    });
  },
);

fixed('maximum, minimum, clip and hardtanh keep NaN on wasm, broadcast or not, as cpu and PyTorch', async () => {
  const N = Number.NaN;
  const cases: [string, () => tg.Tensor][] = [
    ['maximum', () => tg.maximum(tg.tensor([N, 1, 2]), tg.tensor([1, N, 0]))],
    ['minimum', () => tg.minimum(tg.tensor([N, 1, 2]), tg.tensor([1, N, 0]))],
    ['maximum, a scalar NaN', () => tg.maximum(tg.tensor([1, 2]), N)],
    ['minimum, rows and columns', () => tg.minimum(tg.tensor([[N], [1]]), tg.tensor([[1, N, 3]]))],
    [
      'maximum, rank 3 against rank 1',
      () => tg.maximum(tg.tensor([1, N, 3, 4, 5, 6, 7, N], { shape: [2, 2, 2] }), tg.tensor([N, 0])),
    ],
    ['clip', () => tg.clip(tg.tensor([N, -5, 5, 0.5]), -1, 1)],
    [
      'hardtanh',
      () => tg.hardtanh(tg.tensor(Float32Array.from({ length: 1001 }, (_, i) => (i === 999 ? N : i - 500)))),
    ],
  ];
  for (const [what, make] of cases) {
    const got: number[][] = [];
    for (const backend of ['cpu', 'wasm'] as const) {
      await tg.setBackend(backend);
      const t = make();
      got.push(Array.from(t.dataSync()));
      t.dispose();
    }
    assert.equal(got[1], got[0], what);
    assert.ok(got[1].some(Number.isNaN), `${what}: a NaN`);
  }
  await tg.setBackend('wasm');
});

fixed(
  "a convolution's filter gradient where dy holds NaN: its channel's all NaN, the padding's zeros multiplied, as PyTorch",
  async () => {
    // torch: conv2d(ones(1,1,3,3), w, padding=1) (and stride 2), backward with a NaN at grad_output[0,0,0,0]
    for (const backend of ['cpu', 'wasm'] as const) {
      await tg.setBackend(backend);
      for (const [stride, padding] of [
        [1, 'same'],
        [1, 1],
        [2, 1],
      ] as const) {
        const x = tg.ones([1, 3, 3, 1]);
        const w = tg.ones([3, 3, 1, 2], { requiresGrad: true });
        const y = tg.conv2d(x, w, { stride, padding });
        const g = new Float32Array(y.size).fill(1);
        g[0] = Number.NaN; // channel 0 only
        y.backward(tg.tensor(g, { shape: y.shape }));
        const got = Array.from(w.grad!.dataSync());
        const what = `${backend}, stride ${stride}, padding ${padding}`;
        assert.ok(
          got.every((v, i) => (i % 2 === 0) === Number.isNaN(v)),
          `${what}: channel 0 all NaN, channel 1 finite (${got})`,
        );
        tg.dispose([x, w, y]);
      }
    }
    await tg.setBackend('wasm');
  },
);

fixed('avgPool2d of a window holding +∞ and −∞ is NaN on wasm (XNNPACK gave −∞), as PyTorch', async () => {
  // torch.nn.functional.avg_pool2d(x, 2, stride=1) with x = [[inf, -inf, 1], [1, 2, 3], [inf, 4, 5]]
  const I = Infinity;
  const want = [Number.NaN, -I, I, 3.5];
  for (const backend of ['cpu', 'wasm'] as const) {
    await tg.setBackend(backend);
    const x = tg.tensor([I, -I, 1, 1, 2, 3, I, 4, 5], { shape: [1, 3, 3, 1] });
    const y = tg.avgPool2d(x, { kernelSize: 2, stride: 1 });
    assert.equal(Array.from(y.dataSync()), want, backend);
    tg.dispose([x, y]);
  }
  await tg.setBackend('wasm');
});

fixed('maxPool2d and avgPool2d give NaN for a window holding NaN, on cpu and wasm, as PyTorch', async () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    await tg.setBackend(backend);
    // a 2×2 window of stride 2 (the SIMD max pool), a 3×3 'same' one, and a padded one
    const x = tg.tensor(
      Float32Array.from({ length: 2 * 6 * 6 * 3 }, (_, i) => (i === 7 ? Number.NaN : Math.sin(i))),
      { shape: [2, 6, 6, 3] },
    );
    for (const [what, y] of [
      ['maxPool2d 2×2', tg.maxPool2d(x, 2)],
      ['avgPool2d 2×2', tg.avgPool2d(x, 2)],
      ['maxPool2d 3×3 same', tg.maxPool2d(x, { kernelSize: 3, stride: 1, padding: 'same' })],
      ['avgPool2d 3×3 padded', tg.avgPool2d(x, { kernelSize: 3, stride: 1, padding: 1 })],
    ] as const) {
      const v = Array.from(y.dataSync());
      // entry 7 is pixel (0, 2) of image 0, channel 1: only windows over it are NaN
      const nan = v.map((e, i) => (Number.isNaN(e) ? i : -1)).filter((i) => i >= 0);
      const c = y.shape[3]!;
      const w = y.shape[2]!;
      assert.ok(nan.length > 0, `${backend} ${what}: a NaN`);
      for (const i of nan) assert.is(i % c, 1, `${backend} ${what}: NaN only in channel 1`);
      assert.ok(
        nan.every((i) => Math.floor(i / c / w) <= 1),
        `${backend} ${what}: NaN only in the top rows`,
      );
      y.dispose();
    }
    // a compiled pool traced without NaN: its replays find the NaN windows too (the kernel does)
    const pools = tg.compile((v: tg.Tensor) => [
      tg.maxPool2d(v, { kernelSize: 3, stride: 1, padding: 'same' }),
      tg.avgPool2d(v, { kernelSize: 3, stride: 1, padding: 1 }),
    ]);
    const finite = tg.tensor(
      Float32Array.from({ length: x.size }, (_, i) => Math.sin(i)),
      { shape: x.shape },
    );
    for (const v of [finite, finite, x, x])
      for (const y of pools(v) as tg.Tensor[]) {
        const nans = Array.from(y.dataSync()).filter(Number.isNaN).length;
        assert.is(nans, v === x ? 6 : 0, `${backend} compiled: NaN in the 3×3 windows over the NaN (on the top row)`);
        y.dispose();
      }
    pools.dispose();
    tg.dispose([x, finite]);
  }
  await tg.setBackend('wasm');
});

fixed("pow as C's and PyTorch's at the edges, on cpu and wasm: 1 to any power, −1 to ±∞, anything to 0", async () => {
  const I = Number.POSITIVE_INFINITY;
  const a = [1, 1, -1, -1, 1, 2, Number.NaN, 0];
  const b = [Number.NaN, I, I, -I, -I, Number.NaN, 0, 0];
  // torch.pow(torch.tensor(a), torch.tensor(b))
  const want = [1, 1, 1, 1, 1, Number.NaN, 1, 1];
  for (const backend of ['cpu', 'wasm'] as const) {
    await tg.setBackend(backend);
    const y = tg.pow(tg.tensor(a), tg.tensor(b));
    assert.equal(Array.from(y.dataSync()), want, backend);
    y.dispose();
  }
  await tg.setBackend('wasm');
});

fixed(
  "a strided convolution's input gradient with NaN in the filter: NaN only where it is read, as PyTorch",
  async () => {
    // torch: conv2d(ones(1,1,4,4), w, stride=2, padding=1).sum().backward() with w = [1, nan, 1, …] (3×3)
    const N = Number.NaN;
    const want = [1, 2, 1, 1, N, 4, N, 2, 1, 2, 1, 1, 1, 2, 1, 1];
    for (const backend of ['cpu', 'wasm'] as const) {
      await tg.setBackend(backend);
      const x = tg.ones([1, 4, 4, 1]);
      const w = tg.tensor([1, N, 1, 1, 1, 1, 1, 1, 1], { shape: [3, 3, 1, 1] });
      const g = tg.grad((t: tg.Tensor) => tg.conv2d(t, w, { stride: 2, padding: 1 }).sum())(x);
      assert.equal(Array.from(g.dataSync()), want, backend);
      // compiled with a finite filter, then given the NaN one (w's value replaced outside fn), and a
      // filter made inside fn from an argument: the kernel tests the filter at every replay
      const [nanFilter, onesFilter] = [w.value, tf.onesLike(w.value)];
      const f = tg.compile((t: tg.Tensor) =>
        tg.grad((u: tg.Tensor) => tg.conv2d(u, w, { stride: 2, padding: 1 }).sum())(t),
      );
      const made = tg.compile((t: tg.Tensor, v: tg.Tensor) =>
        tg.grad((u: tg.Tensor) => tg.conv2d(u, tg.reshape(v, [3, 3, 1, 1]), { stride: 2, padding: 1 }).sum())(t),
      );
      for (const nan of [false, false, true, true, false]) {
        w.value = nan ? nanFilter : onesFilter;
        const v = tg.tensor(Array.from(w.value.dataSync()));
        for (const [h, how] of [
          [f(x), 'a weight'],
          [made(x, v), 'made inside fn'],
        ] as const) {
          const got = Array.from(h.dataSync());
          if (nan) assert.equal(got, want, `${backend} compiled, the NaN filter, ${how}`);
          else assert.ok(got.every(Number.isFinite), `${backend} compiled, a finite filter, ${how}`);
          h.dispose();
        }
        v.dispose();
      }
      assert.is(f.traces, 1, `${backend}: traces`);
      made.dispose();
      f.dispose();
      w.value = nanFilter;
      tg.dispose([x, w, g]);
      onesFilter.dispose();
    }
    await tg.setBackend('wasm');
  },
);

fixed("the guard catches any kernel that writes nothing: a planted one gives the cpu kernel's values", () => {
  const name = 'TapegradTestUnwritten';
  tf.registerKernel({
    kernelName: name,
    backendName: 'cpu',
    kernelFunc: ({ backend }) =>
      (backend as unknown as { makeTensorInfo(s: number[], d: string, v: Float32Array): tf.TensorInfo }).makeTensorInfo(
        [3],
        'float32',
        new Float32Array([4, 5, 6]),
      ),
  });
  tf.registerKernel({
    kernelName: name,
    backendName: 'wasm',
    kernelFunc: ({ backend }) =>
      (backend as unknown as { makeOutput(s: number[], d: string): tf.TensorInfo }).makeOutput([3], 'float32'),
  });
  guardWasmUnwrittenOutputs(tf.backend());
  try {
    const out = tf.engine().runKernel(name, {}, {}) as tf.Tensor;
    assert.equal(values(out), [4, 5, 6]);
    out.dispose();
  } finally {
    tf.unregisterKernel(name, 'cpu');
    tf.unregisterKernel(name, 'wasm');
  }
});

fixed('the second-order fuzz case: tile of a 1×1 average pool, differentiated twice, is 1 (not 3.6e−41)', async () => {
  const x0 = tg.tensor([0.7], { shape: [1, 1, 1, 1] });
  const x1 = tg.tensor([0.3], { shape: [1] });
  const f = (a: tg.Tensor, b: tg.Tensor) =>
    tg.dot(tg.reshape(tg.tile(tg.avgPool2d(a, { kernelSize: 1, padding: 'valid' }), [1, 1, 1, 1]), [-1]), b);
  const r = await tg.gradgradcheck(f, [x0, x1]);
  assert.ok(r.ok, JSON.stringify(r.worst));
  const h = tg.grad((a: tg.Tensor) => tg.sum(tg.grad((b: tg.Tensor) => f(a, b))(x1)))(x0);
  assertClose(h, [1]);
  tg.dispose([x0, x1, h]);
});

fixed('wasm Sin, Cos, Log1p and Sign are float64 rounded once: exact to half an ulp', () => {
  tf.tidy(() => {
    const xs = [-1e-8, -1e-6, 1e-20, Math.PI, Math.PI / 2, -Math.PI / 2, 1e-7, -0.5, 1e4].map(Math.fround);
    for (const [f, ref] of [
      [tf.sin, Math.sin],
      [tf.cos, Math.cos],
      [tf.log1p, Math.log1p],
      [tf.sign, Math.sign],
    ] as const) {
      assert.equal(
        values(f(tf.tensor(xs))),
        xs.map((x) => Math.fround(ref(x))),
      );
    }
  });
});

fixed("wasm Sigmoid keeps subnormal results, and silu's, mish's, sigmoid's and logSigmoid's adjoints with them", () => {
  tf.tidy(() => {
    // σ(x) = eˣ to float32's precision for x < −87; σ(−104) rounds to 0 in float32 too
    const xs = [-87.5, -90, -95, -100, -103, -103.9, -104, -Infinity];
    assert.equal(
      values(tf.sigmoid(tf.tensor(xs))),
      xs.map((x) => Math.fround(Math.exp(x))),
    );
    // one small entry among large ones, in the whole vectors the SIMD check reads or in the tail after them
    for (const at of [0, 5, 8]) {
      const row = [0, 1, -2, 3, 4, -5, 6, 7, 8].map((v, i) => (i === at ? -95 : v));
      assert.equal(values(tf.sigmoid(tf.tensor(row)))[at], Math.fround(Math.exp(-95)), `σ(−95) at entry ${at} of 9`);
    }
    const d = (f: (t: tg.Tensor) => tg.Tensor, at: number[]) =>
      tg.tidy(() =>
        Array.from(
          tg
            .grad((t: tg.Tensor) => tg.sum(f(t)))(tg.tensor(at))
            .dataSync(),
        ),
      );
    const inside = [-88, -95, -102];
    // σ′(x) = σ(x)σ(−x), silu′(x) ≈ mish′(x) ≈ eˣ(1 + x), log σ′(−x) = σ(x): all eˣ-sized there
    for (const [name, f, at, ref] of [
      ['sigmoid', tg.sigmoid, inside, (x: number) => Math.exp(x)],
      ['silu', tg.silu, inside, (x: number) => Math.exp(x) * (1 + x)],
      ['mish', tg.mish, inside, (x: number) => Math.exp(x) * (1 + x)],
      ['logSigmoid', tg.logSigmoid, inside.map((x) => -x), (x: number) => Math.exp(-x)],
      ['softplus', tg.softplus, inside, (x: number) => Math.exp(x)],
    ] as const) {
      const got = d(f, [...at]);
      at.forEach((x, i) => {
        const want = ref(x);
        // σ(x) rounded to a subnormal is within half a step (2⁻¹⁵⁰), then multiplied by up to |x|
        const tol = Math.max(2 ** -149 * Math.abs(x), 8 * 2 ** -24 * Math.abs(want));
        assert.ok(Math.abs(got[i] - want) <= tol, `${name}'s adjoint at ${x} is ${got[i]}, float64 gives ${want}`);
      });
    }
  });
});

fixed('cast to bool is x ≠ 0 on wasm', () => {
  tf.tidy(() => {
    assert.equal(values(tf.cast(tf.tensor([-2, 256, 0, 7], [4], 'int32'), 'bool')), [1, 1, 0, 1]);
    assert.equal(values(tf.cast(tf.tensor([-0.5, 0.25, 0, NaN]), 'bool')), [1, 1, 0, 1]);
  });
});

fixed('an allocation past the heap is an error before malloc; malloc answering 0 is an error, not address 0', () => {
  const backend = tf.backend() as unknown as { wasm: { _malloc(n: number): number; _free(p: number): void } };
  assert.throws(() => tf.zeros([2 ** 30 + 1]), /the result \[1073741825\] float32 needs 4\.0 GiB/);
  // leave about 3 GiB in use, then ask for 2 GiB: the heap check passes, malloc finds no room
  const held = backend.wasm._malloc(3 * 2 ** 30);
  try {
    assert.ok(held !== 0);
    // malloc answers 0, or (its top wrapped around) a block past the heap's end
    assert.throws(
      () => backend.wasm._malloc(WASM_HEAP_MAX / 2),
      /the wasm heap has no room left for 2\.0 GiB|the wasm allocator handed out 2\.0 GiB .* past the heap's/,
    );
  } finally {
    backend.wasm._free(held);
  }
  assert.equal(values(tf.add(tf.ones([2]), 1)), [2, 2]);
});

fixed("malloc handing out a block that ends past the heap (its top wrapped around) is a trap, as the module's", () => {
  const memory = new WebAssembly.Memory({ initial: 1 }); // 64 KiB
  let next = 65536 - 16;
  const fake = { wasm: { _malloc: () => next, wasmMemory: memory }, move: () => {} };
  guardWasmHeap(fake as unknown as tf.KernelBackend);
  const { wasm } = fake as unknown as { wasm: { _malloc(n: number): number } };
  assert.is(wasm._malloc(16), 65536 - 16, 'a block that ends where the heap does');
  const trap = (bytes: number, pattern: RegExp) =>
    assert.throws(
      () => wasm._malloc(bytes),
      (e: Error) => e instanceof WebAssembly.RuntimeError && pattern.test(e.message),
    );
  trap(32, /^the wasm allocator handed out 32 bytes at byte 65520, past the heap's 64 KiB/);
  next = -16; // past 2 GiB, as a signed 32-bit address
  trap(16, /at byte 4294967280, past the heap's/);
});

fixed(
  'a module that traps anyway is dropped with a message; setBackend starts a fresh one and work goes on',
  async () => {
    const kernel = tf.getKernel('Tan', 'wasm')!;
    const run = kernel.kernelFunc;
    const before = tg.tensor([1, 2, 3]);
    (kernel as { kernelFunc: tf.KernelFunc }).kernelFunc = () => {
      throw new WebAssembly.RuntimeError('memory access out of bounds');
    };
    try {
      assertThrows(
        () => tg.tan(before),
        /^tan: memory access out of bounds \(inputs \[3\]\): the wasm module trapped .*`await tg\.setBackend\('wasm'\)` starts a fresh one/,
      );
    } finally {
      (kernel as { kernelFunc: tf.KernelFunc }).kernelFunc = run;
    }
    await tg.setBackend('wasm');
    before.dispose();
    assertThrows(
      () => tg.tensor([0]).dataSync() && tg.zeros([2 ** 31]),
      /^zeros: the tensor \[2147483648\] float32 needs 8\.0 GiB/,
    );
    const x = tg.tensor([1, 2], { requiresGrad: true });
    const g = tg.grad((t: tg.Tensor) => tg.sum(tg.mul(tg.tan(t), 1)))(x);
    assertClose(
      g,
      [1, 2].map((v) => 1 / Math.cos(v) ** 2),
    );
    tg.dispose([x, g]);
  },
);

fixed.run();
