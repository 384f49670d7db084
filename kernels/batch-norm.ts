// TapegradBatchNorm and TapegradBatchNormGrad: batch normalisation with batch statistics, forward
// and backward, each in two passes over its inputs on cpu and wasm instead of a chain of
// elementwise kernels and reductions.
//
// Channels last, M entries per channel: y = x̂·w + b, x̂ = (x − μ)/s, s = √(σ² + ε), μ and σ² the
// mean and biased variance of each channel over every other axis.
//   TapegradBatchNorm: inputs x [..., C], weight and bias [C] (float32); attr eps. Outputs y (x's
//   shape), μ and σ² ([C]).
//   TapegradBatchNormGrad: inputs dy, x, weight; attr eps. Outputs dx, dweight and dbias:
//   dbias = Σ dy,  dweight = Σ dy·x̂,  dx = (w/s)·(dy − dbias/M − x̂·dweight/M),
//   μ and σ² computed again from x (the forward keeps nothing).
// The sums are float64 and run over x − x₀ (x₀ the channel's first entry), which keeps σ² accurate
// when |μ| ≫ σ, a group of rows at a time (each summed on its own, the groups then added in order).
// On wasm, both passes run four channels at a time in SIMD (wasm-simd-batch-norm.ts, the same bits;
// shared with the helper thread, the sums by groups and the affine pass by rows) and the loops here
// take the channels left over. The references at the end are the
// same in TF.js ops: what the GPUs run and the tests' oracle.
import * as tf from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { jsKernelConfigs } from './js-kernel.js';
import { BLOCK_ROWS, simdBatchNorm, simdBatchNormHelper } from './wasm-simd-batch-norm.js';

export const BATCH_NORM = 'TapegradBatchNorm';
export const BATCH_NORM_GRAD = 'TapegradBatchNormGrad';
type Simd = ReturnType<typeof simdBatchNorm>;
type Helper = ReturnType<typeof simdBatchNormHelper>;
/** Entries from which the SIMD loops are shared with the helper thread (below, waking it costs more). */
const SHARE_MIN = 1 << 16;
/** The scratch array's float64 entries per channel: the four sums, the four coefficients of a pass; then the groups'. */
const SCRATCH_PER_CHANNEL = 8;
/** Blocks of rows a group of the sums holds at least, and the most groups. */
const GROUP_BLOCKS = 8;
const MAX_GROUPS = 64;

/**
 * The groups of rows whose sums are taken apart (each by one thread) and then added in order: a
 * function of the row count alone, so that the sums' order, and their bits, do not depend on the threads.
 */
function sumGroups(M: number): { rows: number; groups: number } {
  const blocks = Math.ceil(M / BLOCK_ROWS);
  const rows = BLOCK_ROWS * Math.max(GROUP_BLOCKS, Math.ceil(blocks / MAX_GROUPS));
  return { rows, groups: Math.max(1, Math.ceil(M / rows)) };
}

/** The scratch's float64 entries for x [..., C]. */
const scratchSize = (x: TensorInfo, C: number) =>
  C * (SCRATCH_PER_CHANNEL + 4 * sumGroups(x.shape.reduce((a, b) => a * b, 1) / Math.max(C, 1)).groups);

interface Moments {
  mean: Float64Array;
  /** 1/√(σ² + ε) */
  inv: Float64Array;
  variance: Float64Array;
  /** Σ dy and Σ dy·(x − μ), when dy is given. */
  sg: Float64Array;
  sgx: Float64Array;
}

/**
 * Each channel's moments of x (and sums of dy) over the rows. A block of rows (BLOCK_ROWS) at a time,
 * one channel at a time within it: the sums stay in registers (a sum kept in an array entry waits on
 * its own store each row) and the block in the cache. With `simd`, the first channels (a multiple of
 * 4) are summed there, in the same order; the sums live in `scratch`.
 */
