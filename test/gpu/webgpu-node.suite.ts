// What a Node user meets on the 'webgpu' backend (Dawn), beyond the gradcheck suite: values that
// live on the GPU and cannot be read synchronously. Run by test/webgpu-node.test.ts in a child
// process with SwiftShader's Vulkan driver (or by hand on a GPU machine):
//   LD_LIBRARY_PATH=/usr/lib/chromium VK_DRIVER_FILES=/usr/lib/chromium/vk_swiftshader_icd.json \
//     node --import tsx test/gpu/webgpu-node.suite.ts
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../../src/index.js';
import { assertClose } from '../helpers.js';
import { dispatchCacheStats, setDispatchCacheEnabled } from '../../src/testing.js';
import { boolChecks, mixedChecks } from '../reference/ops-bool-survey.js';
import { reducedTrigTests } from './reduced-trig.js';
import fc from 'fast-check';
import { backendsPropertyOf, layerBackendsPropertyOf } from '../fuzz/backends.js';

const webgpu = suite('webgpu in Node');
// WebGPU reports a bad bind group or shader as an event and skips the work: collect them all.
const gpuErrors: string[] = [];
webgpu.before(async () => {
  await tg.setBackend('webgpu');
  const device = (tf.backend() as unknown as { device: EventTarget }).device;
  device.addEventListener('uncapturederror', (e) =>
    gpuErrors.push(String((e as unknown as { error: { message: string } }).error.message)),
  );
});

webgpu('setBackend starts webgpu through Dawn, and listBackends says so', async () => {
  assert.is(tg.getBackend(), 'webgpu');
  const info = (await tg.listBackends()).find((b) => b.name === 'webgpu')!;
  assert.ok(info.available, info.reason);
  assert.match(info.reason, /Dawn/);
});

webgpu('synchronous reads fail with an error that says what to do instead', async () => {
  const x = tg.tensor([1, 2]).mul(2); // computed on the GPU
  for (const [fn, call] of [
    ['dataSync', () => x.dataSync()],
    ['item', () => x.sum().item()],
    ['arraySync', () => x.arraySync()],
  ] as const) {
    assert.throws(
      call,
      (e: Error) =>
        e instanceof tg.TapegradError && e.message.startsWith(`${fn}:`) && /use await x\.data\(\)/.test(e.message),
    );
  }
  assert.equal(Array.from(await x.data()), [2, 4]);
  x.dispose();
});

webgpu('gather and crossEntropy take indices computed on the GPU (no synchronous read)', async () => {
  const before = tg.memory().numTensors;
  const logits = tg.tensor(
    [
      [1, 5, 3],
      [7, 2, 0],
      [0, 1, 4],
    ],
    { requiresGrad: true },
  );
  const onGpu = tg.argmax(logits, { axis: 1 }); // [1, 0, 2], on the GPU
  const fromJs = tg.tensor([1, 0, 2], { dtype: 'int32' });
  const table = tg.tensor([10, 20, 30]);
  const picked = tg.gather(table, onGpu);
  assert.equal(Array.from(await picked.data()), [20, 10, 30]);
  const a = tg.crossEntropy(logits, onGpu);
  const b = tg.crossEntropy(logits, fromJs);
  assertClose((await a.data())[0], (await b.data())[0], { atol: 1e-6 });
  a.backward();
  const g = await logits.grad!.data();
  logits.grad!.dispose();
  logits.grad = null;
  b.backward();
  assertClose(Array.from(g), Array.from(await logits.grad!.data()), { atol: 1e-6 });
  tg.dispose([logits, logits.grad!, onGpu, fromJs, table, picked, a, b]);
  assert.is(tg.memory().numTensors, before);
});

