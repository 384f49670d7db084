// TapegradLayerNorm and TapegradLayerNormGrad: layer normalisation, forward and backward, a row at a
// time on cpu and wasm instead of some ten elementwise kernels and reductions forward and twenty
// backward.
//
// Rows of C entries (the normalised axes, flattened): y = x̂·w + b, x̂ = (x − μ)·r, r = 1/√(σ² + ε),
// μ and σ² (biased) the row's mean and variance.
//   TapegradLayerNorm: inputs x [..., C…], weight and bias [C…] (float32); attr eps. Output y.
//   TapegradLayerNormGrad: inputs dy, x, weight; attr eps. Outputs dx, dweight and dbias:
//   dbias = Σ dy and dweight = Σ dy·x̂ over the rows (in groups of rows, each summed on its own and the
//   groups then added in order); dx = r·((g − Σg/C) − x̂·(Σ g·x̂)/C), g = dy·w, the sums along the row;
//   μ and r computed again from x (the forward keeps nothing).
// In float64, rounded once: the row's sums in four partial sums (entry index mod 4) joined as
// (s₀ + s₂) + (s₁ + s₃), μ first and then Σ(x − μ)² (two passes, so a mean far from 0 costs no
// digits). On wasm, rows of a multiple of 4 entries run in SIMD (wasm-simd-layer-norm.ts, the same
// bits), shared with the helper thread: the forward by rows, the backward by groups. The references
// at the end are the same in TF.js ops: what the GPUs run and the tests' oracle.
import * as tf from '@tensorflow/tfjs-core';
import { jsKernelConfigs } from './js-kernel.js';
import { simdLayerNorm, simdLayerNormHelper } from './wasm-simd-layer-norm.js';

export const LAYER_NORM = 'TapegradLayerNorm';
export const LAYER_NORM_GRAD = 'TapegradLayerNormGrad';

/** μ and r of the row of x from `start`, C long (header). */
function rowMoments(xs: Float32Array, start: number, C: number, eps: number): [number, number] {
  let [s0, s1, s2, s3] = [0, 0, 0, 0];
  let j = 0;
  for (; j + 3 < C; j += 4) {
    s0 += xs[start + j];
    s1 += xs[start + j + 1];
    s2 += xs[start + j + 2];
    s3 += xs[start + j + 3];
  }
  if (j < C) s0 += xs[start + j];
  if (j + 1 < C) s1 += xs[start + j + 1];
  if (j + 2 < C) s2 += xs[start + j + 2];
  const mu = (s0 + s2 + (s1 + s3)) / C;
  [s0, s1, s2, s3] = [0, 0, 0, 0];
  for (j = 0; j + 3 < C; j += 4) {
    const d0 = xs[start + j] - mu;
    const d1 = xs[start + j + 1] - mu;
    const d2 = xs[start + j + 2] - mu;
    const d3 = xs[start + j + 3] - mu;
    s0 += d0 * d0;
    s1 += d1 * d1;
    s2 += d2 * d2;
    s3 += d3 * d3;
  }
  for (let k = 0; j + k < C; k++) {
    const d = xs[start + j + k] - mu;
    if (k === 0) s0 += d * d;
    else if (k === 1) s1 += d * d;
    else s2 += d * d;
  }
  return [mu, 1 / Math.sqrt((s0 + s2 + (s1 + s3)) / C + eps)];
}

/** Entries from which the SIMD loops are shared with the helper thread (below, waking it costs more). */
const SHARE_MIN = 1 << 16;
/** Rows a group of the backward's column sums holds at least, and the most groups. */
const GROUP_ROWS = 64;
const MAX_GROUPS = 16;

/**
 * The groups of rows whose column sums (the backward's Σ dy·x̂ and Σ dy) are taken apart, each by one
 * thread, and then added in order: a function of the row count alone, so that the sums' order, and
 * their bits, do not depend on the threads.
 */
function sumGroups(rows: number): { rows: number; groups: number } {
  const per = Math.max(GROUP_ROWS, Math.ceil(rows / MAX_GROUPS));
  return { rows: per, groups: Math.max(1, Math.ceil(rows / per)) };
}

export const layerNormJs = jsKernelConfigs(
  LAYER_NORM,
  ({ x }) => [x!.shape],
  ({ x, weight, bias }, [y], attrs, _infos, heap) => {
    const xs = x as Float32Array;
    const w = weight as Float32Array;
    const b = bias as Float32Array;
    const eps = attrs.eps as number;
    const C = w.length;
    const rows = xs.length / C;
    const simd = C % 4 === 0 ? simdLayerNorm(heap) : null;
    if (simd) {
      const args = (from: number, to: number) => [
        xs.byteOffset + 4 * C * from,
        w.byteOffset,
        b.byteOffset,
        y.byteOffset + 4 * C * from,
        to - from,
        C,
        C,
        eps,
      ];
      const helper = xs.length >= SHARE_MIN ? simdLayerNormHelper(heap) : null;
      if (helper) helper.range('forward', rows, 1, args);
      else simd.forward(...(args(0, rows) as Parameters<typeof simd.forward>));
      return;
    }
    for (let start = 0; start < xs.length; start += C) {
      const [mu, r] = rowMoments(xs, start, C, eps);
      for (let j = 0; j < C; j++) y[start + j] = (xs[start + j] - mu) * r * w[j] + b[j];
    }
  },
  false,
);

