// Gradient-check cases for tg.linalg (src/linalg), merged into `cases` in op-cases.ts.
//
// Matrices are well conditioned, so that float32 finite differences (steps up to ±2h, h = 2⁻⁵·|x|)
// stay accurate: A = M/2 + n·I with M standard normal. Symmetric-input ops (cholesky) check the
// function A ↦ cholesky((A + Aᵀ)/2), whose gradient is the symmetric one the op returns.
import * as tg from '../src/index.js';
import type { linalgRules } from '../src/linalg/rules.js';
import { rng } from '../src/random.js';
import type { CaseTable, OpCase } from './op-cases.js';

/** values drawn from N(0, 1), seeded. */
function normals(size: number, seed: number): number[] {
  const r = rng(seed * 104729 + size);
  return Array.from({ length: size }, r.normal);
}

/** M/2 + n·I for each matrix of a [...batch, n, n] tensor: diagonally dominant, well conditioned. */
export function wellConditioned(batch: number[], n: number, seed: number): tg.Tensor {
  return tg.tensor(wellConditionedValues(batch, n, seed), { shape: [...batch, n, n] });
}
// The cases build their values in JavaScript, never reading a tensor back: webgpu in Node has no
// synchronous read, and the same cases run there (benchmarks/gpu/gpu-check.ts).
function wellConditionedValues(batch: number[], n: number, seed: number): Float32Array {
  const count = batch.reduce((a, b) => a * b, 1);
  return Float32Array.from(normals(count * n * n, seed), (x, i) => x / 2 + (Math.floor(i / n) % n === i % n ? n : 0));
}

/** MᵀM/n + I for each matrix: symmetric positive definite, eigenvalues in about [1, 5]. */
export function spd(batch: number[], n: number, seed: number): tg.Tensor {
  const count = batch.reduce((a, b) => a * b, 1);
  const m = normals(count * n * n, seed);
  const out = new Float32Array(count * n * n);
  for (let b = 0; b < count; b++) {
    const o = b * n * n;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = i === j ? 1 : 0;
        for (let k = 0; k < n; k++) s += (m[o + k * n + i] * m[o + k * n + j]) / n;
        out[o + i * n + j] = s;
      }
    }
  }
  return tg.tensor(out, { shape: [...batch, n, n] });
}

/** A triangular, well-conditioned matrix: the lower (or upper) part of wellConditioned. */
export function triangular(batch: number[], n: number, seed: number, lower = true): tg.Tensor {
  const v = wellConditionedValues(batch, n, seed).map((x, i) =>
    (lower ? i % n <= Math.floor(i / n) % n : i % n >= Math.floor(i / n) % n) ? x : 0,
  );
  return tg.tensor(v, { shape: [...batch, n, n] });
}

/**
 * A matrix whose partial pivoting swaps rows, far from any tie: the rows of a diagonally dominant
 * matrix, permuted (so that each column's pivot stays the same row under the finite-difference steps).
 */
export function permuted(batch: number[], n: number, seed: number): tg.Tensor {
  const v = wellConditionedValues(batch, n, seed);
  const out = new Float32Array(v.length);
  const rows = Array.from({ length: n }, (_, i) => (i + 1) % n); // a cyclic shift: every row moves
  for (let o = 0; o < v.length; o += n * n)
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[o + i * n + j] = v[o + rows[i] * n + j];
  return tg.tensor(out, { shape: [...batch, n, n] });
}

/**
 * Orthonormal columns: Gram–Schmidt (twice) on standard normal columns, for each of `count`
 * matrices, row-major [count, m, k].
 */
function orthonormal(count: number, m: number, k: number, seed: number): Float64Array {
  const x = Float64Array.from(normals(count * m * k, seed));
  for (let b = 0; b < count; b++) {
    const o = b * m * k;
    for (let j = 0; j < k; j++) {
      for (let pass = 0; pass < 2; pass++) {
        for (let p = 0; p < j; p++) {
          let d = 0;
          for (let i = 0; i < m; i++) d += x[o + i * k + p] * x[o + i * k + j];
          for (let i = 0; i < m; i++) x[o + i * k + j] -= d * x[o + i * k + p];
        }
      }
      let norm = 0;
      for (let i = 0; i < m; i++) norm += x[o + i * k + j] ** 2;
      for (let i = 0; i < m; i++) x[o + i * k + j] /= Math.sqrt(norm);
    }
  }
  return x;
}

