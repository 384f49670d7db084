// The shapes tapegrad's webgpu matmul is tested on (test/gpu/webgpu-matmul.suite.ts in Node,
// test/browser/webgpu-matmul.browser.ts in Chromium): every size class, odd sizes, an inner
// dimension of 1, transposed operands, broadcast batches, and each epilogue of _FusedMatMul.
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import type * as TG from '../src/index.js';
import { rng } from '../src/testing.js';
import type { MatMulActivation } from '../kernels/webgpu-matmul.js';

export interface MatMulCase {
  name: string;
  a: number[];
  b: number[];
  transposeA: boolean;
  transposeB: boolean;
  bias?: number[];
  activation?: MatMulActivation;
  prelu?: number[];
  alpha?: number;
}

const plain = (name: string, a: number[], b: number[], transposeA = false, transposeB = false): MatMulCase => ({
  name,
  a,
  b,
  transposeA,
  transposeB,
});

export const matMulCases: MatMulCase[] = [
  plain('1×1 · 1×1', [1, 1], [1, 1]),
  plain('inner dimension 1: 3×1 · 1×4', [3, 1], [1, 4]),
  plain('row times column: 1×5 · 5×1', [1, 5], [5, 1]),
  plain('odd sizes 33×65 · 65×17 (tiny)', [33, 65], [65, 17]),
  plain('odd sizes, transposeA', [65, 33], [65, 17], true, false),
  plain('odd sizes, transposeB', [33, 65], [17, 65], false, true),
  plain('odd sizes, both transposed', [65, 33], [17, 65], true, true),
  plain('multiples of 4 (vec4 reads and writes) 36×64 · 64×20', [36, 64], [64, 20]),
  plain('multiples of 4, transposeA', [64, 36], [64, 20], true, false),
  plain('multiples of 4, transposeB', [36, 64], [20, 64], false, true),
  plain('multiples of 4, both transposed', [64, 36], [20, 64], true, true),
  plain('tall 200×8 · 8×3', [200, 8], [8, 3]),
  plain('wide 3×8 · 8×200', [3, 8], [8, 200]),
  plain('square 130×70 · 70×129', [130, 70], [70, 129]),
  plain('square, transposed, 128×68 · 68×132', [68, 128], [132, 68], true, true),
  plain('matrix times vector, long K: 1×1024 · 1024×1 (dot)', [1, 1024], [1024, 1]),
  plain('batched 4×5×8 · 8×6', [4, 5, 8], [8, 6]),
  plain('batched, broadcast both ways: 2×1×5×8 · 3×8×6', [2, 1, 5, 8], [3, 8, 6]),
  plain('batched, broadcast, transposed: 1×8×5 · 3×6×8', [1, 8, 5], [3, 6, 8], true, true),
  plain('five batch axes, two of them 1', [2, 1, 3, 1, 2, 4, 5], [5, 3]),
  { ...plain('bias [N] and relu', [9, 12], [12, 7]), bias: [7], activation: 'relu' },
  { ...plain('bias [M, 1] and relu6', [9, 12], [12, 8]), bias: [9, 1], activation: 'relu6' },
  { ...plain('scalar bias and elu', [9, 12], [12, 7]), bias: [], activation: 'elu' },
  { ...plain('bias and leakyrelu 0.3', [9, 12], [12, 7]), bias: [7], activation: 'leakyrelu', alpha: 0.3 },
  { ...plain('prelu weights [N]', [9, 12], [12, 7]), activation: 'prelu', prelu: [7] },
  { ...plain('bias, sigmoid, transposed', [12, 9], [7, 12], true, true), bias: [7], activation: 'sigmoid' },
  { ...plain('batched bias [B, 1, N] and relu', [3, 9, 12], [12, 8]), bias: [3, 1, 8], activation: 'relu' },
];

/** The case's operands, from a seeded generator. */
export function operands(c: MatMulCase) {
  const r = rng(c.a.length * 7 + c.b.length * 3 + (c.bias?.length ?? 0));
  const fill = (shape: number[]) => Array.from({ length: shape.reduce((p, q) => p * q, 1) }, () => r.normal());
  return { a: fill(c.a), b: fill(c.b), bias: c.bias ? fill(c.bias) : null, prelu: c.prelu ? fill(c.prelu) : null };
}

/**
 * tf.fused.matMul of the case on the active backend, read back. With `broadcast`, the operands'
 * batches are broadcast first (TF.js's cpu kernel is wrong when both batches broadcast).
 */
export async function product(
  c: MatMulCase,
  v: ReturnType<typeof operands>,
  broadcast = false,
): Promise<{ shape: number[]; values: number[] }> {
  const batch = tf.broadcast_util.assertAndGetBroadcastShape(c.a.slice(0, -2), c.b.slice(0, -2));
  const widen = (x: tf.Tensor) => (broadcast ? tf.broadcastTo(x, [...batch, ...x.shape.slice(-2)]) : x);
  const y = tf.tidy(() => {
    const [a, b] = [widen(tf.tensor(v.a, c.a)), widen(tf.tensor(v.b, c.b))];
    // tf.matMul hands the kernel its operands as they are; tf.fused.matMul folds the batch axes first.
    if (!c.bias && !c.activation) return tf.matMul(a, b, c.transposeA, c.transposeB);
    return tf.fused.matMul({
      a,
      b,
      transposeA: c.transposeA,
      transposeB: c.transposeB,
      bias: v.bias ? tf.tensor(v.bias, c.bias) : undefined,
      activation: c.activation,
      preluActivationWeights: v.prelu ? tf.tensor(v.prelu, c.prelu) : undefined,
      leakyreluAlpha: c.alpha,
    });
  });
  const values = Array.from(await y.data());
  const shape = y.shape;
  y.dispose();
  return { shape, values };
}

/** The case on cpu, then on webgpu: the same shape, values within float32 summation error. */
export async function checkMatMulCase(tg: typeof TG, c: MatMulCase): Promise<void> {
  const v = operands(c);
  await tg.setBackend('cpu');
  const want = await product(c, v, true);
  await tg.setBackend('webgpu');
  const got = await product(c, v);
  assert.equal(got.shape, want.shape, c.name);
  const k = c.transposeA ? c.a[c.a.length - 2] : c.a[c.a.length - 1];
  const tol = 1e-5 * (Math.sqrt(k) + 4);
  let worst = 0;
  for (let i = 0; i < want.values.length; i++) {
    const err = Math.abs(got.values[i] - want.values[i]) / (1 + Math.abs(want.values[i]));
    if (!(err <= worst)) worst = err;
  }
  assert.ok(worst <= tol, `${c.name}: worst relative error ${worst} > ${tol}`);
}