webgpu('a training loop with Adam (fused kernels) learns and keeps memory flat', async () => {
  const net = new tg.nn.MLP([4, 16, 3], { activation: 'relu', seed: 3 });
  const opt = new tg.optim.Adam(net.parameters(), { lr: 0.05 });
  const X = tg.randn([32, 4], { seed: 4 });
  const y = tg.argmax(X.slice([0, 0], [32, 3]), { axis: 1 }); // labels made on the GPU
  const losses: number[] = [];
  let start = 0;
  for (let i = 0; i < 30; i++) {
    if (i === 1) start = tg.memory().numTensors;
    const loss = tg.tidy(() => {
      const l = tg.crossEntropy(net.forward(X), y);
      opt.zeroGrad();
      l.backward();
      opt.step();
      return l;
    });
    losses.push((await loss.data())[0]);
    loss.dispose();
  }
  assert.is(tg.memory().numTensors, start, 'tensors leaked per step');
  assert.ok(losses[29] < 0.5 * losses[0], `loss ${losses[0]} → ${losses[29]}`);
  opt.dispose();
  net.dispose();
  tg.dispose([X, y]);
});

webgpu('a checkpoint saved on webgpu (save reads asynchronously) resumes the run here and on cpu', async () => {
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const dir = await mkdtemp(`${tmpdir()}/tapegrad-checkpoint-`);
  const X = tg.randn([16, 4], { seed: 4 });
  const y = tg.argmax(X.slice([0, 0], [16, 3]), { axis: 1 });
  const train = (net: tg.nn.MLP, opt: tg.optim.Optimizer, steps: number) => {
    for (let i = 0; i < steps; i++)
      tg.tidy(() => {
        const l = tg.crossEntropy(net.forward(X), y);
        opt.zeroGrad();
        l.backward();
        opt.step();
      });
  };
  const valuesOf = async (net: tg.nn.MLP) => Promise.all(net.parameters().map(async (p) => Array.from(await p.data())));
  const make = (seed: number) => {
    const net = new tg.nn.MLP([4, 8, 3], { activation: 'relu', seed });
    return { net, opt: new tg.optim.Adam(net.parameters(), { lr: 0.05 }) };
  };
  const a = make(3);
  train(a.net, a.opt, 3);
  await a.net.save(`${dir}/net.safetensors`);
  await a.opt.save(`${dir}/opt.safetensors`);
  assert.throws(
    () => a.net.toBytes(),
    (e: Error) =>
      /^MLP.*\.toBytes: the webgpu backend here cannot read values synchronously; save\(path\)/.test(e.message),
  );
  assert.throws(() => a.opt.toBytes(), /^Adam\.toBytes: the webgpu backend here cannot read/);
  train(a.net, a.opt, 3);
  const straight = await valuesOf(a.net);
  const b = make(9);
  await b.net.load(`${dir}/net.safetensors`);
  await b.opt.load(`${dir}/opt.safetensors`);
  train(b.net, b.opt, 3);
  assert.equal(await valuesOf(b.net), straight, 'resumed on webgpu: the same values');
  await tg.setBackend('cpu');
  try {
    const [Xc, yc] = [tg.tensor(await X.data(), { shape: X.shape }), tg.tensor(await y.data(), { dtype: 'int32' })];
    const c = make(9);
    await c.net.load(`${dir}/net.safetensors`);
    await c.opt.load(`${dir}/opt.safetensors`);
    for (let i = 0; i < 3; i++)
      tg.tidy(() => {
        const l = tg.crossEntropy(c.net.forward(Xc), yc);
        c.opt.zeroGrad();
        l.backward();
        c.opt.step();
      });
    const onCpu = await valuesOf(c.net);
    onCpu.forEach((v, i) => assertClose(tg.tensor(v), tg.tensor(straight[i]), { atol: 1e-5, rtol: 1e-4 }));
    c.opt.dispose();
    c.net.dispose();
    tg.dispose([Xc, yc]);
  } finally {
    await tg.setBackend('webgpu');
  }
  for (const { net, opt } of [a, b]) {
    opt.dispose();
    net.dispose();
  }
  tg.dispose([X, y]);
  await rm(dir, { recursive: true });
});

