// gradcheck must catch wrong adjoints (and say where), and must not cry wolf on correct ones.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../src/index.js';
import { NODE_BACKENDS } from './helpers.js';
import { T } from './op-cases.js';

/** x³·y: ∂/∂x = 3x²y, ∂/∂y = x³. `wrongAt` plants an error in one entry of input `input`'s adjoint. */
function cubeTimes(plant: { input: number; index: number } | null) {
  return tg.customOp({
    name: 'cubeTimes',
    forward: (x, y) => tf.mul(tf.pow(x, 3), y),
    vjp: (g, [x, y]) => {
      // the planted error: + x (at one entry) added to the correct adjoint of the chosen input
      const bump = (input: number, correct: tg.Tensor) => {
        if (!plant || plant.input !== input) return correct;
        const mask = tg.tensor(
          Array.from({ length: x.size }, (_, i) => (i === plant.index ? 1 : 0)),
          { shape: x.shape },
        );
        return correct.add(g.mul(x).mul(mask));
      };
      return [() => bump(0, g.mul(x.square()).mul(y).mul(3)), () => bump(1, g.mul(x.pow(3)))];
    },
  });
}

/** Asserts that the promise fn() returns rejects with a TapegradError matching `pattern`. */
async function rejects(fn: () => Promise<unknown>, pattern: RegExp): Promise<void> {
  try {
    await fn();
  } catch (e) {
    assert.instance(e, tg.TapegradError);
    assert.match((e as Error).message, pattern);
    return;
  }
  assert.unreachable(`expected a rejection matching ${pattern}`);
}

