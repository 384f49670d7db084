// The appendix's forms as ops: the quadratic form α = xᵀAx and the bilinear form α = yᵀAx,
// batched over leading dimensions (x [..., n], A [..., m, n]; batch dimensions broadcast).
// Their adjoints are Propositions 7–9 of the appendix "Matrix Differentiation".
import * as tf from '@tensorflow/tfjs-core';
import { defineOp, asTensor } from '../op.js';
import { TapegradError, fmtShape } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { add, mul } from './elementwise.js';
import { sum } from './reduce.js';
import { expandDims, broadcastShapes, unbroadcast } from './shape.js';

// ---- helpers in tapegrad ops (so that the adjoints can be differentiated again). Products are
// written as broadcast multiply-and-sum rather than batched matmul: TF.js's batched matmul gives
// wrong values when both operands broadcast over different batch axes ([4,1] against [2]), and a
// matrix-vector product costs the same O(mn) either way.

/** A x for a batch of matrices and vectors: [..., m, n] · [..., n] → [..., m]. */
function matvec(A: Tensor, x: Tensor): Tensor {
  return sum(mul(A, expandDims(x, -2)), { axis: -1 });
}
/** yᵀA as a vector, i.e. Aᵀy without forming Aᵀ: [..., m] · [..., m, n] → [..., n]. */
function vecmat(y: Tensor, A: Tensor): Tensor {
  return sum(mul(expandDims(y, -1), A), { axis: -2 });
}
/** y xᵀ for batches of vectors: [..., m], [..., n] → [..., m, n]. */
function batchOuter(y: Tensor, x: Tensor): Tensor {
  return mul(expandDims(y, -1), expandDims(x, -2));
}
/** The incoming gradient g (one scalar per batch entry) with `k` trailing axes of length 1. */
function lift(g: Tensor, k: number): Tensor {
  let t = g;
  for (let i = 0; i < k; i++) t = expandDims(t, -1);
  return t;
}

/** Σᵢⱼ yᵢ Aᵢⱼ xⱼ on TF.js tensors (forward only). */
function bilinearValue(y: tf.Tensor, A: tf.Tensor, x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.sum(tf.mul(tf.mul(tf.expandDims(y, -1), A), tf.expandDims(x, -2)), [-2, -1]));
}

// ---- quadForm: α = xᵀAx
const quadFormOp = defineOp<void>({
  name: 'quadForm',
  forward: ([x, A]) => bilinearValue(x, A, x),
  vjp: (g, [x, A]) => [
    // ∂(xᵀAx)/∂x = xᵀ(A + Aᵀ) (Prop. 8): x̄ = g (A + Aᵀ) x, with Aᵀx computed as xᵀA
    () => unbroadcast(mul(lift(g, 1), add(matvec(A, x), vecmat(x, A))), x.shape),
    // ∂(xᵀAx)/∂Aᵢⱼ = xᵢxⱼ: Ā = g x xᵀ
    () => unbroadcast(mul(lift(g, 2), batchOuter(x, x)), A.shape),
  ],
});

/** xᵀAx for x [..., n] and A [..., n, n]; batch dimensions broadcast; result [...batch]. */
export function quadForm(x: Tensor, A: Tensor): Tensor {
  const xt = asTensor('quadForm', x, 'x');
  const At = asTensor('quadForm', A, 'A');
  if (xt.rank < 1 || At.rank < 2) {
    throw new TapegradError(
      'quadForm',
      `needs x [..., n] and A [..., n, n], got x ${fmtShape(xt.shape)} and A ${fmtShape(At.shape)}`,
    );
  }
  const n = xt.shape[xt.rank - 1];
  const [r, c] = At.shape.slice(-2);
  if (r !== n || c !== n) {
    throw new TapegradError(
      'quadForm',
      `A must be [..., n, n] with n = ${n} (x's last dimension), got x ${fmtShape(xt.shape)} and A ${fmtShape(At.shape)}`,
    );
  }
  checkFloat('quadForm', [xt, At]);
  checkBatch(
    'quadForm',
    [xt.shape.slice(0, -1), At.shape.slice(0, -2)],
    `x ${fmtShape(xt.shape)} and A ${fmtShape(At.shape)}`,
  );
  return quadFormOp([xt, At]);
}
quadForm.rule = quadFormOp.rule;

// ---- bilinear: α = yᵀAx
const bilinearOp = defineOp<void>({
  name: 'bilinear',
  forward: ([y, A, x]) => bilinearValue(y, A, x),
  vjp: (g, [y, A, x]) => [
    // ∂(yᵀAx)/∂y = xᵀAᵀ (Prop. 7): ȳ = g A x
    () => unbroadcast(mul(lift(g, 1), matvec(A, x)), y.shape),
    // ∂(yᵀAx)/∂Aᵢⱼ = yᵢxⱼ: Ā = g y xᵀ
    () => unbroadcast(mul(lift(g, 2), batchOuter(y, x)), A.shape),
    // ∂(yᵀAx)/∂x = yᵀA (Prop. 7): x̄ = g Aᵀy, computed as yᵀA
    () => unbroadcast(mul(lift(g, 1), vecmat(y, A)), x.shape),
  ],
});

/** yᵀAx for y [..., m], A [..., m, n] and x [..., n]; batch dimensions broadcast; result [...batch]. */
export function bilinear(y: Tensor, A: Tensor, x: Tensor): Tensor {
  const yt = asTensor('bilinear', y, 'y');
  const At = asTensor('bilinear', A, 'A');
  const xt = asTensor('bilinear', x, 'x');
  const shapes = `y ${fmtShape(yt.shape)}, A ${fmtShape(At.shape)} and x ${fmtShape(xt.shape)}`;
  if (yt.rank < 1 || xt.rank < 1 || At.rank < 2) {
    throw new TapegradError('bilinear', `needs y [..., m], A [..., m, n] and x [..., n], got ${shapes}`);
  }
  const [m, n] = At.shape.slice(-2);
  if (yt.shape[yt.rank - 1] !== m || xt.shape[xt.rank - 1] !== n) {
    throw new TapegradError('bilinear', `A [..., m, n] needs y [..., m] and x [..., n], got ${shapes}`);
  }
  checkFloat('bilinear', [yt, At, xt]);
  checkBatch('bilinear', [yt.shape.slice(0, -1), At.shape.slice(0, -2), xt.shape.slice(0, -1)], shapes);
  return bilinearOp([yt, At, xt]);
}
bilinear.rule = bilinearOp.rule;

function checkFloat(fn: string, xs: Tensor[]): void {
  const bad = xs.find((t) => t.dtype !== 'float32');
  if (bad) throw new TapegradError(fn, `operands must be float32, got ${bad.dtype} (shape ${fmtShape(bad.shape)})`);
}
function checkBatch(fn: string, batches: number[][], shapes: string): void {
  try {
    broadcastShapes(fn, ...batches);
  } catch {
    throw new TapegradError(fn, `batch dimensions cannot be broadcast: ${shapes}`);
  }
}