webgpu('an MLP training step with Adam costs 22 GPU dispatches (a count, not a time)', async () => {
  // What makes small-net training slow on a GPU is dispatches (docs/gpu.md); this guards the count.
  const backend = (await import('@tensorflow/tfjs-core')).backend() as unknown as {
    runWebGPUProgram: (...a: unknown[]) => unknown;
  };
  const net = new tg.nn.MLP([16, 32, 10], { activation: 'relu', seed: 5 });
  const opt = new tg.optim.Adam(net.parameters(), { lr: 1e-3 });
  const X = tg.randn([8, 16], { seed: 6 });
  const y = tg.tensor([0, 1, 2, 3, 4, 5, 6, 7], { dtype: 'int32' });
  const step = () =>
    tg.tidy(() => {
      const l = tg.crossEntropy(net.forward(X), y);
      opt.zeroGrad();
      l.backward();
      opt.step();
      return l;
    });
  for (let i = 0; i < 2; i++) step().dispose(); // the first step also makes Adam's state
  const run = backend.runWebGPUProgram;
  let dispatches = 0;
  backend.runWebGPUProgram = (...a: unknown[]) => {
    dispatches++;
    return run.apply(backend, a);
  };
  try {
    const l = step();
    await l.data();
    l.dispose();
  } finally {
    backend.runWebGPUProgram = run;
  }
  assert.ok(dispatches <= 22, `${dispatches} dispatches per step (22 expected: docs/gpu.md)`);
  opt.dispose();
  net.dispose();
  tg.dispose([X, y]);
});

/** Losses of a few Adam steps of a small MLP on fixed data, and the parameters after them. */
async function train(
  steps: number,
  afterStep: (i: number) => void = () => {},
): Promise<{ losses: number[]; params: number[] }> {
  const net = new tg.nn.MLP([8, 32, 4], { activation: 'relu', seed: 5 });
  const opt = new tg.optim.Adam(net.parameters(), { lr: 0.01 });
  const X = tg.randn([64, 8], { seed: 6 });
  const y = tg.tensor(
    Array.from({ length: 64 }, (_, i) => i % 4),
    { dtype: 'int32' },
  );
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    const l = tg.tidy(() => {
      const loss = tg.crossEntropy(net.forward(X), y);
      opt.zeroGrad();
      loss.backward();
      opt.step();
      return loss;
    });
    losses.push((await l.data())[0]);
    l.dispose();
    afterStep(i);
  }
  const params = (await Promise.all(net.parameters().map((p) => p.data()))).flatMap((d) => Array.from(d));
  opt.zeroGrad();
  opt.dispose();
  net.dispose();
  tg.dispose([X, y]);
  return { losses, params };
}

webgpu(
  'the dispatch cache: a training loop reuses uniform buffers and bind groups, and computes exactly what it computes without them',
  async () => {
    const before = tg.memory().numTensors;
    setDispatchCacheEnabled(false);
    const plain = await train(30);
    setDispatchCacheEnabled(true);
    let s0 = dispatchCacheStats()!;
    const cached = await train(30, (i) => {
      if (i === 9) s0 = dispatchCacheStats()!; // after ten steps (TF.js's pool grows for the first few)
    });
    const s1 = dispatchCacheStats()!;
    assert.equal(cached.losses, plain.losses);
    assert.equal(cached.params, plain.params);
    assert.ok(cached.losses[29] < cached.losses[0], `loss ${cached.losses[0]} → ${cached.losses[29]}`);
    // The per-step values of Adam (lr, bias corrections) are not uniforms: every step's uniforms
    // are the first step's; and each optimizer step ends with a submit, so every step starts from
    // the same buffer pool: once the pool has grown (7 steps here), every bind group is found again.
    const [hits, misses] = [s1.hits - s0.hits, s1.misses - s0.misses];
    assert.is(misses, 0, `${hits} hits, ${misses} misses`);
    assert.ok(hits >= 20 * 20, `${hits} hits`);
    assert.is(s1.uniformBuffers, s0.uniformBuffers, 'no uniform buffer added after step 10');
    assert.is(tg.memory().numTensors, before);
  },
);

