// The helper thread of our wasm SIMD kernels (kernels/helper-thread.ts): one worker per heap, up
// once the backend runs more than one thread; when the wasm module traps and is dropped, its
// worker is terminated (it would otherwise wait for work forever, holding the dropped heap), none
// starts on that heap again, and the fresh module that setBackend starts gets a worker of its own.
// Shared chunks run on both threads, with the threads' spin before sleeping off and on.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../src/index.js';
import { liveHelperThreads, readyHelper, setHelperSpin, setHelperThread } from '../kernels/helper-thread.js';
import { assertThrows, randomValues, withHelperChunks } from './helpers.js';

const heap = () => (tf.backend() as unknown as { wasm: { wasmMemory: WebAssembly.Memory } }).wasm.wasmMemory;

async function until(done: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !done(); waited += 50) {
    assert.ok(waited < 30_000, what);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("a trapped module's helper thread is terminated; the fresh module starts one of its own", async () => {
  await tg.setBackend('wasm');
  tg.setThreads(2);
  const trapped = heap();
  await until(() => readyHelper(trapped) !== null, 'the helper thread started');
  assert.is(liveHelperThreads(), 1);
  const kernel = tf.getKernel('Tan', 'wasm')!;
  const run = kernel.kernelFunc;
  (kernel as { kernelFunc: tf.KernelFunc }).kernelFunc = () => {
    throw new WebAssembly.RuntimeError('memory access out of bounds');
  };
  try {
    assertThrows(() => tg.tan(tg.tensor([1, 2, 3])), /^tan: memory access out of bounds .*the wasm module trapped/);
  } finally {
    (kernel as { kernelFunc: tf.KernelFunc }).kernelFunc = run;
  }
  await until(() => liveHelperThreads() === 0, "the trapped module's helper thread exited");
  assert.is(readyHelper(trapped), null, 'no helper starts on the dropped heap');
  assert.is(liveHelperThreads(), 0);

  await tg.setBackend('wasm');
  tg.setThreads(2);
  const fresh = heap();
  assert.ok(fresh !== trapped, 'a fresh heap');
  await until(() => readyHelper(fresh) !== null, "the fresh module's helper thread started");
  assert.is(liveHelperThreads(), 1);
  // and the kernels it serves still give their values: a product split between the two threads
  const a = tg.ones([64, 1024]);
  const b = tg.ones([1024, 128]);
  const c = tg.matmul(a, b);
  assert.equal([...new Set(c.dataSync())], [1024]);
  tg.dispose([a, b, c]);
});

test('with the spin before sleeping off and on, shared chunks run on both threads and give the one-thread bits', async () => {
  await tg.setBackend('wasm');
  const x = tg.tensor(randomValues(16 * 14 * 14 * 16, 1), { shape: [16, 14, 14, 16] });
  const w = tg.tensor(randomValues(3 * 3 * 16 * 32, 2), { shape: [3, 3, 16, 32] });
  const conv = () => tg.tidy(() => tg.conv2d(x, w, { padding: 'same' }).dataSync() as Float32Array);
  setHelperThread(false);
  const one = conv();
  setHelperThread(true);
  for (const on of [false, true]) {
    setHelperSpin(on);
    try {
      const shared = await withHelperChunks(conv, `spin ${on ? 'on' : 'off'}`);
      for (let i = 0; i < one.length; i++)
        if (!Object.is(shared[i], one[i]))
          assert.unreachable(`spin ${on}: entry ${i} ${shared[i]}, one thread ${one[i]}`);
    } finally {
      setHelperSpin(true);
    }
  }
  tg.dispose([x, w]);
});

test.run();
