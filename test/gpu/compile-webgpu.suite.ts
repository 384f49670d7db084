// tg.compile on webgpu: a trace's GPU work (dispatches, bind groups, uniforms) recorded at its first
// replay and submitted again as one command buffer, equal to eager execution bit for bit for every
// op of the registry and its gradient, and over a training loop; recorded again when shapes
// change; reading captured weights afresh; leaking neither tensors nor GPU buffers. Run by
// test/compile-webgpu.test.ts in a child process with SwiftShader's Vulkan driver (or by hand):
//   LD_LIBRARY_PATH=/usr/lib/chromium VK_DRIVER_FILES=/usr/lib/chromium/vk_swiftshader_icd.json \
//     node --import tsx test/gpu/compile-webgpu.suite.ts
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../../src/index.js';
import { cases, flatCases, type OpCase } from '../op-cases.js';
import { setWebGPUReplayEnabled, webgpuReplayCounters } from '../../src/testing.js';

const webgpu = suite('tg.compile on webgpu (Dawn on SwiftShader)');
const gpuErrors: string[] = [];
/** Bytes of the buffers TF.js's pool has handed out (tensors, kept uniforms, the replay's plans). */
const gpuBytesInUse = () =>
  (tf.backend() as unknown as { bufferManager: { numBytesUsed: number } }).bufferManager.numBytesUsed;

webgpu.before(async () => {
  await tg.setBackend('webgpu');
  // every op on the GPU's kernels, as the compiled replay runs them (TF.js would hand small
  // CPU-resident inputs to its CPU kernels in the eager run)
  tf.env().set('WEBGPU_CPU_FORWARD', false);
  const device = (tf.backend() as unknown as { device: EventTarget }).device;
  device.addEventListener('uncapturederror', (e) =>
    gpuErrors.push(String((e as unknown as { error: { message: string } }).error.message)),
  );
});

/** The op's values and the gradient of their sum with respect to every float32 input. */
function valueAndGrads(c: OpCase) {
  return (...xs: tg.Tensor[]): (tg.Tensor | null)[] => {
    const floats = xs.map((x, i) => (x.dtype === 'float32' ? i : -1)).filter((i) => i >= 0);
    const y = c.f(...xs);
    const gs = floats.length ? (tg.grad((...zs: tg.Tensor[]) => c.f(...zs).sum(), floats)(...xs) as tg.Tensor[]) : [];
    return [y, ...gs];
  };
}

const bits = async (ts: (tg.Tensor | null)[]) =>
  Promise.all(ts.map(async (t) => (t ? { shape: t.shape, values: Array.from(await t.data()) } : null)));

/** Equal values, NaN equal to NaN, −0 apart from 0. */
function sameValues(got: unknown, want: unknown, what: string): void {
  const spell = (_k: string, v: unknown) => (typeof v === 'number' ? (Object.is(v, -0) ? '-0' : String(v)) : v);
  const g = JSON.stringify(got, spell);
  const w = JSON.stringify(want, spell);
  if (g !== w) assert.unreachable(`${what}: compiled ${g.slice(0, 300)} vs eager ${w.slice(0, 300)}`);
}

const nonNull = (ts: (tg.Tensor | null)[]) => ts.filter((t): t is tg.Tensor => t !== null);