function moments(
  xs: Float32Array,
  g: Float32Array | null,
  C: number,
  eps: number,
  scratch: Float64Array,
  simd: Simd,
  helper: Helper,
): Moments {
  const total = xs.length;
  const M = total / C;
  const [sx, sxx, sg, sgx] = [0, 1, 2, 3].map((i) => scratch.subarray(i * C, (i + 1) * C));
  scratch.fill(0, 0, 4 * C);
  const { rows, groups } = sumGroups(M);
  // each group's [sx C][sxx C][sg C][sgx C], after the sums and the coefficients
  const groupSums = scratch.subarray(8 * C, 8 * C + 4 * C * groups);
  groupSums.fill(0);
  const from = simd && M > 0 ? C & ~3 : 0;
  if (from) {
    const name = g ? 'sumsWithDy' : 'sums';
    const group = (k: number) => [
      xs.byteOffset,
      g ? g.byteOffset : 0,
      k * rows,
      Math.min(M, (k + 1) * rows),
      C,
      4 * from,
      groupSums.byteOffset + 32 * C * k,
    ];
    const chunks = Array.from({ length: groups }, (_, k) => group(k));
    if (helper && total >= SHARE_MIN && groups > 1) helper.share(name, chunks);
    else for (const args of chunks) simd![name](...(args as Parameters<NonNullable<Simd>['sums']>));
  }
  const block = C * BLOCK_ROWS;
  for (let k = 0; k < groups; k++) {
    const [gx, gxx, gg, ggx] = [0, 1, 2, 3].map((i) => (4 * k + i) * C);
    for (let start = k * rows * C; start < Math.min(total, (k + 1) * rows * C); start += block) {
      const end = Math.min(start + block, total);
      for (let c = from; c < C; c++) {
        const shift = xs[c];
        let s1 = 0;
        let s2 = 0;
        if (g) {
          let t1 = 0;
          let t2 = 0;
          for (let i = start + c; i < end; i += C) {
            const d = xs[i] - shift;
            const gi = g[i];
            s1 += d;
            s2 += d * d;
            t1 += gi;
            t2 += gi * d;
          }
          groupSums[gg + c] += t1;
          groupSums[ggx + c] += t2;
        } else {
          for (let i = start + c; i < end; i += C) {
            const d = xs[i] - shift;
            s1 += d;
            s2 += d * d;
          }
        }
        groupSums[gx + c] += s1;
        groupSums[gxx + c] += s2;
      }
    }
    // the groups' sums added up in order, whichever thread summed each
    for (let c = 0; c < C; c++) {
      sx[c] += groupSums[gx + c];
      sxx[c] += groupSums[gxx + c];
      sg[c] += groupSums[gg + c];
      sgx[c] += groupSums[ggx + c];
    }
  }
  const mean = new Float64Array(C);
  const variance = new Float64Array(C);
  const inv = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    const md = sx[c] / M;
    variance[c] = Math.max(sxx[c] / M - md * md, 0);
    mean[c] = xs[c] + md;
    inv[c] = 1 / Math.sqrt(variance[c] + eps);
    // Σ dy·(x − μ) = Σ dy·(x − x₀) − md·Σ dy
    sgx[c] -= md * sg[c];
  }
  return { mean, inv, variance, sg, sgx };
}

/**
 * Per channel, out = a·(u − b − (x − m)·k); without u, out = (x − m)·a + b (the forward). With
 * `simd`, the first channels (a multiple of 4) there, from the coefficients copied into `scratch`.
 */