export const layerNormGradJs = jsKernelConfigs(
  LAYER_NORM_GRAD,
  ({ x, weight }) => [x!.shape, weight!.shape, weight!.shape],
  ({ dy, x, weight }, [dx, dweight, dbias], attrs, _infos, heap, scratch) => {
    const g = dy as Float32Array;
    const xs = x as Float32Array;
    const w = weight as Float32Array;
    const eps = attrs.eps as number;
    const C = w.length;
    const rows = xs.length / C;
    // each group's Σ dy·x̂ and Σ dy per column, in float64 across its rows: [dw C][db C] a group
    const { rows: per, groups } = sumGroups(rows);
    scratch.fill(0);
    const simd = C % 4 === 0 ? simdLayerNorm(heap) : null;
    if (simd) {
      const group = (k: number) => [
        g.byteOffset + 4 * C * k * per,
        xs.byteOffset + 4 * C * k * per,
        w.byteOffset,
        dx.byteOffset + 4 * C * k * per,
        scratch.byteOffset + 16 * C * k,
        Math.min(rows, (k + 1) * per) - k * per,
        C,
        C,
        eps,
      ];
      const chunks = Array.from({ length: groups }, (_, k) => group(k));
      const helper = xs.length >= SHARE_MIN && groups > 1 ? simdLayerNormHelper(heap) : null;
      if (helper) helper.share('backward', chunks);
      else for (const args of chunks) simd.backward(...(args as Parameters<typeof simd.backward>));
    } else {
      const sg = [0, 0, 0, 0];
      const sgx = [0, 0, 0, 0];
      for (let k = 0; k < groups; k++) {
        const dw = scratch.subarray(2 * C * k, 2 * C * k + C);
        const db = scratch.subarray(2 * C * k + C, 2 * C * (k + 1));
        for (let start = k * per * C; start < Math.min(rows, (k + 1) * per) * C; start += C) {
          const [mu, r] = rowMoments(xs, start, C, eps);
          sg.fill(0);
          sgx.fill(0);
          for (let j = 0; j < C; j++) {
            const xh = (xs[start + j] - mu) * r;
            const gy = g[start + j];
            const gw = gy * w[j];
            sg[j & 3] += gw;
            sgx[j & 3] += gw * xh;
            dw[j] += gy * xh;
            db[j] += gy;
          }
          const ca = (sg[0] + sg[2] + (sg[1] + sg[3])) / C;
          const cx = (sgx[0] + sgx[2] + (sgx[1] + sgx[3])) / C;
          for (let j = 0; j < C; j++) {
            const xh = (xs[start + j] - mu) * r;
            dx[start + j] = r * (g[start + j] * w[j] - ca - xh * cx);
          }
        }
      }
    }
    // the groups' sums added up in order, whichever thread summed each
    for (let j = 0; j < C; j++) {
      let sw = 0;
      let sb = 0;
      for (let k = 0; k < groups; k++) {
        sw += scratch[2 * C * k + j];
        sb += scratch[2 * C * k + C + j];
      }
      dweight[j] = sw;
      dbias[j] = sb;
    }
  },
  true,
  ({ x, weight }) => {
    const C = weight!.shape.reduce((a, b) => a * b, 1);
    return 2 * C * sumGroups(C ? x!.shape.reduce((a, b) => a * b, 1) / C : 0).groups;
  },
);

/** The normalised axes: the last weight.rank of x. */
const rowAxes = (x: tf.Tensor, weight: tf.Tensor) =>
  Array.from({ length: weight.rank }, (_, i) => x.rank - weight.rank + i);

/** y of layer normalisation over weight's axes, the last of x (header), in TF.js ops. */
export function layerNormReference(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor, eps: number): tf.Tensor {
  return tf.tidy(() => {
    const axes = rowAxes(x, weight);
    const d = tf.sub(x, tf.mean(x, axes, true));
    const r = tf.rsqrt(tf.add(tf.mean(tf.square(d), axes, true), eps));
    return tf.add(tf.mul(tf.mul(d, r), weight), bias);
  });
}

/** [dx, dweight, dbias] of layer normalisation (header), in TF.js ops. */
export function layerNormGradReference(dy: tf.Tensor, x: tf.Tensor, weight: tf.Tensor, eps: number): tf.Tensor[] {
  return tf.tidy(() => {
    const axes = rowAxes(x, weight);
    const lead = Array.from({ length: x.rank - weight.rank }, (_, i) => i);
    const d = tf.sub(x, tf.mean(x, axes, true));
    const r = tf.rsqrt(tf.add(tf.mean(tf.square(d), axes, true), eps));
    const xhat = tf.mul(d, r);
    const g = tf.mul(dy, weight);
    const dx = tf.mul(r, tf.sub(tf.sub(g, tf.mean(g, axes, true)), tf.mul(xhat, tf.mean(tf.mul(g, xhat), axes, true))));
    return [dx, tf.sum(tf.mul(dy, xhat), lead), tf.sum(dy, lead)];
  });
}
