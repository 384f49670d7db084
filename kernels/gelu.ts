// TapegradGelu and TapegradGeluGrad: gelu's forward x Φ(x) and its adjoint dy·(Φ(x) + x φ(x)) in one
// pass on cpu and wasm, computed in float64 and rounded once (JavaScript loops over the backend's
// memory): in TF.js ops, Φ without cancellation takes some thirty ops (its lower tail ½ erfc(−x/√2)
// by a rational function and a split e^(−x²/2), below), as TF.js's ½(1 + erf(x/√2)) does not.
//
// Inputs x (TapegradGelu), dy and x (TapegradGeluGrad), float32 of one shape. The TF.js
// formulations below are gelu's forward on the GPUs and the kernels' reference, and give the
// recorded adjoints in src/ops/elementwise.ts (erf's and gelu's) their pieces.
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { jsKernelConfigs } from './js-kernel.js';

export const GELU = 'TapegradGelu';
export const GELU_GRAD = 'TapegradGeluGrad';

/** x is rounded to a multiple of 1/64: for |x| < 256 its square is then exact in float32. */
const SPLIT = 64;
/** Beyond this |x|, e^(−x²/4) is 0 in float32 (and clamping keeps ∞ out of the split). */
const TAIL_END = 24;

/** x rounded to a multiple of 1/64 (|x| first clamped where e^(−x²/4) is 0 anyway): xₕ² is exact in float32. */
export function splitPoint(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.div(tf.round(tf.mul(tf.clipByValue(x, -TAIL_END, TAIL_END), SPLIT)), SPLIT));
}

/**
 * e^(−c x²) (c a power of 2) as e^(−c xₕ²)·e^(−c (x − xₕ)(x + xₕ)), xₕ = splitPoint(x): the first exponent
 * exact, the second small, so that the rounding of x², which costs 2cx² ulp (160 at x = 9, c = 1), never
 * reaches the exponential.
 */
export function expMinusScaledSquare(x: tf.Tensor, c: number): tf.Tensor {
  return tf.tidy(() => {
    const xh = splitPoint(x);
    return tf.mul(tf.exp(tf.mul(tf.square(xh), -c)), tf.exp(tf.mul(tf.mul(tf.sub(x, xh), tf.add(x, xh)), -c)));
  });
}

// erfcx(a/√2) = e^(a²/2) erfc(a/√2) ≈ P(a)/Q(a) on [0, 14.2], relative error 1.5e−10 (float64), about
// 6 ulp evaluated in float32; every coefficient is positive, so no term cancels. Fitted by
// scripts/fit-normal-tail.py.
const P = [
  0.999999999847298, 1.0137641842207017, 0.5000355131696939, 0.14216841632061047, 0.023191081209368546,
  0.001770091552809654,
];
const Q = [
  1.0, 1.8116487346823933, 1.4455222107275998, 0.6556646126570097, 0.18040600904190912, 0.02906551157253353,
  0.002218483777643276,
];

const horner = (c: number[], a: tf.Tensor) => {
  let s: tf.Tensor = tf.fill(a.shape, c[c.length - 1]);
  for (let k = c.length - 2; k >= 0; k--) s = tf.add(tf.mul(s, a), c[k]);
  return s;
};

/**
 * The lower normal tail Φ(−a) = ½ erfc(a/√2) for a = |x| as two factors, c·h·h: c = ½ erfcx(a/√2)
 * and h = e^(−a²/4), so that a caller multiplying by x does so before the product leaves float32's
 * normal range (x Φ(x) is normal down to x ≈ −14, where Φ(x) is not).
 */
export function normalTailFactors(x: tf.Tensor): [tf.Tensor, tf.Tensor] {
  return tf.tidy(() => {
    const a = tf.minimum(tf.abs(x), TAIL_END);
    return [tf.mul(tf.div(horner(P, a), horner(Q, a)), 0.5), expMinusScaledSquare(a, 0.25)];
  });
}

/** f·Φ(x) (f = x, or 1): by the tail's factors below 0, f·(1 − tail) above (so gelu(∞) = ∞, as PyTorch). */
export function timesNormalCdf(x: tf.Tensor, f: tf.Tensor | number): tf.Tensor {
  return tf.tidy(() => {
    const [c, h] = normalTailFactors(x);
    const below = tf.mul(tf.mul(tf.mul(f, c), h), h);
    const above = tf.mul(f, tf.sub(1, tf.mul(tf.mul(c, h), h)));
    return tf.where(tf.less(x, 0), below, above);
  });
}

// ---- the kernels on cpu and wasm: float64 loops

/** erfcx(a/√2) = P(a)/Q(a) in float64 (a ≥ 0). */
function erfcxHalf64(a: number): number {
  let p = P[P.length - 1];
  for (let k = P.length - 2; k >= 0; k--) p = p * a + P[k];
  let q = Q[Q.length - 1];
  for (let k = Q.length - 2; k >= 0; k--) q = q * a + Q[k];
  return p / q;
}
/** Φ(x) in float64: ½ erfcx(|x|/√2) e^(−x²/2) below 0 (x² is exact in float64 for a float32 x). */
function normalCdf64(x: number): number {
  const a = Math.min(Math.abs(x), TAIL_END); // the tail is 0 beyond, and P/Q would be ∞/∞ at ∞
  const tail = 0.5 * erfcxHalf64(a) * Math.exp(-0.5 * a * a);
  return x < 0 ? tail : 1 - tail;
}
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

export const geluJs: KernelConfig[] = jsKernelConfigs(
  GELU,
  ({ x }) => [x!.shape],
  ({ x }, [y]) => {
    const v = x as Float32Array;
    for (let i = 0; i < y.length; i++) y[i] = v[i] * normalCdf64(v[i]);
  },
  false,
);
export const geluGradJs: KernelConfig[] = jsKernelConfigs(
  GELU_GRAD,
  ({ x }) => [x!.shape],
  ({ dy, x }, [dx]) => {
    const [g, v] = [dy as Float32Array, x as Float32Array];
    for (let i = 0; i < dx.length; i++)
      dx[i] = g[i] * (normalCdf64(v[i]) + v[i] * INV_SQRT_2PI * Math.exp(-0.5 * v[i] * v[i]));
  },
  false,
);

/** gelu's forward in TF.js ops (the GPUs' path, and the kernel's reference): x Φ(x). */
export function geluReference(x: tf.Tensor): tf.Tensor {
  return timesNormalCdf(x, x);
}
