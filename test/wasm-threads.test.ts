// tg.setThreads / tg.getThreads: the wasm backend's thread pool in Node. Every op of the registry,
// large kernels that the pool splits among its threads, and training steps give the same bits on
// one thread as on several; tensors made before a change of count keep their values and stay
// usable; nothing leaks; a program that used threads exits by itself.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../src/index.js';
import { smallKernelsInline } from '../src/backend/wasm-threads.js';
import { assertNoLeak, assertThrows } from './helpers.js';
import { cases, flatCases, T } from './op-cases.js';

await tg.setBackend('wasm');
const CORES = Math.min(availableParallelism(), 8);
/** The counts compared with one thread: every core, and more threads than cores. */
const COUNTS = [...new Set([CORES, 3])].filter((n) => n > 1);

/** Every value fn's tensors hold, as float32 bit patterns (so NaNs and −0 compare exactly). */
function bits(fn: () => tg.Tensor[]): Uint32Array[] {
  return tg.tidy(() => fn().map((t) => new Uint32Array(Float32Array.from(t.dataSync()).buffer)));
}

/** The first entry where a and b differ, or null. */
function firstDifference(a: Uint32Array[], b: Uint32Array[]): string | null {
  if (a.length !== b.length) return `${a.length} tensors against ${b.length}`;
  for (const [k, x] of a.entries()) {
    if (x.length !== b[k].length) return `tensor ${k}: ${x.length} entries against ${b[k].length}`;
    for (let i = 0; i < x.length; i++) {
      if (x[i] !== b[k][i]) {
        const f = (u: number) => new Float32Array(new Uint32Array([u]).buffer)[0];
        return `tensor ${k} entry ${i}: ${f(x[i])} against ${f(b[k][i])}`;
      }
    }
  }
  return null;
}

/** Runs fn on one thread and on each count of COUNTS; asserts the bits agree. */
function assertSameOnEveryCount(what: string, fn: () => tg.Tensor[]): void {
  tg.setThreads(1);
  const one = bits(fn);
  for (const n of COUNTS) {
    tg.setThreads(n);
    const diff = firstDifference(one, bits(fn));
    if (diff) assert.unreachable(`${what}: 1 thread against ${n}: ${diff}`);
  }
}

/** The output of f at xs and its vector-Jacobian product (through the float inputs) with a seeded cotangent. */
function forwardAndGradient(f: (...xs: tg.Tensor[]) => tg.Tensor, xs: tg.Tensor[]): tg.Tensor[] {
  const at = xs.flatMap((x, i) => (x.dtype === 'float32' ? [i] : []));
  const g = (...floats: tg.Tensor[]) => f(...xs.map((x, i) => (at.includes(i) ? floats[at.indexOf(i)] : x)));
  const { out, vjp, dispose } = tg.vjp(g, ...at.map((i) => xs[i]));
  if (out.dtype !== 'float32' || at.length === 0) return [out];
  const grads = vjp(tg.randn(out.shape, { seed: 5 }));
  const kept = [out.clone(), ...grads];
  dispose();
  return kept;
}

test('the default is every core (at most 8), and setThreads changes what getThreads reports', () => {
  assert.is(tg.getThreads(), CORES);
  tg.setThreads(1);
  assert.is(tg.getThreads(), 1);
  tg.setThreads(2);
  assert.is(tg.getThreads(), 2);
  tg.setThreads(100);
  assert.is(tg.getThreads(), 8, 'the pool holds 8 at most');
  tg.setThreads(CORES);
});

test("small kernels run on the calling thread: the module's pool pointer was found", () => {
  assert.ok(smallKernelsInline());
});

test('starting the pool leaves no Worker global behind (other libraries read one as a browser)', () => {
  assert.is(typeof (globalThis as { Worker?: unknown }).Worker, 'undefined');
});

test('setThreads refuses what is not a whole number ≥ 1, naming the value', () => {
  for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    assertThrows(() => tg.setThreads(bad), new RegExp(`^setThreads: .*got ${String(bad)}`), String(bad));
  }
  assertThrows(() => tg.setThreads('2' as unknown as number), /^setThreads: .*got 2/, "'2'");
  assert.is(tg.getThreads(), CORES, 'unchanged');
});

test("tensors made before a change keep their values and stay usable; the count's changes leak nothing", () => {
  const a = tg.randn([64, 64], { seed: 1 });
  const b = tg.randn([64, 64], { seed: 2 });
  const before = tg.tidy(() => Array.from(tg.matmul(a, b).dataSync()));
  assertNoLeak(() => {
    for (const n of [1, 2, 3, 1, 4, 2, 8, 1]) {
      tg.setThreads(n);
      assert.equal(
        tg.tidy(() => Array.from(tg.matmul(a, b).dataSync())),
        before,
        `after setThreads(${n})`,
      );
    }
  });
  tg.dispose([a, b]);
  tg.setThreads(CORES);
});

for (const [name, c] of flatCases(cases)) {
  test(`${name}: forward and gradient bit for bit on 1 thread and on ${COUNTS.join(', ')}`, () => {
    for (const make of [c.make, c.makeLarge ?? c.make]) {
      const xs = make(0);
      assertSameOnEveryCount(name, () => forwardAndGradient(c.f, xs));
      tg.dispose(xs);
    }
  });
}