webgpu(
  'the dispatch cache: kernels that differ only in their uniforms get their own (clip bounds, leakyRelu slope, pad value -0 and 0)',
  async () => {
    const x = tg.tensor([-3, -0.5, 0.5, 3]).mul(1); // on the GPU
    const read = async (t: InstanceType<typeof tg.Tensor>) => {
      const v = Array.from(await t.data());
      t.dispose();
      return v;
    };
    assert.equal(await read(tg.clip(x, -1, 1)), [-1, -0.5, 0.5, 1]);
    assert.equal(await read(tg.clip(x, 0, 2)), [0, 0, 0.5, 2]);
    assert.equal(await read(tg.leakyRelu(x, 0.5)), [-1.5, -0.25, 0.5, 3]);
    assert.equal(await read(tg.leakyRelu(x, 0.25)), [-0.75, -0.125, 0.5, 3]);
    const inv = async (value: number) => (await read(tg.pad(x, [[1, 0]], value)))[0];
    assert.is(1 / (await inv(0)), Infinity);
    assert.is(1 / (await inv(-0)), -Infinity);
    x.dispose();
  },
);

webgpu('uploads: values from JavaScript reach the GPU intact (float32, int32, bool; one and many)', async () => {
  const f = tg.tensor([1.5, -2, 3e-8, 1e30]);
  const i = tg.tensor([7, -3, 2147483647], { dtype: 'int32' });
  const b = tg.tensor([1, 0, 1], { dtype: 'bool' });
  const big = tg.tensor(Float32Array.from({ length: 100_000 }, (_, k) => k * 0.5));
  // Used by a kernel first (uploaded), then read back.
  assert.equal(Array.from(await f.mul(1).data()), Array.from(Float32Array.from([1.5, -2, 3e-8, 1e30])));
  assert.equal(Array.from(await i.add(tg.tensor([0, 0, 0], { dtype: 'int32' })).data()), [7, -3, 2147483647]);
  assert.equal(Array.from(await tg.cast(b, 'float32').data()), [1, 0, 1]);
  const s = (await big.sum().data())[0];
  assertClose(s, (0.5 * 99_999 * 100_000) / 2, { rtol: 1e-5 });
  tg.dispose([f, i, b, big]);
});

webgpu("softplus keeps its precision for moderately negative x, where TF.js's Softplus rounds 1 + eˣ", async () => {
  const xs = [-5, -10, -13, -20, 3, 20];
  const want = xs.map((x) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x))));
  const rel = (got: Float32Array | Int32Array | Uint8Array) =>
    Math.max(...Array.from(got).map((g, i) => Math.abs(g - want[i]) / want[i]));
  const x = tg.tensor(xs).mul(1); // on the GPU
  const raw = tf.softplus(x.value);
  const y = tg.softplus(x);
  const [tfjs, ours] = [rel(await raw.data()), rel(await y.data())];
  console.log(`[softplus] webgpu: TF.js ${tfjs.toPrecision(3)}, tapegrad ${ours.toPrecision(3)} (relative)`);
  assert.ok(tfjs > 1e-4, `TF.js's Softplus is precise now (${tfjs}): softplusModerateNegative can go`);
  assert.ok(ours < 2e-6, `softplus: relative error ${ours}`);
  tg.dispose([x, y]);
  raw.dispose();
});

webgpu('bool operands as PyTorch: every elementwise op of the survey (ops-bool.json)', async () => {
  const before = tg.memory().numTensors;
  for (const { check } of boolChecks) await check();
  assert.is(tg.memory().numTensors, before, 'no tensor left behind');
});

webgpu('mixed dtypes as PyTorch: every op of two operands in the survey (ops-bool.json)', async () => {
  const before = tg.memory().numTensors;
  for (const { check } of mixedChecks) await check();
  assert.is(tg.memory().numTensors, before, 'no tensor left behind');
});

// sin, cos and tan reduced in float32 (the same checks run in Chromium's webgl and webgpu)
reducedTrigTests(webgpu);

