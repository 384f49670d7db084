// LinalgCholesky: the lower Cholesky factor L (A = L·Lᵀ) of each matrix of a [..., n, n] batch.
//
// Reads only the lower triangle of A, as LAPACK's potrf does; the output is zero above the
// diagonal. A matrix that is not positive definite (a pivot ≤ 0, or NaN) comes out all NaN, so
// that callers detect it with one reduction and the kernel keeps a single output everywhere.
//
// Algorithm (Cholesky–Banachiewicz, row by row): L_ij = (a_ij − Σ_{k<j} L_ik L_jk) / L_jj for j < i,
// L_ii = √(a_ii − Σ_{k<i} L_ik²); float64 accumulation in JavaScript.
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { JS_BACKENDS, batchSize, readF64, writeF32, perItemProgram, type WebGPUBackendLike } from './common.js';

export const LINALG_CHOLESKY = 'LinalgCholesky';

/** Factors the n×n matrix at a[off..] into out[off..]; returns false (and writes NaN) if it is not positive definite. */
export function choleskyInto(a: Float64Array, off: number, n: number, out: Float64Array): boolean {
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[off + i * n + j];
      for (let k = 0; k < j; k++) s -= out[off + i * n + k] * out[off + j * n + k];
      if (i === j) {
        if (!(s > 0)) {
          out.fill(NaN, off, off + n * n);
          return false;
        }
        out[off + i * n + i] = Math.sqrt(s);
      } else {
        out[off + i * n + j] = s / out[off + j * n + j];
      }
    }
    for (let j = i + 1; j < n; j++) out[off + i * n + j] = 0;
  }
  return true;
}

const choleskyJs: KernelFunc = ({ inputs, backend }) => {
  const x = inputs.x as TensorInfo;
  const n = x.shape[x.shape.length - 1];
  const a = readF64(backend, x);
  const out = new Float64Array(a.length);
  for (let b = 0, count = batchSize(x.shape); b < count; b++) choleskyInto(a, b * n * n, n, out);
  return writeF32(backend, x.shape, out);
};

// webgpu: one invocation per matrix, writing L row by row into the output buffer.
const CHOLESKY_WGSL = `
fn main(index : i32) {
  let n = uniforms.n;
  if (index >= uniforms.count) { return; }
  let o = index * n * n;
  var ok = true;
  for (var i = 0; i < n; i++) {
    for (var j = 0; j <= i; j++) {
      var s = f32(x[o + i * n + j]);
      for (var k = 0; k < j; k++) { s = s - result[o + i * n + k] * result[o + j * n + k]; }
      if (i == j) {
        if (!(s > 0.0)) { ok = false; break; }
        result[o + i * n + i] = sqrt(s);
      } else {
        result[o + i * n + j] = s / result[o + j * n + j];
      }
    }
    if (!ok) { break; }
    for (var j = i + 1; j < n; j++) { result[o + i * n + j] = 0.0; }
  }
  if (!ok) {
    for (var e = 0; e < n * n; e++) { result[o + e] = uniforms.NAN; }
  }
}
`;

const choleskyWebgpu: KernelFunc = ({ inputs, backend }) => {
  const x = inputs.x as TensorInfo;
  const n = x.shape[x.shape.length - 1];
  const count = batchSize(x.shape);
  const program = perItemProgram(
    'tapegradLinalgCholesky',
    x.shape,
    count,
    ['x'],
    'n : i32, count : i32,',
    CHOLESKY_WGSL,
  );
  return (backend as WebGPUBackendLike).runWebGPUProgram(program, [x], 'float32', [
    { type: 'int32', data: [n] },
    { type: 'int32', data: [count] },
  ]);
};

export const choleskyConfigs: KernelConfig[] = [
  ...JS_BACKENDS.map((backendName) => ({ kernelName: LINALG_CHOLESKY, backendName, kernelFunc: choleskyJs })),
  { kernelName: LINALG_CHOLESKY, backendName: 'webgpu', kernelFunc: choleskyWebgpu },
];
