// The GPU backends' TF.js defects src/backend/defects.ts works around (webgl and webgpu in
// headless Chromium): each test runs TF.js's own kernel on the input it gets wrong and expects it
// still wrong — when one fails, TF.js has fixed that kernel and the workaround can go — and then
// tapegrad's path on the same input. test/backend-defects.test.ts has the cpu and wasm ones;
// test/browser/edge-values.browser.ts checks the same values through tapegrad's public ops.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../../src/index.js';
import * as defects from '../../src/backend/defects.js';
import { originalKernel } from '../../src/backend/kernel-replacement.js';
import * as gpu from '../../src/backend/gpu-inexact-unary-kernels.js';
import { reducedTrigTests } from '../gpu/reduced-trig.js';

const backend = tg.getBackend();
const s = suite(`TF.js defects (${backend})`);

/** Values read asynchronously (webgpu's dataSync returns zeros in headless Chromium). */
async function read(f: () => tf.Tensor): Promise<{ values: number[]; shape: number[] }> {
  const before = tf.memory().numTensors;
  const t = f();
  const values = Array.from(await t.data());
  const shape = t.shape;
  t.dispose();
  assert.is(tf.memory().numTensors, before, 'tensors leaked');
  return { values, shape };
}

/** A defect of some backends only: its test runs where it is. */
function onlyOn(backends: string[], name: string, f: () => Promise<void>): void {
  if (backends.includes(backend)) s(name, f);
}

onlyOn(
  ['webgl'],
  "webgl: TF.js's Max still starts at −1e20 (a row of −∞ gives −1e20); maxMinBeyond1e20 gives −∞",
  async () => {
    const x = () =>
      tf.tensor([
        [-Infinity, -Infinity],
        [-1e30, -3e38],
      ]);
    const raw = await read(() => tf.tidy(() => tf.max(x(), 1)));
    assert.equal(raw.values, [-1e20, -1e20].map(Math.fround), "webgl's Max is right now: maxMinBeyond1e20 can go");
    const rawMin = await read(() => tf.tidy(() => tf.min(tf.neg(x()), 1)));
    assert.equal(rawMin.values, [1e20, 1e20].map(Math.fround), "webgl's Min is right now");
    assert.equal((await read(() => tf.tidy(() => defects.maxMinBeyond1e20('max', x(), [1], false)))).values, [
      -Infinity,
      Math.fround(-1e30),
    ]);
    assert.equal((await read(() => tf.tidy(() => defects.maxMinBeyond1e20('min', tf.neg(x()), [1], false)))).values, [
      Infinity,
      Math.fround(1e30),
    ]);
  },
);