for (const backend of NODE_BACKENDS) {
  const s = suite(`gradcheck on ${backend}`);
  s.before(async () => {
    await tg.setBackend(backend);
  });

  s('a 1% error in an adjoint fails both modes (float32 defaults)', async () => {
    // exp whose adjoint is 1.01·g·eˣ: small enough to look plausible, large enough to matter
    const nearlyExp = tg.customOp({
      name: 'nearlyExp',
      forward: (x) => tf.exp(x),
      vjp: (g, _x, y) => [() => g.mul(y).mul(1.01)],
    });
    const x = T([3, 4], 7);
    for (const mode of ['full', 'fast'] as const) {
      const r = await tg.gradcheck((a) => nearlyExp(a), [x], { mode });
      assert.not.ok(r.ok, `${mode} missed a 1% error: ${JSON.stringify(r.worst)}`);
    }
  });

  s(
    'an input with no entries makes no comparison in either mode, even where f is NaN (the mean of nothing)',
    async () => {
      const empty = tg.tensor([], { shape: [0] });
      const x = T([2], 3);
      for (const mode of ['full', 'fast'] as const) {
        const nan = await tg.gradcheck((e) => tg.mean(e), [empty], { mode });
        assert.ok(nan.ok && nan.comparisons === 0, `${mode}: ${nan}`);
        const r = await tg.gradcheck((e, a) => tg.add(tg.sum(e), tg.square(a)), [empty, x], { mode });
        assert.ok(r.ok, `${mode}: ${r}`);
        const alone = await tg.gradcheck((a) => tg.square(a), [x], { mode });
        assert.is(r.comparisons, alone.comparisons, `${mode}: only x is compared`);
      }
      empty.dispose();
      x.dispose();
    },
  );

  s('a function with several outputs: each checked, a wrong gradient in any one caught, both modes', async () => {
    // [x², x³]: a wrong factor on the second output's gradient only
    const powers = (wrong: number) =>
      tg.customOp({
        name: 'cubeWrong',
        forward: (x) => tf.pow(x, 3),
        vjp: (g, [x]) => [() => g.mul(x.square()).mul(3 * wrong)],
      });
    const x = T([2, 3], 5);
    for (const mode of ['full', 'fast'] as const) {
      const good = await tg.gradcheck((a) => [a.square(), powers(1)(a), ...tg.unbind(a)], [x], { mode });
      assert.ok(good.ok, `${mode}: ${good}`);
      const bad = await tg.gradcheck((a) => [a.square(), powers(1.02)(a)], [x], { mode });
      assert.not.ok(bad.ok, `${mode} missed a 2% error in the second output: ${JSON.stringify(bad.worst)}`);
      if (mode === 'full') assert.ok(bad.worst!.outputIndex![0] >= 6, 'the worst entry lies in the second output');
    }
    const gg = await tg.gradgradcheck((a) => tg.split(a.square(), [1, 2], 1), [x]);
    assert.ok(gg.ok, String(gg));
    await rejects(
      () => tg.gradcheck(() => [] as never, [x]),
      /^gradcheck: the function must return a Tensor or a non-empty array of Tensors, got an array/,
    );
    x.dispose();
  });

  s('a correct custom op passes both modes, and the report is filled in', async () => {
    const op = cubeTimes(null);
    const x = T([2, 3], 1);
    const y = T([2, 3], 2);
    for (const mode of ['full', 'fast'] as const) {
      const r = await tg.gradcheck(op, [x, y], { mode });
      assert.ok(r.ok, `${mode}: ${JSON.stringify(r)}`);
      assert.is(r.mode, mode);
      assert.ok(r.evaluations > 0 && r.backwards > 0 && r.comparisons > 0);
      assert.is(r.failures, 0);
      assert.ok(r.maxAbsError >= 0 && r.maxAbsError < 1e-2, `${mode} maxAbsError ${r.maxAbsError}`);
      assert.ok(r.maxRelError >= 0 && Number.isFinite(r.maxRelError));
      for (const k of ['atol', 'rtol', 'step', 'noiseFactor'] as const)
        assert.type(r.tolerances[k], 'number', `tolerances.${k}`);
      assert.ok(r.tolerances.atol > 0 && r.tolerances.rtol > 0 && r.tolerances.step > 0);
      assert.ok(r.worst, 'worst is reported even when all pass');
      assert.is(r.backend, backend);
    }
    const full = await tg.gradcheck(op, [x, y]);
    // full: 4 evaluations per entry of each input, plus the base ones; fast: a handful
    assert.ok(full.evaluations >= 4 * 12, `full evaluations ${full.evaluations}`);
    const fast = await tg.gradcheck(op, [x, y], { mode: 'fast' });
    assert.ok(fast.evaluations < full.evaluations / 2, `fast ${fast.evaluations} vs full ${full.evaluations}`);
    tg.dispose([x, y]);
  });

  s('a wrong adjoint in one entry of input 1 is caught by both modes; full names input and index', async () => {
    const x = T([2, 3], 3, { lo: 0.5, hi: 2 });
    const y = T([2, 3], 4);
    for (const [input, index] of [
      [1, 4],
      [0, 2],
      [1, 0],
    ] as const) {
      const op = cubeTimes({ input, index });
      const full = await tg.gradcheck(op, [x, y], { mode: 'full' });
      assert.not.ok(full.ok, `full missed the error planted at input ${input}, entry ${index}`);
      assert.is(full.worst!.input, input);
      assert.equal(full.worst!.index, [Math.floor(index / 3), index % 3]);
      assert.ok(Math.abs(full.worst!.analytic - full.worst!.numeric) > full.worst!.allowed);
      assert.ok(full.failures >= 1);
      const fast = await tg.gradcheck(op, [x, y], { mode: 'fast' });
      assert.not.ok(fast.ok, `fast missed the error planted at input ${input}, entry ${index}`);
      assert.is(fast.worst!.input, input);
    }
    tg.dispose([x, y]);
  });

  s('a sign flip and a transposed matmul adjoint are caught', async () => {
    const flipped = tg.customOp({
      name: 'flippedSin',
      forward: (x) => tf.sin(x),
      vjp: (g, [x]) => [() => g.mul(x.cos()).neg()],
    });
    // Ā should be G Bᵀ; this one uses (G Bᵀ)ᵀ-shaped nonsense made square so that shapes still fit
    const badMatmul = tg.customOp({
      name: 'badMatmul',
      forward: (a, b) => tf.matMul(a, b),
      vjp: (g, [a, b]) => [() => tg.matmul(b, g).transpose(), () => tg.matmul(a.transpose(), g)],
    });
    const x = T([2, 3], 5);
    const A = T([3, 3], 6);
    const B = T([3, 3], 7);
    for (const mode of ['full', 'fast'] as const) {
      assert.not.ok((await tg.gradcheck(flipped, [x], { mode })).ok, `sign flip, ${mode}`);
      const r = await tg.gradcheck(badMatmul, [A, B], { mode });
      assert.not.ok(r.ok, `transposed matmul, ${mode}`);
      assert.is(r.worst!.input, 0);
      // the correct version passes
      assert.ok((await tg.gradcheck((a, b) => tg.matmul(a, b), [A, B], { mode })).ok);
    }
    tg.dispose([x, A, B]);
  });

  s('gradgradcheck catches a wrong second derivative that the first-order check cannot see', async () => {
    // first derivative right, but written with a detached factor: its own derivative is lost
    const sloppy = tg.customOp({
      name: 'sloppySquare',
      forward: (x) => tf.square(x),
      vjp: (g, [x]) => [() => g.mul(x.detach()).mul(2)],
    });
    const x = T([3], 8);
    assert.ok((await tg.gradcheck(sloppy, [x])).ok);
    const gg = await tg.gradgradcheck(sloppy, [x]);
    assert.not.ok(gg.ok, 'gradgradcheck missed a detached adjoint');
    assert.ok((await tg.gradgradcheck((t) => t.square(), [x])).ok);
    x.dispose();
  });

  s('no false alarms: correct ops pass on many random inputs, both modes', async () => {
    const fs: [string, (...xs: tg.Tensor[]) => tg.Tensor, (seed: number) => tg.Tensor[]][] = [
      ['tanh·exp', (x) => x.tanh().mul(x.exp()).sum({ axis: 1 }), (s) => [T([3, 4], s)]],
      ['matmul', (a, b) => a.matmul(b), (s) => [T([3, 4], s), T([4, 2], s + 50)]],
      ['logSumExp∘softmax', (x) => x.softmax().logSumExp({ axis: 0 }), (s) => [T([3, 4], s, { lo: -3, hi: 3 })]],
      ['div·log', (a, b) => a.div(b).mul(b.log()), (s) => [T([2, 3], s), T([2, 3], s + 50, { lo: 0.5, hi: 3 })]],
      [
        'variance+norm',
        (x) => x.variance({ axis: 0 }).add(x.norm({ axis: 1 }).sum()),
        (s) => [T([3, 3], s, { avoid: [0] })],
      ],
      ['sigmoid∘pow', (a, b) => a.pow(b).sigmoid(), (s) => [T([2, 2], s, { lo: 0.5, hi: 2 }), T([2, 2], s + 50)]],
    ];
    let checks = 0;
    for (let seed = 1; seed <= 30; seed++) {
      const [name, f, make] = fs[seed % fs.length];
      const xs = make(seed);
      for (const mode of ['full', 'fast'] as const) {
        const r = await tg.gradcheck(f, xs, { mode, seed });
        assert.ok(r.ok, `${name} seed ${seed} ${mode}: ${JSON.stringify(r.worst)}`);
        checks++;
      }
      tg.dispose(xs);
    }
    assert.is(checks, 60);
  });

  s('every option is validated: a negative atol is an error, not ok: true', async () => {
    const x = tg.tensor([1, 2]);
    const f = (a: tg.Tensor) => a.sin();
    const bad: [object, RegExp][] = [
      [{ atol: -1 }, /^gradcheck: atol must be a finite number ≥ 0, got -1/],
      [{ rtol: NaN }, /^gradcheck: rtol must be a finite number ≥ 0, got NaN/],
      [{ atol: '1e-3' }, /^gradcheck: atol must be a finite number ≥ 0, got string 1e-3/],
      [{ step: 0 }, /^gradcheck: step must be a number in \(0, 1\], got 0/],
      [{ step: 2 }, /^gradcheck: step must be a number in \(0, 1\]/],
      [{ samples: 0 }, /^gradcheck: samples must be an integer from 1 to 1000, got 0/],
      [{ seed: 1.5 }, /^gradcheck: seed must be an integer, got 1\.5/],
      [{ throwOnFailure: 'yes' }, /^gradcheck: throwOnFailure must be true or false/],
      [
        { tol: 1e-3 },
        /^gradcheck: unknown option 'tol'; the options are mode, step, atol, rtol, seed, samples, throwOnFailure/,
      ],
    ];
    for (const [opts, pattern] of bad) await rejects(() => tg.gradcheck(f, [x], opts as never), pattern);
    await rejects(() => tg.gradcheck(f, [x], 3 as never), /^gradcheck: options must be an object, got number 3/);
    await rejects(
      () => tg.gradgradcheck(f, [x], { atol: -1 }),
      /^gradgradcheck: atol must be a finite number ≥ 0, got -1/,
    );
    x.dispose();
  });

  s('the report reads as a summary (toString) and stays plain data; throwOnFailure throws it', async () => {
    const x = tg.tensor([0.5, -1, 2]);
    const y = tg.tensor([1.5, 2, -0.5]);
    const good = await tg.gradcheck(cubeTimes(null), [x, y]);
    assert.match(
      String(good),
      /^gradcheck: ok, 18 comparisons within the tolerance \(full mode, \w+, float32\); closest to it: input \d at \[\d\], output \[\d\], analytic .* vs numeric .*; max abs error .*; atol 0\.001, rtol 0\.002, step 0\.03125; \d+ evaluations, 3 backward passes$/,
    );
    assert.not.ok(Object.keys(good).includes('toString'), 'toString is not an enumerable key');
    assert.is(JSON.parse(JSON.stringify(good)).ok, true);
    const bad = cubeTimes({ input: 1, index: 2 });
    const failed = await tg.gradcheck(bad, [x, y]);
    assert.match(
      `${failed}`,
      /^gradcheck: FAILED, 1 of 18 comparisons outside the tolerance \(full mode, \w+, float32\); worst: input 1 at \[2\], output \[2\], analytic 10 vs numeric 8 \(allowed 0\.0\d+\)/,
    );
    const fast = await tg.gradcheck(bad, [x, y], { mode: 'fast' });
    assert.match(
      `${fast}`,
      /^gradcheck: FAILED, \d of 4 comparisons .*\(fast mode, .*worst: input 1 along a random direction/,
    );
    let thrown: unknown;
    try {
      await tg.gradcheck(bad, [x, y], { throwOnFailure: true });
    } catch (e) {
      thrown = e;
    }
    assert.instance(thrown, tg.TapegradError);
    assert.is((thrown as Error).message, String(failed));
    assert.equal((thrown as { report: tg.GradcheckReport }).report, failed);
    const ok = await tg.gradcheck(cubeTimes(null), [x, y], { throwOnFailure: true });
    assert.ok(ok.ok, 'a passing check with throwOnFailure returns its report');
    const gg = await tg.gradgradcheck((a: tg.Tensor) => a.sin(), [x]);
    assert.match(String(gg), /^gradgradcheck: ok/);
    tg.dispose([x, y]);
  });

  s('inputs that are not float32 are passed through, not perturbed; bad arguments are errors', async () => {
    const x = T([4, 2], 9);
    const idx = tg.tensor([0, 3, 3], { dtype: 'int32' });
    const r = await tg.gradcheck((a, i) => a.gather(i).square(), [x, idx]);
    assert.ok(r.ok);
    await rejects(() => tg.gradcheck(null as any, [x]), /gradcheck: the first argument must be a function/);
    await rejects(() => tg.gradcheck((a) => a, [idx]), /gradcheck: no float32 input/);
    await rejects(
      () => tg.gradcheck((a) => a, [x], { mode: 'slow' as 'full' }),
      /gradcheck: mode must be 'full' or 'fast'/,
    );
    await rejects(
      () => tg.gradcheck((a) => tg.greater(a, 0), [x]),
      /gradcheck: the function must return float32, got bool/,
    );
    tg.dispose([x, idx]);
  });
  s.run();
}