webgpu(
  'rank 5 and 6 on the GPU: the gradients of sum and mean (broadcastTo), tile and a broadcast matmul',
  async () => {
    // TF.js's Tile computes on the CPU from rank 5 on, reading its input synchronously; more than 1,000
    // entries, so that TF.js computes them on the GPU too
    const before = tg.memory().numTensors;
    const n = 1200;
    const xs = Array.from({ length: n }, (_, i) => (i % 7) - 3);
    const x = tg.tensor(xs, { shape: [1, 2, 3, 1, 200], requiresGrad: true });
    const [gSum, gMean, tiled, c] = tg.tidy(() => {
      const y = tg.mul(x, 3);
      const [gs] = tg.gradients(tg.sum(tg.mul(y, y)), [x]);
      const [gm] = tg.gradients(tg.mean(tg.reshape(tg.mul(x, 3), [1, 2, 1, 3, 1, 200])), [x]);
      // batch axes [2, 3] · [4, 1, 1]: both broadcast to [4, 2, 3], rank 5 with the matrices
      const a = tg.reshape(tg.mul(x, 1), [2, 3, 1, 200]);
      const product = tg.matmul(a, tg.mul(tg.ones([4, 1, 1, 200, 2]), 0.5));
      return [gs!, gm!, tg.tile(y, [2, 1, 2, 1, 1]), product];
    });
    assert.equal(
      Array.from(await gSum.data()),
      xs.map((v) => 18 * v),
    );
    assertClose(Array.from(await gMean.data()), new Array(n).fill(3 / n), { rtol: 1e-6 });
    assert.equal(tiled.shape, [2, 2, 6, 1, 200]);
    const t = Array.from(await tiled.data());
    const y3 = xs.map((v) => 3 * v);
    const half = [...y3.slice(0, 600), ...y3.slice(0, 600), ...y3.slice(600), ...y3.slice(600)];
    assert.equal(t, [...half, ...half]);
    assert.equal(c.shape, [4, 2, 3, 1, 2]);
    const rowSums = [0, 1, 2, 3, 4, 5].map((r) => 0.5 * xs.slice(200 * r, 200 * r + 200).reduce((p, q) => p + q, 0));
    const cv = Array.from(await c.data());
    for (let k = 0; k < 4; k++)
      assert.equal(
        cv.slice(12 * k, 12 * k + 12),
        rowSums.flatMap((v) => [v, v]),
      );
    tg.dispose([x, gSum, gMean, tiled, c]);
    // TF.js's own Tile there still reads synchronously (src/backend/defects.ts tileAnyRank can go when it does not)
    const onGpu = tf.tidy(() => tf.mul(tf.ones([1, 2, 1, 1, 4096]), 2));
    assert.throws(() => tf.tile(onGpu, [2, 1, 1, 1, 1]).dispose(), /OffscreenCanvas/);
    onGpu.dispose();
    assert.is(tg.memory().numTensors, before);
  },
);

