// TapegradSelfAttention and TapegradSelfAttentionGrad: multi-head self-attention from the input
// projection's output to the heads' outputs side by side, forward and backward, one kernel each on
// cpu and wasm, instead of a transpose and a split of the projection into heads, two batched
// products, the softmax and a transpose back (and their adjoints: a stack, three transposes, four
// products, the softmax's adjoint and the scale), each a kernel and a node on the tape.
//
// qkv [N, L, 3E]: q, k and v along the last axis, each E = H·D wide, head h in entries h·D … h·D + D − 1
// of each; attrs heads H, scale (> 0) and causal.
//   TapegradSelfAttention: outputs o [N, L, E], head h's softmax(scale·q_h·k_hᵀ + M)·v_h in its D
//     entries (M the causal mask, 0 where key j ≤ query i and −∞ after, when `causal`, else 0), and the
//     weights w [N, H, L, L] the softmax gave, which the backward reads.
//   TapegradSelfAttentionGrad: inputs do [N, L, E], qkv and w; output dqkv [N, L, 3E]:
//     dw = do_h·v_hᵀ, dv_h = w_hᵀ·do_h, ds = scale·w∘(dw − Σ dw∘w) along each row of w,
//     dq_h = ds·k_h, dk_h = dsᵀ·q_h.
// Each product is batch-matmul.ts's stridedProducts, the softmax scaled-softmax.ts's rows, its adjoint
// softmax-grad.ts's rows and the scale a float32 product: the steps of the unfused ops, in their order,
// so on wasm the same bits as matmul, scaledSoftmax and matmul on the heads transposed (and their
// adjoints). The heads are read and written in place in the rows of qkv, o and dqkv; only k (forward)
// and v (backward) are copied transposed, each head [D, L], for the products that take them as rows of
// terms. The references at the end are the same in TF.js ops: what the GPUs run and the
// tests' oracle.
import * as tf from '@tensorflow/tfjs-core';
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { jsKernelConfigs } from './js-kernel.js';
import { type StridedProduct, stridedProducts } from './batch-matmul.js';
import { rowsScratch, scaledSoftmaxReference, scaledSoftmaxRows } from './scaled-softmax.js';
import { softmaxGradReference, softmaxGradRows } from './softmax-grad.js';
import { simdTransposeByPlan, type TransposePlan } from './wasm-simd-transpose.js';

export const SELF_ATTENTION = 'TapegradSelfAttention';
export const SELF_ATTENTION_GRAD = 'TapegradSelfAttentionGrad';

interface Attrs {
  heads: number;
  scale: number;
  causal: boolean;
}

/** N, L, E, H and D of qkv [N, L, 3E] in H heads. */
function sizes(qkv: TensorInfo, attrs: NamedAttrMap) {
  const [N, L, E3] = qkv.shape;
  const H = (attrs as unknown as Attrs).heads;
  const E = E3 / 3;
  return { N, L, E, H, D: E / H };
}

/**
 * Part p (0 q, 1 k, 2 v) of y [N, L, 3E] into t [N, E, L]: head h as t[n, h·D + d, j] = y[n, j, p·E + h·D + d],
 * each head's [D, L] rows of L. By the SIMD transpose's copies on wasm (a block of y's rows).
 */
function transposedPart(
  heap: WebAssembly.Memory | null,
  y: Float32Array,
  t: Float32Array,
  N: number,
  L: number,
  E: number,
  p: number,
) {
  const E3 = 3 * E;
  const plan: TransposePlan = {
    kind: 'tiles',
    n: [N, 1],
    A: L,
    B: E,
    is: [L * E3, 0],
    os: [E * L, 0],
    inRow: E3,
    outRow: L,
  };
  if (simdTransposeByPlan(heap, y.byteOffset + 4 * p * E, t.byteOffset, plan)) return;
  for (let n = 0; n < N; n++)
    for (let c = 0; c < E; c++) {
      const to = (n * E + c) * L;
      const from = n * L * E3 + p * E + c;
      for (let j = 0; j < L; j++) t[to + j] = y[from + j * E3];
    }
}

/** The float32 words of the scratch array after its first `skip` float64. */
const wordsAfter = (scratch: Float64Array, skip: number) =>
  new Float32Array(scratch.buffer, scratch.byteOffset + 8 * skip, 2 * (scratch.length - skip));

export const selfAttentionJs = jsKernelConfigs(
  SELF_ATTENTION,
  ({ qkv }, attrs) => {
    const { N, L, E, H } = sizes(qkv!, attrs);
    return [
      [N, L, E],
      [N, H, L, L],
    ];
  },
  ({ qkv }, [o, w], attrs, infos, heap, scratch) => {
    const y = qkv as Float32Array;
    const { scale, causal } = attrs as unknown as Attrs;
    const { N, L, E, H, D } = sizes(infos.qkv!, attrs);
    // the softmax's rows of exponentials, then k transposed [N, E, L]
    const t = wordsAfter(scratch, rowsScratch(L));
    transposedPart(heap, y, t, N, L, E, 1);
    const heads = (f: (h: number) => StridedProduct) => Array.from({ length: H }, (_, h) => f(h));
    const scores = heads((h) => ({
      a: { v: y, at: h * D, batch: 3 * L * E, row: 3 * E },
      b: { v: t, at: h * D * L, batch: E * L, row: L },
      c: { v: w, at: h * L * L, batch: H * L * L, row: L },
    }));
    stridedProducts(heap, scores, N, L, L, D);
    scaledSoftmaxRows(heap, w, w, L, L, scale, causal, scratch);
    const outputs = heads((h) => ({
      a: { v: w, at: h * L * L, batch: H * L * L, row: L },
      b: { v: y, at: 2 * E + h * D, batch: 3 * L * E, row: 3 * E },
      c: { v: o, at: h * D, batch: L * E, row: E },
    }));
    stridedProducts(heap, outputs, N, L, D, L);
  },
  true,
  ({ qkv }, attrs) => {
    const { N, L, E } = sizes(qkv!, attrs);
    return rowsScratch(L) + Math.ceil((N * L * E) / 2);
  },
);

