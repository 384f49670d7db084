// TapegradScaledSoftmax: attention's weights softmax(scale·x + M) along the last axis in one pass on
// cpu and wasm, instead of a product, a sum with the mask and a softmax (three kernels, and three
// nodes on the tape). M is 0, or with attr `causal` the causal mask of the last two axes [L, S]: 0
// where key j ≤ query i, −∞ after (those entries come out 0, and take no part in the row's sums).
//
// Input x float32 [..., L, S], attrs scale (> 0) and causal; output y of x's shape. Per row, in
// float64: the maximum m of x over the keys taken, e_j = e^{scale·x_j − scale·m}, y_j = e_j / Σe,
// rounded once; Σe in four partial sums (entry index mod 4) joined as (s₀ + s₂) + (s₁ + s₃). On wasm
// in SIMD (wasm-simd-scaled-softmax.ts: the same sums, of a float32 exponential, so the loop's values
// within 2⁻²¹ relative, or 2⁻¹²⁶ where e^t is below float32's normal range). The reference at the
// end is the same in TF.js ops (float32): what the GPUs run and the tests' oracle.
import * as tf from '@tensorflow/tfjs-core';
import { jsKernelConfigs } from './js-kernel.js';
import { simdScaledSoftmax, simdScaledSoftmaxHelper } from './wasm-simd-scaled-softmax.js';

export const SCALED_SOFTMAX = 'TapegradScaledSoftmax';

interface Attrs {
  scale: number;
  causal: boolean;
}

export const scaledSoftmaxJs = jsKernelConfigs(
  SCALED_SOFTMAX,
  ({ x }) => [x!.shape],
  ({ x }, [y], attrs, infos, heap, scratch) => {
    const { scale, causal } = attrs as unknown as Attrs;
    const shape = infos.x!.shape;
    const S = shape[shape.length - 1];
    const L = shape.length > 1 ? shape[shape.length - 2] : 1;
    scaledSoftmaxRows(heap, x as Float32Array, y, S, L, scale, causal, scratch);
  },
  false,
  ({ x }) => rowsScratch(x!.shape[x!.shape.length - 1]),
);

/** Entries from which the SIMD loop is shared with the helper thread (below, waking it costs more). */
const SHARE_MIN = 1 << 16;
/** The most chunks a shared call's rows are cut into, each with its own row of exponentials. */
const CHUNKS = 16;
/** float64 entries of a chunk's row of exponentials (S + 3 float32 for the SIMD loop, 8-byte aligned). */
const chunkScratch = (S: number) => S + 2;
/** The float64 scratch scaledSoftmaxRows needs for rows of S entries. */
export const rowsScratch = (S: number) => CHUNKS * chunkScratch(S);

/**
 * The kernel's rows (header) of v into y (which may be v itself): rows of S entries, row r's query
 * r mod L; `scratch` holds rowsScratch(S) float64 (in the heap on wasm, where the SIMD loop runs,
 * shared with the helper thread in chunks of whole multiples of L rows when large).
 */
export function scaledSoftmaxRows(
  heap: WebAssembly.Memory | null,
  v: Float32Array,
  y: Float32Array,
  S: number,
  L: number,
  scale: number,
  causal: boolean,
  scratch: Float64Array,
): void {
  const rows = S === 0 ? 0 : v.length / S;
  const simd = simdScaledSoftmax(heap);
  if (simd) {
    const args = (from: number, to: number, chunk: number) => [
      v.byteOffset + 4 * S * from,
      y.byteOffset + 4 * S * from,
      to - from,
      S,
      L,
      causal ? 1 : 0,
      scale,
      scratch.byteOffset + 8 * chunkScratch(S) * chunk,
    ];
    const helper = v.length >= SHARE_MIN && rows >= 2 * L ? simdScaledSoftmaxHelper(heap) : null;
    if (helper) {
      // chunks of whole multiples of L rows (so that each starts at query 0), each its own exponentials
      const step = L * Math.ceil(rows / L / CHUNKS);
      const chunks: number[][] = [];
      for (let from = 0; from < rows; from += step) chunks.push(args(from, Math.min(rows, from + step), chunks.length));
      helper.share('rows', chunks);
    } else simd.rows(...(args(0, rows, 0) as Parameters<typeof simd.rows>));
    return;
  }
  for (let r = 0; r < rows; r++) {
    const o = r * S;
    const n = causal ? Math.min((r % L) + 1, S) : S;
    let mx = -Infinity;
    for (let j = 0; j < n; j++) if (v[o + j] > mx) mx = v[o + j];
    const m = mx * scale;
    const s = [0, 0, 0, 0];
    for (let j = 0; j < n; j++) {
      const e = Math.exp(v[o + j] * scale - m);
      scratch[j] = e;
      s[j & 3] += e;
    }
    const total = s[0] + s[2] + (s[1] + s[3]);
    for (let j = 0; j < n; j++) y[o + j] = scratch[j] / total;
    y.fill(0, o + n, o + S);
  }
}

/**
 * softmax(scale·x + M) along the last axis, in TF.js ops. The causal mask is applied by selection,
 * not by adding −∞ (which float16 textures do not keep): the row's maximum over the keys taken (the
 * others replaced by the row's minimum), e^{s − max} there and 0 after, over its sum.
 */
export function scaledSoftmaxReference(x: tf.Tensor, scale: number, causal: boolean): tf.Tensor {
  return tf.tidy(() => {
    const scores = tf.mul(x, scale);
    if (!causal) return tf.softmax(scores);
    const [L, S] = x.shape.slice(-2);
    const taken = tf.broadcastTo(
      tf.lessEqual(tf.reshape(tf.range(0, S, 1, 'int32'), [1, S]), tf.reshape(tf.range(0, L, 1, 'int32'), [L, 1])),
      x.shape,
    );
    const floor = tf.broadcastTo(tf.min(scores, -1, true), x.shape);
    const m = tf.max(tf.where(taken, scores, floor), -1, true);
    const e = tf.where(taken, tf.exp(tf.sub(scores, m)), tf.zerosLike(scores));
    return tf.div(e, tf.sum(e, -1, true));
  });
}
