// The range-reduced Sin, Cos and Tan that setBackend installs on webgl and webgpu
// (kernels/gpu-sin-cos.ts), checked against float64 Math: registered as tests of the suite given,
// by test/gpu/webgpu-node.suite.ts (webgpu in Node) and test/browser/backend-defects.browser.ts
// (webgl and webgpu in Chromium).
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../../src/index.js';
import { tfjsGpuTrig } from '../../src/backend/defects.js';
import { REDUCED_EXACTLY_BELOW, TWO_OVER_PI_WORDS, type ReducedTrig } from '../../kernels/gpu-sin-cos.js';
import { rng } from '../../src/testing.js';

const TRIG: ReducedTrig[] = ['sin', 'cos', 'tan'];
/**
 * 2⁻²³: four float32 units in the last place of values near ½; sin and cos absolute, tan's over
 * its derivative 1 + tan² (what its argument is off by: near a pole, any float32 reduction's error grows).
 */
const BOUND = 2 ** -23;

/** float32 arguments: [−π, π], then |x| from 1e3 to just below the reduction's bound. */
function args(): number[] {
  const r = rng(7);
  const xs: number[] = [];
  for (let i = 0; i < 256; i++) xs.push(Math.fround((2 * r.uniform() - 1) * Math.PI));
  for (let i = 0; i < 256; i++) {
    const x = 1e3 * (REDUCED_EXACTLY_BELOW / 1e3) ** r.uniform();
    xs.push(Math.fround(i % 2 ? x : -x));
  }
  return xs;
}

/** 256 float32 arguments from 411,774 (where Payne and Hanek's reduction takes over) to the largest, log-uniform. */
function largeArgs(): number[] {
  const r = rng(11);
  const top = Math.log(3.4e38 / REDUCED_EXACTLY_BELOW);
  return Array.from({ length: 256 }, (_, i) => {
    const x = Math.fround(REDUCED_EXACTLY_BELOW * Math.exp(top * r.uniform()));
    return i % 2 ? x : -x;
  });
}

/**
 * The large float32 arguments nearest to multiples of π/2 among many drawn: where the reduction
 * cancels most, so that its fraction's low bits make y. Each with the function it nearly zeroes.
 */
function nearMultiples(): { x: number; f: ReducedTrig }[] {
  const r = rng(13);
  const top = Math.log(3.4e38 / REDUCED_EXACTLY_BELOW);
  const drawn = Array.from({ length: 60_000 }, () => Math.fround(REDUCED_EXACTLY_BELOW * Math.exp(top * r.uniform())));
  const nearest = (g: (x: number) => number) =>
    drawn
      .map((x) => ({ x, v: Math.abs(g(x)) }))
      .sort((a, b) => a.v - b.v)
      .slice(0, 16);
  return [
    ...nearest(Math.sin).map(({ x }) => ({ x, f: 'sin' as const })),
    ...nearest(Math.cos).map(({ x }) => ({ x: -x, f: 'cos' as const })),
  ];
}

/** 2/π's bits after the point, to 320 bits, by Machin's formula π = 16·atan(1/5) − 4·atan(1/239) in integers. */
function twoOverPiBits(): bigint {
  const P = 400n;
  const one = 1n << P;
  const atanInverse = (x: bigint) => {
    let [sum, term, k, sign] = [0n, one / x, 1n, 1n];
    while (term) {
      sum += (sign * term) / k;
      term /= x * x;
      k += 2n;
      sign = -sign;
    }
    return sum;
  };
  const pi = 16n * atanInverse(5n) - 4n * atanInverse(239n);
  return ((2n * one * one) / pi) >> 80n;
}

/** The worst error of f over xs: absolute for sin and cos, over 1 + tan² for tan. */
function worst(f: ReducedTrig, xs: number[], ys: Float32Array): { err: number; at: number } {
  let err = 0;
  let at = Number.NaN;
  xs.forEach((x, i) => {
    const want = Math[f](x);
    const e = Math.abs(ys[i] - want) / (f === 'tan' ? 1 + want * want : 1);
    if (!(e <= err)) [err, at] = [e, x];
  });
  return { err, at };
}

async function values(f: ReducedTrig, xs: number[]): Promise<Float32Array> {
  const x = tg.tensor(xs);
  const y = tg[f](x);
  const v = (await y.data()) as Float32Array;
  tg.dispose([x, y]);
  return v;
}