webgpu('int32 and bool transposes on the GPU, and the reductions that transpose them inside, are right', async () => {
  // made on the GPU: a small tensor straight from the CPU would be transposed there
  const onGpu = (v: number[], shape: number[], dtype: 'int32' | 'bool') =>
    dtype === 'bool'
      ? tf.notEqual(tf.tensor(v, shape, 'int32'), tf.scalar(0, 'int32'))
      : tf.add(tf.tensor(v, shape, 'int32'), tf.scalar(0, 'int32'));
  const big = [16777217, -1, 3, 4, 5, -6, 7, 2147483647];
  const mask = [1, 0, 0, 0, 0, 1, 0, 1];
  const cases: [string, () => tf.Tensor, number[]][] = [
    [
      'int32 transpose',
      () => tf.transpose(onGpu(big, [2, 2, 2], 'int32'), [2, 0, 1]),
      [16777217, 3, 5, 7, -1, 4, -6, 2147483647],
    ],
    ['bool transpose', () => tf.transpose(onGpu(mask, [2, 2, 2], 'bool'), [1, 0, 2]), [1, 0, 0, 1, 0, 0, 0, 1]],
    ['any over axis 0', () => tf.any(onGpu(mask, [2, 2, 2], 'bool'), 0), [1, 1, 0, 1]],
    ['all over axis 1', () => tf.all(onGpu([1, 1, 0, 1, 1, 0, 1, 1], [2, 2, 2], 'bool'), 1), [0, 1, 1, 0]],
    ['int32 sum over axis 0', () => tf.sum(onGpu([1, -2, 3, 4, 5, -6, 7, 8], [2, 2, 2], 'int32'), 0), [6, -8, 10, 12]],
    ['int32 max over axis 0', () => tf.max(onGpu([1, -2, 3, 4, 5, -6, 7, 8], [2, 2, 2], 'int32'), 0), [5, -2, 7, 8]],
  ];
  for (const [what, f, want] of cases) {
    const y = tf.tidy(f);
    assert.equal(Array.from(await y.data()), want, what);
    y.dispose();
  }
  // median's NaN check reduces a mask over a leading axis
  const x = tg.tensor([-1.05, 2, 0.5, 3, -4, 7], { shape: [2, 1, 3] });
  const g = tg.grad((t: tg.Tensor) => tg.median(t, { axis: 0 }).sum())(x);
  assert.equal(Array.from(await g.data()), [1, 0, 1, 0, 1, 0]);
  tg.dispose([x, g]);
});

webgpu("atan2 at signed zeros and infinities is C's (TF.js's gives π for atan2(−0, 1) here)", async () => {
  const pairs = [
    [-0, 1.1],
    [0, 1.1],
    [-0, -1],
    [0, -1],
    [-0, 0],
    [0, -0],
    [-0, -0],
    [-0, Infinity],
    [0, -Infinity],
    [1, 0],
    [-2, -0],
    [0, Number.NaN],
    [Number.NaN, 1],
  ];
  // made on the GPU: tiny tensors from the CPU would be computed there
  const onGpu = (v: number[]) => tg.mul(tg.tensor(v), tg.ones([v.length]));
  // TF.js's own (the test that tells when atan2SignedZero can go)
  const forward = tf.env().getBool('WEBGPU_CPU_FORWARD');
  tf.env().set('WEBGPU_CPU_FORWARD', false);
  const raw = tf.atan2(tf.tensor([-0]), tf.tensor([1]));
  assert.is((await raw.data())[0], Math.fround(Math.PI), "webgpu's Atan2 is right now: atan2SignedZero can go");
  raw.dispose();
  tf.env().set('WEBGPU_CPU_FORWARD', forward);
  const y = tg.atan2(onGpu(pairs.map((p) => p[0])), onGpu(pairs.map((p) => p[1])));
  const got = Array.from(await y.data());
  got.forEach((v, i) =>
    assert.ok(Object.is(v, Math.fround(Math.atan2(pairs[i][0], pairs[i][1]))), `atan2(${pairs[i]}): ${v}`),
  );
  y.dispose();
});

// (finite inputs only: WGSL leaves NaN and ±∞ to the implementation, and SwiftShader's log(NaN) is
// 89, its exp(NaN) ∞, its log(0) −88)
webgpu(
  'random compositions agree with cpu, values and gradients, with no validation error (the backends fuzzer)',
  async () => {
    await fc.assert(backendsPropertyOf(false, 'webgpu'), {
      seed: 20261201,
      numRuns: Number(process.env.FUZZ_RUNS_WEBGPU ?? 200),
      endOnFailure: true,
    });
    assert.is(tg.getBackend(), 'webgpu');
  },
);

webgpu('random tg.nn layers agree with cpu, values and every gradient, with no validation error', async () => {
  await fc.assert(layerBackendsPropertyOf(false, 'webgpu'), {
    seed: 20261201,
    numRuns: Number(process.env.FUZZ_RUNS_WEBGPU ?? 200) / 2,
    endOnFailure: true,
  });
  assert.is(tg.getBackend(), 'webgpu');
});

webgpu.run();
