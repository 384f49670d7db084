// Edge values a user can reach, on every Node backend, against PyTorch's answers or float64
// references computed here in JavaScript: empty tensors, dtype promotion and casts, sizes that do
// not fit, ±∞ in reductions, pow's gradient at 0, and the special functions near 0.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type * as tf from '@tensorflow/tfjs-core';
import * as tg from '../src/index.js';
import * as gpu from '../src/backend/gpu-inexact-unary-kernels.js';
import { setFusedEnabled, setSimdGelu } from '../src/testing.js';
import { NODE_BACKENDS, assertClose, assertNoLeak, assertThrows } from './helpers.js';

const values = (t: tg.Tensor) => Array.from(t.dataSync());

/** erf in float64: its Maclaurin series below 3, the continued fraction of erfc above. */
function erf64(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    let term = x;
    let sum = x;
    for (let n = 1; n < 200; n++) {
      term *= (-x * x) / n;
      const t = term / (2 * n + 1);
      sum += t;
      if (Math.abs(t) < 1e-17 * Math.abs(sum)) break;
    }
    return (sum * 2) / Math.sqrt(Math.PI);
  }
  let f = 0;
  for (let n = 60; n >= 1; n--) f = n / 2 / (ax + f);
  return Math.sign(x) * (1 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f));
}

/** erfc in float64: 1 − erf below 2, the continued fraction above (its absolute error, relative there). */
function erfc64(x: number): number {
  if (x < 2) return 1 - erf64(x);
  let f = 0;
  for (let n = 200; n >= 1; n--) f = n / 2 / (x + f);
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / (x + f);
}
/** Φ(x) and φ(x) of the standard normal distribution, in float64. */
const normalCdf = (x: number) => 0.5 * erfc64(-x * Math.SQRT1_2);
const normalPdf = (x: number) => Math.exp((-x * x) / 2) / Math.sqrt(2 * Math.PI);
const sech2At = (x: number) => 1 / Math.cosh(x) ** 2;
/** σ(x) in float64 without overflow. */
const sigmoid64 = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
const softplus64 = (x: number) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));

/** ±10^e for e from −30 to 2 in steps of 0.05, as float32 values. */
const GRID = Float32Array.from(Array.from({ length: 641 }, (_, i) => 10 ** (-30 + i * 0.05)).flatMap((v) => [v, -v]));
const ULP = 2 ** -24;
/** wasm's float32 SIMD gelu and its derivative: their bound in units of 2⁻²⁴ relative (test/fused.test.ts). */
const GELU_SIMD_ULPS = 8;

/**
 * Asserts the adjoint of f (the gradient of Σ f(x)) matches the float64 derivative within `ulps` ulp of
 * `scale(x)`: |f′(x)| itself, or, for an f′ that is a sum of terms, the sum of their magnitudes (near
 * a zero of f′ the terms cancel, in every formulation).
 */
function assertAdjointAccurate(
  name: string,
  f: (x: tg.Tensor) => tg.Tensor,
  ref: (x: number) => number,
  ulps: number,
  xs: Float32Array = GRID,
  scale: (x: number) => number = (x) => Math.abs(ref(x)),
) {
  const got = tg.tidy(() => values(tg.grad((t: tg.Tensor) => tg.sum(f(t)))(tg.tensor(xs))));
  xs.forEach((x, i) => {
    const want = ref(x);
    if (!Number.isFinite(want) || Math.abs(want) > 3.4e38 || Math.abs(want) < 2 ** -126) return;
    const err = Math.abs(got[i] - want);
    if (!(err <= ulps * ULP * scale(x)))
      assert.unreachable(
        `${name}'s adjoint at ${x} is ${got[i]}, float64 gives ${want}: ${(err / ULP / scale(x)).toPrecision(3)} ulp`,
      );
  });
}

/** Asserts f matches its float64 reference within `ulps` units in the last place. */
function assertAccurate(
  name: string,
  f: (x: tg.Tensor) => tg.Tensor,
  ref: (x: number) => number,
  ulps: number,
  xs: Float32Array = GRID,
) {
  const got = tg.tidy(() => values(f(tg.tensor(xs))));
  xs.forEach((x, i) => {
    const want = ref(x);
    if (!Number.isFinite(want) || Math.abs(want) > 3.4e38 || Math.abs(want) < 2 ** -126) return;
    const err = Math.abs(got[i] - want);
    const allowed = ulps * ULP * Math.abs(want);
    if (!(err <= allowed))
      assert.unreachable(
        `${name}(${x}) = ${got[i]}, float64 gives ${want}: ${(err / ULP / Math.abs(want)).toPrecision(3)} ulp`,
      );
  });
}