webgpu('every op of the registry and its gradient: the replayed GPU work = eager, bit for bit', async () => {
  const before = tg.memory();
  const held = webgpuReplayCounters.heldBytes;
  const plans0 = webgpuReplayCounters.plans;
  const refusals0 = webgpuReplayCounters.refusals.length;
  const refusedByTrace: string[] = [];
  let ran = 0;
  for (const [name, c] of flatCases(cases)) {
    const f = valueAndGrads(c);
    const compiled = tg.compile(f);
    const xs = c.make(1);
    const eager = tg.tidy(() => nonNull(f(...xs)));
    const want = await bits(eager);
    tg.dispose(eager);
    let traced: (tg.Tensor | null)[];
    try {
      traced = compiled(...xs);
    } catch (e) {
      // ops whose adjoint reads values in JavaScript: refused at the trace, on every backend
      assert.match((e as Error).message, /^compile: .*reads tensor values/, name);
      refusedByTrace.push(name);
      tg.dispose(xs);
      compiled.dispose();
      continue;
    }
    const captured = compiled(...xs); // the kernels' replay, recording their GPU work
    const replayed = compiled(...xs); // the GPU work alone
    sameValues(await bits(traced), want, `${name} (the trace)`);
    sameValues(await bits(captured), want, `${name} (the kernels' replay)`);
    sameValues(await bits(replayed), want, `${name} (the GPU replay)`);
    const ys = c.make(2);
    const eager2 = tg.tidy(() => nonNull(f(...ys)));
    const want2 = await bits(eager2);
    const again = compiled(...ys);
    sameValues(await bits(again), want2, `${name} (the GPU replay on other values)`);
    assert.is(compiled.traces, 1, `${name}: traced once`);
    tg.dispose([...xs, ...ys, ...eager2, ...nonNull([...traced, ...captured, ...replayed, ...again])]);
    compiled.dispose();
    ran++;
  }
  assert.equal(tg.memory(), before, 'tensors leaked');
  assert.is(webgpuReplayCounters.heldBytes, held, 'GPU buffers kept after every compiled function was disposed');
  const refused = webgpuReplayCounters.refusals.slice(refusals0);
  // the GPU replay covers what the kernels' replay covers
  assert.equal(refused, [], `GPU work not replayed: ${refused.join('; ')}`);
  assert.is(webgpuReplayCounters.plans - plans0, ran);
  assert.ok(refusedByTrace.length < flatCases(cases).length / 4, `refused: ${refusedByTrace.join(', ')}`);
  console.log(`# ${ran} ops replayed from their GPU work, ${refusedByTrace.length} refused at the trace`);
});

/**
 * Calls f, counting the dispatches and the buffer copies it encodes (at WebGPU's own calls, where
 * a replay encodes them too).
 */
function countGpuWork<R>(f: () => R): { result: R; dispatches: number; copies: number } {
  const g = globalThis as unknown as Record<string, { prototype: Record<string, unknown> }>;
  const [pass, encoder] = [g.GPUComputePassEncoder.prototype, g.GPUCommandEncoder.prototype];
  const dispatch = pass.dispatchWorkgroups as (...a: unknown[]) => void;
  const copy = encoder.copyBufferToBuffer as (...a: unknown[]) => void;
  const counts = { dispatches: 0, copies: 0 };
  pass.dispatchWorkgroups = function (this: unknown, ...a: unknown[]) {
    counts.dispatches++;
    return dispatch.apply(this, a);
  };
  encoder.copyBufferToBuffer = function (this: unknown, ...a: unknown[]) {
    counts.copies++;
    return copy.apply(this, a);
  };
  try {
    const result = f();
    return { result, ...counts };
  } finally {
    pass.dispatchWorkgroups = dispatch;
    encoder.copyBufferToBuffer = copy;
  }
}

/**
 * 12 Adam steps of an MLP, eager or compiled: `whole`, the step compiled whole (backward and
 * opt.step() inside); else the loss and gradients compiled and opt.step() outside. Returns the
 * losses, the final weights, the GPU replays and the dispatches and copies of step 6, checking that no tensor
 * leaks per step (and, whole, no GPU buffer, and the parameters keep their tensors).
 */
