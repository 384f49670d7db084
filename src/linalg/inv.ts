// inv(A) = A⁻¹ for each matrix of a [..., n, n] batch, through LU with partial pivoting.
import * as tf from '@tensorflow/tfjs-core';
import { defineOp } from '../op.js';
import type { Tensor } from '../tensor.js';
import { matMulBroadcastingBatches } from '../backend/defects.js';
import { neg } from '../ops/elementwise.js';
import { mm } from '../ops/matrix.js';
import { luFactor, assertNonsingular, permutationMatrix, triangularSolveKernel, squareMatrix } from './common.js';

/**
 * A⁻¹·B from the packed LU of A and its permutation: U⁻¹·L⁻¹·(P·B), B's batch axes broadcasting
 * against A's; without B, A⁻¹ itself (then P·I = P needs no product).
 */
export function luSolveTf(lu: tf.Tensor, perm: tf.Tensor, b?: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const P = permutationMatrix(perm);
    const pb = b ? matMulBroadcastingBatches(P, b) : P;
    const y = triangularSolveKernel(lu, pb, { lower: true, transpose: false, unitDiagonal: true });
    return triangularSolveKernel(lu, y, { lower: false, transpose: false, unitDiagonal: false });
  });
}

const invOp = defineOp<void>({
  name: 'linalg.inv',
  forward: ([a]) =>
    tf.tidy(() => {
      const { lu, perm } = luFactor(a);
      assertNonsingular('linalg.inv', a, lu);
      return luSolveTf(lu, perm);
    }),
  // Prop. 15, dY = −Y dA Y with Y = A⁻¹: Ā = −A⁻ᵀ G A⁻ᵀ = −Yᵀ G Yᵀ
  vjp: (g, _inputs, y) => [() => neg(mm(mm(y, g, true, false), y, false, true))],
});

/**
 * The inverse of each matrix of A [..., n, n]; a singular matrix is an error ("matrix is singular").
 * PyTorch `torch.linalg.inv`, JAX `jnp.linalg.inv`.
 */
export function inv(a: Tensor): Tensor {
  return invOp([squareMatrix('linalg.inv', a)]);
}

export const invRule = invOp.rule;
