// cholesky(A): the lower factor L of A = L·Lᵀ for each symmetric positive-definite matrix of a batch.
import * as tf from '@tensorflow/tfjs-core';
import { defineOp } from '../op.js';
import { Tensor } from '../tensor.js';
import { TapegradError, fmtShape } from '../errors.js';
import { add, mul } from '../ops/elementwise.js';
import { mm, matrixTranspose } from '../ops/matrix.js';
import { choleskyFactor, squareMatrix, triangle, checksValues } from './common.js';
import { triangularSolve } from './triangular.js';

/** The kernel marks a matrix that is not positive definite by filling its L with NaN (left as is on webgpu). */
function assertPositiveDefinite(a: tf.Tensor, l: tf.Tensor): void {
  if (!checksValues()) return;
  const bad = tf.tidy(() => tf.any(tf.isNaN(l), [-2, -1]));
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

/**
 * The lower Cholesky factor L (A = L·Lᵀ) of each symmetric positive-definite matrix of A [..., n, n].
 * Only A's lower triangle is read; its gradient is symmetric (for a symmetric input, as in PyTorch).
 * A matrix that is not positive definite is an error.
 * PyTorch `torch.linalg.cholesky`, JAX `jnp.linalg.cholesky`.
 */
export function cholesky(a: Tensor): Tensor {
  return choleskyOp([squareMatrix('linalg.cholesky', a)]);
}

export const choleskyRule = choleskyOp.rule;