async function trainMlp(compiled: boolean, whole: boolean) {
  const net = new tg.nn.MLP([8, 32, 4], { activation: 'relu', seed: 5 });
  const params = net.parameters();
  const opt = new tg.optim.Adam(params, { lr: 0.01 });
  const X = tg.randn([64, 8], { seed: 6 });
  const y = tg.tensor(
    Array.from({ length: 64 }, (_, i) => i % 4),
    { dtype: 'int32' },
  );
  const loss = (x: tg.Tensor, labels: tg.Tensor) => tg.crossEntropy(net.forward(x), labels);
  const body = whole
    ? (x: tg.Tensor, labels: tg.Tensor) => {
        const l = loss(x, labels);
        l.backward();
        opt.step();
        return [l];
      }
    : (x: tg.Tensor, labels: tg.Tensor) => {
        const l = loss(x, labels);
        return [l, ...tg.gradients(l, params)];
      };
  const f = compiled ? tg.compile(body) : (x: tg.Tensor, l: tg.Tensor) => tg.tidy(() => body(x, l));
  const step = () => {
    if (whole) {
      opt.zeroGrad();
      return f(X, y)[0]!;
    }
    const [l, ...gs] = f(X, y);
    params.forEach((p, k) => {
      p.grad?.dispose();
      p.grad = gs[k];
    });
    opt.step(); // replaces each parameter's value: the replay binds the new buffers
    return l!;
  };
  const losses: number[] = [];
  const replays0 = webgpuReplayCounters.replays;
  let [tensors, bytes, dispatches, copies] = [0, 0, 0, 0];
  let values: tf.Tensor[] = [];
  for (let i = 0; i < 12; i++) {
    if (i === 3) {
      tensors = tg.memory().numTensors;
      bytes = gpuBytesInUse();
      values = params.map((p) => p.value);
    }
    const counted = countGpuWork(step);
    if (i === 5) ({ dispatches, copies } = counted);
    losses.push((await counted.result.data())[0]);
    counted.result.dispose();
  }
  assert.is(tg.memory().numTensors, tensors, 'tensors leaked per step');
  if (whole) {
    assert.is(gpuBytesInUse(), bytes, 'GPU buffers taken per step and not given back');
    // replayed, the parameters keep their tensors (and buffers): the new values are written into them
    if (compiled) assert.ok(params.every((p, k) => p.value === values[k]));
  }
  const replays = webgpuReplayCounters.replays - replays0;
  const weights = (await Promise.all(params.map((p) => p.data()))).flatMap((d) => Array.from(d));
  opt.zeroGrad();
  opt.dispose();
  net.dispose();
  if (compiled) (f as unknown as { dispose(): void }).dispose();
  tg.dispose([X, y]);
  return { losses, weights, replays, dispatches, copies, params: params.length };
}

webgpu('a compiled training loop: one command buffer a step, the same losses and weights as eager', async () => {
  const eager = await trainMlp(false, false);
  const compiled = await trainMlp(true, false);
  assert.equal(compiled.losses, eager.losses);
  assert.equal(compiled.weights, eager.weights);
  assert.is(compiled.replays, 10, 'steps 3 to 12 replayed the GPU work (1: the trace, 2: its capture)');
  // the loss and the gradients are written where the tensors handed back lie: nothing is copied
  assert.is(compiled.copies, 0);
  assert.ok(compiled.losses[11] < compiled.losses[0], `the loss fell: ${compiled.losses[0]} → ${compiled.losses[11]}`);
  assert.equal(webgpuReplayCounters.last?.commandBuffers, 1);
});

webgpu(
  'a whole Adam step compiled (backward and step inside): the same losses, weights and dispatches as eager, state in place',
  async () => {
    const eager = await trainMlp(false, true);
    const compiled = await trainMlp(true, true);
    assert.equal(compiled.losses, eager.losses);
    assert.equal(compiled.weights, eager.weights);
    // the first step traces (Adam has no state yet), the second traces again (now it has), the third captures
    assert.is(compiled.replays, 9);
    assert.equal(webgpuReplayCounters.last?.commandBuffers, 1);
    // Adam's per-parameter kernels bind the one tensor of the step's numbers: no slice of it per parameter
    assert.is(webgpuReplayCounters.last?.dispatches, compiled.dispatches);
    assert.is(compiled.dispatches, eager.dispatches, 'a compiled step dispatches what an eager one does');
    // copied: each parameter's and its moments' new values into their tensors; not the loss or the gradients
    assert.is(compiled.copies, 2 * compiled.params);
  },
);

