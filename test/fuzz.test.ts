// Gradient fuzzing: random compositions of registered ops, gradchecked in fast mode against
// finite differences with a fixed seed (scripts/fuzz.ts runs it longer: npm run fuzz -- --runs N).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../src/index.js';
import { FUZZ_OPS, NOT_FUZZED } from './fuzz/ops.js';
import { REGRESSIONS } from './fuzz/regressions.js';
import { emptyProperty, property, propertyOf, minimize, runCase, snippet, type Case } from './fuzz/gen.js';
import { runWays, waysProperty } from './fuzz/ways.js';
import { LAYER_KINDS, layersProperty, runLayerCase } from './fuzz/layers.js';
import { KERNEL_KINDS, kernelsProperty, runKernelCase } from './fuzz/kernels.js';
import { BAD_FUNCTIONS, badInputProperty, runBadCase } from './fuzz/bad-input.js';
import { resumeProperty, runResumeCase } from './fuzz/resume.js';
import { backendsPropertyOf, layerBackendsPropertyOf } from './fuzz/backends.js';

const SEED = 20261126;
const RUNS = Number(process.env.FUZZ_RUNS ?? 400);
// second order reaches the adjoints' own adjoints, where wasm kernel failures hid: as many cases as first order
const RUNS_ORDER2 = RUNS;

test('every registered op is fuzzed, or listed in NOT_FUZZED with a reason', () => {
  const missing = Object.keys(tg.registry).filter((k) => !(k in FUZZ_OPS) && !(k in NOT_FUZZED));
  assert.equal(
    missing,
    [],
    `registry ops with no fuzz generator: ${missing.join(', ')} (add them to test/fuzz/ops.ts)`,
  );
});

for (const { what, c } of REGRESSIONS) {
  test(`regression: ${what}`, async () => {
    await tg.setBackend('wasm');
    const r = await runCase(c);
    assert.ok(r.ok && !r.skipped, snippet(c, r));
  });
}

for (const backend of ['wasm', 'cpu'] as const) {
  test(`${RUNS} random compositions on ${backend} (seed ${SEED})`, async () => {
    await tg.setBackend(backend);
    await fc.assert(property, { seed: SEED, numRuns: RUNS, endOnFailure: false });
  });
}

test(`${RUNS_ORDER2} random compositions, second order (gradgradcheck), on wasm`, async () => {
  await tg.setBackend('wasm');
  await fc.assert(propertyOf(2), { seed: SEED + 2, numRuns: RUNS_ORDER2, endOnFailure: false });
});

// the ways of taking a gradient (hooks, retainGrad, createGraph, compile, …) and empty axes: fewer cases,
// as each runs several backward passes (scripts/fuzz.ts --target ways|empty runs them longer)
const RUNS_WAYS = Math.ceil(RUNS / 3);
for (const backend of ['wasm', 'cpu'] as const) {
  test(`${RUNS_WAYS} random compositions on ${backend}: every way of taking the gradient agrees`, async () => {
    await tg.setBackend(backend);
    await fc.assert(waysProperty, { seed: SEED + 3, numRuns: RUNS_WAYS, endOnFailure: false });
  });
}
test(`${RUNS_WAYS} random compositions with an axis of length 0, on wasm`, async () => {
  await tg.setBackend('wasm');
  await fc.assert(emptyProperty, { seed: SEED + 4, numRuns: RUNS_WAYS, endOnFailure: false });
});

// tg.nn layers on random configurations and input shapes (scripts/fuzz.ts --target layers runs them longer)
const RUNS_LAYERS = Math.ceil(RUNS / 10);
for (const backend of ['wasm', 'cpu'] as const) {
  test(`${RUNS_LAYERS} random layer configurations on ${backend}: through the input and every parameter`, async () => {
    await tg.setBackend(backend);
    await fc.assert(layersProperty, { seed: SEED + 5, numRuns: RUNS_LAYERS, endOnFailure: false });
  });
}

// the wasm kernels of our own against what they replace, and tg.compile against eager (scripts/fuzz.ts
// --target kernels runs them longer; on cpu only the kinds that are not wasm kernels check anything)
const RUNS_KERNELS = Math.ceil(RUNS / 4);
for (const backend of ['wasm', 'cpu'] as const) {
  test(`${RUNS_KERNELS} random kernel cases on ${backend}: the same values as what the kernels replace`, async () => {
    await tg.setBackend(backend);
    await fc.assert(kernelsProperty, { seed: SEED + 6, numRuns: RUNS_KERNELS, endOnFailure: false });
  });
}

// malformed arguments to the public functions (scripts/fuzz.ts --target bad-input runs them longer)
const RUNS_BAD = RUNS * 2;
for (const backend of ['wasm', 'cpu'] as const) {
  test(`${RUNS_BAD} calls with malformed arguments on ${backend}: a TapegradError naming the function, nothing left`, async () => {
    await tg.setBackend(backend);
    await fc.assert(badInputProperty, { seed: SEED + 7, numRuns: RUNS_BAD, endOnFailure: false });
  });
}