/** Runs `body` with TF.js's own kernel for f registered in place of ours. */
async function withTfjsKernel<T>(f: ReducedTrig, body: () => Promise<T>): Promise<T> {
  const backendName = tg.getBackend() as 'webgl' | 'webgpu';
  const name = { sin: 'Sin', cos: 'Cos', tan: 'Tan' }[f];
  const tfjs = tfjsGpuTrig(f, backendName);
  assert.ok(tfjs, `setBackend replaced ${backendName}'s ${name}`);
  const ours = tf.getKernel(name, backendName)!;
  tf.unregisterKernel(name, backendName);
  tf.registerKernel(tfjs!);
  try {
    return await body();
  } finally {
    tf.unregisterKernel(name, backendName);
    tf.registerKernel(ours);
  }
}

/** Registers the checks as tests of `test` (a uvu suite). */
export function reducedTrigTests(test: (name: string, fn: () => Promise<void>) => void): void {
  test('sin, cos and tan within 2⁻²³ of float64 on [−π, π] and for |x| from 1e3 to 411,774', async () => {
    const before = tf.memory().numTensors;
    const xs = args();
    for (const f of TRIG) {
      const { err, at } = worst(f, xs, await values(f, xs));
      assert.ok(err <= BOUND, `${f}(${at}) is ${err} off`);
    }
    assert.is(tf.memory().numTensors, before, 'tensors leaked');
  });

  test('sin, cos and tan within 2⁻²³ of float64 for |x| from 411,774 to 3.4e38 (Payne and Hanek)', async () => {
    const before = tf.memory().numTensors;
    const xs = largeArgs();
    for (const f of TRIG) {
      const { err, at } = worst(f, xs, await values(f, xs));
      assert.ok(err <= BOUND, `${f}(${at}) is ${err} off`);
    }
    assert.is(tf.memory().numTensors, before, 'tensors leaked');
  });

  test('sin and cos within 2⁻²¹ relative where large arguments are nearest to multiples of π/2', async () => {
    const cases = nearMultiples();
    for (const f of ['sin', 'cos'] as const) {
      const xs = cases.filter((c) => c.f === f).map((c) => c.x);
      const ys = await values(f, xs);
      xs.forEach((x, i) => {
        const want = Math[f](x);
        const rel = Math.abs(ys[i] - want) / Math.abs(want);
        assert.ok(rel <= 2 ** -21, `${f}(${x}) = ${ys[i]}, not ${want} (relative error ${rel})`);
      });
    }
  });

  test("the reduction's table is 2/π's first 224 bits", async () => {
    const bits = twoOverPiBits();
    const words = TWO_OVER_PI_WORDS.slice(1).map((_, k) => Number((bits >> BigInt(320 - 32 * (k + 1))) & 0xffffffffn));
    assert.is(TWO_OVER_PI_WORDS[0], 0);
    assert.equal(TWO_OVER_PI_WORDS.slice(1), words);
  });

  test('sin, cos and tan: NaN and ±∞ give NaN, tiny and signed-zero arguments keep their value', async () => {
    const xs = [Number.NaN, Infinity, -Infinity, -0, 1e-20, -1e-8, 1e6];
    const sin = await values('sin', xs);
    const cos = await values('cos', xs);
    const tan = await values('tan', xs);
    for (const ys of [sin, cos, tan]) assert.ok(ys.slice(0, 3).every(Number.isNaN), `${Array.from(ys)}`);
    assert.ok(Object.is(sin[3], -0) && Object.is(tan[3], -0), 'sin(−0) and tan(−0) are −0');
    assert.equal(Array.from(sin.slice(4, 6)), [1e-20, -1e-8].map(Math.fround));
    assert.equal(Array.from(cos.slice(3, 6)), [1, 1, 1]);
    assert.ok(
      Math.abs(sin[6] - Math.sin(1e6)) <= BOUND && Math.abs(cos[6] - Math.cos(1e6)) <= BOUND,
      `${sin[6]}, ${cos[6]}`,
    );
  });

  test("TF.js's own Sin, Cos and Tan are still off at |x| ≥ 1e3 (when this fails, sinCosTanReducedOnGpu can go)", async () => {
    const xs = args().slice(256);
    const errs: string[] = [];
    for (const f of TRIG) {
      const { err } = worst(f, xs, await withTfjsKernel(f, () => values(f, xs)));
      if (err <= BOUND) errs.push(`${f}: ${err}`);
    }
    assert.equal(errs, [], "TF.js's kernels are accurate now");
  });

  test('gradcheck of sin, cos and tan at |x| from 1e3 to 1e5', async () => {
    const x = tg.tensor([1234.5, -4321.25, 98765.5, 30000.125]);
    // steps of 2⁻²⁰·|x| (2⁻¹⁰ at 1e3, 2⁻³ at 1e5): 16 float32 spacings, a small part of a period
    for (const f of TRIG) {
      const r = await tg.gradcheck(tg[f], [x], { step: 2 ** -20 });
      assert.ok(r.ok, `${f}: ${r}`);
    }
    tg.dispose(x);
  });
}
