// What the linear-algebra ops share: argument checks, the calls into the kernels (TF.js tensors in
// and out, for forwards), the singularity test, and triangle masks for adjoints.
import * as tf from '@tensorflow/tfjs-core';
import {
  LINALG_LU,
  LINALG_CHOLESKY,
  LINALG_TRIANGULAR_SOLVE,
  LINALG_QR,
  LINALG_EIGH,
  LINALG_SVD,
  LINALG_MATRIX_EXP,
  type TriangularSolveAttrs,
} from '../../kernels/index.js';
import { TapegradError, fmtShape } from '../errors.js';
import { asTensor, composed, owning } from '../op.js';
import { broadcastShapes } from '../ops/shape.js';
import { Tensor } from '../tensor.js';
import { add, div, mul } from '../ops/elementwise.js';
import { reshape, slice } from '../ops/shape.js';
import { eye } from '../creation.js';
import { checksByReadBack } from '../backend/facts.js';

export const EPS32 = 2 ** -23;

// ---- argument checks

/** The argument as a float32 tensor of square matrices [..., n, n] (n ≥ 1), or a clear error. */
export function squareMatrix(fn: string, x: unknown, what = 'the input'): Tensor {
  const a = asTensor(fn, x, what);
  if (a.dtype !== 'float32') throw new TapegradError(fn, `${what} must be float32, got ${a.dtype}`);
  if (a.rank < 2)
    throw new TapegradError(
      fn,
      `${what} must be a matrix or a batch of matrices [..., n, n], got shape ${fmtShape(a.shape)}`,
    );
  const [m, n] = a.shape.slice(-2);
  if (m !== n) throw new TapegradError(fn, `${what} must be square, got ${m}×${n} (shape ${fmtShape(a.shape)})`);
  if (n === 0) throw new TapegradError(fn, `${what} is an empty matrix (shape ${fmtShape(a.shape)})`);
  return a;
}

/** The argument as a float32 tensor of matrices [..., m, n] (m, n ≥ 1), or a clear error. */
export function matrixArg(fn: string, x: unknown, what = 'the input'): Tensor {
  const a = asTensor(fn, x, what);
  if (a.dtype !== 'float32') throw new TapegradError(fn, `${what} must be float32, got ${a.dtype}`);
  if (a.rank < 2) {
    throw new TapegradError(
      fn,
      `${what} must be a matrix or a batch of matrices [..., m, n], got shape ${fmtShape(a.shape)}`,
    );
  }
  if (a.size === 0) throw new TapegradError(fn, `${what} is empty (shape ${fmtShape(a.shape)})`);
  return a;
}

/**
 * Checks a right-hand side B against A [..., n, n]: B is [..., n, k] with batch axes that broadcast
 * against A's, or a vector [n] (NumPy's rule: only a 1-D B is a vector).
 */
export function rightHandSide(fn: string, a: Tensor, x: unknown, what = 'B'): Tensor {
  const b = asTensor(fn, x, what);
  if (b.dtype !== 'float32') throw new TapegradError(fn, `${what} must be float32, got ${b.dtype}`);
  const n = a.shape[a.rank - 1];
  const rows = b.rank === 1 ? b.shape[0] : b.shape[b.rank - 2];
  if (b.rank === 0 || rows !== n) {
    throw new TapegradError(
      fn,
      `${what} must have ${n} rows to match the ${n}×${n} matrix, got shape ${fmtShape(b.shape)} (matrix ${fmtShape(a.shape)})`,
    );
  }
  if (b.rank > 1) {
    try {
      broadcastShapes(fn, a.shape.slice(0, -2), b.shape.slice(0, -2));
    } catch {
      throw new TapegradError(
        fn,
        `batch dimensions cannot be broadcast: matrix ${fmtShape(a.shape)} and ${what} ${fmtShape(b.shape)}`,
      );
    }
  }
  return b;
}

/**
 * Applies a matrix op to a right-hand side: B [..., n, k] as is, a vector [n] as the column [n, 1]
 * (the result then drops that axis). The reshapes are owned by the result; freed if the op throws.
 */
export function onColumns(b: Tensor, op: (b: Tensor) => Tensor): Tensor {
  if (b.rank > 1) return op(b);
  return composed((keep) => {
    const x = keep(op(keep(reshape(b, [b.shape[0], 1]))));
    return reshape(x, x.shape.slice(0, -1));
  });
}

