// Backends in Node: setBackend/getBackend on every name, the errors of those that cannot start
// here, and listBackends()' report. (The browser backends are tested in test/browser/.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../src/index.js';
import { assertClose, NODE_BACKENDS } from './helpers.js';

/** The TapegradError setBackend throws for `name`, or null if it started. */
async function startError(name: string): Promise<Error | null> {
  try {
    await tg.setBackend(name as tg.BackendName);
    return null;
  } catch (e) {
    assert.instance(e, tg.TapegradError, `setBackend('${name}') threw ${(e as Error).message}`);
    return e as Error;
  } finally {
    await tg.setBackend('wasm');
  }
}

test('the default backend in Node is wasm', () => {
  assert.is(process.env.TAPEGRAD_BACKEND ?? 'wasm', tg.getBackend());
});

for (const name of NODE_BACKENDS) {
  test(`setBackend('${name}') switches, and gradients are computed there`, async () => {
    await tg.setBackend(name);
    assert.is(tg.getBackend(), name);
    const x = tg.tensor([0.5, -1, 2], { requiresGrad: true });
    const g = tg.grad((t: tg.Tensor) => t.mul(t).sum())(x);
    assertClose(g, [1, -2, 4]);
    g.dispose();
    x.dispose();
    await tg.setBackend('wasm');
  });
}

test('a tensor made on one backend is usable after switching', async () => {
  await tg.setBackend('cpu');
  const x = tg.tensor([1, 2, 3]);
  await tg.setBackend('wasm');
  const y = x.exp().sum();
  assertClose(y.item(), Math.E + Math.E ** 2 + Math.E ** 3, { rtol: 1e-5 });
  y.dispose();
  x.dispose();
});

test('an unknown name lists the known ones', async () => {
  const e = await startError('metal');
  assert.match(e!.message, /^setBackend: unknown backend 'metal'; known: wasm, cpu, webgl, webgpu, tensorflow/);
});

test("'webgl' in Node says it needs a browser", async () => {
  assert.match((await startError('webgl'))!.message, /setBackend: 'webgl' cannot start here: WebGL needs a browser/);
});

test("'webgpu' starts where Dawn finds an adapter, and says why not elsewhere", async () => {
  const info = (await tg.listBackends()).find((b) => b.name === 'webgpu')!;
  const e = await startError('webgpu');
  if (info.available) assert.is(e, null);
  else
    assert.match(
      e!.message,
      /setBackend: 'webgpu' cannot start here: (no GPU adapter on this machine|in Node it needs the optional package `webgpu`)/,
    );
});

test("'tensorflow' without tfjs-node says how to install it", async () => {
  const info = (await tg.listBackends()).find((b) => b.name === 'tensorflow')!;
  const e = await startError('tensorflow');
  if (info.available) assert.is(e, null);
  else assert.match(e!.message, /npm install @tensorflow\/tfjs-node/);
});

test('listBackends reports every backend once, with a reason, and keeps the active one', async () => {
  await tg.setBackend('cpu');
  const list = await tg.listBackends();
  assert.is(tg.getBackend(), 'cpu');
  await tg.setBackend('wasm');
  assert.equal(
    list.map((b) => b.name),
    ['wasm', 'cpu', 'webgl', 'webgpu', 'tensorflow'],
  );
  for (const b of list) assert.ok(b.reason.length > 10, `${b.name}: reason '${b.reason}'`);
  assert.ok(list.find((b) => b.name === 'cpu')!.available);
  assert.ok(list.find((b) => b.name === 'wasm')!.available);
  assert.not.ok(list.find((b) => b.name === 'webgl')!.available, 'webgl in Node');
  // Consistent with setBackend: what is listed as available starts.
  for (const b of list) assert.is((await startError(b.name)) === null, b.available, `${b.name}: listed ${b.available}`);
});

test('listBackends never throws: a driver that throws while probed is reported as the reason', async () => {
  const g = globalThis as { navigator?: unknown };
  const saved = Object.getOwnPropertyDescriptor(g, 'navigator');
  const gpu = { requestAdapter: () => Promise.reject(new Error('the GPU driver crashed')) };
  Object.defineProperty(g, 'navigator', { value: { gpu }, configurable: true, writable: true });
  try {
    const list = await tg.listBackends();
    assert.equal(
      list.map((b) => b.name),
      ['wasm', 'cpu', 'webgl', 'webgpu', 'tensorflow'],
    );
    const webgpu = list.find((b) => b.name === 'webgpu')!;
    assert.not.ok(webgpu.available);
    assert.match(webgpu.reason, 'the GPU driver crashed');
  } finally {
    if (saved) Object.defineProperty(g, 'navigator', saved);
    else delete g.navigator;
  }
});

test.run();
