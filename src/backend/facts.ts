// What the TF.js backends do differently that is not wrong, only slow or unavailable somewhere:
// the one place the op rules ask about it, so that no op names a backend.
import * as tf from '@tensorflow/tfjs-core';
import { broadcastLeading, broadcastsAlongLeadingAxes, columnSum, hasFused } from './fused.js';
import { broadcastToEmptyShape } from './defects.js';
import { BLOCKING, denseTransposedA, denseTransposedB } from '../../kernels/dense-matmul.js';
import { originalWasmKernel } from './kernel-replacement.js';

/**
 * Whether values can be read synchronously (dataSync) here: webgpu in Node (Dawn) has no
 * synchronous read at all.
 */
export function hasSyncRead(): boolean {
  return !(
    tf.getBackend() === 'webgpu' && typeof (globalThis as { OffscreenCanvas?: unknown }).OffscreenCanvas === 'undefined'
  );
}

/**
 * Whether reading a few numbers back is cheap enough for a value check (a singular matrix): not on
 * webgpu, whose synchronous read goes through a canvas (slow, and zeros in headless Chromium on
 * SwiftShader).
 */
export function checksByReadBack(): boolean {
  return tf.getBackend() !== 'webgpu';
}

/**
 * The values of `t` without a GPU read: webgpu keeps a tensor's values on the CPU until its first
 * use on the GPU, so those are returned, and null once they live only on the GPU. Elsewhere a
 * plain synchronous read.
 */
export function valuesWithoutGpuRead(t: tf.Tensor): ArrayLike<number> | null {
  if (tf.getBackend() !== 'webgpu') return t.dataSync();
  const backend = tf.engine().backend as unknown as {
    tensorMap?: { get(id: object): { values?: ArrayLike<number> | null } | undefined };
  };
  return backend.tensorMap?.get(t.dataId)?.values ?? null;
}

/**
 * Whether matMul with a transpose flag is slow here: on wasm an unbatched product with a flag runs an
 * order of magnitude slower than a transpose followed by a plain matMul (XNNPACK's), so the
 * transposes are better made explicit; a batched product (`batched`: either operand's batch has more
 * than one matrix) runs the same SIMD loop with or without flags (kernels/batch-matmul.ts).
 */
export function transposeFlagsSlow(batched = false): boolean {
  return tf.getBackend() === 'wasm' && !batched;
}

/**
 * Whether an unbatched aᵀ·b (a transposeA flag alone, a [K, M]) is better read in place than
 * transposed first: on wasm the dense kernel reads a in place (kernels/dense-matmul.ts, the same sums
 * as after a transpose), a term's entries of a tile's rows one row of a apart. That saves the
 * transpose where those rows stay in the L1 cache: a small a, rows of at most 1 KiB, or rows whose
 * stride spreads them over the cache's sets (not a multiple of 1 KiB, where longer rows would share a
 * few sets and evict each other).
 */
export function transposedLeftInPlace(aShape: readonly number[]): boolean {
  if (tf.getBackend() !== 'wasm' || !denseTransposedA() || aShape.length !== 2) return false;
  const [K, M] = aShape;
  return M * K <= 16384 || (narrowLeftKept && M <= 256) || (4 * M) % 1024 !== 0;
}

let narrowLeftKept = true;

/**
 * Turns off (and on again) the reading in place of a narrow a of aᵀ·b (rows of up to 1 KiB; kept
 * whatever b where its rows fit a block of the dense kernel's): for benchmarks to compare.
 */
export function setNarrowLeftInPlace(on: boolean): void {
  narrowLeftKept = on;
}

/**
 * Whether an aᵀ·b that reads a [K, M] in place (transposedLeftInPlace) is best left so, whatever b:
 * on wasm, where its M rows of output fit one block of the dense kernel's rows, which then copies each
 * panel of b once, so that b costs no more than its transpose would (a weight gradient xᵀ·g with g
 * wider than x: flipped, g would be transposed and the product read x again for each block of g's columns).
 */
export function transposedLeftKeptInPlace(aShape: readonly number[]): boolean {
  return narrowLeftKept && tf.getBackend() === 'wasm' && aShape[aShape.length - 1] <= BLOCKING.mc;
}

/**
 * Whether an unbatched a·bᵀ of two matrices (a transposeB flag alone, b [N, K]) is better made by
 * the product itself than by explicit transposes: on wasm the dense kernel copies b's panels
 * transposed as it reaches them (kernels/dense-matmul.ts, the same sums as after a transpose),
 * where either form with explicit transposes runs one or two Transpose kernels more. Only where a's
 * rows fit one block of the kernel's rows: each block copies b's panels again, entry by entry when
 * transposed, where a transpose first copies b once, in SIMD.
 */
export function transposedRightInPlace(aShape: readonly number[], bShape: readonly number[]): boolean {
  return (
    tf.getBackend() === 'wasm' &&
    denseTransposedB() &&
    aShape.length === 2 &&
    bShape.length === 2 &&
    aShape[0] <= BLOCKING.mc
  );
}