/**
 * U·diag(σ)·Vᵀ for random orthonormal U [m, k], V [n, k] and σ_j = k − j + ½ (k = min(m, n)):
 * singular values 1 apart and at least ½ from 0, so that the SVD's adjoint (1/(σ_j² − σ_k²), 1/σ)
 * stays moderate and finite differences stay accurate. With `symmetric` (m = n), V = U and the
 * eigenvalues are σ_j − k/2 (some negative), 1 apart.
 */
export function withSpectrum(batch: number[], m: number, n: number, seed: number, symmetric = false): tg.Tensor {
  const count = batch.reduce((a, b) => a * b, 1);
  const k = Math.min(m, n);
  const u = orthonormal(count, m, k, seed);
  const v = symmetric ? u : orthonormal(count, n, k, seed + 1);
  const sigma = Array.from({ length: k }, (_, j) => (symmetric ? k / 2 - j - 0.25 : k - j + 0.5));
  const out = new Float32Array(count * m * n);
  for (let b = 0; b < count; b++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let t = 0; t < k; t++) s += u[b * m * k + i * k + t] * sigma[t] * v[b * n * k + j * k + t];
        out[b * m * n + i * n + j] = s;
      }
    }
  }
  return tg.tensor(out, { shape: [...batch, m, n] });
}

/** Standard normal matrices, matrix b of the batch times scales[b]. */
function scaledNormals(shape: number[], scales: number[], seed: number): tg.Tensor {
  const per = shape[shape.length - 1] * shape[shape.length - 2];
  const v = normals(
    shape.reduce((a, b) => a * b, 1),
    seed,
  ).map((x, i) => x * scales[Math.floor(i / per)]);
  return tg.tensor(v, { shape });
}

const randn = (shape: number[], seed: number) =>
  tg.tensor(
    Float32Array.from(
      normals(
        shape.reduce((a, b) => a * b, 1),
        seed,
      ),
    ),
    { shape },
  );
const sym = (a: tg.Tensor) => a.add(tg.matrixTranspose(a)).mul(0.5);
/** X·diag(1, 2, …)·Yᵀ: Σ_j j·x_j y_jᵀ, unchanged when a pair (x_j, y_j) changes sign together. */
const weighted = (x: tg.Tensor, yt: tg.Tensor) => {
  const k = x.shape[x.rank - 1];
  return x.mul(tg.arange(1, k + 1)).matmul(yt);
};

