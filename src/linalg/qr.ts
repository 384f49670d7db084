// qr(A): the reduced QR factorization A = Q·R of each matrix of a [..., m, n] batch, m ≥ n.
import { TapegradError, fmtShape } from '../errors.js';
import { defineOp, owning } from '../op.js';
import type { Tensor } from '../tensor.js';
import { add, sub } from '../ops/elementwise.js';
import { mm, matrixTranspose } from '../ops/matrix.js';
import { matrixArg, qrKernel, rows, triangle } from './common.js';
import { triangularSolve } from './triangular.js';

/** The kernel's [..., m+n, n] output (or its cotangent) as Q [..., m, n] and R [..., n, n]. */
function split(out: Tensor): { Q: Tensor; R: Tensor } {
  const n = out.shape[out.rank - 1];
  const m = out.shape[out.rank - 2] - n;
  return { Q: rows(out, 0, m), R: rows(out, m, n) };
}

const qrOp = defineOp<void>({
  name: 'linalg.qr',
  forward: ([a]) => qrKernel(a),
  // Walter & Lehmann (PyTorch's linalg_qr_backward, m ≥ n): with M = R̄Rᵀ − QᵀQ̄ and copyu(M) its
  // upper triangle mirrored below, Ā = (Q̄ + Q·copyu(M))·R⁻ᵀ
  vjp: (g, _inputs, out) => [
    () => {
      const { Q, R } = split(out);
      const { Q: gQ, R: gR } = split(g);
      const M = sub(mm(gR, R, false, true), mm(Q, gQ, true, false));
      const copyu = add(triangle(M, 'upper'), matrixTranspose(triangle(M, 'strictUpper')));
      const b = add(gQ, mm(Q, copyu));
      return matrixTranspose(triangularSolve(R, matrixTranspose(b), { lower: false }));
    },
  ],
});

/** What qr returns: the reduced factors of A = Q·R. */
export interface QRResult {
  /** [..., m, n], orthonormal columns. */
  Q: Tensor;
  /** [..., n, n], upper triangular with a nonnegative diagonal. */
  R: Tensor;
}

/**
 * The reduced QR factorization A = Q·R of each matrix of A [..., m, n], m ≥ n (Householder). R's
 * diagonal is nonnegative, which makes Q and R unique for A of full column rank; both are
 * differentiable there (the adjoint solves with R, so not at a rank-deficient A).
 * PyTorch `torch.linalg.qr` (mode 'reduced'), JAX `jnp.linalg.qr`.
 */
export function qr(a: Tensor): QRResult {
  const A = matrixArg('linalg.qr', a);
  const [m, n] = A.shape.slice(-2);
  if (m < n) {
    throw new TapegradError(
      'linalg.qr',
      `needs at least as many rows as columns (the reduced QR), got ${m}×${n} (shape ${fmtShape(A.shape)})`,
    );
  }
  const out = qrOp([A]);
  const { Q, R } = split(out);
  return { Q: owning(Q, [out]), R };
}

export const qrRule = qrOp.rule;