onlyOn(
  ['webgl'],
  "webgl: TF.js's Select, Reverse and Cumsum still throw from rank 5; tapegrad's where, flip, cumsum, cumprod and GroupNorm run there",
  async () => {
    const shape = [2, 1, 3, 2, 2];
    const x = tf.tensor(
      Array.from({ length: 24 }, (_, i) => i - 11.5),
      shape,
    );
    const backend = tf.backend();
    const select = originalKernel('webgl', 'Select')!;
    const cond = tf.greater(x, 0);
    assert.throws(() => select({ inputs: { condition: cond, t: x, e: x }, backend, attrs: {} }), /rank 5/);
    const reverse = originalKernel('webgl', 'Reverse')!;
    assert.throws(() => reverse({ inputs: { x }, backend, attrs: { dims: [1] } }), /rank-5/);
    const cumsum = originalKernel('webgl', 'Cumsum')!;
    assert.throws(
      () => cumsum({ inputs: { x }, backend, attrs: { axis: 2, exclusive: false, reverse: false } }),
      /rank 5/,
    );
    tf.dispose([x, cond]);
    // tapegrad's where and flip on the same rank-5 values
    const values = Array.from({ length: 24 }, (_, i) => i - 11.5);
    const t = tg.tensor(values, { shape });
    const where = await read(() => tg.tidy(() => tg.where(tg.greater(t, 0), t, tg.neg(t))).value);
    assert.equal(where.values, values.map(Math.abs));
    // flip along axes 0, 2 and 4: entry (a, b, c, d, e) from (1 − a, b, 2 − c, d, 1 − e)
    const flipped = await read(() => tg.tidy(() => tg.flip(t, [0, 2, 4])).value);
    const want = values.map((_, k) => {
      const [a, , c, d, e] = [Math.floor(k / 12), 0, Math.floor(k / 4) % 3, Math.floor(k / 2) % 2, k % 2];
      return values[(1 - a) * 12 + (2 - c) * 4 + d * 2 + (1 - e)];
    });
    assert.equal(flipped.values, want);
    // running sums and products along axis 2 (length 3, stride 4 in the flat entries)
    const along = (f: (acc: number, v: number) => number) =>
      values.map((_, k) => {
        const c = Math.floor(k / 4) % 3;
        let acc = values[k - 4 * c];
        for (let j = 1; j <= c; j++) acc = Math.fround(f(acc, values[k - 4 * c + 4 * j]));
        return acc;
      });
    const sums = await read(() => tg.tidy(() => tg.cumsum(t, 2)).value);
    assert.equal(
      sums.values,
      along((a, v) => a + v),
    );
    const products = await read(() => tg.tidy(() => tg.cumprod(t, 2)).value);
    assert.equal(
      products.values,
      along((a, v) => a * v),
    );
    t.dispose();
    // a GroupNorm of 2 groups over 4 channels: x seen as [N, H, W, 2, 2] inside
    const norm = new tg.nn.GroupNorm(2, 4);
    const input = tg.randn([2, 3, 3, 4], { seed: 5 });
    const y = norm.forward(input);
    const got = Array.from(await y.data());
    assert.ok(got.every(Number.isFinite) && got.length === 72);
    tg.dispose([y, input]);
    norm.dispose();
  },
);

onlyOn(
  ['webgl'],
  "webgl: TF.js's packed ClipByValue still leaves a texel holding NaN unclamped; tapegrad's clip clamps each entry",
  async () => {
    // a product's output is a packed texture: [NaN, 3, −3, 0.2] as [4, 1], rows 0 and 1 in one texel
    const packed = () => tf.matMul(tf.tensor2d([Number.NaN, 3, -3, 0.2], [4, 1]), tf.tensor2d([[1]]));
    const clip = originalKernel('webgl', 'ClipByValue')!;
    const raw = await read(() =>
      tf.tidy(() => {
        const x = packed();
        return tf.engine().makeTensorFromTensorInfo(
          clip({
            inputs: { x },
            backend: tf.backend(),
            attrs: { clipValueMin: -1, clipValueMax: -0.5 },
          }) as tf.TensorInfo,
        );
      }),
    );
    assert.equal(raw.values.slice(1), [3, -1, -0.5], "webgl's packed clip is right now: the fix can go");
    const viaOp = await read(() => tg.tidy(() => tg.clip(new tg.Tensor(packed()), -1, -0.5)).value);
    assert.equal(viaOp.values, [Number.NaN, -0.5, -1, -0.5]);
    // a determinant's packed scalar, whose unused lanes hold NaN: clip(det [[1.765]]) is −0.5
    const det = await read(() => tg.tidy(() => tg.clip(tg.linalg.det(tg.tensor([[1.765]])), -1, -0.5)).value);
    assert.equal(det.values, [-0.5]);
  },
);

