// pinv(A): the Moore–Penrose pseudo-inverse of each matrix of a [..., m, n] batch, through the SVD;
// lstsq(A, B): the minimum-norm least-squares solution pinv(A)·B.
import * as tf from '@tensorflow/tfjs-core';
import { TapegradError, fmtShape } from '../errors.js';
import { asTensor, defineOp, owning } from '../op.js';
import type { Tensor } from '../tensor.js';
import { add, neg, sub } from '../ops/elementwise.js';
import { matmul, matrixTranspose, mm } from '../ops/matrix.js';
import { broadcastShapes } from '../ops/shape.js';
import { EPS32, matrixArg, svdKernel } from './common.js';

const pinvOp = defineOp<void>({
  name: 'linalg.pinv',
  forward: ([a]) =>
    tf.tidy(() => {
      const [m, n] = a.shape.slice(-2);
      const k = Math.min(m, n);
      const batch = a.shape.slice(0, -2);
      const zero = batch.map(() => 0);
      const packed = svdKernel(a);
      const u = tf.slice(packed, [...zero, 0, 0], [...batch, m, k]);
      const s = tf.slice(packed, [...zero, m, 0], [...batch, 1, k]);
      const v = tf.slice(packed, [...zero, m + 1, 0], [...batch, n, k]);
      // singular values at or below max(m, n)·ε·σ_max count as zero (NumPy's and PyTorch's default)
      const kept = tf.cast(tf.greater(s, tf.mul(tf.max(s, -1, true), Math.max(m, n) * EPS32)), 'float32');
      const sInv = tf.div(kept, tf.add(s, tf.sub(1, kept)));
      return tf.matMul(tf.mul(v, sInv), u, false, true);
    }),
  // Golub & Pereyra (PyTorch's pinv_backward), valid where A's rank is locally constant: with P = A⁺,
  // dP = −P dA P + PPᵀ dAᵀ (I − AP) + (I − PA) dAᵀ PᵀP, transposed; arranged for the smaller of m, n
  vjp: (g, [a], p) => [
    () => {
      const [m, n] = a.shape.slice(-2);
      if (m <= n) {
        // K = GᵀP (m×m): Ā = −(PK)ᵀ + KPᵀ − AP·KPᵀ + PᵀP(Gᵀ − KA)
        const K = mm(g, p, true, false);
        const KPt = mm(K, p, false, true);
        const t1 = neg(mm(K, p, true, true));
        const t3 = mm(mm(a, p), KPt);
        const t4 = mm(mm(p, p, true, false), sub(matrixTranspose(g), mm(K, a)));
        return add(add(t1, sub(KPt, t3)), t4);
      }
      // K = PGᵀ (n×n): Ā = −(KP)ᵀ + (Gᵀ − AK)PPᵀ + PᵀK − PᵀK·PA
      const K = mm(p, g, false, true);
      const PtK = mm(p, K, true, false);
      const t1 = neg(mm(p, K, true, true));
      const t2 = mm(sub(matrixTranspose(g), mm(a, K)), mm(p, p, false, true));
      const t4 = mm(PtK, mm(p, a));
      return add(add(t1, t2), sub(PtK, t4));
    },
  ],
});

/**
 * The Moore–Penrose pseudo-inverse of each matrix of A [..., m, n]: [..., n, m], V·diag(1/σ)·Uᵀ over
 * the singular values above max(m, n)·ε·σ_max (ε = 2⁻²³). Differentiable where the rank does not
 * change (a full-rank A, or a rank-deficient one moved within its rank). PyTorch
 * `torch.linalg.pinv`, JAX `jnp.linalg.pinv`.
 */
export function pinv(a: Tensor): Tensor {
  return pinvOp([matrixArg('linalg.pinv', a)]);
}

/**
 * The minimum-norm least-squares solution X of A·X ≈ B for each matrix of A [..., m, n]: argmin
 * ‖A·X − B‖ (the least-norm one when A is rank-deficient), X = pinv(A)·B. B is [..., m, k], its batch
 * axes broadcasting against A's, or a vector [m] (then X is [..., n]). PyTorch
 * `torch.linalg.lstsq(A, B).solution`, JAX `jnp.linalg.lstsq(A, B)[0]`.
 */
export function lstsq(a: Tensor, b: Tensor): Tensor {
  const A = matrixArg('linalg.lstsq', a, 'A');
  const B = asTensor('linalg.lstsq', b, 'B');
  if (B.dtype !== 'float32') throw new TapegradError('linalg.lstsq', `B must be float32, got ${B.dtype}`);
  const m = A.shape[A.rank - 2];
  const rows = B.rank === 1 ? B.shape[0] : B.shape[B.rank - 2];
  if (B.rank === 0 || rows !== m) {
    throw new TapegradError(
      'linalg.lstsq',
      `B must have ${m} rows to match A ${fmtShape(A.shape)}, got shape ${fmtShape(B.shape)}`,
    );
  }
  if (B.rank > 1) {
    try {
      broadcastShapes('linalg.lstsq', A.shape.slice(0, -2), B.shape.slice(0, -2));
    } catch {
      throw new TapegradError(
        'linalg.lstsq',
        `batch dimensions cannot be broadcast: A ${fmtShape(A.shape)} and B ${fmtShape(B.shape)}`,
      );
    }
  }
  const p = pinv(A);
  return owning(matmul(p, B), [p]);
}

export const pinvRule = pinvOp.rule;
