// LinalgSvd: the thin singular value decomposition A = U·diag(S)·Vᵀ of each matrix of a
// [..., m, n] batch, k = min(m, n).
//
// One output, [..., m+1+n, k] float32: rows 0..m−1 hold U (m×k), row m holds S (descending,
// ≥ 0), rows m+1..m+n hold V (n×k; the op returns Vh = Vᵀ). U and V have orthonormal columns,
// also for a rank-deficient A: the columns of U that belong to zero singular values are completed
// to an orthonormal set. Each pair (u_j, v_j) is signed so that u_j's entry of largest magnitude
// (the first of equal ones) is positive.
//
// Algorithm (one-sided Jacobi, Hestenes): on B = A (m ≥ n) or Aᵀ (m < n), r×c with r ≥ c, sweeps
// rotate pairs of columns (p, q) of W = B·V until every pair is orthogonal to within r·ε of
// ‖w_p‖‖w_q‖ (the rotation diagonalizes their 2×2 Gram matrix, as a Jacobi eigenvalue step would:
// jacobi.ts);
// then S_j = ‖w_j‖ and w_j = S_j·u_j. Singular values come out to high relative accuracy; float64
// in JavaScript.
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { JACOBI_WGSL, jacobiTangent, rotatePairs } from './jacobi.js';
import { batchSize, eachMatrix, linalgKernelConfigs, perItemProgram, runWithInts } from './common.js';

export const LINALG_SVD = 'LinalgSvd';

const MAX_SWEEPS = 60;

/** Decomposes the m×n matrix at a[off..] into out[outOff..] as [m+1+n, k]; float64 throughout. */
export function svdInto(a: Float64Array, off: number, m: number, n: number, out: Float64Array, outOff: number): void {
  const tall = m >= n;
  const r = tall ? m : n;
  const c = tall ? n : m;
  const w = new Float64Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) w[i * c + j] = tall ? a[off + i * n + j] : a[off + j * n + i];
  const v = new Float64Array(c * c);
  for (let i = 0; i < c; i++) v[i * c + i] = 1;
  const tol = r * 2 ** -53;
  for (let sweep = 0; sweep < MAX_SWEEPS; sweep++) {
    let rotated = false;
    for (let p = 0; p < c - 1; p++) {
      for (let q = p + 1; q < c; q++) {
        let alpha = 0,
          beta = 0,
          gamma = 0;
        for (let i = 0; i < r; i++) {
          const wp = w[i * c + p];
          const wq = w[i * c + q];
          alpha += wp * wp;
          beta += wq * wq;
          gamma += wp * wq;
        }
        if (!(Math.abs(gamma) > tol * Math.sqrt(alpha * beta))) continue;
        rotated = true;
        const t = jacobiTangent(alpha, beta, gamma);
        const cs = 1 / Math.sqrt(1 + t * t);
        const sn = t * cs;
        rotatePairs(w, p, q, c, r, cs, sn);
        rotatePairs(v, p, q, c, c, cs, sn);
      }
    }
    if (!rotated) break;
  }
  const sigma = Array.from({ length: c }, (_, j) => {
    let s = 0;
    for (let i = 0; i < r; i++) s += w[i * c + j] ** 2;
    return Math.sqrt(s);
  });
  const order = Array.from({ length: c }, (_, j) => j).sort((i, j) => sigma[j] - sigma[i]);
  // Left vectors of B (r×c), sorted; zero columns are completed below.
  const left = new Float64Array(r * c);
  const right = new Float64Array(c * c);
  order.forEach((src, j) => {
    const s = sigma[src];
    for (let i = 0; i < r; i++) left[i * c + j] = s > 0 ? w[i * c + src] / s : 0;
    for (let i = 0; i < c; i++) right[i * c + j] = v[i * c + src];
  });
  for (let j = 0; j < c; j++) if (!(sigma[order[j]] > 0)) completeColumn(left, r, c, j);
  const k = c;
  const U = tall ? left : right; // m×k
  const V = tall ? right : left; // n×k
  for (let j = 0; j < k; j++) {
    let big = 0;
    for (let i = 1; i < m; i++) if (Math.abs(U[i * k + j]) > Math.abs(U[big * k + j])) big = i;
    const sign = U[big * k + j] < 0 ? -1 : 1;
    for (let i = 0; i < m; i++) out[outOff + i * k + j] = sign * U[i * k + j];
    out[outOff + m * k + j] = sigma[order[j]];
    for (let i = 0; i < n; i++) out[outOff + (m + 1 + i) * k + j] = sign * V[i * k + j];
  }
}

/** Sets column j of the r×c matrix x (columns 0..j−1 orthonormal) to a unit vector orthogonal to them. */
function completeColumn(x: Float64Array, r: number, c: number, j: number): void {
  for (let e = 0; e < r; e++) {
    const y = new Float64Array(r);
    y[e] = 1;
    // twice, for orthogonality to working precision (Kahan's "twice is enough")
    for (let pass = 0; pass < 2; pass++) {
      for (let p = 0; p < j; p++) {
        let d = 0;
        for (let i = 0; i < r; i++) d += x[i * c + p] * y[i];
        for (let i = 0; i < r; i++) y[i] -= d * x[i * c + p];
      }
    }
    const norm = Math.sqrt(y.reduce((s, t) => s + t * t, 0));
    if (norm > 0.5) {
      for (let i = 0; i < r; i++) x[i * c + j] = y[i] / norm;
      return;
    }
  }
}