let directFusedMatMul = true;
/**
 * Turns the dense layer's product run as the _FusedMatMul kernel on its two matrices off (and on
 * again): off, through tf.fused.matMul, for benchmarks and tests to compare.
 */
export function setDirectFusedMatMul(on: boolean): void {
  directFusedMatMul = on;
}

/**
 * act(x·w + bias) for matrices x [M, K] and w [K, N] (act 'linear' or 'relu'), TF.js's fused
 * product: where the backend's _FusedMatMul takes two matrices (wasm's, replaced by kernels/dense-matmul.ts),
 * that kernel alone, without tf.fused.matMul's reshapes to rank 3 and back (three kernels more) and
 * its gradient's bookkeeping, which tapegrad's own adjoint makes unused; the same kernel's values.
 */
export function fusedMatMulFast(
  x: tf.Tensor,
  w: tf.Tensor,
  bias: tf.Tensor | undefined,
  activation: 'linear' | 'relu',
): tf.Tensor {
  if (
    directFusedMatMul &&
    tf.getBackend() === 'wasm' &&
    // replaced by kernels/dense-matmul.ts's simdFusedMatMul, which takes two matrices
    originalWasmKernel('_FusedMatMul') !== undefined
  )
    return tf.engine().runKernel('_FusedMatMul', bias ? { a: x, b: w, bias } : { a: x, b: w }, {
      transposeA: false,
      transposeB: false,
      activation,
      leakyreluAlpha: 0.2,
    }) as tf.Tensor;
  return tf.fused.matMul({ a: x, b: w, bias, activation });
}

/**
 * What an unbatched product's right operand costs beyond its share of the arithmetic, per entry, in
 * entries of an explicit transpose: on wasm the dense kernel reads it again for every four rows of
 * the left one, from further out in the caches the larger it is, and XNNPACK packs it afresh at
 * each call; so between op(A)·op(B) and (op(B)ᵀ·op(A)ᵀ)ᵀ the smaller operand should be the right
 * one (where the left one is not read in place: transposedLeftKeptInPlace).
 */
export function rightOperandCost(): number {
  return tf.getBackend() === 'wasm' ? 6 : 0;
}

/**
 * broadcastTo in the fastest form for the backend: TF.js's is a Tile, far slower on wasm than a
 * broadcasting add of zeros (the same values) for float32, and that slower than repeating x along
 * leading axes by copies (src/backend/fused.ts broadcastLeading: a bias gradient spread over a batch).
 */
export function broadcastToFast(x: tf.Tensor, shape: number[]): tf.Tensor {
  if (tf.getBackend() !== 'wasm' || x.dtype !== 'float32') return broadcastToEmptyShape(x, shape);
  const leading = broadcastsAlongLeadingAxes(x.shape, shape) && tf.util.sizeFromShape(shape) > 0;
  if (leading && hasFused('broadcastLeading')) return broadcastLeading(x, shape);
  return tf.tidy(() => tf.add(x, tf.zeros(shape)));
}

/**
 * The sum (or, with `mean`, the mean) of float32 x over `axes`, in the fastest form for the backend.
 * wasm's Sum and Mean over leading axes (a bias gradient, batch statistics over [N, H, W]) transpose
 * first and run an order of magnitude slower than one pass down the columns: a sum there is our
 * kernel's (columnSum: float32 sums by blocks of rows), a mean its average pool (XNNPACK, vectorised
 * along the channels) of x seen as one [R, 1] window of [1, R, 1, rest]; any other reduction is
 * TF.js's own.
 */
export function sumFast(x: tf.Tensor, axes: number[], keepDims: boolean, mean = false): tf.Tensor {
  const k = axes.length;
  const leading = k > 0 && k < x.rank && axes.every((a, i) => a === i);
  const rows = x.shape.slice(0, k).reduce((a, b) => a * b, 1);
  if (!mean && leading && tf.getBackend() === 'wasm' && x.dtype === 'float32' && hasFused('columnSum')) {
    const rest = x.shape.slice(k);
    const s = columnSum(x, rest);
    if (!keepDims) return s;
    const kept = tf.reshape(s, [...axes.map(() => 1), ...rest]);
    s.dispose();
    return kept;
  }
  if (tf.getBackend() !== 'wasm' || x.dtype !== 'float32' || !leading || x.size < 4096 || rows < 8)
    return mean ? tf.mean(x, axes, keepDims) : tf.sum(x, axes, keepDims);
  const rest = x.shape.slice(k);
  return tf.tidy(() => {
    const seen = tf.reshape(x, [1, rows, 1, x.size / rows]) as tf.Tensor4D;
    const avg = tf.avgPool(seen, [rows, 1], 1, 'valid');
    return tf.reshape(mean ? avg : tf.mul(avg, rows), keepDims ? [...axes.map(() => 1), ...rest] : rest);
  });
}
