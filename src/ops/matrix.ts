// Matrix products: matmul (batched, broadcasting batch dimensions, vectors promoted as in NumPy),
// dot, outer, trace. The adjoints are the appendix's C = AB rules: Ā = G Bᵀ, B̄ = Aᵀ G.
import * as tf from '@tensorflow/tfjs-core';
import { defineOp, asTensor, owning } from '../op.js';
import { TapegradError, checkOptions, fmtShape } from '../errors.js';
import { matMulBroadcastingBatches } from '../backend/defects.js';
import {
  fusedMatMulFast,
  rightOperandCost,
  transposedLeftInPlace,
  transposedLeftKeptInPlace,
  transposedRightInPlace,
  transposeFlagsSlow,
} from '../backend/facts.js';
import type { Tensor } from '../tensor.js';
import { eye } from '../creation.js';
import { mul, reluAdjoint } from './elementwise.js';
import { sum } from './reduce.js';
import { reshape, transpose, broadcastShapes, unbroadcast } from './shape.js';

export interface MatmulAttrs {
  transposeA: boolean;
  transposeB: boolean;
}
const matmulOp = defineOp<MatmulAttrs>({
  name: 'matmul',
  forward: ([a, b], { transposeA, transposeB }) => {
    // a sum of no products is 0, and an empty product needs no kernel (wasm's XNNPACK refuses both)
    if (a.size === 0 || b.size === 0) return tf.zeros(productShape(a, b, transposeA, transposeB));
    return matMulBroadcastingBatches(a, b, transposeA, transposeB);
  },
  // C = op(A)·op(B): Ā = G Bᵀ and B̄ = Aᵀ G, rearranged for each transpose flag; batch axes summed back
  vjp: (g, [a, b], _c, { transposeA: tA, transposeB: tB }) => [
    () => unbroadcast(tA ? mm(b, g, tB, true) : mm(g, b, false, !tB), a.shape),
    () => unbroadcast(tB ? mm(g, a, true, tA) : mm(a, g, !tA, false), b.shape),
  ],
});

/** The shape of op(A)·op(B): the broadcast batch, then A's rows and B's columns. */
function productShape(a: tf.Tensor, b: tf.Tensor, tA: boolean, tB: boolean): number[] {
  const batch = broadcastShapes('matmul', a.shape.slice(0, -2), b.shape.slice(0, -2));
  return [...batch, a.shape[a.rank - (tA ? 1 : 2)], b.shape[b.rank - (tB ? 2 : 1)]];
}

/** Swaps the last two axes. PyTorch `torch.Tensor.mT`, JAX `jnp.matrix_transpose`. */
export function matrixTranspose(x: Tensor): Tensor {
  const r = asTensor('matrixTranspose', x).rank;
  if (r < 2) throw new TapegradError('matrixTranspose', `needs rank ≥ 2, got shape ${fmtShape(x.shape)}`);
  return transpose(x, [...Array(r - 2).keys(), r - 1, r - 2]);
}

/**
 * op(A)·op(B) in the fastest form for the active backend. Where matmul with a transpose flag is
 * slow (wasm, unbatched: transposeFlagsSlow), the transposes are made explicit — choosing between
 * op(A)·op(B) and (op(B)ᵀ·op(A)ᵀ)ᵀ whichever moves fewer entries, counting the right operand's
 * extra cost (for G·Hᵀ with a thin G, transposing G and the thin result beats transposing H; for xᵀ·g
 * with a wide g and a wide x, x on the right beats g); aᵀ·b alone takes the flag where the backend reads a in place
 * (transposedLeftInPlace), and keeps it whatever b where a is narrow (transposedLeftKeptInPlace). Other
 * backends take the flags for free.
 */
export function mm(a: Tensor, b: Tensor, transposeA = false, transposeB = false): Tensor {
  const matrices = (x: Tensor) => x.size / (x.shape[x.rank - 1] * x.shape[x.rank - 2]);
  const batched = matrices(a) > 1 || matrices(b) > 1;
  if (!(transposeA || transposeB) || !transposeFlagsSlow(batched)) return matmulOp([a, b], { transposeA, transposeB });
  if (transposeB && !transposeA && transposedRightInPlace(a.shape, b.shape))
    return matmulOp([a, b], { transposeA: false, transposeB: true });
  const outSize =
    (a.size / (a.shape[a.rank - 1] * a.shape[a.rank - 2])) *
    a.shape[a.rank - (transposeA ? 1 : 2)] *
    b.shape[b.rank - (transposeB ? 2 : 1)];
  // entries transposed, and the right operand's extra cost (src/backend/facts.ts); aᵀ·b alone may
  // read a in place
  const packing = rightOperandCost();
  const leftInPlace = transposeA && !transposeB && transposedLeftInPlace(a.shape);
  if (leftInPlace && transposedLeftKeptInPlace(a.shape))
    return matmulOp([a, b], { transposeA: true, transposeB: false });
  const direct = (transposeA && !leftInPlace ? a.size : 0) + (transposeB ? b.size : 0) + packing * b.size;
  const flipped = (transposeA ? 0 : a.size) + (transposeB ? 0 : b.size) + outSize + packing * a.size;
  const made: Tensor[] = [];
  const explicit = (x: Tensor, t: boolean) => {
    if (!t) return x;
    const xt = matrixTranspose(x);
    made.push(xt);
    return xt;
  };
  if (direct <= flipped) {
    if (leftInPlace) return matmulOp([a, b], { transposeA: true, transposeB: false });
    return owning(
      matmulOp([explicit(a, transposeA), explicit(b, transposeB)], { transposeA: false, transposeB: false }),
      made,
    );
  }
  const ct = matmulOp([explicit(b, !transposeB), explicit(a, !transposeA)], { transposeA: false, transposeB: false });
  made.push(ct);
  return owning(matrixTranspose(ct), made);
}