export const linalgCases: CaseTable<keyof typeof linalgRules> = {
  inv: [
    { make: (s) => [wellConditioned([], 3, s)], f: (a) => tg.linalg.inv(a), gradgrad: true },
    {
      make: (s) => [wellConditioned([2], 3, s)],
      f: (a) => tg.linalg.inv(a),
      makeLarge: (s) => [wellConditioned([4], 16, s)],
    },
  ],
  det: [
    { make: (s) => [wellConditioned([], 3, s)], f: (a) => tg.linalg.det(a), gradgrad: true },
    // a row swap in the LU: det's sign comes from the permutation
    { make: (s) => [permuted([2], 3, s)], f: (a) => tg.linalg.det(a), makeLarge: (s) => [wellConditioned([3], 8, s)] },
  ],
  slogdet: [
    { make: (s) => [wellConditioned([], 3, s)], f: (a) => tg.linalg.slogdet(a)[1], gradgrad: true },
    {
      make: (s) => [permuted([2], 3, s)],
      f: (a) => tg.linalg.slogdet(a)[1],
      makeLarge: (s) => [wellConditioned([3], 16, s)],
    },
    // both outputs: sign·exp(log|det|) = det, the sign a constant of the same node
    {
      make: (s) => [permuted([], 3, s)],
      f: (a) => {
        const [sign, logAbsDet] = tg.linalg.slogdet(a);
        return sign.mul(logAbsDet.exp());
      },
    },
  ],
  solve: [
    {
      make: (s) => [wellConditioned([], 3, s), randn([3, 2], s + 1)],
      f: (a, b) => tg.linalg.solve(a, b),
      gradgrad: true,
    },
    // A batch [2] against B batch [3, 1]: gradients summed back over the broadcast
    { make: (s) => [wellConditioned([2], 3, s), randn([3, 1, 3, 1], s + 1)], f: (a, b) => tg.linalg.solve(a, b) },
    {
      make: (s) => [permuted([], 3, s), randn([3], s + 1)],
      f: (a, b) => tg.linalg.solve(a, b),
      makeLarge: (s) => [wellConditioned([4], 16, s), randn([4, 16, 3], s + 1)],
    },
  ],
  cholesky: [
    { make: (s) => [spd([], 3, s)], f: (a) => tg.linalg.cholesky(sym(a)), gradgrad: true },
    { make: (s) => [spd([2], 3, s)], f: (a) => tg.linalg.cholesky(sym(a)), makeLarge: (s) => [spd([3], 12, s)] },
  ],
  triangularSolve: [
    {
      make: (s) => [triangular([], 3, s), randn([3, 2], s + 1)],
      f: (l, b) => tg.linalg.triangularSolve(l, b),
      gradgrad: true,
    },
    {
      make: (s) => [triangular([2], 3, s, false), randn([3, 2], s + 1)],
      f: (u, b) => tg.linalg.triangularSolve(u, b, { lower: false, transpose: true }),
      gradgrad: true,
    },
    // a full matrix: only its lower triangle is read, with a unit diagonal; B broadcast over T's batch
    {
      make: (s) => [wellConditioned([2], 3, s), randn([3, 2], s + 1)],
      f: (t, b) => tg.linalg.triangularSolve(t, b, { unitDiagonal: true }),
    },
    {
      make: (s) => [triangular([], 3, s), randn([3], s + 1)],
      f: (l, b) => tg.linalg.triangularSolve(l, b, { transpose: true }),
      makeLarge: (s) => [triangular([4], 16, s), randn([4, 16, 2], s + 1)],
    },
  ],
  lu: [
    { make: (s) => [wellConditioned([], 3, s)], f: (a) => tg.linalg.lu(a).lu },
    // row swaps: P ≠ I; L and U each carry the gradient
    {
      make: (s) => [permuted([2], 3, s)],
      f: (a) => {
        const r = tg.linalg.lu(a);
        return r.L.add(r.U.mul(2));
      },
    },
    // U alone; and the packed factors with L, whose cotangents meet below the diagonal
    { make: (s) => [permuted([], 3, s)], f: (a) => tg.linalg.lu(a).U },
    {
      make: (s) => [wellConditioned([], 3, s)],
      f: (a) => {
        const r = tg.linalg.lu(a);
        return r.lu.mul(r.L);
      },
    },
  ],
  qr: [
    { make: (s) => [withSpectrum([], 3, 2, s)], f: (a) => tg.linalg.qr(a).Q, gradgrad: true },
    { make: (s) => [wellConditioned([2], 2, s)], f: (a) => tg.linalg.qr(a).R, gradgrad: true },
    // both factors in one loss; a batch
    {
      make: (s) => [withSpectrum([], 4, 3, s)],
      f: (a) => {
        const { Q, R } = tg.linalg.qr(a);
        return Q.matmul(R.square());
      },
      makeLarge: (s) => [withSpectrum([3], 12, 8, s)],
    },
  ],
  // eigenvectors through V·diag(1, 2, …)·Vᵀ, which no choice of their signs changes
  eigh: [
    { make: (s) => [withSpectrum([], 3, 3, s, true)], f: (a) => tg.linalg.eigh(sym(a)).values, gradgrad: true },
    {
      make: (s) => [withSpectrum([2], 2, 2, s, true)],
      f: (a) => {
        const { vectors: v } = tg.linalg.eigh(sym(a));
        return weighted(v, tg.matrixTranspose(v));
      },
      gradgrad: true,
    },
    {
      make: (s) => [withSpectrum([], 4, 4, s, true)],
      f: (a) => {
        const { values, vectors: v } = tg.linalg.eigh(sym(a));
        return v.mul(tg.expandDims(values.sin(), -2)).matmul(tg.matrixTranspose(v));
      },
      makeLarge: (s) => [withSpectrum([2], 10, 10, s, true)],
    },
  ],
  // singular vectors through U·diag(1, 2, …)·Vh (pairs change sign together), U·diag·Uᵀ and Vhᵀ·diag·Vh
  svd: [
    { make: (s) => [withSpectrum([], 4, 3, s)], f: (a) => tg.linalg.svd(a).S, gradgrad: true },
    {
      make: (s) => [withSpectrum([2], 2, 3, s)],
      f: (a) => {
        const { U, Vh } = tg.linalg.svd(a);
        return weighted(U, Vh);
      },
      gradgrad: true,
    },
    {
      make: (s) => [withSpectrum([], 4, 2, s)],
      f: (a) => {
        const { U } = tg.linalg.svd(a);
        return weighted(U, tg.matrixTranspose(U));
      },
      gradgrad: true,
    },
    {
      make: (s) => [withSpectrum([], 2, 4, s)],
      f: (a) => {
        const { Vh } = tg.linalg.svd(a);
        return weighted(tg.matrixTranspose(Vh), Vh);
      },
    },
    {
      make: (s) => [withSpectrum([], 3, 3, s)],
      f: (a) => {
        const { U, S, Vh } = tg.linalg.svd(a);
        return weighted(U.mul(tg.expandDims(S, -2)), Vh);
      },
      makeLarge: (s) => [withSpectrum([2], 9, 7, s)],
    },
  ],
  pinv: [
    { make: (s) => [withSpectrum([], 3, 2, s)], f: (a) => tg.linalg.pinv(a), gradgrad: true },
    {
      make: (s) => [withSpectrum([2], 2, 3, s)],
      f: (a) => tg.linalg.pinv(a),
      gradgrad: true,
      makeLarge: (s) => [withSpectrum([2], 8, 12, s)],
    },
    // tolerances that cut nothing here: the gradient is exact only where the kept rank does not change
    { make: (s) => [withSpectrum([], 4, 3, s)], f: (a) => tg.linalg.pinv(a, { rtol: 0.01, atol: 1e-3 }) },
    // a tolerance per matrix of a batch A's one matrix is broadcast to: its gradient summed back
    { make: (s) => [withSpectrum([], 3, 2, s)], f: (a) => tg.linalg.pinv(a, { rtol: tg.tensor([1e-3, 0.01]) }) },
    // symmetric by construction, so that every finite difference moves a matrix hermitian reads whole
    {
      make: (s) => [withSpectrum([2], 3, 3, s, true)],
      f: (a) => tg.linalg.pinv(a.add(tg.matrixTranspose(a)).mul(0.5), { hermitian: true }),
      gradgrad: true,
    },
  ],
  matrixExp: [
    { make: (s) => [scaledNormals([3, 3], [0.5], s)], f: (a) => tg.linalg.matrixExp(a), gradgrad: true },
    // norms above ½: scaled down and squared back, each matrix of the batch its own number of times
    {
      make: (s) => [scaledNormals([2, 2, 2], [0.3, 2], s)],
      f: (a) => tg.linalg.matrixExp(a),
      makeLarge: (s) => [scaledNormals([2, 8, 8], [0.2, 0.6], s)],
    },
  ],
};

