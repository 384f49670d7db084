// pinv(A): the Moore–Penrose pseudo-inverse of each matrix of a [..., m, n] batch, through the SVD
// (or the eigendecomposition of a symmetric A); lstsq(A, B): the minimum-norm least-squares solution pinv(A)·B.
import * as tf from '@tensorflow/tfjs-core';
import { TapegradError, checkOptions, fmtShape } from '../errors.js';
import { asTensor, defineOp, owning } from '../op.js';
import { Tensor } from '../tensor.js';
import { add, neg, sub } from '../ops/elementwise.js';
import { matmul, matrixTranspose, mm } from '../ops/matrix.js';
import { broadcastShapes, broadcastTo } from '../ops/shape.js';
import { EPS32, eighKernel, matrixArg, svdKernel, triangleMaskTf } from './common.js';

/**
 * pinv's attributes; its tolerances are its second and third inputs, float32 tensors broadcasting
 * against the batch as [..., 1, 1] (numbers as scalars): singular values (|eigenvalues|) at or below
 * max(atol, rtol·σ_max) count as zero.
 */
export interface PinvAttrs {
  hermitian: boolean;
}

/** 1/x where `kept`, else 0 (x is kept only where it is far from 0). */
function reciprocalWhere(x: tf.Tensor, kept: tf.Tensor): tf.Tensor {
  const k = tf.cast(kept, 'float32');
  return tf.div(k, tf.add(x, tf.sub(1, k)));
}

const pinvOp = defineOp<PinvAttrs>({
  name: 'linalg.pinv',
  forward: ([a, atol, rtol], { hermitian }) =>
    tf.tidy(() => {
      const [m, n] = a.shape.slice(-2);
      const batch = a.shape.slice(0, -2);
      const zero = batch.map(() => 0);
      if (hermitian) {
        // A = U·diag(λ)·Uᵀ from A's lower triangle (as PyTorch's eigh); A⁺ = U·diag(1/λ over the kept)·Uᵀ
        const r = a.rank;
        const strictLower = tf.mul(a, triangleMaskTf(n, 'strictLower'));
        const sym = tf.add(
          tf.mul(a, triangleMaskTf(n, 'lower')),
          tf.transpose(strictLower, [...zero.keys(), r - 1, r - 2]),
        );
        const packed = eighKernel(sym);
        const lambda = tf.slice(packed, [...zero, 0, 0], [...batch, 1, n]);
        const u = tf.slice(packed, [...zero, 1, 0], [...batch, n, n]);
        const size = tf.abs(lambda);
        const tol = tf.maximum(atol, tf.mul(tf.max(size, -1, true), rtol));
        return tf.matMul(tf.mul(u, reciprocalWhere(lambda, tf.greater(size, tol))), u, false, true);
      }
      const k = Math.min(m, n);
      const packed = svdKernel(a);
      const u = tf.slice(packed, [...zero, 0, 0], [...batch, m, k]);
      const s = tf.slice(packed, [...zero, m, 0], [...batch, 1, k]);
      const v = tf.slice(packed, [...zero, m + 1, 0], [...batch, n, k]);
      const tol = tf.maximum(atol, tf.mul(tf.max(s, -1, true), rtol));
      return tf.matMul(tf.mul(v, reciprocalWhere(s, tf.greater(s, tol))), u, false, true);
    }),
  // Golub & Pereyra (PyTorch's pinv_backward), valid where A's rank is locally constant: with P = A⁺,
  // dP = −P dA P + PPᵀ dAᵀ (I − AP) + (I − PA) dAᵀ PᵀP, transposed; arranged for the smaller of m, n
  // the tolerances are constants (PyTorch does not differentiate them either)
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
    null,
    null,
  ],
});

/** Options of `linalg.pinv` (PyTorch's keyword arguments). */
export interface PinvOptions {
  /**
   * Absolute tolerance: singular values at or below it count as zero. A number, or a tensor of them
   * broadcasting against A's batch axes (one per matrix; the result's batch is the broadcast of
   * both). Negative acts as 0. Default 0.
   */
  atol?: number | Tensor;
  /**
   * Relative tolerance, times the largest singular value; a number or a tensor, as atol. Default
   * max(m, n)·ε (ε = 2⁻²³) where neither tolerance is given, and 0 for each matrix whose atol is > 0.
   */
  rtol?: number | Tensor;
  /** A is symmetric: use its eigendecomposition (read from the lower triangle only). Default false. */
  hermitian?: boolean;
}

/**
 * A tolerance as a float32 TF.js tensor: a number as a scalar, a tensor of shape T as [...T, 1, 1]
 * (its values, off the tape; bool and int32 converted), negative values made 0.
 */
