// TapegradBatchNormGrad: the backward of batch normalisation with batch statistics, in two passes
// over x and dy on cpu and wasm instead of a dozen elementwise kernels and reductions.
//
// Forward (channels last, M entries per channel): y = x̂·w + b, x̂ = (x − μ)/s, s = √(σ² + ε), μ and
// σ² the mean and biased variance of each channel over every other axis. Inputs dy, x ([..., C],
// float32) and weight [C]; attr eps. Outputs dx (x's shape), dweight and dbias ([C]):
//   dbias = Σ dy,  dweight = Σ dy·x̂,  dx = (w/s)·(dy − dbias/M − x̂·dweight/M).
// μ and σ² are computed again from x (not kept by the forward), in float64: the sums run over
// x − x₀ (x₀ the channel's first entry), which keeps the variance accurate when |μ| ≫ σ.
// batchNormGradReference, at the end, is the same in TF.js ops: what the GPUs run and the tests'
// oracle.
import * as tf from '@tensorflow/tfjs-core';
import { jsKernelConfigs } from './js-kernel.js';

export const BATCH_NORM_GRAD = 'TapegradBatchNormGrad';

export const batchNormGradJs = jsKernelConfigs(
  BATCH_NORM_GRAD,
  ({ x, weight }) => [x!.shape, weight!.shape, weight!.shape],
  ({ dy, x, weight }, [dx, dweight, dbias], attrs) => {
    const g = dy as Float32Array;
    const xs = x as Float32Array;
    const w = weight as Float32Array;
    const C = w.length;
    const total = xs.length;
    const M = total / C;
    const eps = attrs.eps as number;
    const x0 = new Float64Array(C);
    const sx = new Float64Array(C);
    const sxx = new Float64Array(C);
    const sg = new Float64Array(C);
    const sgx = new Float64Array(C);
    if (M > 0) for (let c = 0; c < C; c++) x0[c] = xs[c];
    for (let i = 0; i < total; i += C) {
      for (let c = 0; c < C; c++) {
        const d = xs[i + c] - x0[c];
        const gi = g[i + c];
        sx[c] += d;
        sxx[c] += d * d;
        sg[c] += gi;
        sgx[c] += gi * d;
      }
    }
    // per channel: μ, 1/s, and dx = scale·(dy − shift − x̂·slope)
    const mu = new Float64Array(C);
    const inv = new Float64Array(C);
    const scale = new Float64Array(C);
    const shift = new Float64Array(C);
    const slope = new Float64Array(C);
    for (let c = 0; c < C; c++) {
      const md = sx[c] / M;
      const variance = Math.max(sxx[c] / M - md * md, 0);
      inv[c] = 1 / Math.sqrt(variance + eps);
      mu[c] = x0[c] + md;
      // Σ dy·(x − μ) = Σ dy·d − md·Σ dy
      const dw = (sgx[c] - md * sg[c]) * inv[c];
      dbias[c] = sg[c];
      dweight[c] = dw;
      scale[c] = w[c] * inv[c];
      shift[c] = sg[c] / M;
      slope[c] = dw / M;
    }
    for (let i = 0; i < total; i += C) {
      for (let c = 0; c < C; c++) {
        const xhat = (xs[i + c] - mu[c]) * inv[c];
        dx[i + c] = scale[c] * (g[i + c] - shift[c] - xhat * slope[c]);
      }
    }
  },
);

/** [dx, dweight, dbias] of batch normalisation with batch statistics (header), in TF.js ops. */
export function batchNormGradReference(dy: tf.Tensor, x: tf.Tensor, weight: tf.Tensor, eps: number): tf.Tensor[] {
  return tf.tidy(() => {
    const axes = [...Array(x.rank - 1).keys()];
    const M = x.size / Math.max(1, weight.size);
    const d = tf.sub(x, tf.mean(x, axes));
    const inv = tf.rsqrt(tf.add(tf.mean(tf.square(d), axes), eps));
    const xhat = tf.mul(d, inv);
    const dbias = tf.sum(dy, axes);
    const dweight = tf.sum(tf.mul(dy, xhat), axes);
    const dx = tf.mul(tf.mul(weight, inv), tf.sub(tf.sub(dy, tf.div(dbias, M)), tf.mul(xhat, tf.div(dweight, M))));
    return [dx, dweight, dbias];
  });
}
