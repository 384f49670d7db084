// Gradient-check cases for tg.linalg (src/linalg), merged into `cases` in op-cases.ts.
//
// Matrices are well conditioned, so that float32 finite differences (steps up to ±2h, h = 2⁻⁵·|x|)
// stay accurate: A = M/2 + n·I with M standard normal. Symmetric-input ops (cholesky) check the
// function A ↦ cholesky((A + Aᵀ)/2), whose gradient is the symmetric one the op returns.
import * as tg from '../src/index.js';
import type { linalgRules } from '../src/linalg/rules.js';
import { rng } from '../src/random.js';
import type { CaseTable } from './op-cases.js';

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
  const v = wellConditionedValues(batch, n, seed).map((x, i) => ((lower ? i % n <= Math.floor(i / n) % n : i % n >= Math.floor(i / n) % n) ? x : 0));
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
  for (let o = 0; o < v.length; o += n * n) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[o + i * n + j] = v[o + rows[i] * n + j];
  return tg.tensor(out, { shape: [...batch, n, n] });
}

const randn = (shape: number[], seed: number) => tg.tensor(Float32Array.from(normals(shape.reduce((a, b) => a * b, 1), seed)), { shape });
const sym = (a: tg.Tensor) => a.add(tg.matrixTranspose(a)).mul(0.5);

export const linalgCases: CaseTable<keyof typeof linalgRules> = {
  inv: [
    { make: (s) => [wellConditioned([], 3, s)], f: (a) => tg.linalg.inv(a), gradgrad: true },
    { make: (s) => [wellConditioned([2], 3, s)], f: (a) => tg.linalg.inv(a), makeLarge: (s) => [wellConditioned([4], 16, s)] },
  ],
  det: [
    { make: (s) => [wellConditioned([], 3, s)], f: (a) => tg.linalg.det(a), gradgrad: true },
    // a row swap in the LU: det's sign comes from the permutation
    { make: (s) => [permuted([2], 3, s)], f: (a) => tg.linalg.det(a), makeLarge: (s) => [wellConditioned([3], 8, s)] },
  ],
  slogdet: [
    { make: (s) => [wellConditioned([], 3, s)], f: (a) => tg.linalg.slogdet(a)[1], gradgrad: true },
    { make: (s) => [permuted([2], 3, s)], f: (a) => tg.linalg.slogdet(a)[1], makeLarge: (s) => [wellConditioned([3], 16, s)] },
  ],
  solve: [
    { make: (s) => [wellConditioned([], 3, s), randn([3, 2], s + 1)], f: (a, b) => tg.linalg.solve(a, b), gradgrad: true },
    // A batch [2] against B batch [3, 1]: gradients summed back over the broadcast
    { make: (s) => [wellConditioned([2], 3, s), randn([3, 1, 3, 1], s + 1)], f: (a, b) => tg.linalg.solve(a, b) },
    { make: (s) => [permuted([], 3, s), randn([3], s + 1)], f: (a, b) => tg.linalg.solve(a, b), makeLarge: (s) => [wellConditioned([4], 16, s), randn([4, 16, 3], s + 1)] },
  ],
  cholesky: [
    { make: (s) => [spd([], 3, s)], f: (a) => tg.linalg.cholesky(sym(a)), gradgrad: true },
    { make: (s) => [spd([2], 3, s)], f: (a) => tg.linalg.cholesky(sym(a)), makeLarge: (s) => [spd([3], 12, s)] },
  ],
  triangularSolve: [
    { make: (s) => [triangular([], 3, s), randn([3, 2], s + 1)], f: (l, b) => tg.linalg.triangularSolve(l, b), gradgrad: true },
    { make: (s) => [triangular([2], 3, s, false), randn([3, 2], s + 1)], f: (u, b) => tg.linalg.triangularSolve(u, b, { lower: false, transpose: true }), gradgrad: true },
    // a full matrix: only its lower triangle is read, with a unit diagonal; B broadcast over T's batch
    { make: (s) => [wellConditioned([2], 3, s), randn([3, 2], s + 1)], f: (t, b) => tg.linalg.triangularSolve(t, b, { unitDiagonal: true }) },
    { make: (s) => [triangular([], 3, s), randn([3], s + 1)], f: (l, b) => tg.linalg.triangularSolve(l, b, { transpose: true }), makeLarge: (s) => [triangular([4], 16, s), randn([4, 16, 2], s + 1)] },
  ],
  lu: [
    { make: (s) => [wellConditioned([], 3, s)], f: (a) => tg.linalg.lu(a).lu },
    // row swaps: P ≠ I; L and U each carry the gradient
    { make: (s) => [permuted([2], 3, s)], f: (a) => { const r = tg.linalg.lu(a); return r.L.add(r.U.mul(2)); } },
  ],
};
