// lu(A): P·A = L·U with partial pivoting, for each matrix of a [..., n, n] batch.
import * as tf from '@tensorflow/tfjs-core';
import { LINALG_LU } from '../../kernels/index.js';
import { defineOp } from '../op.js';
import type { Tensor } from '../tensor.js';
import { add } from '../ops/elementwise.js';
import { mm, matrixTranspose } from '../ops/matrix.js';
import { permutationMatrix, squareMatrix, triangle, triangleMaskTf } from './common.js';
import { triangularSolve } from './triangular.js';

/** P·A = L·U from the kernel's [..., n, n+1] output: the packed factors and, in column n, the permutation. */
function factors(a: tf.Tensor): tf.Tensor[] {
  return tf.tidy(() => {
    const n = a.shape[a.rank - 1];
    const [packed, permColumn] = tf.split(tf.engine().runKernel(LINALG_LU, { x: a }, {}) as tf.Tensor, [n, 1], -1);
    const perm = tf.squeeze(permColumn, [a.rank - 1]);
    const L = tf.add(tf.mul(packed, triangleMaskTf(n, 'strictLower')), tf.eye(n));
    const U = tf.mul(packed, triangleMaskTf(n, 'upper'));
    return [packed, tf.cast(perm, 'int32'), permutationMatrix(perm), L, U];
  });
}

// The permutation (pivots, P) is piecewise constant: those outputs carry no gradient.
const luOp = defineOp<void>({
  name: 'linalg.lu',
  outputs: 'several',
  outputNames: ['lu', 'pivots', 'P', 'L', 'U'],
  nonDifferentiable: [1, 2],
  readsOutputs: true,
  forward: ([a]) => factors(a),
  // dF = L⁻¹P dA U⁻¹ = L⁻¹dL + dU U⁻¹: Ā = Pᵀ L⁻ᵀ [tril₋(Lᵀ L̄) + triu(Ū Uᵀ)] U⁻ᵀ, where the packed
  // factors' cotangent Ḡ adds to both, L̄ = tril₋(Ḡ + L̄), Ū = triu(Ḡ + Ū) (an absent one left out)
  vjp: ([gLU, , , gL, gU], _inputs, [packed, , P, L, U]) => [
    () => {
      const sum = (x: Tensor | null, y: Tensor | null) => (x && y ? add(x, y) : (x ?? y));
      const lower = sum(gLU, gL);
      const upper = sum(gLU, gU);
      const fromL = lower && triangle(mm(L, triangle(lower, 'strictLower'), true, false), 'strictLower');
      const fromU = upper && triangle(mm(triangle(upper, 'upper'), U, false, true), 'upper');
      const m = sum(fromL, fromU)!;
      const z = triangularSolve(packed, m, { lower: true, transpose: true, unitDiagonal: true });
      // Z·U⁻ᵀ = (U⁻¹·Zᵀ)ᵀ
      const w = matrixTranspose(triangularSolve(packed, matrixTranspose(z), { lower: false }));
      return mm(P, w, true, false);
    },
  ],
});

/** The factors of `lu`: packed LU, pivots, and P, L, U with A = P·L·U. */
export interface LUResult {
  /** The packed factors [..., n, n]: L strictly below the diagonal (its unit diagonal implied), U on and above. */
  lu: Tensor;
  /** int32 [..., n]: row i of P·A is row pivots[i] of A (a permutation, not LAPACK's sequence of swaps). */
  pivots: Tensor;
  /** The permutation matrix [..., n, n], P[i, pivots[i]] = 1. */
  P: Tensor;
  /** Unit lower triangular [..., n, n]. */
  L: Tensor;
  /** Upper triangular [..., n, n]. */
  U: Tensor;
}

/**
 * LU factorization with partial pivoting, P·A = L·U, of each matrix of A [..., n, n]. lu, L and U
 * are differentiable (gradients flow back to A); pivots and P are constants. A singular A is
 * factored too (U then has a zero on its diagonal).
 * PyTorch `torch.linalg.lu`, JAX `jax.scipy.linalg.lu`.
 */
export function lu(a: Tensor): LUResult {
  const [packed, pivots, P, L, U] = luOp([squareMatrix('linalg.lu', a)]);
  return { lu: packed, pivots, P, L, U };
}

export const luRule = luOp.rule;