// Large enough that each kernel runs on the pool (work ≥ POOL_MIN_WORK) and XNNPACK splits its
// output among the threads.
const LARGE: [string, () => tg.Tensor[], (...xs: tg.Tensor[]) => tg.Tensor][] = [
  ['matmul 256×300·300×200', () => [T([256, 300], 1), T([300, 200], 2)], (a, b) => tg.matmul(a, b)],
  ['batched matmul 8×128×96·96×80', () => [T([8, 128, 96], 3), T([8, 96, 80], 4)], (a, b) => tg.matmul(a, b)],
  [
    'linear with bias, relu',
    () => [T([128, 256], 5), T([256, 192], 6), T([192], 7)],
    (x, w, b) => tg.linear(x, w, b).relu(),
  ],
  [
    'conv2d 4×32×32×16, 3×3×16×32',
    () => [T([4, 32, 32, 16], 8), T([3, 3, 16, 32], 9)],
    (x, w) => tg.conv2d(x, w, { padding: 'same' }),
  ],
  ['maxPool2d, avgPool2d', () => [T([8, 64, 64, 16], 10)], (x) => tg.maxPool2d(x, 2).add(tg.avgPool2d(x, 2))],
  ['elementwise 512×512', () => [T([512, 512], 11), T([512], 12)], (x, b) => x.add(b).tanh().mul(x.exp()).sigmoid()],
  [
    'softmax, logSoftmax, sum, max 512×512',
    () => [T([512, 512], 13)],
    (x) =>
      tg
        .softmax(x)
        .add(tg.logSoftmax(x))
        .add(x.sum({ axis: 1, keepDims: true }))
        .add(x.max({ axis: 0 })),
  ],
];
for (const [what, make, f] of LARGE) {
  test(`${what}: bit for bit on 1 thread and on ${COUNTS.join(', ')}`, () => {
    const xs = make();
    assertSameOnEveryCount(what, () => forwardAndGradient(f, xs));
    tg.dispose(xs);
  });
}

test('an MLP trained with Adam for 5 steps ends with the same parameters on every count', () => {
  const x = tg.randn([256, 256], { seed: 20 });
  const y = tg.tensor(
    Array.from({ length: 256 }, (_, i) => i % 10),
    { dtype: 'int32' },
  );
  assertSameOnEveryCount('Adam steps', () => {
    const net = new tg.nn.MLP([256, 256, 256, 10], { activation: 'relu', seed: 21 });
    const opt = new tg.optim.Adam(net.parameters(), { lr: 1e-3 });
    for (let step = 0; step < 5; step++) {
      tg.tidy(() => {
        const loss = tg.nn.crossEntropy(net.forward(x), y);
        opt.zeroGrad();
        loss.backward();
        opt.step();
      });
    }
    const params = net.parameters().map((p) => p.clone());
    net.dispose();
    opt.dispose();
    return params;
  });
  tg.dispose([x, y]);
  tg.setThreads(CORES);
});

test('a program that ran kernels on several threads and changed the count exits by itself', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tapegrad-threads-'));
  const index = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), '../src/index.ts')).href;
  const file = join(dir, 'program.mts');
  writeFileSync(
    file,
    `import * as tg from '${index}';\n` +
      'tg.setThreads(2);\nconst a = tg.randn([256, 256]);\ntg.matmul(a, a).dispose();\n' +
      "tg.setThreads(3);\ntg.matmul(a, a).dispose();\nconsole.log('threads', tg.getThreads());\n",
  );
  const started = Date.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', file], { encoding: 'utf8', timeout: 60_000 });
  rmSync(dir, { recursive: true, force: true });
  assert.is(r.status, 0, `exit status ${r.status} (signal ${r.signal}) after ${Date.now() - started} ms: ${r.stderr}`);
  assert.is(r.stdout.trim(), 'threads 3');
});

test('threads start in a program run as an ES module from the command line (node --input-type=module -e)', () => {
  const index = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), '../src/index.ts')).href;
  const program =
    `import * as tg from '${index}';\ntg.setThreads(2);\nconst a = tg.randn([256, 256]);\n` +
    "tg.matmul(a, a).dispose();\nconsole.log('threads', tg.getThreads());\n";
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', program], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.is(r.status, 0, `exit status ${r.status} (signal ${r.signal}): ${r.stderr}`);
  assert.is(r.stdout.trim(), 'threads 2');
});

test('where worker threads cannot start, wasm starts on one thread with a one-line warning (no hang, no cpu)', () => {
  const here = dirname(fileURLToPath(import.meta.url));
  const [testing, index] = ['../src/testing.ts', '../src/index.ts'].map((f) => pathToFileURL(join(here, f)).href);
  for (const kind of ['throw', 'error', 'silent']) {
    const program =
      `import { simulateWorkerFailure } from '${testing}';\nsimulateWorkerFailure('${kind}', 500);\n` +
      `const tg = await import('${index}');\ntg.setThreads(2);\nconst a = tg.ones([512, 512]);\n` +
      'console.log(tg.getBackend(), tg.getThreads(), tg.matmul(a, a).sum().item());\n';
    const started = Date.now();
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', program], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    const what = `${kind}: exit status ${r.status} (signal ${r.signal}) after ${Date.now() - started} ms`;
    assert.is(r.status, 0, `${what}: ${r.stderr}`);
    assert.is(r.stdout.trim(), `wasm 1 ${512 ** 3}`, what);
    const warnings = r.stderr.trim().split('\n');
    assert.is(warnings.length, 1, `${what}: ${r.stderr}`);
    assert.match(
      warnings[0],
      /^tapegrad: the wasm backend runs on one thread: (worker_threads refused|a worker failed|no worker came up)/,
    );
  }
});

test.after(() => tg.setThreads(CORES));
test.run();
