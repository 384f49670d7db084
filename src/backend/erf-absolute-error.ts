// TF.js 4.22's Erf on cpu, webgl and webgpu is Abramowitz and Stegun's 7.1.26,
// 1 − t·poly(t)·e^(−x²), whose error is absolute (up to 1.5e−7): near 0, where erf x ≈ 2x/√π,
// the relative error is unbounded (erf(1e−30) = 1e−9, 120 ulp at 1e−3). Below |x| = ½ the
// Maclaurin series is used instead (8 terms: the next is under 1e−9 of the sum); wasm's kernel
// is the C library's erf, right everywhere.
import * as tf from '@tensorflow/tfjs-core';

const SERIES_BELOW = 0.5;
/** erf x = (2/√π) Σ (−1)ⁿ x^(2n+1) / (n! (2n+1)): the coefficients of x^(2n+1), n = 0 … 7. */
const COEFFS = Array.from({ length: 8 }, (_, n) => {
  let factorial = 1;
  for (let i = 2; i <= n; i++) factorial *= i;
  return ((n % 2 ? -1 : 1) * 2) / Math.sqrt(Math.PI) / (factorial * (2 * n + 1));
});

/** erf x, accurate near 0 on every backend. */
export function erf(x: tf.Tensor): tf.Tensor {
  if (tf.getBackend() === 'wasm') return tf.erf(x);
  return tf.tidy(() => {
    const z = tf.square(x);
    let poly: tf.Tensor = tf.fill(x.shape, COEFFS[COEFFS.length - 1]);
    for (let n = COEFFS.length - 2; n >= 0; n--) poly = tf.add(tf.mul(poly, z), COEFFS[n]);
    return tf.where(tf.less(tf.abs(x), SERIES_BELOW), tf.mul(x, poly), tf.erf(x));
  });
}