onlyOn(['webgl'], "webgl: TF.js's RealDiv still gives 0/0 = ∞/∞ = 1; divEqualOperandsNaN gives NaN", async () => {
  const a = () => tf.tensor([0, Infinity, -Infinity, 3, 0]);
  const b = () => tf.tensor([0, Infinity, -Infinity, 3, 2]);
  const raw = await read(() => tf.tidy(() => tf.div(a(), b())));
  assert.equal(raw.values.slice(0, 3), [1, 1, 1], "webgl's RealDiv is right now: divEqualOperandsNaN can go");
  const fixed = await read(() => tf.tidy(() => defects.divEqualOperandsNaN(a(), b())));
  assert.equal(fixed.values, [Number.NaN, Number.NaN, Number.NaN, 1, 0]);
  const viaOp = tg.tidy(() => tg.div(tg.tensor([0, 1]), tg.tensor([0, 0])));
  assert.equal(Array.from(await viaOp.data()), [Number.NaN, Number.POSITIVE_INFINITY]);
  viaOp.dispose();
});

onlyOn(
  ['webgl', 'webgpu'],
  "TF.js's Pow still gives pow(0, −1) = 0 and pow(0, −0.5) ≈ 1.3e19; powZeroBase gives +∞",
  async () => {
    const a = () => tf.tensor([0, 0, 0]);
    const b = () => tf.tensor([-1, -0.5, 0.5]);
    const raw = await read(() => tf.tidy(() => tf.pow(a(), b())));
    assert.ok(
      raw.values[0] !== Infinity && raw.values[1] !== Infinity,
      `Pow at 0 is right now (${raw.values}): powZeroBase can go`,
    );
    assert.equal((await read(() => tf.tidy(() => defects.powZeroBase(a(), b())))).values, [Infinity, Infinity, 0]);
  },
);

onlyOn(['webgl'], "webgl: TF.js's Log of 0 is still finite; logZeroNegativeInfinity gives −∞", async () => {
  const raw = await read(() => tf.tidy(() => tf.log(tf.tensor([0, 1]))));
  assert.ok(Number.isFinite(raw.values[0]), `Log(0) is ${raw.values[0]} now: logZeroNegativeInfinity can go`);
  const fixed = await read(() => tf.tidy(() => defects.logZeroNegativeInfinity(tf.tensor([0, 1, 4]))));
  assert.equal(fixed.values, [-Infinity, 0, Math.fround(Math.log(4))]);
});

onlyOn(['webgpu'], "webgpu: TF.js's ArgMax of a vector still has shape [1]; argMaxMinShape gives []", async () => {
  const raw = await read(() => tf.tidy(() => tf.argMax(tf.tensor([3, 1, 4]), 0)));
  assert.equal(raw.shape, [1], "webgpu's ArgMax has shape [] now: argMaxMinShape can go");
  const fixed = await read(() => tf.tidy(() => defects.argMaxMinShape('max', tf.tensor([3, 1, 4]), 0)));
  assert.equal(fixed, { values: [2], shape: [] });
  const min = await read(() => tf.tidy(() => defects.argMaxMinShape('min', tf.tensor([3, 1, 4]), 0)));
  assert.equal(min, { values: [1], shape: [] });
});

onlyOn(
  ['webgl', 'webgpu'],
  "TF.js's Expm1 is still exp(x) − 1 (expm1(1e-7) 19% off); expm1SmallArgument keeps 1e-7 relative",
  async () => {
    const xs = [1e-7, -3e-6, 2e-4, 0.1, -0.24];
    const raw = await read(() => tf.tidy(() => tf.expm1(tf.tensor(xs))));
    const rel = (v: number[]) =>
      Math.max(...v.map((g, i) => Math.abs(g - Math.expm1(xs[i])) / Math.abs(Math.expm1(xs[i]))));
    assert.ok(rel(raw.values) > 0.01, `Expm1 is precise now (worst ${rel(raw.values)}): expm1SmallArgument can go`);
    const fixed = await read(() => tf.tidy(() => defects.expm1SmallArgument(tf.tensor(xs))));
    assert.ok(rel(fixed.values) < 1e-6, `expm1SmallArgument: worst relative error ${rel(fixed.values)}`);
  },
);