for (const backend of NODE_BACKENDS) {
  const s = suite(`edge values on ${backend}`);
  s.before(async () => {
    await tg.setBackend(backend);
  });

  s('reductions of empty tensors give PyTorch answers: sum 0, prod 1, logSumExp −∞, mean NaN, norm 0', () => {
    assertNoLeak(() => {
      tg.tidy(() => {
        const e = tg.zeros([0, 3]);
        for (const axis of [undefined, 0, [0, 1]] as const) {
          const n = axis === undefined || Array.isArray(axis) ? 1 : 3;
          const opts = { axis: axis as number | number[] | undefined };
          assert.equal(values(tg.sum(e, opts)), Array(n).fill(0), `sum axis ${axis}`);
          assert.equal(values(tg.prod(e, opts)), Array(n).fill(1), `prod axis ${axis}`);
          assert.equal(values(tg.logSumExp(e, opts)), Array(n).fill(-Infinity), `logSumExp axis ${axis}`);
          assert.ok(values(tg.mean(e, opts)).every(Number.isNaN), `mean axis ${axis}`);
          assert.equal(values(tg.norm(e, opts)), Array(n).fill(0), `norm axis ${axis}`);
          assert.equal(values(tg.norm(e, { ...opts, ord: 1 })), Array(n).fill(0), `1-norm axis ${axis}`);
        }
        assert.equal(tg.sum(e, { axis: 0, keepDims: true }).shape, [1, 3]);
        assert.equal(values(tg.sum(tg.zeros([0], { dtype: 'int32' }))), [0]);
        // along the non-empty axis: an empty result, no error
        assert.equal(tg.max(e, { axis: 1 }).shape, [0]);
        assert.equal(tg.logSumExp(e, { axis: 1 }).shape, [0]);
      });
    });
  });

  s('max, min and the ∞-norm of an empty axis are errors naming the op', () => {
    const e = tg.zeros([0, 3]);
    assertThrows(() => tg.max(e), /^max: cannot reduce over an empty axis: shape \[0,3\], axes \[0,1\]/);
    assertThrows(() => tg.min(e, { axis: 0 }), /^min: cannot reduce over an empty axis: shape \[0,3\], axes \[0\]/);
    assertThrows(() => tg.norm(e, { axis: 0, ord: Infinity }), /^norm: cannot reduce over an empty axis.*∞-norm/);
    e.dispose();
  });

  s('gradients through empty reductions are empty, and free everything', () => {
    assertNoLeak(() => {
      const x = tg.zeros([0, 3], { requiresGrad: true });
      for (const f of [
        (t: tg.Tensor) => tg.sum(t),
        (t: tg.Tensor) => tg.prod(t, { axis: 0 }),
        (t: tg.Tensor) => tg.logSumExp(t, { axis: 0 }),
      ]) {
        const g = tg.grad((t: tg.Tensor) => tg.sum(f(t)))(x);
        assert.equal(g.shape, [0, 3]);
        g.dispose();
      }
      x.dispose();
    });
  });

  s('matmul with an inner dimension of 0 is zeros; linear gives its bias', () => {
    assertNoLeak(() => {
      tg.tidy(() => {
        assert.equal(values(tg.matmul(tg.zeros([2, 0]), tg.zeros([0, 3]))), [0, 0, 0, 0, 0, 0]);
        assert.equal(tg.matmul(tg.zeros([4, 2, 0]), tg.zeros([0, 3])).shape, [4, 2, 3]);
        assert.equal(values(tg.dot(tg.zeros([0]), tg.zeros([0]))), [0]);
        const y = tg.linear(tg.zeros([2, 0]), tg.zeros([0, 2]), tg.tensor([1, -1]), { activation: 'relu' });
        assert.equal(values(y), [1, 0, 1, 0]);
        // its gradients are zeros of the operands' shapes
        const b = tg.ones([0, 3], { requiresGrad: true });
        const g = tg.grad((t: tg.Tensor) => tg.sum(tg.matmul(tg.ones([2, 0]), t)))(b);
        assert.equal(g.shape, [0, 3]);
      });
    });
  });

  s('bool and int32 inputs to float ops are cast to float32 first, as PyTorch promotes', () => {
    tg.tidy(() => {
      const b = tg.tensor([true, false], { dtype: 'bool' });
      const e = tg.exp(b);
      assert.is(e.dtype, 'float32');
      assertClose(e, [Math.E, 1]);
      const i = tg.tensor([4, 9], { dtype: 'int32' });
      assertClose(tg.sqrt(i), [2, 3]);
      assertClose(tg.tanh(i), [Math.tanh(4), Math.tanh(9)]);
      assertClose(tg.sigmoid(b), [1 / (1 + Math.exp(-1)), 0.5]);
      assertClose(tg.mean(i), [6.5]);
      assertClose(tg.logSumExp(b), [Math.log(Math.E + 1)]);
      // ops that map integers to integers keep int32
      assert.is(tg.neg(i).dtype, 'int32');
      assert.is(tg.abs(i).dtype, 'int32');
      assert.is(tg.square(i).dtype, 'int32');
    });
  });

  s("int32 division is true division (float32), not TF.js's floor; a non-integer number makes int32 float", () => {
    tg.tidy(() => {
      const a = tg.tensor([7, -7, 1], { dtype: 'int32' });
      const q = tg.div(a, tg.tensor([2, 2, 3], { dtype: 'int32' }));
      assert.is(q.dtype, 'float32');
      assertClose(q, [3.5, -3.5, 1 / 3]);
      assertClose(tg.div(a, 2), [3.5, -3.5, 0.5]);
      const h = tg.mul(a, 0.5);
      assert.is(h.dtype, 'float32');
      assertClose(h, [3.5, -3.5, 0.5]);
      assert.is(tg.add(a, 1).dtype, 'int32');
      // comparisons too: −0.5 is not truncated to 0
      assert.equal(values(tg.greater(tg.tensor([0, -1], { dtype: 'int32' }), -0.5)), [1, 0]);
      assert.equal(values(tg.less(tg.tensor([0, 1], { dtype: 'int32' }), 0.5)), [1, 0]);
      assert.equal(values(tg.add(tg.tensor([true, false], { dtype: 'bool' }), 1)), [2, 1]);
      // an integer to a negative power is not an integer: refused, as PyTorch does (TF.js gives 0)
      assertThrows(() => tg.pow(a, -1), /^pow: an int32 tensor to a negative power \(-1\) is not an integer/);
      assert.equal(values(tg.pow(a, 2)), [49, 49, 1]);
    });
  });

  s('every dtype conversion: nonzero is true (NaN too); float → int32 truncates toward 0', () => {
    tg.tidy(() => {
      const f = tg.tensor([-2, -0.5, 0.25, 0, -0, 3, NaN, Infinity, 1e-40]);
      assert.equal(values(tg.cast(f, 'bool')), [1, 1, 1, 0, 0, 1, 1, 1, 1]);
      const i = tg.tensor([-2, 0, 3, 256, -256, 2 ** 31 - 1], { dtype: 'int32' });
      assert.equal(values(tg.cast(i, 'bool')), [1, 0, 1, 1, 1, 1]);
      assertClose(tg.cast(i, 'float32'), [-2, 0, 3, 256, -256, 2 ** 31], { rtol: 2 ** -24 });
      assert.equal(values(tg.cast(tg.tensor([-2.7, -0.5, 0.25, 2.5, 3.9, -1e6]), 'int32')), [-2, 0, 0, 2, 3, -1e6]);
      const b = tg.tensor([true, false, true], { dtype: 'bool' });
      assert.equal(values(tg.cast(b, 'float32')), [1, 0, 1]);
      assert.equal(values(tg.cast(b, 'int32')), [1, 0, 1]);
      assert.equal(values(tg.cast(b, 'bool')), [1, 0, 1]);
    });
  });

  s('pow(x, 0) has gradient 0 at x = 0, for a number or a tensor exponent (PyTorch: 0, not NaN)', () => {
    assertNoLeak(() => {
      const x = tg.tensor([0, 2, -3], { requiresGrad: true });
      const g1 = tg.grad((t: tg.Tensor) => tg.sum(tg.pow(t, 0)))(x);
      assert.equal(values(g1), [0, 0, 0]);
      const e = tg.zeros([3]);
      const g2 = tg.grad((t: tg.Tensor) => tg.sum(tg.pow(t, e)))(x);
      assert.equal(values(g2), [0, 0, 0]);
      // second order: no NaN either
      const h = tg.grad((t: tg.Tensor) => tg.sum(tg.grad((u: tg.Tensor) => tg.sum(tg.pow(u, 0)))(t)))(x);
      assert.equal(values(h), [0, 0, 0]);
      // the exponent's gradient where the base is 0 is 0; elsewhere aᵇ ln a
      const b = tg.tensor([0, 1], { requiresGrad: true });
      const gb = tg.grad((t: tg.Tensor) => tg.sum(tg.pow(tg.tensor([0, 2]), t)))(b);
      assertClose(gb, [0, 2 * Math.log(2)]);
      tg.dispose([x, e, g1, g2, h, b, gb]);
    });
  });

  s(
    "pow's base adjoint b·aᵇ⁻¹ is within 3 ulp of float64 for tiny, negative and integer b, a from 1e−30 to 1e30",
    () => {
      const bases = Array.from({ length: 601 }, (_, i) => Math.fround(10 ** (-30 + i * 0.1)));
      // tiny b and b below −1, where b − 1 rounds in float32; integers, with negative bases too
      const exponents = [1e-30, 2.5e-8, 1e-7, 1e-5, -1e-7, -1e-3, 0.1, 0.5, 0.9999, 1.5, -0.5, -1.5000001, -7.3000001];
      const integers = [1, 2, 3, -1, -2, -3, 10];
      for (const b of [...exponents, ...integers].map(Math.fround)) {
        const xs = Float32Array.from(Number.isInteger(b) ? [...bases, ...bases.map((a) => -a)] : bases);
        const got = tg.tidy(() => values(tg.grad((t: tg.Tensor) => tg.sum(tg.pow(t, b)))(tg.tensor(xs))));
        xs.forEach((a, i) => {
          const power = a ** (b - 1);
          const want = b * power;
          // where aᵇ⁻¹ itself leaves float32's range, the product is ∞ or 0, as PyTorch's b·aᵇ⁻¹
          if (!(Math.abs(power) <= 3.4e38 && Math.abs(want) <= 3.4e38 && Math.abs(want) >= 2 ** -126)) return;
          const ulps = Math.abs(got[i] - want) / ULP / Math.abs(want);
          if (!(ulps <= 3))
            assert.unreachable(`d pow(a, ${b})/da at a = ${a} is ${got[i]}, float64 gives ${want}: ${ulps} ulp`);
        });
      }
    },
  );

  s('logSumExp of a row of −∞ is −∞; of a row holding +∞, +∞; NaN stays NaN', () => {
    tg.tidy(() => {
      const x = tg.tensor([
        [-Infinity, -Infinity],
        [1, Infinity],
        [-Infinity, 0],
        [NaN, 1],
        [1000, 1000],
      ]);
      const y = values(tg.logSumExp(x, { axis: 1 }));
      assert.equal(y.slice(0, 3), [-Infinity, Infinity, 0]);
      assert.ok(Number.isNaN(y[3]));
      assertClose(y[4], 1000 + Math.log(2));
      assert.equal(values(tg.logSumExp(tg.tensor([-Infinity, -Infinity]))), [-Infinity]);
    });
  });

  s('log1p, expm1, sin, cos, tan, erf, tanh, sigmoid, softplus, elu match float64 near 0 and beyond', () => {
    assertAccurate('log1p', tg.log1p, Math.log1p, 4);
    assertAccurate('expm1', tg.expm1, Math.expm1, 4);
    assertAccurate('erf', tg.erf, erf64, 12);
    assertAccurate('tanh', tg.tanh, Math.tanh, 4);
    assertAccurate('tan', tg.tan, Math.tan, 4);
    assertAccurate('sigmoid', tg.sigmoid, (x) => 1 / (1 + Math.exp(-x)), 4);
    assertAccurate('softplus', tg.softplus, (x) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x))), 8);
    assertAccurate('elu', tg.elu, (x) => (x > 0 ? x : Math.expm1(x)), 4);
    // sin and cos near 0 and near the multiples of π/4, where their zeros are
    const turns = Float32Array.from(
      Array.from({ length: 801 }, (_, i) => ((i - 400) * Math.PI) / 4).flatMap((v) => [v, v * (1 + 1e-6)]),
    );
    for (const xs of [GRID, turns]) {
      assertAccurate('sin', tg.sin, Math.sin, 4, xs);
      assertAccurate('cos', tg.cos, Math.cos, 4, xs);
    }
    tg.tidy(() => {
      assert.equal(
        values(tg.sin(tg.tensor([0, -0, Infinity]))).map((v) => (Number.isNaN(v) ? 'NaN' : v)),
        [0, -0, 'NaN'],
      );
      assert.equal(values(tg.log1p(tg.tensor([-1, Infinity, 0]))), [-Infinity, Infinity, 0]);
    });
  });

  s("atan … mish, log2, log10 and exp2 match float64 near 0, near their domains' ends and for large |x|", () => {
    const softplus = (x: number) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));
    const [lambda, alpha] = [1.0507009873554805, 1.6732632423543772];
    const inUnit = Float32Array.from(
      Array.from(GRID)
        .filter((v) => Math.abs(v) < 1)
        .flatMap((v) => [v, Math.sign(v) * (1 - Math.abs(v))]),
    );
    const aboveOne = Float32Array.from(Array.from(GRID).flatMap((v) => (v > 0 ? [1 + v, 1 / v] : [])));
    for (const [name, f, ref, xs] of [
      ['atan', tg.atan, Math.atan, GRID],
      ['asin', tg.asin, Math.asin, inUnit],
      ['acos', tg.acos, Math.acos, inUnit],
      ['sinh', tg.sinh, Math.sinh, GRID],
      ['cosh', tg.cosh, Math.cosh, GRID],
      ['asinh', tg.asinh, Math.asinh, GRID],
      ['acosh', tg.acosh, Math.acosh, aboveOne],
      ['atanh', tg.atanh, Math.atanh, inUnit],
      ['log2', tg.log2, Math.log2, aboveOne],
      ['log10', tg.log10, Math.log10, aboveOne],
      ['exp2', tg.exp2, (x: number) => 2 ** x, GRID],
      ['silu', tg.silu, (x: number) => x / (1 + Math.exp(-x)), GRID],
      ['logSigmoid', tg.logSigmoid, (x: number) => -softplus(-x), GRID],
      ['softsign', tg.softsign, (x: number) => x / (1 + Math.abs(x)), GRID],
      ['selu', tg.selu, (x: number) => lambda * (x > 0 ? x : alpha * Math.expm1(x)), GRID],
      ['mish', tg.mish, (x: number) => x * Math.tanh(softplus(x)), GRID],
    ] as const) {
      assertAccurate(name, f, ref, 4, xs);
    }
    tg.tidy(() => {
      const nan = (v: number[]) => v.map((u) => (Number.isNaN(u) ? 'NaN' : u));
      assert.equal(nan(values(tg.atanh(tg.tensor([-1, 1, 1.5])))), [-Infinity, Infinity, 'NaN']);
      assert.equal(nan(values(tg.acosh(tg.tensor([1, 0.5, Infinity])))), [0, 'NaN', Infinity]);
      assert.equal(nan(values(tg.asin(tg.tensor([1, -1.5])))), [Math.fround(Math.PI / 2), 'NaN']);
      assert.equal(values(tg.log2(tg.tensor([0, 8, 0.25]))), [-Infinity, 3, -2]);
      assert.equal(values(tg.exp2(tg.tensor([-3, 0, 10, 128]))), [0.125, 1, 1024, Infinity]);
      assert.equal(values(tg.mish(tg.tensor([1e4, -1e4]))), [1e4, -0]);
      assert.equal(values(tg.logSigmoid(tg.tensor([-1e4, 200]))), [-1e4, -0]);
      // halves to even, as PyTorch; floor, ceil and trunc of large values are the values
      const halves = tg.tensor([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.49999997, 8388607.5]);
      assert.equal(values(tg.round(halves)), [-2, -2, -0, 0, 2, 2, 0, 8388608]);
      assert.equal(values(tg.trunc(tg.tensor([-2.7, 2.7, 1e10]))), [-2, 2, 1e10]);
      assert.equal(values(tg.frac(tg.tensor([-2.75, 2.75, 1e10]))), [-0.75, 0.75, 0]);
      // the signs of zero pick the side of atan2's cut, and atan2(0, 0) is 0 (PyTorch's)
      const pi = Math.fround(Math.PI);
      assert.equal(values(tg.atan2(tg.tensor([0, -0, 0, -0]), tg.tensor([-1, -1, 0, 1]))), [pi, -pi, 0, -0]);
    });
  });

  s('gelu and its adjoint match float64 in the lower tail, where ½(1 + erf(x/√2)) cancels (PyTorch: 0 at −6)', () => {
    // the float64 loops (cpu, and wasm with its SIMD off), wasm's float32 SIMD, then the TF.js formulations
    // the GPUs and createGraph run
    for (const [fused, simd, ulps, adjointUlps] of [
      [true, false, 1, 1],
      [true, true, GELU_SIMD_ULPS, GELU_SIMD_ULPS],
      [false, false, 8, 4],
    ] as const) {
      setFusedEnabled(fused, 'gelu');
      setFusedEnabled(fused, 'geluGrad');
      setFusedEnabled(fused, 'geluWithDerivative');
      setSimdGelu(simd);
      try {
        const how = `fused: ${fused}, SIMD: ${simd}`;
        assertAccurate(`gelu (${how})`, tg.gelu, (x) => x * normalCdf(x), ulps);
        const d = (x: number) => normalCdf(x) + x * normalPdf(x);
        const scale = (x: number) => normalCdf(x) + Math.abs(x) * normalPdf(x);
        assertAdjointAccurate(`gelu (${how})`, tg.gelu, d, adjointUlps, GRID, scale);
        tg.tidy(() => {
          assert.equal(values(tg.gelu(tg.tensor([0, 1e4, -1e4, Infinity]))), [0, 1e4, -0, Infinity]);
          assert.ok(Number.isNaN(values(tg.gelu(tg.tensor([NaN])))[0]));
        });
        // at ±∞ the limits, where x Φ(x) and Φ(x) + x φ(x) would take ∞·0 (PyTorch: NaN)
        const x = tg.tensor([-Infinity, Infinity, -1e30, 1e30], { requiresGrad: true });
        const y = tg.gelu(x);
        assert.equal(values(y), [-0, Infinity, -0, 1e30].map(Math.fround));
        const total = y.sum();
        total.backward();
        assert.equal(values(x.grad!).map(Math.abs), [0, 1, 0, 1], how);
        tg.dispose([x.grad!, x, y, total]);
      } finally {
        setFusedEnabled(true, 'gelu');
        setFusedEnabled(true, 'geluGrad');
        setFusedEnabled(true, 'geluWithDerivative');
        setSimdGelu(true);
      }
    }
  });

  s('every unary adjoint matches its float64 derivative at tiny, moderate and large |x|', () => {
    const [lambda, alpha] = [1.0507009873554805, 1.6732632423543772];
    const sech2 = (x: number) => (4 * Math.exp(-2 * Math.abs(x))) / (1 + Math.exp(-2 * Math.abs(x))) ** 2;
    const positive = Float32Array.from(Array.from(GRID).filter((v) => v > 0));
    const inUnit = Float32Array.from(
      Array.from(GRID)
        .filter((v) => Math.abs(v) < 1)
        .flatMap((v) => [v, Math.sign(v) * (1 - Math.abs(v))]),
    );
    const aboveOne = Float32Array.from(Array.from(GRID).flatMap((v) => (v > 0 ? [1 + v, 1 / v] : [])));
    const aboveMinusOne = Float32Array.from(Array.from(GRID).filter((v) => v > -1));
    const mishTerms = (x: number) => {
      const t = Math.tanh(softplus64(x));
      return [t, x * sigmoid64(x) * (1 - t * t)];
    };
    const cases: [
      string,
      (x: tg.Tensor) => tg.Tensor,
      (x: number) => number,
      Float32Array?,
      ((x: number) => number)?,
    ][] = [
      ['exp', tg.exp, Math.exp],
      ['expm1', tg.expm1, Math.exp],
      ['log', tg.log, (x) => 1 / x, positive],
      ['log1p', tg.log1p, (x) => 1 / (1 + x), aboveMinusOne],
      ['sqrt', tg.sqrt, (x) => 0.5 / Math.sqrt(x), positive],
      ['rsqrt', tg.rsqrt, (x) => -0.5 * x ** -1.5, positive],
      ['reciprocal', tg.reciprocal, (x) => -1 / x / x],
      ['sin', tg.sin, Math.cos],
      ['cos', tg.cos, (x) => -Math.sin(x)],
      ['tan', tg.tan, (x) => 1 / Math.cos(x) ** 2],
      ['tanh', tg.tanh, sech2],
      ['sigmoid', tg.sigmoid, (x) => sigmoid64(x) * sigmoid64(-x)],
      ['softplus', tg.softplus, sigmoid64],
      ['logSigmoid', tg.logSigmoid, (x) => sigmoid64(-x)],
      ['elu', tg.elu, (x) => (x > 0 ? 1 : Math.exp(x))],
      ['selu', tg.selu, (x) => lambda * (x > 0 ? 1 : alpha * Math.exp(x))],
      ['erf', tg.erf, (x) => (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x)],
      ['gelu', tg.gelu, (x) => normalCdf(x) + x * normalPdf(x), GRID, (x) => normalCdf(x) + Math.abs(x) * normalPdf(x)],
      [
        'silu',
        tg.silu,
        (x) => sigmoid64(x) * (1 + x * sigmoid64(-x)),
        GRID,
        (x) => sigmoid64(x) * (1 + Math.abs(x) * sigmoid64(-x)),
      ],
      [
        'mish',
        tg.mish,
        (x) => mishTerms(x)[0] + mishTerms(x)[1],
        GRID,
        (x) => Math.abs(mishTerms(x)[0]) + Math.abs(mishTerms(x)[1]),
      ],
      ['softsign', tg.softsign, (x) => 1 / (1 + Math.abs(x)) ** 2],
      ['atan', tg.atan, (x) => 1 / (1 + x * x)],
      ['asin', tg.asin, (x) => 1 / Math.sqrt((1 - x) * (1 + x)), inUnit],
      ['acos', tg.acos, (x) => -1 / Math.sqrt((1 - x) * (1 + x)), inUnit],
      ['atanh', tg.atanh, (x) => 1 / (1 - x) / (1 + x), inUnit],
      ['sinh', tg.sinh, Math.cosh],
      ['cosh', tg.cosh, Math.sinh],
      ['asinh', tg.asinh, (x) => 1 / Math.hypot(x, 1)],
      ['acosh', tg.acosh, (x) => 1 / Math.sqrt(x - 1) / Math.sqrt(x + 1), aboveOne],
      ['log2', tg.log2, (x) => 1 / x / Math.LN2, positive],
      ['log10', tg.log10, (x) => 1 / x / Math.LN10, positive],
      ['exp2', tg.exp2, (x) => 2 ** x * Math.LN2],
    ];
    for (const [name, f, ref, xs, scale] of cases) assertAdjointAccurate(name, f, ref, 4, xs, scale);
  });

  s("sigmoid's, tanh's, elu's and expm1's adjoints are their derivatives where PyTorch's formulas give 0", () => {
    const near = { atol: 0, rtol: 1e-6 };
    const near2 = { atol: 0, rtol: 1e-5 };
    tg.tidy(() => {
      const d = (f: (t: tg.Tensor) => tg.Tensor, xs: number[]) =>
        values(tg.grad((t: tg.Tensor) => tg.sum(f(t)))(tg.tensor(xs)));
      // σ(x)(1 − σ(x)), 1 − tanh²x and y + 1 are 0 there
      assertClose(d(tg.sigmoid, [20, 40, -40]), [Math.exp(-20), Math.exp(-40), Math.exp(-40)], near);
      assertClose(d(tg.tanh, [10, -20, 40]), [4 * Math.exp(-20), 4 * Math.exp(-40), 4 * Math.exp(-80)], near);
      assertClose(d(tg.elu, [-20, -60]), [Math.exp(-20), Math.exp(-60)], near);
      assertClose(d(tg.expm1, [-20, -60]), [Math.exp(-20), Math.exp(-60)], near);
      // and the second derivatives through them: σ″ = σ(x)σ(−x)(1 − 2σ(x)), tanh″ = −2 tanh x sech²x
      const dd = (f: (t: tg.Tensor) => tg.Tensor, xs: number[]) =>
        values(tg.grad((t: tg.Tensor) => tg.sum(tg.grad((u: tg.Tensor) => tg.sum(f(u)))(t)))(tg.tensor(xs)));
      assertClose(
        dd(tg.sigmoid, [20, 0.5]),
        [-Math.exp(-20), sigmoid64(0.5) * sigmoid64(-0.5) * (1 - 2 * sigmoid64(0.5))],
        near2,
      );
      assertClose(dd(tg.tanh, [10, 0.5]), [-8 * Math.exp(-20), -2 * Math.tanh(0.5) * sech2At(0.5)], near2);
      assertClose(dd(tg.gelu, [-6, 0.5]), [normalPdf(-6) * (2 - 36), normalPdf(0.5) * (2 - 0.25)], near2);
      assertClose(dd(tg.erf, [5]), [(-20 / Math.sqrt(Math.PI)) * Math.exp(-25)], near2);
    });
  });

  s('the GPU formulations of log1p, asinh, acosh, atanh, sinh, cosh and softplus match float64 here too', () => {
    const inUnit = Float32Array.from(Array.from(GRID).filter((v) => Math.abs(v) < 1));
    const aboveOne = Float32Array.from(Array.from(GRID).flatMap((v) => (v > 0 ? [1 + v, 1 / v] : [])));
    const aboveMinusOne = Float32Array.from(Array.from(GRID).filter((v) => v > -1));
    const run = (f: (x: tf.Tensor) => tf.Tensor) => (x: tg.Tensor) => new tg.Tensor(f(x.value));
    for (const [name, f, ref, xs] of [
      ['log1p', gpu.log1pByFormula, Math.log1p, aboveMinusOne],
      ['asinh', gpu.asinhByFormula, Math.asinh, GRID],
      ['acosh', gpu.acoshByFormula, Math.acosh, aboveOne],
      ['atanh', gpu.atanhByFormula, Math.atanh, inUnit],
      ['sinh', gpu.sinhByFormula, Math.sinh, GRID],
      ['cosh', gpu.coshByFormula, Math.cosh, GRID],
      ['softplus', gpu.softplusByFormula, softplus64, GRID],
    ] as const) {
      assertAccurate(`${name} by formula`, run(f), ref, 6, xs);
    }
  });

  s('a tensor that cannot fit is a TapegradError with the function, the shape and the bytes', () => {
    const t0 = Date.now();
    assertThrows(
      () => tg.zeros([1e5, 1e5]),
      /^zeros: the tensor \[100000,100000\] float32 needs 37 GiB \(4\.00e\+10 bytes\)/,
    );
    assertThrows(() => tg.ones([2 ** 33]), /^ones: the tensor \[8589934592\] float32 needs 32 GiB/);
    assertThrows(() => tg.randn([2 ** 17, 2 ** 17]), /^randn: the tensor \[131072,131072\] float32 needs 64 GiB/);
    assert.ok(Date.now() - t0 < 1000, 'refused before allocating');
  });

  s.run();
}

