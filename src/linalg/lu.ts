// lu(A): P·A = L·U with partial pivoting, for each matrix of a [..., n, n] batch.
import * as tf from '@tensorflow/tfjs-core';
import { LINALG_LU } from '../../kernels/index.js';
import { defineOp, owning } from '../op.js';
import { Tensor } from '../tensor.js';
import { add } from '../ops/elementwise.js';
import { slice } from '../ops/shape.js';
import { mm, matrixTranspose } from '../ops/matrix.js';
import { eye } from '../creation.js';
import { permutationMatrix, squareMatrix, triangle } from './common.js';
import { triangularSolve } from './triangular.js';

// The op's output is the kernel's: [..., n, n+1], the packed factors and, in column n, the
// permutation (float indices). The permutation is piecewise constant: its cotangent is ignored.
const luOp = defineOp<void>({
  name: 'linalg.lu',
  forward: ([a]) => tf.engine().runKernel(LINALG_LU, { x: a }, {}) as tf.Tensor,
  // dF = L⁻¹P dA U⁻¹ = L⁻¹dL + dU U⁻¹: Ā = Pᵀ L⁻ᵀ [tril₋(Lᵀ L̄) + triu(Ū Uᵀ)] U⁻ᵀ, L̄ = tril₋(Ḡ), Ū = triu(Ḡ)
  vjp: (g, _inputs, out) => [
    () => {
      const { lu, perm } = split(out);
      const gLU = split(g).lu;
      const P = new Tensor(permutationMatrix(perm.value));
      perm.dispose();
      const L = unitLower(lu);
      const U = triangle(lu, 'upper');
      const m = add(
        triangle(mm(L, triangle(gLU, 'strictLower'), true, false), 'strictLower'),
        triangle(mm(triangle(gLU, 'upper'), U, false, true), 'upper'),
      );
      const z = triangularSolve(lu, m, { lower: true, transpose: true, unitDiagonal: true });
      // Z·U⁻ᵀ = (U⁻¹·Zᵀ)ᵀ
      const w = matrixTranspose(triangularSolve(lu, matrixTranspose(z), { lower: false }));
      return owning(mm(P, w, true, false), [P]);
    },
  ],
});

/** Splits [..., n, n+1] into the packed factors [..., n, n] (differentiable) and the permutation [..., n]. */
function split(out: Tensor): { lu: Tensor; perm: Tensor } {
  const n = out.shape[out.rank - 1] - 1;
  const zero = Array(out.rank).fill(0);
  const lu = slice(out, zero, [...out.shape.slice(0, -1), n]);
  const perm = new Tensor(
    tf.tidy(() =>
      tf.reshape(
        tf.slice(out.value, [...zero.slice(0, -1), n], [...out.shape.slice(0, -1), 1]),
        out.shape.slice(0, -1),
      ),
    ),
  );
  return { lu, perm };
}

/** The strictly lower part of a packed LU plus the identity: L. */
function unitLower(lu: Tensor): Tensor {
  const I = eye(lu.shape[lu.rank - 1]);
  const strict = triangle(lu, 'strictLower');
  return owning(add(strict, I), [I, strict]);
}

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
  const out = luOp([squareMatrix('linalg.lu', a)]);
  const { lu: packed, perm } = split(out);
  const result: LUResult = {
    lu: owning(packed, [out]),
    pivots: new Tensor(tf.tidy(() => tf.cast(perm.value, 'int32'))),
    P: new Tensor(permutationMatrix(perm.value)),
    L: unitLower(packed),
    U: triangle(packed, 'upper'),
  };
  perm.dispose();
  return result;
}

export const luRule = luOp.rule;