// ---- kernels, on TF.js tensors (forwards only)

/** LU with partial pivoting: the packed factors [..., n, n] and the permutation [..., n] (float32 indices). */
export function luFactor(a: tf.Tensor): { lu: tf.Tensor; perm: tf.Tensor } {
  const n = a.shape[a.rank - 1];
  const packed = tf.engine().runKernel(LINALG_LU, { x: a }, {}) as tf.Tensor;
  const begin = Array(a.rank).fill(0);
  const lu = tf.slice(packed, begin, [...a.shape.slice(0, -1), n]);
  const perm = tf.reshape(
    tf.slice(packed, [...begin.slice(0, -1), n], [...a.shape.slice(0, -1), 1]),
    a.shape.slice(0, -1),
  );
  packed.dispose();
  return { lu, perm };
}

export function choleskyFactor(a: tf.Tensor): tf.Tensor {
  return tf.engine().runKernel(LINALG_CHOLESKY, { x: a }, {}) as tf.Tensor;
}

export function triangularSolveKernel(t: tf.Tensor, b: tf.Tensor, attrs: TriangularSolveAttrs): tf.Tensor {
  return tf.engine().runKernel(LINALG_TRIANGULAR_SOLVE, { a: t, b }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
}

export function qrKernel(a: tf.Tensor): tf.Tensor {
  return tf.engine().runKernel(LINALG_QR, { x: a }, {}) as tf.Tensor;
}

export function eighKernel(a: tf.Tensor): tf.Tensor {
  return tf.engine().runKernel(LINALG_EIGH, { x: a }, {}) as tf.Tensor;
}

export function svdKernel(a: tf.Tensor): tf.Tensor {
  return tf.engine().runKernel(LINALG_SVD, { x: a }, {}) as tf.Tensor;
}

export function matrixExpKernel(a: tf.Tensor): tf.Tensor {
  return tf.engine().runKernel(LINALG_MATRIX_EXP, { x: a }, {}) as tf.Tensor;
}

/** The diagonal of each matrix of [..., n, n]. */
export function diagPart(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.sum(tf.mul(x, tf.eye(x.shape[x.rank - 1])), -1));
}

/** The permutation matrix P with P[i, perm[i]] = 1, so that (P·A)[i] = A[perm[i]]. */
export function permutationMatrix(perm: tf.Tensor): tf.Tensor {
  const n = perm.shape[perm.rank - 1];
  // equal(perm[i], j) rather than tf.oneHot, which refuses depth 1 (a 1×1 matrix)
  return tf.tidy(() =>
    tf.cast(tf.equal(tf.expandDims(tf.cast(perm, 'int32'), -1), tf.range(0, n, 1, 'int32')), 'float32'),
  );
}

/** The sign (±1) of each permutation: (−1)^(number of inversions i < j with perm[i] > perm[j]). */
export function permutationSign(perm: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const n = perm.shape[perm.rank - 1];
    const inverted = tf.cast(tf.greater(tf.expandDims(perm, -1), tf.expandDims(perm, -2)), 'float32');
    const count = tf.sum(tf.mul(inverted, triangleMaskTf(n, 'strictUpper')), [-2, -1]);
    return tf.sub(1, tf.mul(2, tf.mod(count, 2)));
  });
}

/**
 * Whether the value checks below run: they read back synchronously (src/backend/facts.ts). Where
 * they are skipped (webgpu), a singular or indefinite matrix gives Inf/NaN instead of an error.
 */
export function checksValues(): boolean {
  return checksByReadBack();
}

/**
 * The first matrix of the batch whose LU has a zero or tiny pivot, |u_kk| ≤ n·ε·max|a_ij| (float32
 * rounding alone could have made it nonzero), or null. Reads 2 numbers per matrix.
 */
export function findSingular(
  a: tf.Tensor,
  lu: tf.Tensor,
): { index: number; pivot: number; scale: number; count: number } | null {
  const n = a.shape[a.rank - 1];
  const [pivots, scale] = tf.tidy(() => [tf.min(tf.abs(diagPart(lu)), -1), tf.max(tf.abs(a), [-2, -1])]);
  const p = pivots.dataSync();
  const s = scale.dataSync();
  pivots.dispose();
  scale.dispose();
  for (let i = 0; i < p.length; i++) {
    if (p[i] <= n * EPS32 * s[i]) return { index: i, pivot: p[i], scale: s[i], count: p.length };
  }
  return null;
}