const w = suite('edge values on wasm: outputs the 4 GiB heap cannot hold');
w.before(async () => {
  await tg.setBackend('wasm');
});

w('ones([2³¹]) is refused at once; an op whose output does not fit names itself, and the process stays usable', () => {
  const t0 = Date.now();
  assertThrows(
    () => tg.ones([2 ** 31]),
    /^ones: the tensor \[2147483648\] float32 needs 8\.0 GiB .*more than the wasm backend's memory can hold/,
  );
  assert.ok(Date.now() - t0 < 1000, `refused before allocating (${Date.now() - t0} ms)`);
  assertNoLeak(() => {
    const a = tg.ones([1e5, 1]);
    const b = tg.ones([1, 1e5]);
    assertThrows(
      () => tg.matmul(a, b),
      /^matmul: the result \[1,100000,100000\] float32 needs 37 GiB .*\(inputs \[100000,1\] and \[1,100000\]\)/,
    );
    const c = tg.zeros([1e5, 1, 1]);
    const d = tg.zeros([1, 1e5, 1]);
    assertThrows(() => tg.add(c, d), /^add: the result \[100000,100000,1\] float32 needs 37 GiB/);
    tg.dispose([a, b, c, d]);
  });
  // later ops and a gradient still run
  const x = tg.tensor([1, 2], { requiresGrad: true });
  const g = tg.grad((t: tg.Tensor) => tg.sum(tg.mul(t, t)))(x);
  assert.equal(values(g), [2, 4]);
  tg.dispose([x, g]);
});

w.run();