const OPTIMIZERS: Record<string, (ps: tg.Tensor[]) => tg.optim.Optimizer> = {
  'SGD, momentum': (ps) => new tg.optim.SGD(ps, { lr: 0.05, momentum: 0.9 }),
  'RMSprop, centred, momentum': (ps) => new tg.optim.RMSprop(ps, { lr: 0.01, centered: true, momentum: 0.5 }),
  'Adagrad, lr decay': (ps) => new tg.optim.Adagrad(ps, { lr: 0.1, lrDecay: 0.01 }),
  Adamax: (ps) => new tg.optim.Adamax(ps),
  NAdam: (ps) => new tg.optim.NAdam(ps),
  RAdam: (ps) => new tg.optim.RAdam(ps, { lr: 0.01 }), // rectified from step 6
};

webgpu(
  'parameters read between compiled steps show the values of each step, every optimizer (state written in place is read afresh)',
  async () => {
    // a read caches a tensor's values on the CPU; the replay writes new ones into its buffer
    const run = async (compiled: boolean, make: (ps: tg.Tensor[]) => tg.optim.Optimizer) => {
      const net = new tg.nn.Sequential(
        new tg.nn.Linear(3, 4, { seed: 1 }),
        new tg.nn.ReLU(),
        new tg.nn.Linear(4, 1, { seed: 2 }),
      );
      const opt = make(net.parameters());
      const body = (x: tg.Tensor, y: tg.Tensor) => {
        opt.zeroGrad();
        const loss = tg.mean(tg.square(tg.sub(net.forward(x) as tg.Tensor, y)));
        loss.backward();
        opt.step();
        return loss;
      };
      const f = compiled ? tg.compile(body) : (x: tg.Tensor, y: tg.Tensor) => tg.tidy(() => body(x, y));
      const seen: number[][] = [];
      for (let i = 0; i < 8; i++) {
        const [x, y] = [tg.randn([5, 3], { seed: 10 + i }), tg.randn([5, 1], { seed: 20 + i })];
        const loss = f(x, y);
        seen.push([
          (await loss.data())[0],
          ...(await Promise.all(net.parameters().map((q) => q.data()))).flatMap((d) => Array.from(d)),
        ]);
        tg.dispose([x, y, loss]);
      }
      opt.zeroGrad();
      opt.dispose();
      net.dispose();
      if (compiled) (f as unknown as { dispose(): void }).dispose();
      return seen;
    };
    for (const [name, make] of Object.entries(OPTIMIZERS)) {
      const eager = await run(false, make);
      const compiled = await run(true, make);
      for (let i = 0; i < eager.length; i++) assert.equal(compiled[i], eager[i], `${name}, after step ${i + 1}`);
    }
  },
);

webgpu('results kept across calls keep their values: a replay writes only into tensors it hands back new', async () => {
  const W = tg.randn([6, 3], { seed: 1 });
  const f = tg.compile((x: tg.Tensor) => {
    const loss = x.matmul(W).relu().square().sum();
    return [loss, tg.grad((w: tg.Tensor) => x.matmul(w).relu().square().sum())(W) as tg.Tensor];
  });
  const xs = [1, 2, 3, 4, 5].map((seed) => tg.randn([4, 6], { seed }));
  const kept = xs.map((x) => countGpuWork(() => f(x) as tg.Tensor[]));
  // calls 3 to 5 replayed the GPU work, with no copy; every result still holds its own call's values
  assert.equal(
    kept.slice(2).map((k) => k.copies),
    [0, 0, 0],
  );
  for (let i = 0; i < xs.length; i++) {
    const eager = tg.tidy(() => {
      const loss = xs[i].matmul(W).relu().square().sum();
      return [loss, tg.grad((w: tg.Tensor) => xs[i].matmul(w).relu().square().sum())(W) as tg.Tensor];
    });
    sameValues(await bits(kept[i].result), await bits(eager), `call ${i + 1}`);
    tg.dispose(eager);
  }
  assert.ok(new Set(kept.flatMap((k) => k.result.map((t) => t.value.dataId))).size === 2 * xs.length);
  tg.dispose([W, ...xs, ...kept.flatMap((k) => k.result)]);
  f.dispose();
});

