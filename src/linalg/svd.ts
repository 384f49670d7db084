// svd(A): the thin singular value decomposition A = U·diag(S)·Vh of each matrix of a [..., m, n]
// batch, k = min(m, n); svdvals(A): S alone.
import { defineOp, owning } from '../op.js';
import type { Tensor } from '../tensor.js';
import { add, mul, square, sub } from '../ops/elementwise.js';
import { mm, matrixTranspose } from '../ops/matrix.js';
import { asColumn, asRow, diagEmbed, matrixArg, reciprocalWhereNonzero, row, rows, svdKernel } from './common.js';

/** The kernel's [..., m+1+n, k] output (or its cotangent) as U [..., m, k], S [..., k], V [..., n, k]. */
function split(out: Tensor, m: number, n: number): { U: Tensor; S: Tensor; V: Tensor } {
  return { U: rows(out, 0, m), S: row(out, m), V: rows(out, m + 1, n) };
}

/** The op's attributes: A's shape is not recoverable from the packed output when m or n is 1. */
export interface SvdAttrs {
  m: number;
  n: number;
}

const svdOp = defineOp<SvdAttrs>({
  name: 'linalg.svd',
  forward: ([a]) => svdKernel(a),
  // PyTorch's svd_backward (real): with E_jk = S_k² − S_j², F = 1/E off the diagonal (0 where S_j = S_k),
  // Ā = U [F ∘ (skew(UᵀŪ)·S + S·skew(VᵀV̄)) + diag(S̄)] Vᵀ + (I − UUᵀ) Ū S⁻¹ Vᵀ + U S⁻¹ V̄ᵀ (I − VVᵀ),
  // skew(X) = X − Xᵀ; the last two terms only where U (m > k) or V (n > k) is not square.
  vjp: (g, _inputs, out, { m, n }) => [
    () => {
      const { U, S, V } = split(out, m, n);
      const { U: gU, S: gS, V: gV } = split(g, m, n);
      const k = Math.min(m, n);
      const s2 = square(S);
      const F = reciprocalWhereNonzero(sub(asRow(s2), asColumn(s2)));
      const X = mm(U, gU, true, false);
      const Y = mm(V, gV, true, false);
      const J = mul(sub(X, matrixTranspose(X)), asRow(S));
      const K = mul(asColumn(S), sub(Y, matrixTranspose(Y)));
      const inner = add(mul(F, add(J, K)), diagEmbed(gS));
      const sInv = reciprocalWhereNonzero(S);
      if (m > k) {
        const gUS = mul(gU, asRow(sInv));
        const left = add(mm(U, inner), sub(gUS, mm(U, mm(U, gUS, true, false))));
        return mm(left, V, false, true);
      }
      if (n > k) {
        const sgV = mul(asColumn(sInv), matrixTranspose(gV));
        const right = add(mm(inner, V, false, true), sub(sgV, mm(mm(sgV, V), V, false, true)));
        return mm(U, right);
      }
      return mm(mm(U, inner), V, false, true);
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
  const A = matrixArg('linalg.svd', a);
  const [m, n] = A.shape.slice(-2);
  const out = svdOp([A], { m, n });
  const { U, S, V } = split(out, m, n);
  const Vh = owning(matrixTranspose(V), [V]);
  return { U: owning(U, [out]), S, Vh };
}

/**
 * The singular values of each matrix of A [..., m, n]: [..., min(m, n)], descending; always
 * differentiable. PyTorch `torch.linalg.svdvals`, JAX `jnp.linalg.svd(A, compute_uv=False)`.
 */
export function svdvals(a: Tensor): Tensor {
  const A = matrixArg('linalg.svdvals', a);
  const [m, n] = A.shape.slice(-2);
  const out = svdOp([A], { m, n });
  const { U, S, V } = split(out, m, n);
  U.dispose();
  V.dispose();
  return owning(S, [out]);
}

export const svdRule = svdOp.rule;