// ---- linear: y = act(x·W + b), nn.Linear's (and nn.MLP's) layer as one op

export interface LinearAttrs {
  activation: 'none' | 'relu';
}
const linearOp = defineOp<LinearAttrs>({
  name: 'linear',
  // One kernel forward (TF.js's fused matMul: the product, the bias and relu in one pass), where a
  // matmul, a broadcast add and a relu would be three GPU dispatches.
  forward: ([x, w, b], { activation }) =>
    x.size === 0 || w.size === 0
      ? tf.tidy(() => {
          const shape = [x.shape[0], w.shape[1]] as number[];
          const z = b ? tf.add(tf.zeros(shape), b) : tf.zeros(shape);
          return activation === 'relu' ? tf.relu(z) : z;
        })
      : fusedMatMulFast(x, w, b, activation === 'relu' ? 'relu' : 'linear'),
  // z = xW + b, y = act(z): z̄ = ȳ·act′ (relu: [y > 0]); x̄ = z̄ Wᵀ, W̄ = xᵀ z̄, b̄ = Σ_rows z̄
  vjp: (g, [x, w, b], y, { activation }) => {
    let dz: Tensor | undefined;
    const dZ = () => (dz ??= activation === 'relu' ? reluAdjoint(g, y) : g);
    return [
      () => mm(dZ(), w, false, true),
      () => mm(x, dZ(), true, false),
      ...(b ? [() => sum(dZ(), { axis: 0 })] : []),
    ];
  },
});
/**
 * act(x·W + b) for x [n, in], W [in, out] and an optional bias b [out]: a dense layer in one
 * kernel (activation 'none', the default, or 'relu').
 * PyTorch `torch.nn.functional.linear`, JAX `flax.linen.Dense`.
 */
export function linear(x: Tensor, w: Tensor, b?: Tensor | null, opts: { activation?: 'none' | 'relu' } = {}): Tensor {
  checkOptions('linear', opts, ['activation']);
  const X = asTensor('linear', x, 'the input');
  const W = asTensor('linear', w, 'the weight');
  const B = b == null ? null : asTensor('linear', b, 'the bias');
  const activation = opts.activation ?? 'none';
  if (activation !== 'none' && activation !== 'relu')
    throw new TapegradError('linear', `activation must be 'none' or 'relu', got '${String(activation)}'`);
  for (const [name, t] of [
    ['input', X],
    ['weight', W],
    ['bias', B],
  ] as const) {
    if (t && t.dtype !== 'float32') throw new TapegradError('linear', `the ${name} must be float32, got ${t.dtype}`);
  }
  if (X.rank !== 2 || W.rank !== 2 || X.shape[1] !== W.shape[0]) {
    throw new TapegradError(
      'linear',
      `needs an input [n, in] and a weight [in, out] that fit, got ${fmtShape(X.shape)} and ${fmtShape(W.shape)}`,
    );
  }
  if (B && (B.rank !== 1 || B.shape[0] !== W.shape[1]))
    throw new TapegradError('linear', `the bias must have shape [${W.shape[1]}], got ${fmtShape(B.shape)}`);
  return linearOp(B ? [X, W, B] : [X, W], { activation });
}
linear.rule = linearOp.rule;

/**
 * Matrix product with NumPy's rules: batch axes broadcast; a 1-D operand is a row (left) or column (right) vector.
 * The operands must be float32 (PyTorch multiplies integer matrices too; TF.js only on its cpu backend).
 * PyTorch `torch.matmul`, JAX `jnp.matmul`.
 */
