// qr(A): the reduced QR factorization A = Q·R of each matrix of a [..., m, n] batch, m ≥ n.
import { TapegradError, fmtShape } from '../errors.js';
import * as tf from '@tensorflow/tfjs-core';
import { defineOp } from '../op.js';
import type { Tensor } from '../tensor.js';
import { add, neg, sub } from '../ops/elementwise.js';
import { mm, matrixTranspose } from '../ops/matrix.js';
import { matrixArg, qrKernel, triangle } from './common.js';
import { triangularSolve } from './triangular.js';

const qrOp = defineOp<void>({
  name: 'linalg.qr',
  outputs: 'several',
  outputNames: ['Q', 'R'],
  readsOutputs: true,
  // the kernel's [..., m+n, n] output: Q [..., m, n] above R [..., n, n]
  forward: ([a]) =>
    tf.tidy(() => {
      const [m, n] = a.shape.slice(-2);
      return tf.split(qrKernel(a), [m, n], -2);
    }),
  // Walter & Lehmann (PyTorch's linalg_qr_backward, m ≥ n): with M = R̄Rᵀ − QᵀQ̄ and copyu(M) its
  // upper triangle mirrored below, Ā = (Q̄ + Q·copyu(M))·R⁻ᵀ (Q̄ or R̄ absent: its terms left out)
  vjp: ([gQ, gR], _inputs, [Q, R]) => [
    () => {
      const RRt = gR && mm(gR, R, false, true);
      const QtQ = gQ && mm(Q, gQ, true, false);
      const M = RRt && QtQ ? sub(RRt, QtQ) : (RRt ?? neg(QtQ!));
      const copyu = add(triangle(M, 'upper'), matrixTranspose(triangle(M, 'strictUpper')));
      const QM = mm(Q, copyu);
      const b = gQ ? add(gQ, QM) : QM;
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
  const [Q, R] = qrOp([A]);
  return { Q, R };
}

export const qrRule = qrOp.rule;
