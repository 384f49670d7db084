// eigh(A): the eigenvalues (ascending) and orthonormal eigenvectors of each symmetric matrix of a
// [..., n, n] batch, A = V·diag(λ)·Vᵀ.
import * as tf from '@tensorflow/tfjs-core';
import { TapegradError, fmtShape } from '../errors.js';
import { defineOp } from '../op.js';
import type { Tensor } from '../tensor.js';
import { add, mul, sub } from '../ops/elementwise.js';
import { mm, matrixTranspose } from '../ops/matrix.js';
import {
  asColumn,
  asRow,
  checksValues,
  diagEmbed,
  eighKernel,
  reciprocalWhereNonzero,
  squareMatrix,
} from './common.js';

/** Entries whose asymmetry |a_ij − a_ji| exceeds this fraction of max |a| make the input not symmetric. */
const SYMMETRY_RTOL = 1e-5;

/** Throws, naming the first offending entry, if a matrix of `a` is not symmetric (not checked on webgpu; NaN passes). */
function assertSymmetric(fn: string, a: tf.Tensor): void {
  if (!checksValues()) return;
  const n = a.shape[a.rank - 1];
  const v = a.dataSync();
  for (let b = 0; b * n * n < v.length; b++) {
    const o = b * n * n;
    let scale = 0;
    for (let e = 0; e < n * n; e++) scale = Math.max(scale, Math.abs(v[o + e]));
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const x = v[o + i * n + j];
        const y = v[o + j * n + i];
        // (a matrix holding NaN passes: its results are NaN, as PyTorch's)
        if (!(Math.abs(x - y) > SYMMETRY_RTOL * scale)) continue;
        const where = a.rank > 2 ? ` (matrix ${b} of the batch ${fmtShape(a.shape.slice(0, -2))})` : '';
        throw new TapegradError(
          fn,
          `the input must be symmetric, but A[${i},${j}] = ${x} and A[${j},${i}] = ${y}${where}, shape ${fmtShape(a.shape)}`,
        );
      }
    }
  }
}

const eighOp = defineOp<void>({
  name: 'linalg.eigh',
  outputs: 'several',
  outputNames: ['values', 'vectors'],
  readsOutputs: true,
  // the kernel's [..., n+1, n] output: the row λ above V
  forward: ([a]) => {
    assertSymmetric('linalg.eigh', a);
    return tf.tidy(() => {
      const n = a.shape[a.rank - 1];
      const [values, vectors] = tf.split(eighKernel(a), [1, n], -2);
      return [tf.squeeze(values, [a.rank - 2]), vectors];
    });
  },
  // dλ_i = v_iᵀ dA v_i, dv_j = Σ_{i≠j} v_i (v_iᵀ dA v_j)/(λ_j − λ_i): Ā = V (diag(λ̄) + F ∘ skew(VᵀV̄)) Vᵀ,
  // F_ij = 1/(λ_j − λ_i); F ∘ skew is symmetric, so is Ā. F is 0 where λ_i = λ_j (common.ts). An
  // absent λ̄ or V̄ leaves its term out.
  vjp: ([gL, gV], _inputs, [values, V]) => [
    () => {
      let inner = gL && diagEmbed(gL);
      if (gV) {
        const F = reciprocalWhereNonzero(sub(asRow(values), asColumn(values)));
        const X = mm(V, gV, true, false);
        const FX = mul(F, mul(sub(X, matrixTranspose(X)), 0.5));
        inner = inner ? add(FX, inner) : FX;
      }
      // the sweep calls an adjoint only when some cotangent reached it
      return mm(mm(V, inner!), V, false, true);
    },
  ],
});

/** What eigh returns: A = vectors·diag(values)·vectorsᵀ. */
export interface EighResult {
  /** [..., n], ascending. */
  values: Tensor;
  /** [..., n, n]: column j is the unit eigenvector of values[j], its largest entry positive. */
  vectors: Tensor;
}

/**
 * The eigenvalues (ascending) and eigenvectors of each symmetric matrix of A [..., n, n] (Jacobi's
 * method). A matrix that is not symmetric is an error (not checked on webgpu, where the symmetric
 * part (A + Aᵀ)/2 is used). The gradient is symmetric. It is defined where the eigenvalues are
 * distinct; the eigenvalues alone are differentiable at repeated ones too (a symmetric function of
 * them, such as their sum, has the right gradient there). At an exactly repeated eigenvalue the
 * terms of the eigenvectors between the repeated pair are left out: a gradient through the
 * eigenvectors is then finite but not a derivative. PyTorch `torch.linalg.eigh`, JAX `jnp.linalg.eigh`.
 */
export function eigh(a: Tensor): EighResult {
  const [values, vectors] = eighOp([squareMatrix('linalg.eigh', a)]);
  return { values, vectors };
}

export const eighRule = eighOp.rule;