export function matmul(a: Tensor, b: Tensor, opts: { transposeA?: boolean; transposeB?: boolean } = {}): Tensor {
  checkOptions('matmul', opts, ['transposeA', 'transposeB']);
  const A = asTensor('matmul', a, 'the left operand');
  const B = asTensor('matmul', b, 'the right operand');
  if (A.dtype !== B.dtype) throw new TapegradError('matmul', `dtypes differ: ${A.dtype} and ${B.dtype}`);
  // TF.js multiplies int32 matrices on cpu only (wasm and the GPUs refuse); one rule on every backend
  if (A.dtype !== 'float32')
    throw new TapegradError(
      'matmul',
      `operands must be float32, got ${A.dtype} (cast them with tg.cast(x, 'float32'))`,
    );
  if (A.rank === 0 || B.rank === 0)
    throw new TapegradError('matmul', `operands must have rank ≥ 1, got ${fmtShape(A.shape)} x ${fmtShape(B.shape)}`);
  const tA = !!opts.transposeA && A.rank >= 2;
  const tB = !!opts.transposeB && B.rank >= 2;
  const a2 = A.rank === 1 ? reshape(A, [1, A.shape[0]]) : A;
  const b2 = B.rank === 1 ? reshape(B, [B.shape[0], 1]) : B;
  const inner = (s: number[], t: boolean, left: boolean) => s[s.length - (left !== t ? 1 : 2)];
  const k1 = inner(a2.shape, tA, true);
  const k2 = inner(b2.shape, tB, false);
  const made = [a2, b2].filter((t) => t !== A && t !== B);
  if (k1 !== k2) {
    made.forEach((t) => t.dispose());
    throw new TapegradError('matmul', `inner dimensions differ: ${fmtShape(A.shape)} x ${fmtShape(B.shape)}`);
  }
  try {
    broadcastShapes('matmul', a2.shape.slice(0, -2), b2.shape.slice(0, -2));
  } catch {
    made.forEach((t) => t.dispose());
    throw new TapegradError(
      'matmul',
      `batch dimensions cannot be broadcast: ${fmtShape(A.shape)} x ${fmtShape(B.shape)}`,
    );
  }
  const c = mm(a2, b2, tA, tB);
  if (A.rank > 1 && B.rank > 1) return c;
  const shape = c.shape.filter((_, i) => !((A.rank === 1 && i === c.rank - 2) || (B.rank === 1 && i === c.rank - 1)));
  return owning(reshape(c, shape), [...made, c]);
}
matmul.rule = matmulOp.rule;

/** xᵀy for vectors; matmul for higher ranks. PyTorch `torch.dot`, JAX `jnp.dot`. */
export function dot(x: Tensor, y: Tensor): Tensor {
  const a = asTensor('dot', x, 'the left operand');
  const b = asTensor('dot', y, 'the right operand');
  if (a.dtype !== b.dtype) throw new TapegradError('dot', `dtypes differ: ${a.dtype} and ${b.dtype}`);
  if (a.rank === 1 && b.rank === 1) {
    if (a.size !== b.size)
      throw new TapegradError('dot', `vector lengths differ: ${fmtShape(a.shape)} · ${fmtShape(b.shape)}`);
    const p = mul(a, b);
    return owning(sum(p), [p]);
  }
  if (a.rank === 0 || b.rank === 0)
    throw new TapegradError('dot', `operands must have rank ≥ 1, got ${fmtShape(a.shape)} · ${fmtShape(b.shape)}`);
  try {
    return matmul(a, b);
  } catch (e) {
    // matmul's checks, under the name the caller used
    if (e instanceof TapegradError && e.fn === 'matmul')
      throw new TapegradError('dot', e.message.slice('matmul: '.length));
    throw e;
  }
}

/** x yᵀ: the n×m matrix of products xᵢyⱼ. PyTorch `torch.outer`, JAX `jnp.outer`. */
export function outer(x: Tensor, y: Tensor): Tensor {
  const a = asTensor('outer', x, 'the left operand');
  const b = asTensor('outer', y, 'the right operand');
  if (a.rank !== 1 || b.rank !== 1)
    throw new TapegradError('outer', `needs two vectors, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  const col = reshape(a, [a.size, 1]);
  const row = reshape(b, [1, b.size]);
  return owning(mul(col, row), [col, row]);
}

const traceOp = defineOp<void>({
  name: 'trace',
  forward: ([x]) =>
    tf.tidy(() => {
      const [m, n] = x.shape.slice(-2);
      return tf.sum(tf.mul(x, tf.eye(m, n)), [x.rank - 2, x.rank - 1]);
    }),
  // ∂ tr A / ∂A = I
  vjp: (g, [x]) => [
    () => {
      const [m, n] = x.shape.slice(-2);
      const I = eye(m, n);
      return owning(mul(reshape(g, [...g.shape, 1, 1]), I), [I]);
    },
  ],
});
/** The sum of the diagonal of the last two axes (batched). PyTorch `torch.trace`, JAX `jnp.trace`. */
export function trace(x: Tensor): Tensor {
  const t = asTensor('trace', x);
  if (t.rank < 2) throw new TapegradError('trace', `needs a matrix (rank ≥ 2), got ${fmtShape(t.shape)}`);
  return traceOp([t]);
}
trace.rule = traceOp.rule;
