// LinalgMatrixExp: the matrix exponential e^A of each matrix of a [..., n, n] batch.
//
// Algorithm (scaling and squaring with a Taylor polynomial): s = max(0, ⌈log₂(2‖A‖₁)⌉), so that
// X = A/2ˢ has ‖X‖₁ ≤ ½; T = Σ_{k ≤ d} Xᵏ/k! by Horner's rule, I + X(I + X/2(I + X/3(⋯))); then T is
// squared s times. With d = 12 the truncation error is below e^½·2⁻¹³/13! ≈ 3·10⁻¹⁴ relative;
// float64 in JavaScript. A matrix with a non-finite entry gives NaN.
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { batchSize, eachMatrix, linalgKernelConfigs, perItemProgram, runKeepingRows } from './common.js';

export const LINALG_MATRIX_EXP = 'LinalgMatrixExp';

const DEGREE = 12;
/** More squarings than any finite float32 matrix needs (‖A‖₁ < 2¹²⁸ · n). */
const MAX_SQUARINGS = 140;

/** e^A for the n×n matrix at a[off..], into out[off..]; float64 throughout. */
export function matrixExpInto(a: Float64Array, off: number, n: number, out: Float64Array): void {
  let norm = 0;
  for (let j = 0; j < n; j++) {
    let col = 0;
    for (let i = 0; i < n; i++) col += Math.abs(a[off + i * n + j]);
    norm = Math.max(norm, col);
  }
  if (!Number.isFinite(norm)) {
    out.fill(NaN, off, off + n * n);
    return;
  }
  const s = norm > 0 ? Math.min(MAX_SQUARINGS, Math.max(0, Math.ceil(Math.log2(2 * norm)))) : 0;
  const scale = 2 ** -s;
  const x = new Float64Array(n * n);
  for (let e = 0; e < n * n; e++) x[e] = a[off + e] * scale;
  let t = new Float64Array(n * n);
  let tmp = new Float64Array(n * n);
  for (let e = 0; e < n * n; e++) t[e] = x[e] / DEGREE;
  for (let i = 0; i < n; i++) t[i * n + i] += 1;
  for (let k = DEGREE - 1; k >= 1; k--) {
    multiply(x, t, tmp, n);
    for (let e = 0; e < n * n; e++) tmp[e] /= k;
    for (let i = 0; i < n; i++) tmp[i * n + i] += 1;
    [t, tmp] = [tmp, t];
  }
  for (let q = 0; q < s; q++) {
    multiply(t, t, tmp, n);
    [t, tmp] = [tmp, t];
  }
  out.set(t, off);
}

function multiply(a: Float64Array, b: Float64Array, c: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let k = 0; k < n; k++) sum += a[i * n + k] * b[k * n + j];
      c[i * n + j] = sum;
    }
  }
}

const matrixExpJs: KernelFunc = ({ inputs, backend }) => {
  const x = inputs.x as TensorInfo;
  const n = x.shape[x.shape.length - 1];
  return eachMatrix(backend, x, [n, n], (a, off, out) => matrixExpInto(a, off, n, out));
};

// webgpu: one invocation per matrix, the same steps in f32. T, X and a product need 3n² floats:
// the program writes [..., 3n, n] (T in the first n rows) and a second one copies T out.
const MATRIX_EXP_WGSL = `
fn main(index : i32) {
  let n = uniforms.n;
  if (index >= uniforms.count) { return; }
  let nn = n * n;
  let t = index * 3 * nn;
  let xb = t + nn;
  let p = t + 2 * nn;
  let src = index * nn;
  var norm = 0.0;
  for (var j = 0; j < n; j++) {
    var col = 0.0;
    for (var i = 0; i < n; i++) { col = col + abs(f32(x[src + i * n + j])); }
    norm = max(norm, col);
  }
  var s = 0;
  if (norm > 0.0) { s = i32(clamp(ceil(log2(2.0 * norm)), 0.0, ${MAX_SQUARINGS}.0)); }
  let scale = exp2(-f32(s));
  for (var e = 0; e < nn; e++) {
    result[xb + e] = f32(x[src + e]) * scale;
    result[t + e] = result[xb + e] / ${DEGREE}.0;
  }
  for (var i = 0; i < n; i++) { result[t + i * n + i] = result[t + i * n + i] + 1.0; }
  for (var k = ${DEGREE - 1}; k >= 1; k--) {
    for (var i = 0; i < n; i++) {
      for (var j = 0; j < n; j++) {
        var sum = 0.0;
        for (var q = 0; q < n; q++) { sum = sum + result[xb + i * n + q] * result[t + q * n + j]; }
        result[p + i * n + j] = sum / f32(k);
      }
    }
    for (var e = 0; e < nn; e++) { result[t + e] = result[p + e]; }
    for (var i = 0; i < n; i++) { result[t + i * n + i] = result[t + i * n + i] + 1.0; }
  }
  for (var r = 0; r < s; r++) {
    for (var i = 0; i < n; i++) {
      for (var j = 0; j < n; j++) {
        var sum = 0.0;
        for (var q = 0; q < n; q++) { sum = sum + result[t + i * n + q] * result[t + q * n + j]; }
        result[p + i * n + j] = sum;
      }
    }
    for (var e = 0; e < nn; e++) { result[t + e] = result[p + e]; }
  }
  if (!(norm <= 3.0e38)) {
    for (var e = 0; e < nn; e++) { result[t + e] = uniforms.NAN; }
  }
}
`;

const matrixExpWebgpu: KernelFunc = ({ inputs, backend }) => {
  const x = inputs.x as TensorInfo;
  const n = x.shape[x.shape.length - 1];
  const count = batchSize(x.shape);
  const shape = [...x.shape.slice(0, -2), 3 * n, n];
  const work = perItemProgram('tapegradLinalgMatrixExp', shape, count, ['x'], 'n : i32, count : i32,', MATRIX_EXP_WGSL);
  return runKeepingRows(backend, work, x, [n, count], n);
};

export const matrixExpConfigs = linalgKernelConfigs(LINALG_MATRIX_EXP, matrixExpJs, matrixExpWebgpu);