/** Whether some matrix of `a` is singular (see findSingular); false where values are not checked. */
export function anySingular(a: tf.Tensor): boolean {
  if (!checksValues()) return false;
  return tf.tidy(() => findSingular(a, luFactor(a).lu) !== null);
}

/** Throws "matrix is singular" (see findSingular), naming the batch entry. */
export function assertNonsingular(fn: string, a: tf.Tensor, lu: tf.Tensor, why = ''): void {
  if (!checksValues()) return;
  const found = findSingular(a, lu);
  if (!found) return;
  const { index, pivot, scale, count } = found;
  const where = count > 1 || a.rank > 2 ? ` (matrix ${index} of the batch ${fmtShape(a.shape.slice(0, -2))})` : '';
  throw new TapegradError(
    fn,
    `matrix is singular${where}${why}: its smallest LU pivot is ${pivot} while its largest entry is ${scale}, shape ${fmtShape(a.shape)}`,
  );
}

// ---- triangle masks

export type Triangle = 'lower' | 'strictLower' | 'upper' | 'strictUpper';

function triangleValues(n: number, kind: Triangle): Float32Array {
  const m = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const keep = kind === 'lower' ? j <= i : kind === 'strictLower' ? j < i : kind === 'upper' ? j >= i : j > i;
      m[i * n + j] = keep ? 1 : 0;
    }
  }
  return m;
}

export function triangleMaskTf(n: number, kind: Triangle): tf.Tensor {
  return tf.tensor2d(triangleValues(n, kind), [n, n]);
}

/** x with everything outside the given triangle of its last two axes set to 0 (differentiable). */
export function triangle(x: Tensor, kind: Triangle): Tensor {
  const n = x.shape[x.rank - 1];
  const mask = new Tensor(triangleMaskTf(n, kind));
  return owning(mul(x, mask), [mask]);
}

// ---- pieces of adjoints (tapegrad ops, so that the adjoints are differentiable again)

/** Rows [begin, begin + count) of each matrix of x [..., r, c] (differentiable). */
export function rows(x: Tensor, begin: number, count: number): Tensor {
  const start = Array(x.rank).fill(0);
  start[x.rank - 2] = begin;
  const size = [...x.shape];
  size[x.rank - 2] = count;
  return slice(x, start, size);
}

/** Row `i` of each matrix of x [..., r, c], as a vector [..., c] (differentiable). */
export function row(x: Tensor, i: number): Tensor {
  const r = rows(x, i, 1);
  return owning(reshape(r, [...x.shape.slice(0, -2), x.shape[x.rank - 1]]), [r]);
}

/** v [..., n] as the row vectors [..., 1, n] and the column vectors [..., n, 1]. */
export function asRow(v: Tensor): Tensor {
  return reshape(v, [...v.shape.slice(0, -1), 1, v.shape[v.rank - 1]]);
}
export function asColumn(v: Tensor): Tensor {
  return reshape(v, [...v.shape, 1]);
}

/** diag(v) for each vector of v [..., n]: [..., n, n]. */
export function diagEmbed(v: Tensor): Tensor {
  const I = eye(v.shape[v.rank - 1]);
  const c = asColumn(v);
  return owning(mul(c, I), [I, c]);
}

/**
 * 1/x where x ≠ 0 and 0 where x = 0 exactly, for the adjoints' 1/(λ_j − λ_i) and 1/σ. A zero there
 * is the diagonal, a repeated eigenvalue or singular value, or a zero singular value: the vectors'
 * derivative does not exist there, and their terms are left out rather than made NaN, so that the
 * gradients that do exist (of the values alone) come out right.
 */
export function reciprocalWhereNonzero(x: Tensor): Tensor {
  const zero = new Tensor(tf.tidy(() => tf.cast(tf.equal(x.value, 0), 'float32')));
  const mask = new Tensor(tf.tidy(() => tf.sub(1, zero.value)));
  const safe = add(x, zero);
  return owning(div(mask, safe), [zero, mask, safe]);
}
