// TF.js 4.22's webgl and webgpu kernels for Log1p, Asinh, Acosh, Atanh, Sinh, Cosh and Softplus are
// the textbook formulas in float32: log(1 + x), log(x + √(x² + 1)), log(x + √(x² − 1)),
// (log(1 + x) − log(1 − x))/2, (eˣ − e⁻ˣ)/2, (e⁻ˣ + eˣ)/2 and log(eˣ + 1); Acos is the GPU's own, 7e−5
// off near 0 on SwiftShader. Each loses every digit somewhere a
// user reaches: near 0 (log1p(1e−7), asinh(1e−5), atanh(1e−5), sinh(1e−5) come out 0 or 19%
// off), for negative x (asinh(−100) is log of a cancelled difference), near 1 (acosh(1 + 1e−6))
// and past eˣ's overflow (sinh(89), cosh(89) are finite in float32). On the GPU each is computed
// here by a formulation that keeps float32 precision; cpu and wasm keep their kernels (float64
// JavaScript on cpu, libm on wasm: within 2 ulp). The formulations are exported for the tests.
import * as tf from '@tensorflow/tfjs-core';
import { expm1SmallArgument, logZeroNegativeInfinity } from './defects.js';

const onGpu = () => tf.getBackend() === 'webgl' || tf.getBackend() === 'webgpu';
const LN2 = Math.LN2;
/** Above this |x|, x² + 1 rounds to x² (asinh, acosh) and the function is log(2|x|). */
const LARGE = 4096;
/** Below this |x| log1p takes the series; its first omitted term is 2s¹¹/11, s = x/(2 + x). */
const LOG1P_SERIES_BELOW = 0.25;
/** Above this |x|, sinh and cosh are e^|x|/2 to float32 precision (e^(−2|x|) < 2⁻⁵⁷). */
const EXP_DOMINATES = 20;

/** log(1 + x): the series 2(s + s³/3 + … + s⁹/9) of 2 atanh(s), s = x/(2 + x), for small |x|. */
export function log1pByFormula(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const s = tf.div(x, tf.add(x, 2));
    const s2 = tf.square(s);
    let p = tf.scalar(1 / 9);
    for (const k of [7, 5, 3, 1]) p = tf.add(tf.mul(p, s2), 1 / k);
    const series = tf.mul(tf.mul(s, p), 2);
    return tf.where(tf.less(tf.abs(x), LOG1P_SERIES_BELOW), series, logZeroNegativeInfinity(tf.add(x, 1)));
  });
}

/**
 * softplus x = max(x, 0) + log1p(e^(−|x|)), log1p by the formula above: no overflow, and no rounding of
 * 1 + eˣ for negative x.
 */
export function softplusByFormula(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.add(tf.relu(x), log1pByFormula(tf.exp(tf.neg(tf.abs(x))))));
}

/** e^(a/2)·½·e^(a/2) for large a: finite up to sinh's own overflow, where eᵃ alone is not. */
const halfExp = (a: tf.Tensor) => {
  const h = tf.exp(tf.mul(a, 0.5));
  return tf.mul(tf.mul(h, 0.5), h);
};

/** v (of |x|, ≥ 0) given the sign of x: −v below 0, x itself at ±0 (sign(−0)·0 would lose the sign of zero), v else. */
function withSignOf(x: tf.Tensor, v: tf.Tensor): tf.Tensor {
  return tf.where(tf.equal(x, 0), x, tf.where(tf.less(x, 0), tf.neg(v), v));
}

/** asinh x = sign(x)·log1p(|x| + x²/(1 + √(1 + x²))), and sign(x)·(log|x| + ln 2) for large |x|. */
export function asinhByFormula(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const a = tf.abs(x);
    const a2 = tf.square(a);
    const small = log1pByFormula(tf.add(a, tf.div(a2, tf.add(tf.sqrt(tf.add(a2, 1)), 1))));
    const large = tf.add(tf.log(a), LN2);
    return withSignOf(x, tf.where(tf.less(a, LARGE), small, large));
  });
}

/** acosh x = log1p(t + √(t(t + 2))), t = x − 1, and log x + ln 2 for large x; NaN below 1. */
export function acoshByFormula(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const t = tf.sub(x, 1);
    const small = log1pByFormula(tf.add(t, tf.sqrt(tf.mul(tf.abs(t), tf.add(t, 2)))));
    const large = tf.add(tf.log(x), LN2);
    return tf.where(tf.less(x, 1), tf.scalar(NaN), tf.where(tf.less(x, LARGE), small, large));
  });
}