export const selfAttentionGradJs = jsKernelConfigs(
  SELF_ATTENTION_GRAD,
  ({ qkv }) => [qkv!.shape],
  ({ dy, qkv, weights }, [dqkv], attrs, infos, heap, scratch) => {
    const g = dy as Float32Array;
    const y = qkv as Float32Array;
    const w = weights as Float32Array;
    const { scale } = attrs as unknown as Attrs;
    const { N, L, E, H, D } = sizes(infos.qkv!, attrs);
    // v transposed [N, E, L], then dw and ds (in place) [N, H, L, L]
    const words = wordsAfter(scratch, 0);
    const t = words.subarray(0, N * L * E);
    const ds = words.subarray(N * L * E, N * L * E + N * H * L * L);
    transposedPart(heap, y, t, N, L, E, 2);
    const heads = (f: (h: number) => StridedProduct) => Array.from({ length: H }, (_, h) => f(h));
    const gHead = (h: number) => ({ v: g, at: h * D, batch: L * E, row: E });
    const yHead = (h: number, part: number) => ({ v: y, at: part * E + h * D, batch: 3 * L * E, row: 3 * E });
    const dHead = (h: number, part: number) => ({ v: dqkv, at: part * E + h * D, batch: 3 * L * E, row: 3 * E });
    // w_hᵀ and ds_hᵀ read in place: rows 1 apart, terms L apart
    const weightsOf = (v: Float32Array, h: number, transposed: boolean) =>
      transposed
        ? { v, at: h * L * L, batch: H * L * L, row: 1, col: L }
        : { v, at: h * L * L, batch: H * L * L, row: L };
    const vt = (h: number) => ({ v: t, at: h * D * L, batch: E * L, row: L });
    stridedProducts(
      heap,
      heads((h) => ({ a: gHead(h), b: vt(h), c: weightsOf(ds, h, false) })),
      N,
      L,
      L,
      D,
    );
    stridedProducts(
      heap,
      heads((h) => ({ a: weightsOf(w, h, true), b: gHead(h), c: dHead(h, 2) })),
      N,
      L,
      D,
      L,
    );
    softmaxGradRows(heap, ds, w, ds, L, scale);
    stridedProducts(
      heap,
      heads((h) => ({ a: weightsOf(ds, h, false), b: yHead(h, 1), c: dHead(h, 0) })),
      N,
      L,
      D,
      L,
    );
    stridedProducts(
      heap,
      heads((h) => ({ a: weightsOf(ds, h, true), b: yHead(h, 0), c: dHead(h, 1) })),
      N,
      L,
      D,
      L,
    );
  },
  false,
  ({ qkv }, attrs) => {
    const { N, L, E, H } = sizes(qkv!, attrs);
    return Math.ceil((N * L * E + N * H * L * L) / 2);
  },
);

/** q, k and v of qkv [N, L, 3E] as heads [N, H, L, D] (TF.js ops, for a tidy). */
function headsOf(qkv: tf.Tensor, H: number): tf.Tensor[] {
  const [N, L, E3] = qkv.shape;
  return tf.unstack(tf.transpose(tf.reshape(qkv, [N, L, 3, H, E3 / 3 / H]), [2, 0, 3, 1, 4]));
}

/** [o, w] of self-attention (header), in TF.js ops. */
export function selfAttentionReference(qkv: tf.Tensor, heads: number, scale: number, causal: boolean): tf.Tensor[] {
  return tf.tidy(() => {
    const [N, L, E3] = qkv.shape;
    const [q, k, v] = headsOf(qkv, heads);
    const w = scaledSoftmaxReference(tf.matMul(q, k, false, true), scale, causal);
    return [tf.reshape(tf.transpose(tf.matMul(w, v), [0, 2, 1, 3]), [N, L, E3 / 3]), w];
  });
}

/** dqkv of self-attention (header), in TF.js ops. */
export function selfAttentionGradReference(dy: tf.Tensor, qkv: tf.Tensor, w: tf.Tensor, scale: number): tf.Tensor {
  return tf.tidy(() => {
    const [N, H, L] = w.shape;
    const E = qkv.shape[2]! / 3;
    const [q, k, v] = headsOf(qkv, H);
    const g = tf.transpose(tf.reshape(dy, [N, L, H, E / H]), [0, 2, 1, 3]);
    const ds = tf.mul(softmaxGradReference(tf.matMul(g, v, false, true), w), scale);
    const parts = [tf.matMul(ds, k), tf.matMul(ds, q, true, false), tf.matMul(w, g, true, false)];
    return tf.reshape(tf.transpose(tf.stack(parts), [1, 3, 0, 2, 4]), [N, L, 3 * E]);
  });
}