// training runs resumed from a checkpoint against the same runs straight on (scripts/fuzz.ts --target resume)
const RUNS_RESUME = Math.ceil(RUNS / 2);
for (const backend of ['wasm', 'cpu'] as const) {
  test(`${RUNS_RESUME} training runs resumed from a checkpoint on ${backend}: bit for bit as straight on`, async () => {
    await tg.setBackend(backend);
    await fc.assert(resumeProperty, { seed: SEED + 8, numRuns: RUNS_RESUME, endOnFailure: false });
  });
}

test('every optimizer the resume fuzzer makes resumes on wasm, through state dicts and bytes, eager and compiled', async () => {
  await tg.setBackend('wasm');
  for (let o = 0; o < 10; o++)
    for (const via of ['stateDict', 'bytes'] as const)
      for (const compiled of [false, true]) {
        const c = { kind: 'Linear', p: [1, 2, 1, 1, 1, 1, 1, 1], o: [o, 1, o, 1, o, 1, 1], seed: 3, steps: 4, stop: 2 };
        const r = await runResumeCase({ ...c, via, compiled });
        assert.ok(r.ok && !r.skipped, `${r.what}: ${r.detail}`);
        assert.is(r.compileRefused, undefined, r.what);
      }
});

test("a planted bug (loadStateDict dropping NAdam's running μ product) is found by the resume fuzzer", async () => {
  await tg.setBackend('wasm');
  const proto = tg.optim.Optimizer.prototype;
  const load = proto.loadStateDict;
  proto.loadStateDict = function (this: tg.optim.Optimizer, sd: tg.optim.OptimizerStateDict) {
    const state = Object.fromEntries(Object.entries(sd.state).map(([i, s]) => [i, { ...s, scalars: {} }]));
    load.call(this, { ...sd, state });
  };
  try {
    const r = await fc.check(resumeProperty, { seed: SEED + 8, numRuns: 1000 });
    assert.ok(r.failed, 'the fuzzer found the planted bug');
    assert.match(String((r.errorInstance as Error)?.message), /resume fuzz case failed: .*new NAdam\(/);
  } finally {
    proto.loadStateDict = load;
  }
});

// wasm against cpu on random compositions, from ordinary and from special values (NaN, ±∞, ±0, …)
// (scripts/fuzz.ts --target backends [--specials] runs them longer)
const RUNS_BACKENDS = Math.ceil(RUNS / 2);
for (const specials of [false, true]) {
  test(`${RUNS_BACKENDS} random compositions on wasm and cpu${specials ? ', special values among the inputs' : ''}: the same values and gradients`, async () => {
    await fc.assert(backendsPropertyOf(specials), { seed: SEED + 9, numRuns: RUNS_BACKENDS, endOnFailure: false });
  });
}

// and tg.nn layers (the layers fuzzer's cases), their parameters' gradients too
test(`${RUNS_BACKENDS} random layers on wasm and cpu, special values among the inputs: the same values and gradients`, async () => {
  await fc.assert(layerBackendsPropertyOf(true), { seed: SEED + 10, numRuns: RUNS_BACKENDS, endOnFailure: false });
});

test("a planted NaN dropped on wasm (clip's bound where x is NaN) is found by the backends fuzzer", async () => {
  const rule = tg.registry.clip;
  const forward = rule.forward;
  rule.forward = (xs, a) => {
    const y = forward(xs, a);
    if (tf.getBackend() !== 'wasm') return y;
    return tf.tidy(() => tf.where(tf.isNaN(xs[0]), tf.scalar(a.lo), y));
  };
  try {
    const r = await fc.check(backendsPropertyOf(true), { seed: SEED + 9, numRuns: 3000 });
    assert.ok(r.failed, 'the fuzzer found the planted bug');
    assert.match(
      String((r.errorInstance as Error)?.message),
      /backends disagree: .* on wasm, NaN on cpu[\s\S]*tg\.clip\(/,
    );
  } finally {
    rule.forward = forward;
    await tg.setBackend('wasm');
  }
});

test('every function the bad-input fuzzer calls is public, and its unmutated call succeeds', async () => {
  await tg.setBackend('wasm');
  for (const fn of BAD_FUNCTIONS) {
    const r = await runBadCase({ fn, seed: 1, mutations: [] });
    assert.ok(r.ok, `${fn}: ${r.detail}`);
  }
});

test('a planted leak (neg keeping a tensor it made) is found by the bad-input fuzzer', async () => {
  await tg.setBackend('wasm');
  const rule = tg.registry.neg;
  const forward = rule.forward;
  rule.forward = (xs, a) => {
    tf.zeros([1]);
    return forward(xs, a);
  };
  try {
    const r = await fc.check(badInputProperty, { seed: SEED + 7, numRuns: 2000 });
    assert.ok(r.failed, 'the fuzzer found the planted leak');
    assert.match(
      String((r.errorInstance as Error)?.message),
      /bad-input fuzz case failed: left 1 tensors behind\n {2}tg\.neg\(/,
    );
  } finally {
    rule.forward = forward;
  }
});

test('every kind of kernel case runs on wasm, one thread and two', async () => {
  await tg.setBackend('wasm');
  for (const kind of KERNEL_KINDS)
    for (const threads of [1, 2] as const) {
      const r = await runKernelCase({ kind, p: [1, 2, 3, 4, 5, 6, 7, 8], seed: 3, threads });
      assert.ok(r.ok, `${kind}: ${r.what}: ${r.detail}`);
    }
});

test('every layer kind the layer fuzzer makes builds and checks on wasm', async () => {
  await tg.setBackend('wasm');
  for (const kind of LAYER_KINDS) {
    const r = await runLayerCase({ kind, p: [1, 2, 3, 4, 5, 6, 7, 8], seed: 3 });
    assert.ok(r.ok, `${kind}: ${r.what}: ${r.detail}`);
    assert.ok(r.checked >= 1, `${kind}: nothing checked`);
  }
});

test("a planted wrong adjoint (conv2d's filter gradient 1.01 times too large): the layer fuzzer finds it", async () => {
  await tg.setBackend('wasm');
  const rule = tg.registry.conv2d;
  const vjp = rule.vjp;
  rule.vjp = (g, xs, y, a) => {
    const [dx, dw] = vjp(g, xs, y, a);
    return [dx, dw && (() => tg.mul(dw(), 1.01))];
  };
  try {
    const r = await fc.check(layersProperty, { seed: SEED + 5, numRuns: 200 });
    assert.ok(r.failed, 'the fuzzer found the planted bug');
    assert.match(String((r.errorInstance as Error)?.message), /layer fuzz case failed: .*Conv.*: weight/);
  } finally {
    rule.vjp = vjp;
  }
});

test("a hook skipped on a several-output op's second output is caught by the ways fuzzer", async () => {
  await tg.setBackend('wasm');
  // unbind's second slice: with its hook run, the gradient doubles there; skipped, it does not
  const c: Case = {
    base: [1, 2, 1],
    seed: 3,
    expr: {
      op: 'unbind',
      args: [
        { leaf: [2, 0], reuse: 0 },
        { leaf: [0, 0], reuse: 0 },
      ],
      p: [0, 0, 1],
    },
  };
  assert.equal((await runWays(c)).problem, null);
  const proto = tg.Tensor.prototype as unknown as { registerHook: (fn: tg.GradHook) => () => void };
  const register = proto.registerHook;
  proto.registerHook = function (this: tg.Tensor, fn: tg.GradHook) {
    const node = this.node as { outputs?: tg.Tensor[] } | null;
    return node?.outputs && node.outputs.indexOf(this) === 1 ? () => {} : register.call(this, fn);
  };
  try {
    assert.match(String((await runWays(c)).problem), /hooks on the several-output ops' outputs/);
  } finally {
    proto.registerHook = register;
  }
});

test('a planted wrong adjoint is caught, shrunk and printed as a runnable snippet', async () => {
  await tg.setBackend('wasm');
  // sin's adjoint made wrong: d sin x = −cos x dx
  const rule = tg.registry.sin;
  const vjp = rule.vjp;
  rule.vjp = (g, xs, y, a) => [() => tg.neg(vjp(g, xs, y, a)[0]!())];
  try {
    const r = await fc.check(property, { seed: SEED, numRuns: 300 });
    assert.ok(r.failed, 'the fuzzer found the planted bug');
    assert.match(String((r.errorInstance as Error)?.message), /gradient fuzz case failed/);
    const smallest = await minimize(r.counterexample![0] as Case);
    const msg = snippet(smallest, await runCase(smallest));
    assert.match(msg, /import \* as tg from 'tapegrad';/);
    assert.match(msg, /await tg\.gradcheck\(f, \[x0/);
    // minimal: the wrong op alone
    const calls = msg.match(/const v\d+ = tg\.[\w.]+\(/g) ?? [];
    assert.equal(calls, ['const v0 = tg.sin('], `shrunk to:\n${msg}`);
  } finally {
    rule.vjp = vjp;
  }
});

test('a printed snippet reproduces the case', async () => {
  const c: Case = {
    base: [2, 3, 1],
    seed: 5,
    expr: {
      op: 'mul',
      p: [0, 0, 0],
      args: [
        { leaf: [2, 0], reuse: 0 },
        { leaf: [1, 2], reuse: 0 },
      ],
    },
  };
  const r = await runCase(c);
  assert.ok(r.ok && !r.skipped);
  const s = snippet(c, r);
  assert.match(s, /const x0 = tg\.tensor\(\[[^\]]+\], \{ shape: \[3,1\] \}\);/);
  assert.match(s, /const x1 = tg\.tensor\(\[[^\]]+\], \{ shape: \[1\] \}\);/);
  assert.match(s, /const v\d+ = tg\.tanh\(x0\);/);
  assert.match(s, /return v\d+;/);
});

test.run();