const svdJs: KernelFunc = ({ inputs, backend }) => {
  const x = inputs.x as TensorInfo;
  const [m, n] = x.shape.slice(-2);
  const k = Math.min(m, n);
  return eachMatrix(backend, x, [m + 1 + n, k], (a, off, out, outOff) => svdInto(a, off, m, n, out, outOff));
};

// webgpu: one invocation per matrix, in place in the output, f32. W = B·V lives in U's rows when
// m ≥ n and in V's rows otherwise; the accumulated rotations in the other block (both have row
// stride k = c).
const SVD_WGSL = `${JACOBI_WGSL}
fn main(index : i32) {
  let m = uniforms.m;
  let n = uniforms.n;
  if (index >= uniforms.count) { return; }
  let tall = m >= n;
  let r = select(n, m, tall);
  let c = select(m, n, tall);
  let o = index * (m + 1 + n) * c;
  let uB = o;
  let sB = o + m * c;
  let vB = o + (m + 1) * c;
  let w = select(vB, uB, tall);
  let v = select(uB, vB, tall);
  let src = index * m * n;
  for (var i = 0; i < r; i++) {
    for (var j = 0; j < c; j++) {
      if (tall) { result[w + i * c + j] = f32(x[src + i * n + j]); } else { result[w + i * c + j] = f32(x[src + j * n + i]); }
    }
  }
  for (var i = 0; i < c; i++) {
    for (var j = 0; j < c; j++) { result[v + i * c + j] = select(0.0, 1.0, i == j); }
  }
  let tol = f32(r) * 6.0e-8;
  for (var sweep = 0; sweep < 30; sweep++) {
    var rotated = false;
    for (var p = 0; p < c - 1; p++) {
      for (var q = p + 1; q < c; q++) {
        var alpha = 0.0;
        var beta = 0.0;
        var gamma = 0.0;
        for (var i = 0; i < r; i++) {
          let wp = result[w + i * c + p];
          let wq = result[w + i * c + q];
          alpha = alpha + wp * wp;
          beta = beta + wq * wq;
          gamma = gamma + wp * wq;
        }
        if (!(abs(gamma) > tol * sqrt(alpha * beta))) { continue; }
        rotated = true;
        let t = jacobiTangent(alpha, beta, gamma);
        let cs = 1.0 / sqrt(1.0 + t * t);
        let sn = t * cs;
        rotatePairs(w + p, w + q, c, r, cs, sn);
        rotatePairs(v + p, v + q, c, c, cs, sn);
      }
    }
    if (!rotated) { break; }
  }
  for (var j = 0; j < c; j++) {
    var s2 = 0.0;
    for (var i = 0; i < r; i++) { s2 = s2 + result[w + i * c + j] * result[w + i * c + j]; }
    let s = sqrt(s2);
    result[sB + j] = s;
    if (s > 0.0) {
      for (var i = 0; i < r; i++) { result[w + i * c + j] = result[w + i * c + j] / s; }
    }
  }
  // selection sort, descending, moving the columns of W and V along
  for (var j = 0; j < c; j++) {
    var best = j;
    for (var i = j + 1; i < c; i++) { if (result[sB + i] > result[sB + best]) { best = i; } }
    swapPairs(sB + j, sB + best, 1, 1);
    swapPairs(w + j, w + best, c, r);
    swapPairs(v + j, v + best, c, c);
  }
  // complete the left vectors of zero singular values: e_t minus its projections, twice
  for (var j = 0; j < c; j++) {
    if (result[sB + j] > 0.0) { continue; }
    for (var e = 0; e < r; e++) {
      for (var i = 0; i < r; i++) { result[w + i * c + j] = select(0.0, 1.0, i == e); }
      for (var round = 0; round < 2; round++) {
        for (var p = 0; p < j; p++) {
          var d = 0.0;
          for (var i = 0; i < r; i++) { d = d + result[w + i * c + p] * result[w + i * c + j]; }
          for (var i = 0; i < r; i++) { result[w + i * c + j] = result[w + i * c + j] - d * result[w + i * c + p]; }
        }
      }
      var y2 = 0.0;
      for (var i = 0; i < r; i++) { y2 = y2 + result[w + i * c + j] * result[w + i * c + j]; }
      if (y2 > 0.25) {
        let y = sqrt(y2);
        for (var i = 0; i < r; i++) { result[w + i * c + j] = result[w + i * c + j] / y; }
        break;
      }
    }
  }
  for (var j = 0; j < c; j++) {
    var big = 0;
    for (var i = 1; i < m; i++) { if (abs(result[uB + i * c + j]) > abs(result[uB + big * c + j])) { big = i; } }
    if (result[uB + big * c + j] < 0.0) {
      for (var i = 0; i < m; i++) { result[uB + i * c + j] = -result[uB + i * c + j]; }
      for (var i = 0; i < n; i++) { result[vB + i * c + j] = -result[vB + i * c + j]; }
    }
  }
}
`;

const svdWebgpu: KernelFunc = ({ inputs, backend }) => {
  const x = inputs.x as TensorInfo;
  const [m, n] = x.shape.slice(-2);
  const k = Math.min(m, n);
  const count = batchSize(x.shape);
  const shape = [...x.shape.slice(0, -2), m + 1 + n, k];
  const program = perItemProgram('tapegradLinalgSvd', shape, count, ['x'], 'm : i32, n : i32, count : i32,', SVD_WGSL);
  return runWithInts(backend, program, [x], [m, n, count]);
};

export const svdConfigs = linalgKernelConfigs(LINALG_SVD, svdJs, svdWebgpu);