/** atanh x = sign(x)·½·log1p(2|x|/(1 − |x|)); ±∞ at ±1, NaN beyond. */
export function atanhByFormula(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const a = tf.abs(x);
    const inside = tf.mul(log1pByFormula(tf.div(tf.mul(a, 2), tf.sub(1, a))), 0.5);
    const y = tf.where(tf.equal(a, 1), tf.scalar(Infinity), tf.where(tf.greater(a, 1), tf.scalar(NaN), inside));
    return withSignOf(x, y);
  });
}

/** sinh x = sign(x)·(e + e/(e + 1))/2 with e = expm1|x|, and sign(x)·e^|x|/2 for large |x|. */
export function sinhByFormula(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const a = tf.abs(x);
    const e = expm1SmallArgument(tf.minimum(a, EXP_DOMINATES));
    const small = tf.mul(tf.add(e, tf.div(e, tf.add(e, 1))), 0.5);
    return withSignOf(x, tf.where(tf.less(a, EXP_DOMINATES), small, halfExp(a)));
  });
}

/** cosh x = (e^|x| + e^(−|x|))/2, and e^|x|/2 for large |x|. */
export function coshByFormula(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const a = tf.abs(x);
    const e = tf.exp(tf.minimum(a, EXP_DOMINATES));
    const small = tf.mul(tf.add(e, tf.div(1, e)), 0.5);
    return tf.where(tf.less(a, EXP_DOMINATES), small, halfExp(a));
  });
}

/**
 * acos x = π/2 − asin x for |x| ≤ ½; 2 asin √((1 − x)/2) above ½ and π − 2 asin √((1 + x)/2)
 * below −½ (1 ∓ x is exact there): asin keeps its precision on the GPUs, where acos does not.
 */
export function acosByFormula(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const mid = tf.sub(Math.PI / 2, tf.asin(x));
    const top = tf.mul(tf.asin(tf.sqrt(tf.mul(tf.sub(1, x), 0.5))), 2);
    const bottom = tf.sub(Math.PI, tf.mul(tf.asin(tf.sqrt(tf.mul(tf.add(1, x), 0.5))), 2));
    return tf.where(tf.greater(x, 0.5), top, tf.where(tf.less(x, -0.5), bottom, mid));
  });
}

/**
 * The formula on the GPUs (NaN passed through: a shader's log, exp or comparison of NaN may give a
 * number, asinh(NaN) was 89.8 on SwiftShader), the kernel elsewhere.
 */
const gpuOr =
  (kernel: (x: tf.Tensor) => tf.Tensor, formula: (x: tf.Tensor) => tf.Tensor) =>
  (x: tf.Tensor): tf.Tensor =>
    onGpu() && x.dtype === 'float32' ? tf.tidy(() => tf.where(tf.isNaN(x), x, formula(x))) : kernel(x);

/** Defect: the GPUs' Log1p is log(1 + x), 19% off at 1e−7 and 0 below 6e−8. */
export const log1pSmallArgument = gpuOr(tf.log1p, log1pByFormula);
/** Defect: the GPUs' Asinh is log(x + √(x² + 1)): 0 near 0, cancelled for x < 0. */
export const asinhSmallOrNegative = gpuOr(tf.asinh, asinhByFormula);
/** Defect: the GPUs' Acosh is log(x + √(x² − 1)): x² − 1 cancels near 1. */
export const acoshNearOne = gpuOr(tf.acosh, acoshByFormula);
/** Defect: the GPUs' Atanh is (log(1 + x) − log(1 − x))/2: 0 or far off near 0. */
export const atanhNearZero = gpuOr(tf.atanh, atanhByFormula);
/** Defect: the GPUs' Sinh is (eˣ − e⁻ˣ)/2: cancelled near 0, ∞ past eˣ's overflow. */
export const sinhNearZero = gpuOr(tf.sinh, sinhByFormula);
/** Defect: the GPUs' Cosh is (e⁻ˣ + eˣ)/2: ∞ past eˣ's overflow, where cosh is still finite. */
export const coshLargeArgument = gpuOr(tf.cosh, coshByFormula);
/**
 * Defect: the GPUs' Softplus is log(eˣ + 1) for |x| below 13.9, where 1 + eˣ rounds: 4e−4 off at x = −10,
 * 2e−3 at x = −13 (webgpu on SwiftShader; cpu and wasm: within 8 ulp).
 */
export const softplusModerateNegative = gpuOr(tf.softplus, softplusByFormula);
/** Defect: the GPUs' Acos (SwiftShader's, at least) is a low-precision polynomial: acos(1e−7) 7e−5 off. */
export const acosLowPrecision = gpuOr(tf.acos, acosByFormula);
