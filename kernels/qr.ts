// LinalgQr: the reduced QR factorization A = Q·R of each matrix of a [..., m, n] batch, m ≥ n.
//
// One output, [..., m+n, n] float32: rows 0..m−1 hold Q (m×n, orthonormal columns), rows m..m+n−1
// hold R (n×n, upper triangular, zero below the diagonal). R's diagonal is made nonnegative (each
// column of Q and row of R whose R_kk came out negative is negated): that QR is unique for a
// matrix of full column rank and smooth in A, which the adjoint assumes.
//
// Algorithm (Householder, as LAPACK's geqr2 then org2r): for each column k, the reflector
// H_k = I − v·vᵀ with vᵀv = 2 maps the column's part below row k onto α·e_k (α = −sign(a_kk)‖x‖,
// no cancellation); v is kept in that part of the work matrix. Q = H_0⋯H_{n−1}·[I; 0] is then
// formed in place, last reflector first. A zero column gives v = 0 (H = I) and R_kk = 0: Q stays
// orthonormal for a rank-deficient A.
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { batchSize, eachMatrix, linalgKernelConfigs, perItemProgram, runWithInts } from './common.js';

export const LINALG_QR = 'LinalgQr';

/** Factors the m×n matrix at a[off..] (row-major, m ≥ n) into out[outOff..] as [m+n, n]; float64 throughout. */
export function qrInto(a: Float64Array, off: number, m: number, n: number, out: Float64Array, outOff: number): void {
  const w = a.slice(off, off + m * n);
  const r = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    let norm2 = 0;
    for (let i = k; i < m; i++) norm2 += w[i * n + k] ** 2;
    const norm = Math.sqrt(norm2);
    const xk = w[k * n + k];
    const alpha = xk >= 0 ? -norm : norm;
    if (norm === 0) {
      for (let j = k + 1; j < n; j++) r[k * n + j] = w[k * n + j];
      continue; // v = 0 is already in place: the column is zero
    }
    // v = x − α·e_k, scaled to vᵀv = 2 (vᵀv = 2‖x‖(‖x‖ + |x_k|) > 0)
    w[k * n + k] = xk - alpha;
    const scale = Math.sqrt(1 / (norm * (norm + Math.abs(xk))));
    for (let i = k; i < m; i++) w[i * n + k] *= scale;
    for (let j = k + 1; j < n; j++) {
      let s = 0;
      for (let i = k; i < m; i++) s += w[i * n + k] * w[i * n + j];
      for (let i = k; i < m; i++) w[i * n + j] -= s * w[i * n + k];
      r[k * n + j] = w[k * n + j];
    }
    r[k * n + k] = alpha;
  }
  // Q = H_0⋯H_{n−1}[I; 0], in place: when column k is formed, the columns right of it are final
  // below row k and zero above it.
  for (let k = n - 1; k >= 0; k--) {
    for (let j = k + 1; j < n; j++) {
      let s = 0;
      for (let i = k; i < m; i++) s += w[i * n + k] * w[i * n + j];
      for (let i = k; i < m; i++) w[i * n + j] -= s * w[i * n + k];
    }
    const vk = w[k * n + k];
    for (let i = k + 1; i < m; i++) w[i * n + k] *= -vk;
    w[k * n + k] = 1 - vk * vk;
    for (let i = 0; i < k; i++) w[i * n + k] = 0;
  }
  for (let k = 0; k < n; k++) {
    if (r[k * n + k] >= 0) continue;
    for (let j = k; j < n; j++) r[k * n + j] = -r[k * n + j];
    for (let i = 0; i < m; i++) w[i * n + k] = -w[i * n + k];
  }
  out.set(w, outOff);
  out.set(r, outOff + m * n);
}

const qrJs: KernelFunc = ({ inputs, backend }) => {
  const x = inputs.x as TensorInfo;
  const [m, n] = x.shape.slice(-2);
  return eachMatrix(backend, x, [m + n, n], (a, off, out, outOff) => qrInto(a, off, m, n, out, outOff));
};

// webgpu: one invocation per matrix, the same steps in f32, in place in the output: the work
// matrix (then Q) in rows 0..m−1, R in rows m..m+n−1.
const QR_WGSL = `
fn main(index : i32) {
  let m = uniforms.m;
  let n = uniforms.n;
  if (index >= uniforms.count) { return; }
  let src = index * m * n;
  let q = index * (m + n) * n;
  let r = q + m * n;
  for (var e = 0; e < m * n; e++) { result[q + e] = f32(x[src + e]); }
  for (var e = 0; e < n * n; e++) { result[r + e] = 0.0; }
  for (var k = 0; k < n; k++) {
    var norm2 = 0.0;
    for (var i = k; i < m; i++) { norm2 = norm2 + result[q + i * n + k] * result[q + i * n + k]; }
    let norm = sqrt(norm2);
    let xk = result[q + k * n + k];
    var alpha = norm;
    if (xk >= 0.0) { alpha = -norm; }
    if (norm == 0.0) {
      for (var j = k + 1; j < n; j++) { result[r + k * n + j] = result[q + k * n + j]; }
      continue;
    }
    result[q + k * n + k] = xk - alpha;
    let scale = sqrt(1.0 / (norm * (norm + abs(xk))));
    for (var i = k; i < m; i++) { result[q + i * n + k] = result[q + i * n + k] * scale; }
    for (var j = k + 1; j < n; j++) {
      var s = 0.0;
      for (var i = k; i < m; i++) { s = s + result[q + i * n + k] * result[q + i * n + j]; }
      for (var i = k; i < m; i++) { result[q + i * n + j] = result[q + i * n + j] - s * result[q + i * n + k]; }
      result[r + k * n + j] = result[q + k * n + j];
    }
    result[r + k * n + k] = alpha;
  }
  for (var kk = 0; kk < n; kk++) {
    let k = n - 1 - kk;
    for (var j = k + 1; j < n; j++) {
      var s = 0.0;
      for (var i = k; i < m; i++) { s = s + result[q + i * n + k] * result[q + i * n + j]; }
      for (var i = k; i < m; i++) { result[q + i * n + j] = result[q + i * n + j] - s * result[q + i * n + k]; }
    }
    let vk = result[q + k * n + k];
    for (var i = k + 1; i < m; i++) { result[q + i * n + k] = -vk * result[q + i * n + k]; }
    result[q + k * n + k] = 1.0 - vk * vk;
    for (var i = 0; i < k; i++) { result[q + i * n + k] = 0.0; }
  }
  for (var k = 0; k < n; k++) {
    if (result[r + k * n + k] >= 0.0) { continue; }
    for (var j = k; j < n; j++) { result[r + k * n + j] = -result[r + k * n + j]; }
    for (var i = 0; i < m; i++) { result[q + i * n + k] = -result[q + i * n + k]; }
  }
}
`;

const qrWebgpu: KernelFunc = ({ inputs, backend }) => {
  const x = inputs.x as TensorInfo;
  const [m, n] = x.shape.slice(-2);
  const count = batchSize(x.shape);
  const shape = [...x.shape.slice(0, -2), m + n, n];
  const program = perItemProgram('tapegradLinalgQr', shape, count, ['x'], 'm : i32, n : i32, count : i32,', QR_WGSL);
  return runWithInts(backend, program, [x], [m, n, count]);
};

export const qrConfigs = linalgKernelConfigs(LINALG_QR, qrJs, qrWebgpu);