/** tg.linalg's functions composed from the ops above (svdvals, lstsq, matrixNorm, matrixPower), merged into compositeCases. */
export const linalgCompositeCases: Record<string, OpCase | OpCase[]> = {
  'linalg.svdvals': [{ make: (s) => [withSpectrum([2], 2, 3, s)], f: (a) => tg.linalg.svdvals(a), gradgrad: true }],
  'linalg.lstsq': [
    {
      make: (s) => [withSpectrum([], 3, 2, s), randn([3, 2], s + 1)],
      f: (a, b) => tg.linalg.lstsq(a, b),
      gradgrad: true,
    },
    // a vector B, and A's batch against B's
    { make: (s) => [withSpectrum([2], 4, 2, s), randn([4], s + 1)], f: (a, b) => tg.linalg.lstsq(a, b) },
  ],
  'linalg.matrixNorm': [
    { make: (s) => [withSpectrum([2], 4, 3, s)], f: (a) => tg.linalg.matrixNorm(a, 'nuc'), gradgrad: true },
    { make: (s) => [withSpectrum([], 3, 4, s)], f: (a) => tg.linalg.matrixNorm(a, 2), gradgrad: true },
    {
      make: (s) => [randn([2, 3, 4], s)],
      f: (a) => tg.linalg.matrixNorm(a, 'fro', { keepDims: true }),
      gradgrad: true,
    },
  ],
  'linalg.matrixPower': [
    { make: (s) => [wellConditioned([], 3, s)], f: (a) => tg.linalg.matrixPower(a, 3), gradgrad: true },
    { make: (s) => [wellConditioned([2], 2, s)], f: (a) => tg.linalg.matrixPower(a, -2), gradgrad: true },
  ],
};
