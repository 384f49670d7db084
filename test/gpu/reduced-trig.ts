// The range-reduced Sin, Cos and Tan that setBackend installs on webgl and webgpu
// (kernels/gpu-sin-cos.ts), checked against float64 Math: registered as tests of the suite given,
// by test/gpu/webgpu-node.suite.ts (webgpu in Node) and test/browser/backend-defects.browser.ts
// (webgl and webgpu in Chromium).
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../../src/index.js';
import { tfjsGpuTrig } from '../../src/backend/defects.js';
import { REDUCED_EXACTLY_BELOW, type ReducedTrig } from '../../kernels/gpu-sin-cos.js';
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

  test('sin, cos and tan: NaN and ±∞ give NaN, tiny and signed-zero arguments keep their value', async () => {
    const xs = [Number.NaN, Infinity, -Infinity, -0, 1e-20, -1e-8, 1e6];
    const sin = await values('sin', xs);
    const cos = await values('cos', xs);
    const tan = await values('tan', xs);
    for (const ys of [sin, cos, tan]) assert.ok(ys.slice(0, 3).every(Number.isNaN), `${Array.from(ys)}`);
    assert.ok(Object.is(sin[3], -0) && Object.is(tan[3], -0), 'sin(−0) and tan(−0) are −0');
    assert.equal(Array.from(sin.slice(4, 6)), [1e-20, -1e-8].map(Math.fround));
    assert.equal(Array.from(cos.slice(3, 6)), [1, 1, 1]);
    // beyond the bound the shading language's own function: bounded, if less accurate
    assert.ok(Math.abs(sin[6]) <= 1 && Math.abs(cos[6]) <= 1, `sin, cos of 1e6: ${sin[6]}, ${cos[6]}`);
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
