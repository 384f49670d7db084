// cholesky(A): the lower factor L of A = L·Lᵀ for each symmetric positive-definite matrix of a batch.
import * as tf from '@tensorflow/tfjs-core';
import { defineOp } from '../op.js';
import type { Tensor } from '../tensor.js';
import { TapegradError, checkOptions, fmtShape } from '../errors.js';
import { add, mul } from '../ops/elementwise.js';
import { mm, matrixTranspose } from '../ops/matrix.js';
import { choleskyFactor, squareMatrix, triangle, checksValues } from './common.js';
import { triangularSolve } from './triangular.js';

/**
 * The kernel marks a matrix that is not positive definite by filling its L with NaN (left as is on
 * webgpu); a matrix holding NaN itself gives NaN, as PyTorch's, not an error.
 */
function assertPositiveDefinite(a: tf.Tensor, l: tf.Tensor): void {
  if (!checksValues()) return;
  const bad = tf.tidy(() => tf.logicalAnd(tf.any(tf.isNaN(l), [-2, -1]), tf.logicalNot(tf.any(tf.isNaN(a), [-2, -1]))));
  const flags = bad.dataSync();
  bad.dispose();
  const i = flags.findIndex((f) => f !== 0);
  if (i < 0) return;
  const where = a.rank > 2 ? ` (matrix ${i} of the batch ${fmtShape(a.shape.slice(0, -2))})` : '';
  throw new TapegradError('linalg.cholesky', `matrix is not positive definite${where}, shape ${fmtShape(a.shape)}`);
}

const choleskyOp = defineOp<void>({
  name: 'linalg.cholesky',
  forward: ([a]) => {
    const l = choleskyFactor(a);
    try {
      assertPositiveDefinite(a, l);
    } catch (e) {
      l.dispose();
      throw e;
    }
    return l;
  },
  // Murray (2016), PyTorch's cholesky_backward: Ā = L⁻ᵀ Φ(Lᵀ L̄) L⁻¹, Φ(X) = (X + Xᵀ)/2 of tril(X) (symmetric)
  vjp: (g, _inputs, l) => [
    () => {
      const p = triangle(mm(l, g, true, false), 'lower');
      const phi = mul(add(p, matrixTranspose(triangle(p, 'strictLower'))), 0.5);
      const left = triangularSolve(l, phi, { lower: true, transpose: true });
      return matrixTranspose(triangularSolve(l, matrixTranspose(left), { lower: true, transpose: true }));
    },
  ],
});

/** Options of linalg.cholesky. */
export interface CholeskyOptions {
  /**
   * Check that A is symmetric (|a_ij − a_ji| within float32 rounding of max|A|) and throw if not,
   * at the cost of reading A back. Default false: only A's lower triangle is read, as in PyTorch.
   */
  checkSymmetric?: boolean;
}

/**
 * The lower Cholesky factor L (A = L·Lᵀ) of each symmetric positive-definite matrix of A [..., n, n].
 * A is assumed symmetric and only its lower triangle is read (as PyTorch and LAPACK do): a matrix
 * that is not symmetric is factored as the symmetric matrix of its lower triangle, silently, unless
 * `checkSymmetric` is set. Its gradient is symmetric (for a symmetric input, as in PyTorch). A matrix
 * that is not positive definite is an error.
 * PyTorch `torch.linalg.cholesky`, JAX `jnp.linalg.cholesky`.
 */
export function cholesky(a: Tensor, opts: CholeskyOptions = {}): Tensor {
  checkOptions('linalg.cholesky', opts, ['checkSymmetric']);
  const fn = 'linalg.cholesky';
  const t = squareMatrix(fn, a);
  if (opts === null || typeof opts !== 'object')
    throw new TapegradError(fn, `options must be an object, got ${JSON.stringify(opts)}`);
  if (opts.checkSymmetric !== undefined && typeof opts.checkSymmetric !== 'boolean')
    throw new TapegradError(fn, `checkSymmetric must be true or false, got ${JSON.stringify(opts.checkSymmetric)}`);
  if (opts.checkSymmetric) assertSymmetric(fn, t.value);
  return choleskyOp([t]);
}

/** Throws if some matrix of a differs from its transpose by more than float32 rounding of its largest entry. */
function assertSymmetric(fn: string, a: tf.Tensor): void {
  const n = a.shape[a.rank - 1];
  const [gap, scale] = tf.tidy(() => [
    tf.max(tf.abs(tf.sub(a, tf.transpose(a, [...Array(a.rank - 2).keys(), a.rank - 1, a.rank - 2]))), [-2, -1]),
    tf.max(tf.abs(a), [-2, -1]),
  ]);
  const g = gap.dataSync();
  const sc = scale.dataSync();
  tf.dispose([gap, scale]);
  for (let i = 0; i < g.length; i++) {
    if (g[i] > 8 * n * 2 ** -23 * sc[i]) {
      const where = a.rank > 2 ? ` (matrix ${i} of the batch ${fmtShape(a.shape.slice(0, -2))})` : '';
      throw new TapegradError(
        fn,
        `matrix is not symmetric${where}: |A − Aᵀ| reaches ${g[i]} while its largest entry is ${sc[i]}, shape ${fmtShape(a.shape)}`,
      );
    }
  }
}

export const choleskyRule = choleskyOp.rule;