webgpu('a change of shape records again; a captured weight is read afresh; off, the kernels replay', async () => {
  const W = tg.tensor([1, 2, 3, 4], { shape: [2, 2] });
  const f = tg.compile((x: tg.Tensor) => x.matmul(W).relu().sum());
  const read = async (t: tg.Tensor) => {
    const v = (await t.data())[0];
    t.dispose();
    return v;
  };
  const ones = (n: number) => tg.ones([n, 2]).mul(1);
  const [a, b] = [ones(3), ones(5)];
  const plans0 = webgpuReplayCounters.plans;
  for (let i = 0; i < 3; i++) assert.is(await read(f(a)), 3 * (4 + 6));
  for (let i = 0; i < 3; i++) assert.is(await read(f(b)), 5 * (4 + 6));
  assert.is(f.traces, 2);
  assert.is(webgpuReplayCounters.plans - plans0, 2, 'one plan per shape');
  const replays0 = webgpuReplayCounters.replays;
  W.value.dispose();
  W.value = tg.tensor([1, 0, 0, 1], { shape: [2, 2] }).value;
  assert.is(await read(f(a)), 6);
  assert.is(webgpuReplayCounters.replays - replays0, 1, 'the new weight was bound, not traced again');
  setWebGPUReplayEnabled(false);
  try {
    assert.is(await read(f(a)), 6);
    assert.is(webgpuReplayCounters.replays - replays0, 1);
  } finally {
    setWebGPUReplayEnabled(true);
  }
  tg.dispose([a, b, W]);
  f.dispose();
});

webgpu('results that are arguments or constants, and repeated results, are tensors of their own', async () => {
  const f = tg.compile((x: tg.Tensor) => [x, x.mul(2), x.mul(2), tg.scalar(3)]);
  const x = tg.tensor([1, 2]).mul(1);
  const want = [
    { shape: [2], values: [1, 2] },
    ...[0, 1].map(() => ({ shape: [2], values: [2, 4] })),
    { shape: [], values: [3] },
  ];
  // (the trace's own results are fn's: there the first is x's value itself)
  tg.dispose((f(x) as tg.Tensor[]).slice(1));
  for (let i = 0; i < 3; i++) {
    const out = f(x) as tg.Tensor[];
    assert.equal(await bits(out), want);
    assert.ok(new Set(out).size === 4 && !out.includes(x));
    tg.dispose(out);
  }
  x.dispose();
  f.dispose();
});

webgpu("a kernel that hands back its input's data (TopK of rows of one) replays without freeing it twice", async () => {
  const before = tg.memory();
  const f = (x: tg.Tensor) => {
    const { values } = tg.topk(x, 1, { largest: false });
    return [values, ...tg.gradients(tg.sum(tg.mul(values, 3)), [x])];
  };
  const compiled = tg.compile(f);
  const x0 = tg.tensor([[-1.5], [0.25], [2]], { requiresGrad: true });
  const x = x0.mul(1); // on the GPU
  for (let i = 0; i < 4; i++) {
    const out = compiled(x) as tg.Tensor[];
    assert.equal(await bits(out), [
      { shape: [3, 1], values: [-1.5, 0.25, 2] },
      { shape: [3, 1], values: [3, 3, 3] },
    ]);
    tg.dispose(out);
  }
  // x's data is whole: read after the replays, and by other kernels
  const read = x.add(0);
  assert.equal(Array.from(await read.data()), [-1.5, 0.25, 2]);
  compiled.dispose();
  tg.dispose([x0, x, read]);
  assert.equal(tg.memory(), before);
});

webgpu('no WebGPU validation error was raised by any test above', async () => {
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(gpuErrors.slice(0, 3), []);
});

webgpu.run();
