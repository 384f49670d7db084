// det(A) and slogdet(A) for each matrix of a [..., n, n] batch, from one LU with partial pivoting:
// det(A) = sign(P)·Π u_kk. A singular matrix has det 0, sign 0 and log|det| = −Inf (as NumPy).
import * as tf from '@tensorflow/tfjs-core';
import { defineOp, owning } from '../op.js';
import { Tensor } from '../tensor.js';
import { mul } from '../ops/elementwise.js';
import { reshape, slice } from '../ops/shape.js';
import { matrixTranspose } from '../ops/matrix.js';
import { luFactor, diagPart, permutationSign, squareMatrix } from './common.js';
import { inv } from './inv.js';

/** g of shape [...] times each matrix of m [..., n, n]. */
function scaleMatrices(g: Tensor, m: Tensor): Tensor {
  const g2 = reshape(g, [...g.shape, 1, 1]);
  return owning(mul(g2, m), [g2]);
}

const detOp = defineOp<void>({
  name: 'linalg.det',
  forward: ([a]) =>
    tf.tidy(() => {
      const { lu, perm } = luFactor(a);
      return tf.mul(permutationSign(perm), tf.prod(diagPart(lu), -1));
    }),
  // Jacobi's formula, d det A = det A · tr(A⁻¹ dA): Ā = g·det(A)·A⁻ᵀ
  vjp: (g, [a], d) => [() => scaleMatrices(mul(g, d), matrixTranspose(inv(a)))],
});

/**
 * The determinant of each matrix of A [..., n, n]: shape [...]. Its gradient needs A⁻¹, so it is an
 * error ("matrix is singular") at a singular A; slogdet avoids overflow for large n.
 * PyTorch `torch.linalg.det`, JAX `jnp.linalg.det`.
 */
export function det(a: Tensor): Tensor {
  return detOp([squareMatrix('linalg.det', a)]);
}

// One op computes both parts, stacked as [..., 2] = (sign, log|det|), so that one LU serves both;
// slogdet() splits them. The sign is piecewise constant: no gradient flows through it.
const slogdetOp = defineOp<void>({
  name: 'linalg.slogdet',
  forward: ([a]) =>
    tf.tidy(() => {
      const { lu, perm } = luFactor(a);
      const u = diagPart(lu);
      const sign = tf.mul(permutationSign(perm), tf.prod(tf.sign(u), -1));
      return tf.stack([sign, tf.sum(tf.log(tf.abs(u)), -1)], -1);
    }),
  // d log|det A| = tr(A⁻¹ dA): Ā = g·A⁻ᵀ, with g the cotangent of log|det| (that of the sign is ignored)
  vjp: (g, [a]) => [
    () => {
      const gLog = slice(g, [...Array(g.rank - 1).fill(0), 1], [...g.shape.slice(0, -1), 1]);
      const gl = reshape(gLog, g.shape.slice(0, -1));
      return owning(scaleMatrices(gl, matrixTranspose(inv(a))), [gLog, gl]);
    },
  ],
});

/**
 * [sign, logAbsDet] of each matrix of A [..., n, n], both of shape [...]: det = sign·exp(logAbsDet)
 * without overflow. sign is ±1 (0 for a singular matrix, whose logAbsDet is −Inf) and has no
 * gradient; logAbsDet is differentiable.
 * PyTorch `torch.linalg.slogdet`, JAX `jnp.linalg.slogdet`.
 */
export function slogdet(a: Tensor): [Tensor, Tensor] {
  const both = slogdetOp([squareMatrix('linalg.slogdet', a)]);
  const batch = both.shape.slice(0, -1);
  const begin = Array(both.rank).fill(0);
  const sign = new Tensor(tf.tidy(() => tf.reshape(tf.slice(both.value, begin, [...batch, 1]), batch)));
  const logPart = slice(both, [...begin.slice(0, -1), 1], [...batch, 1]);
  const logAbsDet = owning(reshape(logPart, batch), [logPart, both]);
  return [sign, logAbsDet];
}

export const detRule = detOp.rule;
export const slogdetRule = slogdetOp.rule;
