// LinalgEigh: the eigenvalues and eigenvectors of each symmetric matrix of a [..., n, n] batch,
// A = V·diag(λ)·Vᵀ with V orthogonal.
//
// One output, [..., n+1, n] float32: row 0 holds the eigenvalues in ascending order, rows 1..n
// hold V, whose column j is the eigenvector of λ_j. Each eigenvector's sign is fixed by making
// its entry of largest magnitude (the first of equal ones) positive. The kernel factors the
// symmetric part (A + Aᵀ)/2, so that its result is a function of that alone; the op refuses an
// input that is not symmetric.
//
// Algorithm (cyclic Jacobi, as Rutishauser's): sweeps over every off-diagonal pair (p, q), each
// rotation chosen to zero a_pq (jacobi.ts) and accumulated into V, until a sweep finds every a_pq negligible against √|a_pp·a_qq|.
// Quadratically convergent; float64 in JavaScript.
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { batchSize, eachMatrix, linalgKernelConfigs, perItemProgram, runKeepingRows } from './common.js';
import { JACOBI_WGSL, jacobiTangent, rotatePairs } from './jacobi.js';

export const LINALG_EIGH = 'LinalgEigh';

/** The most sweeps: Jacobi needs fewer than 10 for n ≤ 100 in float64; more means the input is not finite. */
const MAX_SWEEPS = 60;

/** Diagonalizes the n×n matrix at a[off..] into out[outOff..] as [n+1, n]; float64 throughout. */
export function eighInto(a: Float64Array, off: number, n: number, out: Float64Array, outOff: number): void {
  const w = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) w[i * n + j] = (a[off + i * n + j] + a[off + j * n + i]) / 2;
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  // An a_pq below 2⁻⁶⁰·‖A‖ moves no eigenvalue by a float32 ulp: it ends the iteration even when
  // a_pp·a_qq is tinier still (eigenvalues near 0), where the relative test alone could go on.
  const floor = 2 ** -60 * Math.sqrt(w.reduce((s, x) => s + x * x, 0));
  for (let sweep = 0; sweep < MAX_SWEEPS; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = w[p * n + q];
        const app = w[p * n + p];
        const aqq = w[q * n + q];
        if (!(Math.abs(apq) > Math.max(2 ** -53 * Math.sqrt(Math.abs(app * aqq)), floor))) continue;
        rotated = true;
        const t = jacobiTangent(app, aqq, apq);
        const c = 1 / Math.sqrt(1 + t * t);
        const s = t * c;
        // A ← JᵀAJ: columns p and q, then rows p and q; the pair's own entries set exactly
        rotatePairs(w, p, q, n, n, c, s);
        rotatePairs(w, p * n, q * n, 1, n, c, s);
        w[p * n + p] = app - t * apq;
        w[q * n + q] = aqq + t * apq;
        w[p * n + q] = w[q * n + p] = 0;
        rotatePairs(v, p, q, n, n, c, s); // V ← VJ
      }
    }
    if (!rotated) break;
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => w[i * n + i] - w[j * n + j]);
  order.forEach((src, j) => {
    out[outOff + j] = w[src * n + src];
    let big = 0;
    for (let i = 1; i < n; i++) if (Math.abs(v[i * n + src]) > Math.abs(v[big * n + src])) big = i;
    const sign = v[big * n + src] < 0 ? -1 : 1;
    for (let i = 0; i < n; i++) out[outOff + (1 + i) * n + j] = sign * v[i * n + src];
  });
}

const eighJs: KernelFunc = ({ inputs, backend }) => {
  const x = inputs.x as TensorInfo;
  const n = x.shape[x.shape.length - 1];
  return eachMatrix(backend, x, [n + 1, n], (a, off, out, outOff) => eighInto(a, off, n, out, outOff));
};

// webgpu: one invocation per matrix, the same sweeps in f32. The work matrix needs n² more floats
// than the output holds, so the program writes [..., 2n+1, n] (λ, V, then the work matrix) and a
// second one copies the first n+1 rows of each matrix out.
const EIGH_WGSL = `${JACOBI_WGSL}
fn main(index : i32) {
  let n = uniforms.n;
  if (index >= uniforms.count) { return; }
  let o = index * (2 * n + 1) * n;
  let v = o + n;
  let w = o + (n + 1) * n;
  for (var i = 0; i < n; i++) {
    for (var j = 0; j < n; j++) {
      result[w + i * n + j] = 0.5 * (f32(x[index * n * n + i * n + j]) + f32(x[index * n * n + j * n + i]));
      result[v + i * n + j] = select(0.0, 1.0, i == j);
    }
  }
  var norm2 = 0.0;
  for (var e = 0; e < n * n; e++) { norm2 = norm2 + result[w + e] * result[w + e]; }
  let tiny = 1.0e-9 * sqrt(norm2);
  for (var sweep = 0; sweep < 30; sweep++) {
    var rotated = false;
    for (var p = 0; p < n - 1; p++) {
      for (var q = p + 1; q < n; q++) {
        let apq = result[w + p * n + q];
        let app = result[w + p * n + p];
        let aqq = result[w + q * n + q];
        if (!(abs(apq) > max(6.0e-8 * sqrt(abs(app * aqq)), tiny))) { continue; }
        rotated = true;
        let t = jacobiTangent(app, aqq, apq);
        let c = 1.0 / sqrt(1.0 + t * t);
        let s = t * c;
        rotatePairs(w + p, w + q, n, n, c, s);
        rotatePairs(w + p * n, w + q * n, 1, n, c, s);
        result[w + p * n + p] = app - t * apq;
        result[w + q * n + q] = aqq + t * apq;
        result[w + p * n + q] = 0.0;
        result[w + q * n + p] = 0.0;
        rotatePairs(v + p, v + q, n, n, c, s);
      }
    }
    if (!rotated) { break; }
  }
  for (var j = 0; j < n; j++) { result[o + j] = result[w + j * n + j]; }
  // selection sort, ascending, moving V's columns along
  for (var j = 0; j < n; j++) {
    var best = j;
    for (var i = j + 1; i < n; i++) { if (result[o + i] < result[o + best]) { best = i; } }
    swapPairs(o + j, o + best, 1, 1);
    swapPairs(v + j, v + best, n, n);
    var big = 0;
    for (var i = 1; i < n; i++) { if (abs(result[v + i * n + j]) > abs(result[v + big * n + j])) { big = i; } }
    if (result[v + big * n + j] < 0.0) {
      for (var k = 0; k < n; k++) { result[v + k * n + j] = -result[v + k * n + j]; }
    }
  }
}
`;

const eighWebgpu: KernelFunc = ({ inputs, backend }) => {
  const x = inputs.x as TensorInfo;
  const n = x.shape[x.shape.length - 1];
  const count = batchSize(x.shape);
  const shape = [...x.shape.slice(0, -2), 2 * n + 1, n];
  const work = perItemProgram('tapegradLinalgEigh', shape, count, ['x'], 'n : i32, count : i32,', EIGH_WGSL);
  return runKeepingRows(backend, work, x, [n, count], n + 1);
};

export const eighConfigs = linalgKernelConfigs(LINALG_EIGH, eighJs, eighWebgpu);