/** softplus in float64. */
const softplus64 = (x: number) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));
/** The largest relative error of got against float64's answers. */
const relError = (got: number[], want: number[]) =>
  Math.max(...got.map((g, i) => (Object.is(g, want[i]) ? 0 : Math.abs(g - want[i]) / Math.abs(want[i]))));

onlyOn(
  ['webgl', 'webgpu'],
  "elementwise: TF.js's Log1p, Asinh, Atanh, Sinh, Acos lose small arguments, Cosh overflows, Softplus rounds 1 + eˣ; formulations don't",
  async () => {
    const small = [1e-7, -3e-6, 2e-5];
    const cases = [
      ['Log1p', tf.log1p, gpu.log1pByFormula, Math.log1p, small],
      ['Asinh', tf.asinh, gpu.asinhByFormula, Math.asinh, [...small, -100]],
      ['Atanh', tf.atanh, gpu.atanhByFormula, Math.atanh, small],
      ['Sinh', tf.sinh, gpu.sinhByFormula, Math.sinh, small],
      ['Cosh', tf.cosh, gpu.coshByFormula, Math.cosh, [89, -89]],
      ['Acosh', tf.acosh, gpu.acoshByFormula, Math.acosh, [1.0000001, 1.000001, 1e30]],
      ['Acos', tf.acos, gpu.acosByFormula, Math.acos, [1e-7, -0.3, 0.7, -0.9, 0.999]],
      ['Softplus', tf.softplus, gpu.softplusByFormula, softplus64, [-5, -10, -13]],
    ] as const;
    const stillWrong: Record<string, string[]> = {
      webgl: ['Log1p', 'Asinh', 'Atanh', 'Sinh', 'Cosh', 'Acos', 'Softplus'],
      webgpu: ['Log1p', 'Asinh', 'Atanh', 'Sinh', 'Cosh', 'Acos', 'Softplus'],
    };
    for (const [name, kernel, formula, ref, xs] of cases) {
      const want = xs.map((x) => ref(Math.fround(x)));
      const raw = relError((await read(() => tf.tidy(() => kernel(tf.tensor(xs))))).values, want);
      const fixed = relError((await read(() => tf.tidy(() => formula(tf.tensor(xs))))).values, want);
      console.log(`[elementwise] ${backend} ${name}: TF.js ${raw.toPrecision(3)}, formulation ${fixed.toPrecision(3)}`);
      const wrong = name === 'Acos' ? 1e-5 : 1e-3;
      if (stillWrong[backend].includes(name))
        assert.ok(raw > wrong, `${name} is precise now (${raw}): its formulation can go`);
      // the GPUs' exp of a large argument is itself a few 1e-6 off (its argument is rounded to float32 ulps)
      assert.ok(fixed < (name === 'Cosh' ? 4e-6 : 1e-6), `${name} by formula: relative error ${fixed}`);
    }
  },
);

onlyOn(
  ['webgpu'],
  "webgpu: TF.js's Prod still drops keepDims under CPU forwarding; prodKeepDimsByReshape keeps it",
  async () => {
    const saved = tf.env().getBool('WEBGPU_CPU_FORWARD');
    tf.env().set('WEBGPU_CPU_FORWARD', true);
    try {
      const x = () => tf.tensor([1, 2, 3, 4, 5, 6], [1, 3, 2]);
      const raw = await read(() => tf.tidy(() => tf.prod(x(), [0, 2], true)));
      assert.not.equal(raw.shape, [1, 3, 1], "webgpu's Prod keeps keepDims now: prodKeepDimsByReshape can go");
      assert.equal(await read(() => tf.tidy(() => defects.prodKeepDimsByReshape(x(), [0, 2], true))), {
        values: [2, 12, 30],
        shape: [1, 3, 1],
      });
    } finally {
      tf.env().set('WEBGPU_CPU_FORWARD', saved);
    }
  },
);

