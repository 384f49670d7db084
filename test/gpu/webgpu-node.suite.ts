// What a Node user meets on the 'webgpu' backend (Dawn), beyond the gradcheck suite: values that
// live on the GPU and cannot be read synchronously. Run by test/webgpu-node.test.ts in a child
// process with SwiftShader's Vulkan driver (or by hand on a GPU machine):
//   LD_LIBRARY_PATH=/usr/lib/chromium VK_DRIVER_FILES=/usr/lib/chromium/vk_swiftshader_icd.json \
//     node --import tsx test/gpu/webgpu-node.suite.ts
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../../src/index.js';
import { assertClose } from '../helpers.js';

const webgpu = suite('webgpu in Node');
webgpu.before(async () => {
  await tg.setBackend('webgpu');
});

webgpu('setBackend starts webgpu through Dawn, and listBackends says so', async () => {
  assert.is(tg.getBackend(), 'webgpu');
  const info = (await tg.listBackends()).find((b) => b.name === 'webgpu')!;
  assert.ok(info.available, info.reason);
  assert.match(info.reason, /Dawn/);
});

webgpu('synchronous reads fail with an error that says what to do instead', async () => {
  const x = tg.tensor([1, 2]).mul(2); // computed on the GPU
  for (const [fn, call] of [['dataSync', () => x.dataSync()], ['item', () => x.sum().item()], ['arraySync', () => x.arraySync()]] as const) {
    assert.throws(call, (e: Error) => e instanceof tg.TapegradError && e.message.startsWith(`${fn}:`) && /use await x\.data\(\)/.test(e.message));
  }
  assert.equal(Array.from(await x.data()), [2, 4]);
  x.dispose();
});

webgpu('gather and crossEntropy take indices computed on the GPU (no synchronous read)', async () => {
  const before = tg.memory().numTensors;
  const logits = tg.tensor([[1, 5, 3], [7, 2, 0], [0, 1, 4]], { requiresGrad: true });
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

webgpu('an MLP training step with Adam costs 22 GPU dispatches (a count, not a time)', async () => {
  // What makes small-net training slow on a GPU is dispatches (docs/gpu.md); this guards the count.
  const backend = (await import('@tensorflow/tfjs-core')).backend() as unknown as { runWebGPUProgram: (...a: unknown[]) => unknown };
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

webgpu.run();
