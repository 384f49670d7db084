// Functions of a matrix: matrixNorm (Frobenius, nuclear, spectral), matrixExp (a kernel: scaling and
// squaring) and matrixPower (repeated squaring), each batched over leading axes.
import { TapegradError, checkOptions } from '../errors.js';
import { defineOp, owning, type Op } from '../op.js';
import type { Tensor } from '../tensor.js';
import { norm, sum } from '../ops/reduce.js';
import { mul } from '../ops/elementwise.js';
import { concat, reshape, slice, broadcastTo } from '../ops/shape.js';
import { mm, matrixTranspose } from '../ops/matrix.js';
import { eye, zerosLike } from '../creation.js';
import { matrixArg, matrixExpKernel, squareMatrix } from './common.js';
import { svdvals } from './svd.js';
import { inv } from './inv.js';

/** The matrix norms matrixNorm computes: Frobenius, nuclear (Σσ) and spectral (σ_max). */
export type MatrixNormOrder = 'fro' | 'nuc' | 2;

/**
 * The matrix norm of each matrix of A [..., m, n]: 'fro' (Frobenius, √Σa²), 'nuc' (nuclear, Σσ) or
 * 2 (spectral, σ_max). Shape [...], or [..., 1, 1] with keepDims. The nuclear norm's gradient is U·Vᵀ,
 * the spectral norm's u₁v₁ᵀ (where σ₁ > σ₂). PyTorch `torch.linalg.matrix_norm`, JAX `jnp.linalg.norm`.
 */
export function matrixNorm(a: Tensor, ord: MatrixNormOrder = 'fro', opts: { keepDims?: boolean } = {}): Tensor {
  checkOptions('linalg.matrixNorm', opts, ['keepDims']);
  const A = matrixArg('linalg.matrixNorm', a);
  const keep = (t: Tensor) => (opts.keepDims ? owning(reshape(t, [...t.shape, 1, 1]), [t]) : t);
  if (ord === 'fro') return norm(A, { axis: [-2, -1], keepDims: opts.keepDims ?? false });
  if (ord === 'nuc') {
    const s = svdvals(A);
    return keep(owning(sum(s, { axis: -1 }), [s]));
  }
  if (ord === 2) {
    const s = svdvals(A);
    const top = slice(s, [...s.shape.slice(0, -1).map(() => 0), 0], [...s.shape.slice(0, -1), 1]);
    return keep(owning(reshape(top, s.shape.slice(0, -1)), [s, top]));
  }
  throw new TapegradError('linalg.matrixNorm', `ord must be 'fro', 'nuc' or 2, got ${JSON.stringify(ord)}`);
}

const matrixExpOp: Op<void> = defineOp<void>({
  name: 'linalg.matrixExp',
  forward: ([a]) => matrixExpKernel(a),
  // Mathias (PyTorch's matrix_exp backward): Ā is the upper-right block of exp([[Aᵀ, Ḡ], [0, Aᵀ]])
  vjp: (g, [a]) => [
    () => {
      const n = a.shape[a.rank - 1];
      const at = matrixTranspose(a);
      const z = zerosLike(a);
      const top = concat([at, g], -1);
      const bottom = concat([z, at], -1);
      const e = matrixExpOp([concat([top, bottom], -2)]);
      return slice(e, [...a.shape.slice(0, -2).map(() => 0), 0, n], [...a.shape.slice(0, -2), n, n]);
    },
  ],
});

/**
 * The matrix exponential e^A = Σ Aᵏ/k! of each matrix of A [..., n, n] (scaling and squaring with a
 * Taylor polynomial, kernels/matrix-exp.ts). Twice differentiable everywhere. PyTorch
 * `torch.linalg.matrix_exp`, JAX `jax.scipy.linalg.expm`.
 */
export function matrixExp(a: Tensor): Tensor {
  return matrixExpOp([squareMatrix('linalg.matrixExp', a)]);
}

/**
 * Aᵏ for each matrix of A [..., n, n] and an integer k: by repeated squaring; k = 0 gives I (broadcast
 * to A's batch), k < 0 the power of A⁻¹ (a singular A is then an error). PyTorch
 * `torch.linalg.matrix_power`, JAX `jnp.linalg.matrix_power`.
 */
export function matrixPower(a: Tensor, k: number): Tensor {
  const A = squareMatrix('linalg.matrixPower', a);
  if (!Number.isInteger(k)) throw new TapegradError('linalg.matrixPower', `the exponent must be an integer, got ${k}`);
  if (k === 0) {
    const I = eye(A.shape[A.rank - 1]);
    return owning(broadcastTo(I, A.shape), [I]);
  }
  const made: Tensor[] = [];
  let base = A;
  if (k < 0) made.push((base = inv(A)));
  let result: Tensor | null = null;
  for (let e = Math.abs(k); ; ) {
    if (e % 2 === 1) {
      if (result) made.push(result);
      result = result ? mm(result, base) : base;
    }
    e = Math.floor(e / 2);
    if (e === 0) break;
    made.push((base = mm(base, base)));
  }
  // A¹ is a new tensor, not A itself: the caller may dispose it
  const out = result === A ? mul(A, 1) : (result as Tensor);
  return owning(
    out,
    [...new Set(made)].filter((t) => t !== out && t !== A),
  );
}

export const matrixExpRule = matrixExpOp.rule;
