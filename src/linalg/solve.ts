// solve(A, B): X = A⁻¹·B for A [..., n, n] and B [..., n, k] (batch axes broadcast), through LU.
import * as tf from '@tensorflow/tfjs-core';
import { defineOp, owning, type Op } from '../op.js';
import type { Tensor } from '../tensor.js';
import { neg } from '../ops/elementwise.js';
import { mm, matrixTranspose } from '../ops/matrix.js';
import { unbroadcast } from '../ops/shape.js';
import { luFactor, assertNonsingular, squareMatrix, rightHandSide, onColumns } from './common.js';
import { luSolveTf } from './inv.js';

const solveOp: Op<void> = defineOp<void>({
  name: 'linalg.solve',
  forward: ([a, b]) =>
    tf.tidy(() => {
      const { lu, perm } = luFactor(a);
      assertNonsingular('linalg.solve', a, lu);
      return luSolveTf(lu, perm, b);
    }),
  // X = A⁻¹B: B̄ = A⁻ᵀG (a solve with Aᵀ, no inverse formed), Ā = −B̄Xᵀ
  vjp: (g, [a, b], x) => {
    let bBar: Tensor | undefined;
    const getBBar = () => {
      if (bBar) return bBar;
      const at = matrixTranspose(a);
      return (bBar = owning(solveOp([at, g]), [at]));
    };
    return [() => unbroadcast(neg(mm(getBBar(), x, false, true)), a.shape), () => unbroadcast(getBBar(), b.shape)];
  },
});

/**
 * X with A·X = B for each matrix of A [..., n, n]. B is [..., n, k], its batch axes broadcasting
 * against A's, or a vector [n] (then X is [..., n]). A singular A is an error ("matrix is singular").
 * PyTorch `torch.linalg.solve`, JAX `jnp.linalg.solve`.
 */
export function solve(a: Tensor, b: Tensor): Tensor {
  const A = squareMatrix('linalg.solve', a, 'A');
  const B = rightHandSide('linalg.solve', A, b);
  return onColumns(B, (b2) => solveOp([A, b2]));
}

export const solveRule = solveOp.rule;