function writeAffine(
  out: Float32Array,
  xs: Float32Array,
  u: Float32Array | null,
  C: number,
  coefficients: Float64Array[],
  scratch: Float64Array,
  simd: Simd,
  helper: Helper,
): void {
  const [m, a, b, k] = coefficients;
  const total = xs.length;
  const from = simd && total > 0 ? C & ~3 : 0;
  if (from) {
    // by groups of four channels, [m 4][a 4][b 4][k 4] a group: the loop reads a group's at constant offsets
    for (let g = 0; g < from; g += 4)
      coefficients.forEach((v, i) => {
        for (let j = 0; j < 4; j++) scratch[4 * C + 4 * g + 4 * i + j] = v[g + j] ?? 0;
      });
    const coef = scratch.byteOffset + 32 * C;
    // rows r0 … r1 − 1
    const rows = (r0: number, r1: number) => [
      out.byteOffset + 4 * C * r0,
      xs.byteOffset + 4 * C * r0,
      u ? u.byteOffset + 4 * C * r0 : 0,
      r1 - r0,
      C,
      4 * from,
      coef,
    ];
    const name = u ? 'affineWithU' : 'affine';
    if (helper && total >= SHARE_MIN) helper.range(name, total / C, 1, rows);
    else simd![name](...(rows(0, total / C) as Parameters<NonNullable<Simd>['affine']>));
  }
  const block = C * BLOCK_ROWS;
  for (let start = 0; start < total; start += block) {
    const end = Math.min(start + block, total);
    for (let c = from; c < C; c++) {
      const mc = m[c];
      const ac = a[c];
      const bc = b[c];
      const kc = k[c];
      if (u) for (let i = start + c; i < end; i += C) out[i] = ac * (u[i] - bc - (xs[i] - mc) * kc);
      else for (let i = start + c; i < end; i += C) out[i] = (xs[i] - mc) * ac + bc;
    }
  }
}

export const batchNormJs = jsKernelConfigs(
  BATCH_NORM,
  ({ x, weight }) => [x!.shape, weight!.shape, weight!.shape],
  ({ x, weight, bias }, [y, mean, variance], attrs, _infos, heap, scratch) => {
    const xs = x as Float32Array;
    const w = weight as Float32Array;
    const C = w.length;
    const simd = simdBatchNorm(heap);
    const helper = simdBatchNormHelper(heap);
    const mo = moments(xs, null, C, attrs.eps as number, scratch, simd, helper);
    // y = (x − μ)·(w/s) + b
    const scale = mo.inv.map((v, c) => v * w[c]);
    const coefficients = [mo.mean, scale, Float64Array.from(bias as Float32Array), mo.inv];
    writeAffine(y, xs, null, C, coefficients, scratch, simd, helper);
    mean.set(mo.mean);
    variance.set(mo.variance);
  },
  true,
  ({ x, weight }) => scratchSize(x!, weight!.shape[0]!),
);

export const batchNormGradJs = jsKernelConfigs(
  BATCH_NORM_GRAD,
  ({ x, weight }) => [x!.shape, weight!.shape, weight!.shape],
  ({ dy, x, weight }, [dx, dweight, dbias], attrs, _infos, heap, scratch) => {
    const g = dy as Float32Array;
    const xs = x as Float32Array;
    const w = weight as Float32Array;
    const C = w.length;
    const M = xs.length / C;
    const simd = simdBatchNorm(heap);
    const helper = simdBatchNormHelper(heap);
    const mo = moments(xs, g, C, attrs.eps as number, scratch, simd, helper);
    const dw = mo.sgx.map((v, c) => v * mo.inv[c]);
    dbias.set(mo.sg);
    dweight.set(dw);
    // dx = (w/s)·(dy − Σdy/M − (x − μ)·dweight/(M·s))
    const scale = mo.inv.map((v, c) => v * w[c]);
    const shift = mo.sg.map((v) => v / M);
    const slope = dw.map((v, c) => (v * mo.inv[c]) / M);
    writeAffine(dx, xs, g, C, [mo.mean, scale, shift, slope], scratch, simd, helper);
  },
  true,
  ({ x, weight }) => scratchSize(x!, weight!.shape[0]!),
);

/** [y, μ, σ²] of batch normalisation with batch statistics (header), in TF.js ops. */
export function batchNormReference(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor, eps: number): tf.Tensor[] {
  return tf.tidy(() => {
    const axes = [...Array(x.rank - 1).keys()];
    const mean = tf.mean(x, axes);
    const d = tf.sub(x, mean);
    const variance = tf.mean(tf.square(d), axes);
    return [tf.add(tf.mul(tf.mul(d, tf.rsqrt(tf.add(variance, eps))), weight), bias), mean, variance];
  });
}

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
