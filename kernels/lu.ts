// LinalgLu: LU factorization with partial pivoting, P·A = L·U, of each matrix of a [..., n, n] batch.
//
// One output, [..., n, n+1] float32: columns 0..n−1 hold the packed factors (L strictly below the
// diagonal, its unit diagonal implied; U on and above it), column n holds the permutation: row i
// of P·A is row perm[i] of A (indices stored as floats, exact below 2²⁴). One output keeps the
// kernel a single pass on every backend, webgpu included.
//
// Algorithm (Doolittle, right-looking, as LAPACK's getf2): for each column k, swap up the row with
// the largest |a_ik| (i ≥ k), divide the column below the pivot by it, subtract the rank-1 update.
// A zero pivot (an exactly singular matrix) skips its column, as LAPACK does; callers test pivots.
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { JS_BACKENDS, batchSize, readF64, writeF32, perItemProgram, type WebGPUBackendLike } from './common.js';

export const LINALG_LU = 'LinalgLu';

/** Factors one n×n matrix stored at a[off..] (row-major) into out[outOff..] as [n, n+1]; float64 throughout. */
export function luFactorInto(a: Float64Array, off: number, n: number, out: Float64Array, outOff: number): void {
  const w = a.slice(off, off + n * n);
  const perm = Array.from({ length: n }, (_, i) => i);
  for (let k = 0; k < n; k++) {
    let p = k;
    let best = Math.abs(w[k * n + k]);
    for (let i = k + 1; i < n; i++) {
      const v = Math.abs(w[i * n + k]);
      if (v > best) {
        best = v;
        p = i;
      }
    }
    if (p !== k) {
      for (let j = 0; j < n; j++) {
        const t = w[k * n + j];
        w[k * n + j] = w[p * n + j];
        w[p * n + j] = t;
      }
      const t = perm[k];
      perm[k] = perm[p];
      perm[p] = t;
    }
    const pivot = w[k * n + k];
    if (pivot === 0) continue;
    for (let i = k + 1; i < n; i++) {
      const l = (w[i * n + k] /= pivot);
      if (l === 0) continue;
      for (let j = k + 1; j < n; j++) w[i * n + j] -= l * w[k * n + j];
    }
  }
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) out[outOff + i * (n + 1) + j] = w[i * n + j];
    out[outOff + i * (n + 1) + n] = perm[i];
  }
}

const luJs: KernelFunc = ({ inputs, backend }) => {
  const x = inputs.x as TensorInfo;
  const n = x.shape[x.shape.length - 1];
  const count = batchSize(x.shape);
  const a = readF64(backend, x);
  const out = new Float64Array(count * n * (n + 1));
  for (let b = 0; b < count; b++) luFactorInto(a, b * n * n, n, out, b * n * (n + 1));
  return writeF32(backend, [...x.shape.slice(0, -1), n + 1], out);
};

// webgpu: one invocation per matrix, factoring in place in the output buffer (f32: WGSL has no f64).
const LU_WGSL = `
fn main(index : i32) {
  let n = uniforms.n;
  if (index >= uniforms.count) { return; }
  let w = n + 1;
  let src = index * n * n;
  let dst = index * n * w;
  for (var i = 0; i < n; i++) {
    for (var j = 0; j < n; j++) { result[dst + i * w + j] = f32(x[src + i * n + j]); }
    result[dst + i * w + n] = f32(i);
  }
  for (var k = 0; k < n; k++) {
    var p = k;
    var best = abs(result[dst + k * w + k]);
    for (var i = k + 1; i < n; i++) {
      let v = abs(result[dst + i * w + k]);
      if (v > best) { best = v; p = i; }
    }
    if (p != k) {
      // Swapping whole rows of width n+1 also swaps the permutation column.
      for (var j = 0; j < w; j++) {
        let t = result[dst + k * w + j];
        result[dst + k * w + j] = result[dst + p * w + j];
        result[dst + p * w + j] = t;
      }
    }
    let pivot = result[dst + k * w + k];
    if (pivot == 0.0) { continue; }
    for (var i = k + 1; i < n; i++) {
      let l = result[dst + i * w + k] / pivot;
      result[dst + i * w + k] = l;
      for (var j = k + 1; j < n; j++) {
        result[dst + i * w + j] = result[dst + i * w + j] - l * result[dst + k * w + j];
      }
    }
  }
}
`;

const luWebgpu: KernelFunc = ({ inputs, backend }) => {
  const x = inputs.x as TensorInfo;
  const n = x.shape[x.shape.length - 1];
  const count = batchSize(x.shape);
  const program = perItemProgram(
    'tapegradLinalgLu',
    [...x.shape.slice(0, -1), n + 1],
    count,
    ['x'],
    'n : i32, count : i32,',
    LU_WGSL,
  );
  return (backend as WebGPUBackendLike).runWebGPUProgram(program, [x], 'float32', [
    { type: 'int32', data: [n] },
    { type: 'int32', data: [count] },
  ]);
};

export const luConfigs: KernelConfig[] = [
  ...JS_BACKENDS.map((backendName) => ({ kernelName: LINALG_LU, backendName, kernelFunc: luJs })),
  { kernelName: LINALG_LU, backendName: 'webgpu', kernelFunc: luWebgpu },
];