function tolerance(name: string, x: unknown): tf.Tensor {
  if (x instanceof Tensor) {
    const t = asTensor('linalg.pinv', x, name);
    return tf.tidy(() => {
      const v = tf.cast(t.value, 'float32');
      return tf.reshape(tf.where(tf.less(v, 0), tf.zerosLike(v), v), [...t.shape, 1, 1]);
    });
  }
  if (typeof x !== 'number' || Number.isNaN(x))
    throw new TapegradError(
      'linalg.pinv',
      `${name} must be a number or a tensor, got ${x instanceof Object ? (x.constructor?.name ?? 'an object') : String(x)}`,
    );
  return tf.scalar(Math.max(x, 0));
}

/**
 * The Moore–Penrose pseudo-inverse of each matrix of A [..., m, n]: [..., n, m], V·diag(1/σ)·Uᵀ over
 * the singular values σ above max(atol, rtol·σ_max); with `hermitian`, U·diag(1/λ)·Uᵀ over the
 * eigenvalues with |λ| above max(atol, rtol·|λ|_max), A read from its lower triangle. By default
 * (neither tolerance given) rtol = max(m, n)·ε (ε = 2⁻²³, float32's); for each matrix whose atol is
 * > 0, rtol defaults to 0. A tolerance may be a tensor, one per matrix, broadcasting against A's batch
 * axes (the result's batch is their broadcast, as PyTorch's; A's gradient is summed back over it);
 * a negative tolerance acts as 0.
 * The gradient is PyTorch's (Golub & Pereyra, from A and the result), exact where the rank does not
 * change and no singular value is cut that is not zero; no gradient reaches the tolerances. PyTorch
 * `torch.linalg.pinv(A, atol=, rtol=, hermitian=)`, JAX `jnp.linalg.pinv(A, rtol=, hermitian=)`.
 * Departures from PyTorch: where both tolerances are negative, PyTorch keeps the zero singular values
 * and gives ∞ and NaN, tapegrad takes both as 0; a NaN number is refused (PyTorch cuts every singular
 * value), while NaN entries of a tolerance tensor are not read back (that would synchronise) and give
 * what the backend's comparison gives; a number and a tensor may be mixed (PyTorch takes two
 * numbers or two tensors).
 */
export function pinv(a: Tensor, opts?: PinvOptions): Tensor {
  const fn = 'linalg.pinv';
  const A = matrixArg(fn, a);
  const o = checkOptions(fn, opts, ['atol', 'rtol', 'hermitian']);
  const hermitian = o.hermitian ?? false;
  if (typeof hermitian !== 'boolean')
    throw new TapegradError(fn, `hermitian must be true or false, got ${String(hermitian)}`);
  const [m, n] = A.shape.slice(-2);
  if (hermitian && m !== n)
    throw new TapegradError(fn, `hermitian needs square matrices, got ${m}×${n} (shape ${fmtShape(A.shape)})`);
  const shapeOf = (x: unknown) => (x instanceof Tensor ? x.shape : []);
  let batch: number[];
  try {
    batch = broadcastShapes(fn, A.shape.slice(0, -2), shapeOf(o.atol), shapeOf(o.rtol));
  } catch {
    throw new TapegradError(
      fn,
      `the tolerances' shapes (atol ${fmtShape(shapeOf(o.atol))}, rtol ${fmtShape(shapeOf(o.rtol))}) do not broadcast ` +
        `against A's batch axes ${fmtShape(A.shape.slice(0, -2))} (A ${fmtShape(A.shape)})`,
    );
  }
  const made: tf.Tensor[] = [];
  const keep = (t: tf.Tensor) => made[made.push(t) - 1];
  let whole = A;
  try {
    const atol = keep(tolerance('atol', o.atol ?? 0));
    const byDefault = Math.max(m, n) * EPS32;
    // PyTorch's default rtol: max(m, n)·ε, or 0 for each matrix whose atol is > 0
    const rtol = keep(
      o.rtol !== undefined
        ? tolerance('rtol', o.rtol)
        : o.atol === undefined
          ? tf.scalar(byDefault)
          : tf.tidy(() => tf.where(tf.greater(atol, 0), tf.zerosLike(atol), tf.fill(atol.shape, byDefault))),
    );
    const [at, rt] = [new Tensor(atol), new Tensor(rtol)];
    const full = [...batch, m, n];
    if (full.join() !== A.shape.join()) whole = broadcastTo(A, full);
    const out = pinvOp([whole, at, rt], { hermitian });
    return owning(out, whole === A ? [at, rt] : [at, rt, whole]);
  } catch (e) {
    for (const t of made) t.dispose();
    if (whole !== A) whole.dispose();
    throw e;
  }
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