onlyOn(
  ['webgpu'],
  "webgpu: TF.js's reverse Cumsum still reuses the shader of another axis length; cumReverseByFlip does not",
  async () => {
    const first = () => tf.tensor([[1, 2, 3, 4]]);
    const second = () => tf.tensor([[1, 2, 3]]);
    await read(() => tf.tidy(() => tf.cumsum(first(), 1, false, true)));
    const raw = await read(() => tf.tidy(() => tf.cumsum(second(), 1, false, true)));
    assert.not.equal(raw.values, [6, 5, 3], "webgpu's reverse Cumsum is right now: cumReverseByFlip can go");
    await read(() => tf.tidy(() => defects.cumReverseByFlip('sum', first(), 1, false, true)));
    assert.equal(
      (await read(() => tf.tidy(() => defects.cumReverseByFlip('sum', second(), 1, false, true)))).values,
      [6, 5, 3],
    );
    assert.equal(
      (await read(() => tf.tidy(() => defects.cumReverseByFlip('sum', second(), 1, true, true)))).values,
      [5, 3, 0],
    );
  },
);

onlyOn(
  ['webgpu'],
  "webgpu: TF.js's Transpose of a rank-3 int32 tensor is still wrong; with intTransposeCompiling it is right",
  async () => {
    // made on the GPU (a small tensor straight from the CPU is transposed there)
    const x = () =>
      tf.add(tf.tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], [2, 2, 3], 'int32'), tf.scalar(0, 'int32'));
    const want = [0, 3, 1, 4, 2, 5, 6, 9, 7, 10, 8, 11];
    const forward = tf.env().getBool('WEBGPU_CPU_FORWARD');
    tf.env().set('WEBGPU_CPU_FORWARD', false);
    try {
      defects.setWebGPUIntTransposeFixed(false);
      const raw = await read(() => tf.tidy(() => tf.transpose(x(), [0, 2, 1])));
      assert.not.equal(raw.values, want, "webgpu's int32 Transpose is right now: intTransposeCompiling can go");
      defects.setWebGPUIntTransposeFixed(true);
      const fixed = await read(() => tf.tidy(() => tf.transpose(x(), [0, 2, 1])));
      assert.equal([fixed.values, fixed.shape], [want, [2, 3, 2]]);
    } finally {
      defects.setWebGPUIntTransposeFixed(true);
      tf.env().set('WEBGPU_CPU_FORWARD', forward);
    }
  },
);

onlyOn(
  ['webgpu'],
  "webgpu: TF.js's Cast from bool still keeps the integer buffer (a transposed sum of it gives 0)",
  async () => {
    const x = () => tf.tensor([0.3, -1.2, 2.1, 0.7, -0.4, 1.5, -2.2, 0.9, 1.1, -0.8, 0.2, 1.9], [2, 3, 2]);
    const hits = () => tf.tidy(() => tf.sum(tf.cast(tf.equal(x(), tf.max(x(), [0, 2], true)), 'float32'), [0, 2]));
    const ours = tf.getKernel('Cast', 'webgpu')!;
    const tfjs = defects.tfjsWebGPUCast();
    assert.ok(tfjs, 'setBackend replaced the Cast');
    tf.unregisterKernel('Cast', 'webgpu');
    tf.registerKernel(tfjs!);
    let raw: number[];
    try {
      raw = (await read(hits)).values;
    } finally {
      tf.unregisterKernel('Cast', 'webgpu');
      tf.registerKernel(ours);
    }
    assert.not.equal(raw, [1, 1, 1], "webgpu's Cast converts now: castIntToFloatConverting can go");
    assert.equal((await read(hits)).values, [1, 1, 1]);
  },
);

// webgl's and webgpu's Sin, Cos and Tan: TF.js's still off at large |x|, tapegrad's within float32's reach
reducedTrigTests(s);

s.run();
