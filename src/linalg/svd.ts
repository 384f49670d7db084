// svd(A): the thin singular value decomposition A = U·diag(S)·Vh of each matrix of a [..., m, n]
// batch, k = min(m, n); svdvals(A): S alone.
import * as tf from '@tensorflow/tfjs-core';
import { defineOp, owning } from '../op.js';
import type { Tensor } from '../tensor.js';
import { add, mul, square, sub } from '../ops/elementwise.js';
import { mm, matrixTranspose } from '../ops/matrix.js';
import { asColumn, asRow, diagEmbed, matrixArg, reciprocalWhereNonzero, svdKernel } from './common.js';

const svdOp = defineOp<void>({
  name: 'linalg.svd',
  outputs: 'several',
  outputNames: ['U', 'S', 'Vh'],
  readsOutputs: true,
  // the kernel's [..., m+1+n, k] output: U [..., m, k], the row S, and V [..., n, k], returned as Vh = Vᵀ
  forward: ([a]) =>
    tf.tidy(() => {
      const [m, n] = a.shape.slice(-2);
      const [U, S, V] = tf.split(svdKernel(a), [m, 1, n], -2);
      const perm = [...Array(a.rank - 2).keys(), a.rank - 1, a.rank - 2];
      return [U, tf.squeeze(S, [a.rank - 2]), tf.transpose(V, perm)];
    }),
  // PyTorch's svd_backward (real): with E_jk = S_k² − S_j², F = 1/E off the diagonal (0 where S_j = S_k),
  // Ā = U [F ∘ (skew(UᵀŪ)·S + S·skew(VᵀV̄)) + diag(S̄)] Vᵀ + (I − UUᵀ) Ū S⁻¹ Vᵀ + U S⁻¹ V̄ᵀ (I − VVᵀ),
  // skew(X) = X − Xᵀ; the last two terms only where U (m > k) or V (n > k) is not square; the terms of
  // an absent cotangent left out (S alone: Ā = U diag(S̄) Vᵀ).
  vjp: ([gU, gS, gVh], _inputs, [U, S, Vh]) => [
    () => {
      const [m, k] = U.shape.slice(-2);
      const n = Vh.shape[Vh.rank - 1];
      // the sweep calls an adjoint only when some cotangent reached it: `inner` is set below
      let inner = gS && diagEmbed(gS);
      if (gU || gVh) {
        const s2 = square(S);
        const F = reciprocalWhereNonzero(sub(asRow(s2), asColumn(s2)));
        const X = gU && mm(U, gU, true, false);
        const J = X && mul(sub(X, matrixTranspose(X)), asRow(S));
        // VᵀV̄ = Vh·V̄hᵀ
        const Y = gVh && mm(Vh, gVh, false, true);
        const K = Y && mul(asColumn(S), sub(Y, matrixTranspose(Y)));
        const FJK = mul(F, J && K ? add(J, K) : (J ?? K!));
        inner = inner ? add(FJK, inner) : FJK;
      }
      const sInv = reciprocalWhereNonzero(S);
      if (m > k && gU) {
        const gUS = mul(gU, asRow(sInv));
        const left = add(mm(U, inner!), sub(gUS, mm(U, mm(U, gUS, true, false))));
        return mm(left, Vh);
      }
      if (n > k && gVh) {
        // S⁻¹V̄ᵀ = S⁻¹V̄h
        const sgV = mul(asColumn(sInv), gVh);
        const right = add(mm(inner!, Vh), sub(sgV, mm(mm(sgV, Vh, false, true), Vh)));
        return mm(U, right);
      }
      return mm(mm(U, inner!), Vh);
    },
  ],
});

/** What svd returns: the thin factors of A = U·diag(S)·Vh. */
export interface SVDResult {
  /** [..., m, k], orthonormal columns. */
  U: Tensor;
  /** [..., k], descending, ≥ 0. */
  S: Tensor;
  /** [..., k, n], orthonormal rows. */
  Vh: Tensor;
}

/**
 * The thin SVD A = U·diag(S)·Vh of each matrix of A [..., m, n], k = min(m, n) (one-sided Jacobi).
 * Each pair (u_j, v_j) is signed so that u_j's entry of largest magnitude is positive. S is
 * differentiable everywhere (∂σ_i/∂A = u_i v_iᵀ, also at repeated or zero singular values); U and Vh
 * where the singular values are distinct and nonzero (at exact ties their terms are left out: a
 * gradient through them is then finite but not a derivative).
 * PyTorch `torch.linalg.svd(A, full_matrices=False)`, JAX `jnp.linalg.svd(A, full_matrices=False)`.
 */
export function svd(a: Tensor): SVDResult {
  const [U, S, Vh] = svdOp([matrixArg('linalg.svd', a)]);
  return { U, S, Vh };
}

/**
 * The singular values of each matrix of A [..., m, n]: [..., min(m, n)], descending; always
 * differentiable. PyTorch `torch.linalg.svdvals`, JAX `jnp.linalg.svd(A, compute_uv=False)`.
 */
export function svdvals(a: Tensor): Tensor {
  const [U, S, Vh] = svdOp([matrixArg('linalg.svdvals', a)]);
  // S's gradient reads U and Vh: S keeps them (not only handles on them, so that a recorded
  // backward can differentiate through them again)
  return owning(S, [U, Vh]);
}

export const svdRule = svdOp.rule;
