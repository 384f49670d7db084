// The helper thread of our wasm SIMD kernels (kernels/helper-thread.ts): one worker per heap, up
// once the backend runs more than one thread; when the wasm module traps and is dropped, its
// worker is terminated (it would otherwise wait for work forever, holding the dropped heap), none
// starts on that heap again, and the fresh module that setBackend starts gets a worker of its own.
// Shared chunks run on both threads, with the threads' spin before sleeping off and on. A job the
// helper has not claimed by the time the caller has taken every chunk is withdrawn: over many
// jobs of random lengths (the helper claiming just as the caller withdraws among them) each chunk
// runs exactly once and has run when the call returns, with withdrawal on and off.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../src/index.js';
import {
  liveHelperThreads,
  readyHelper,
  setHelperSpin,
  setHelperThread,
  setHelperWithdraw,
  withdrawnJobs,
} from '../kernels/helper-thread.js';
import { sharedChunks, simdModule } from '../kernels/wasm-simd-module.js';
import { I32, i32, local, whileBelow, type WasmFunction } from '../kernels/wasm-encoder.js';
import { assertThrows, helperThreadUp, randomValues, withHelperChunks } from './helpers.js';

/** count(address, spins, by): spins idle turns, then the int32 at `address` increased by `by`. */
const countFunction = (name: string): WasmFunction => ({
  name,
  params: [I32, I32, I32],
  result: I32,
  locals: [I32],
  body: [
    ...whileBelow(local.get(3), local.get(1), local.increment(3, i32.const(1))),
    ...i32.store(local.get(0), i32.add(i32.load(local.get(0)), local.get(2))),
    ...i32.const(0),
  ],
});
type Count = (address: number, spins: number, by: number) => number;
// registered at import, before the helper thread starts (it instantiates the modules registered then)
const counting = simdModule<{ count: Count; countToo: Count }>(
  'test-helper-count',
  () => [countFunction('count'), countFunction('countToo')],
  ['count', 'countToo'],
);

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

test('a job the helper has not claimed is withdrawn: each chunk runs exactly once, done when the call returns', async () => {
  await tg.setBackend('wasm');
  await helperThreadUp();
  const backend = tf.backend() as unknown as { typedArrayFromHeap(t: tf.TensorInfo): Int32Array };
  const slots = 17;
  const counts = tf.zeros([slots], 'int32');
  const view = () => backend.typedArrayFromHeap({ dataId: counts.dataId, shape: counts.shape, dtype: 'int32' });
  const want = new Array<number>(slots).fill(0);
  let seed = 12345;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  /** One job: split (two parts) or share (chunks), each chunk adding `by` to its own slot after `spins()` turns. */
  const job = (n: number, split: boolean, spins: () => number, what: string) => {
    const helper = counting.helper(heap());
    assert.ok(helper, 'the helper thread is up');
    const address = view().byteOffset;
    // two functions in turn, each adding its own amount: a chunk run by the wrong function shows
    const [name, by] = n % 3 === 0 ? (['countToo', 2] as const) : (['count', 1] as const);
    if (split) {
      const [a, b] = [random(slots), random(slots - 1)];
      const there = b >= a ? b + 1 : b;
      helper.split(name, [address + 4 * a, spins(), by], [address + 4 * there, spins(), by]);
      want[a] += by;
      want[there] += by;
    } else {
      const chunks = Array.from({ length: 2 + random(slots - 1) }, (_, k) => [address + 4 * k, spins(), by]);
      helper.share(name, chunks);
      for (let k = 0; k < chunks.length; k++) want[k] += by;
    }
    const got = [...view()];
    if (got.some((v, i) => v !== want[i])) assert.unreachable(`${what}, job ${n}: counts ${got}, want ${want}`);
  };
  for (const withdraw of [true, false])
    for (const spin of [true, false]) {
      setHelperWithdraw(withdraw);
      setHelperSpin(spin);
      const what = `withdraw ${withdraw}, spin ${spin}`;
      const before = { withdrawn: withdrawnJobs(), there: sharedChunks().there };
      try {
        for (let n = 0; n < 1500; n++) job(n, n % 2 === 0, () => (random(4) === 0 ? 0 : random(20_000)), what);
        // on a loaded machine the helper may wake too late for all of them, or always in time: then
        // short jobs until one is withdrawn, long ones until the helper runs a chunk
        for (let n = 0; withdraw && withdrawnJobs() === before.withdrawn && n < 20_000; n++)
          job(n, n % 2 === 0, () => 0, what);
        for (let n = 0; sharedChunks().there === before.there && n < 1000; n++) job(n, false, () => 300_000, what);
      } finally {
        setHelperWithdraw(true);
        setHelperSpin(true);
      }
      if (withdraw) assert.ok(withdrawnJobs() > before.withdrawn, `${what}: some jobs were withdrawn`);
      else assert.is(withdrawnJobs(), before.withdrawn, `${what}: none withdrawn`);
      assert.ok(sharedChunks().there > before.there, `${what}: the helper ran some chunks`);
    }
  counts.dispose();
});

test.run();
