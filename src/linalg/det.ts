// det(A) and slogdet(A) for each matrix of a [..., n, n] batch, from one LU with partial pivoting:
// det(A) = sign(P)·Π u_kk. A singular matrix has det 0, sign 0 and log|det| = −Inf (as NumPy).
import * as tf from '@tensorflow/tfjs-core';
import { defineOp, owning } from '../op.js';
import { Tensor } from '../tensor.js';
import { mul } from '../ops/elementwise.js';
import { gather, reshape, transpose } from '../ops/shape.js';
import { matrixTranspose } from '../ops/matrix.js';
import { ones } from '../creation.js';
import { luFactor, diagPart, permutationSign, squareMatrix, anySingular, assertNonsingular } from './common.js';
import { inv } from './inv.js';

/** g of shape [...] times each matrix of m [..., n, n]. */
function scaleMatrices(g: Tensor, m: Tensor): Tensor {
  const g2 = reshape(g, [...g.shape, 1, 1]);
  return owning(mul(g2, m), [g2]);
}

/**
 * adj(A)ᵀ, the cofactor matrix, of each matrix of a [..., n, n]: det(A)·A⁻ᵀ where every matrix of the
 * batch is nonsingular, else from the (n−1)-minors, C_ij = (−1)^(i+j) det(A without row i and column j),
 * which exist at a singular A too (O(n⁵): only for singular batches). Both are composed of ops, so
 * det stays twice differentiable.
 */
function cofactors(a: Tensor, d: Tensor): Tensor {
  const n = a.shape[a.rank - 1];
  const batch = a.shape.slice(0, -2);
  if (n === 1) return ones([...batch, 1, 1]);
  if (!anySingular(a.value)) {
    const ai = inv(a);
    const aiT = matrixTranspose(ai);
    return owning(scaleMatrices(d, aiT), [ai, aiT]);
  }
  // others[i·(n−1) + r] = the r-th index other than i
  const others: number[] = [];
  for (let i = 0; i < n; i++) for (let r = 0; r < n; r++) if (r !== i) others.push(r);
  const rows = gather(a, others, -2); // [..., i, r, c] once reshaped
  const rows4 = reshape(rows, [...batch, n, n - 1, n]);
  const both = gather(rows4, others, -1); // [..., i, r, j·(n−1) + c]
  const both5 = reshape(both, [...batch, n, n - 1, n, n - 1]);
  const k = batch.length;
  const minors = transpose(both5, [...batch.keys(), k, k + 2, k + 1, k + 3]); // [..., i, j, r, c]
  const m = det(minors);
  const signs = new Tensor(
    tf.tidy(() => tf.sub(1, tf.mul(2, tf.mod(tf.add(tf.expandDims(tf.range(0, n), 1), tf.range(0, n)), 2)))),
  );
  return owning(mul(m, signs), [rows, rows4, both, both5, minors, m, signs]);
}

const detOp = defineOp<void>({
  name: 'linalg.det',
  forward: ([a]) =>
    tf.tidy(() => {
      const { lu, perm } = luFactor(a);
      return tf.mul(permutationSign(perm), tf.prod(diagPart(lu), -1));
    }),
  // Jacobi's formula, d det A = tr(adj(A) dA): Ā = g·adj(A)ᵀ (= g·det(A)·A⁻ᵀ when A is invertible)
  vjp: (g, [a], d) => [
    () => {
      const c = cofactors(a, d);
      return owning(scaleMatrices(g, c), [c]);
    },
  ],
});

/**
 * The determinant of each matrix of A [..., n, n]: shape [...]. Its gradient, the transposed
 * adjugate, exists at a singular A too; slogdet avoids overflow for large n.
 * PyTorch `torch.linalg.det`, JAX `jnp.linalg.det`.
 */
export function det(a: Tensor): Tensor {
  return detOp([squareMatrix('linalg.det', a)]);
}

// One op computes both parts from one LU; the sign is piecewise constant: no gradient flows through it.
const slogdetOp = defineOp<void>({
  name: 'linalg.slogdet',
  outputs: 'several',
  outputNames: ['sign', 'logAbsDet'],
  nonDifferentiable: [0],
  forward: ([a]) =>
    tf.tidy(() => {
      const { lu, perm } = luFactor(a);
      const u = diagPart(lu);
      return [tf.mul(permutationSign(perm), tf.prod(tf.sign(u), -1)), tf.sum(tf.log(tf.abs(u)), -1)];
    }),
  // d log|det A| = tr(A⁻¹ dA): Ā = ḡ·A⁻ᵀ, ḡ the cotangent of log|det| (the sign has none)
  vjp: ([, gLog], [a]) => [
    gLog &&
      (() => {
        tf.tidy(() =>
          assertNonsingular(
            'linalg.slogdet',
            a.value,
            luFactor(a.value).lu,
            ' (the gradient of log|det|, A⁻ᵀ, is infinite there)',
          ),
        );
        const ai = inv(a);
        const aiT = matrixTranspose(ai);
        return owning(scaleMatrices(gLog, aiT), [ai, aiT]);
      }),
  ],
});

/**
 * [sign, logAbsDet] of each matrix of A [..., n, n], both of shape [...]: det = sign·exp(logAbsDet)
 * without overflow. sign is ±1 (0 for a singular matrix, whose logAbsDet is −Inf) and has no
 * gradient; logAbsDet is differentiable except at a singular matrix (its gradient A⁻ᵀ is infinite
 * there: an error).
 * PyTorch `torch.linalg.slogdet`, JAX `jnp.linalg.slogdet`.
 */
export function slogdet(a: Tensor): [Tensor, Tensor] {
  const [sign, logAbsDet] = slogdetOp([squareMatrix('linalg.slogdet', a)]);
  return [sign, logAbsDet];
}

export const detRule = detOp.rule;
export const slogdetRule = slogdetOp.rule;
