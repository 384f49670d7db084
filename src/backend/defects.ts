// What TF.js 4.22's kernels get wrong, and the one place each is worked around. Every function
// here is named after the defect it covers, takes and returns TF.js tensors, and is what the op
// rules call instead of the faulty TF.js call. test/backend-defects.test.ts (cpu, wasm) and
// test/browser/backend-defects.browser.ts (webgl, webgpu) run each faulty TF.js kernel on its
// failing input and expect it still wrong: when one of them fails, TF.js has fixed that kernel
// and its workaround can go.
import * as tf from '@tensorflow/tfjs-core';
import { samePadding } from '../../kernels/window-padding.js';
import { conv2dFilterGrad, conv2dWithFilterInPlace, hasConv2dFilterGrad, hasFused, im2colT } from './fused.js';

/**
 * Defect: webgpu's Cast from int32 or bool to float32 relabels the buffer without converting it,
 * and shaders that copy raw words (transpose) then read integers as floats: a sum over
 * non-adjacent axes of cast(x == y) came out 0. setBackend('webgpu') replaces that Cast by one
 * that converts (kernels/webgpu-cast.ts); tfjsWebGPUCast gives TF.js's own back, for its test.
 */
export { fixWebGPUCast as castIntToFloatConverting, tfjsWebGPUCast } from '../../kernels/webgpu-cast.js';

/**
 * Defect: webgl's and webgpu's Sin, Cos and Tan are the shading language's, whose error neither
 * WGSL nor GLSL bounds outside [−π, π]: drivers reduce by a float32 2π (sin(1e4) 7e−4 off on
 * SwiftShader), and SwiftShader's is 2e−4 off inside. setBackend('webgl' | 'webgpu') replaces them
 * by kernels that reduce the argument by π/2 (Cody and Waite in float32, Payne and Hanek in
 * integers from |x| = 411,774) and evaluate a minimax polynomial (kernels/gpu-sin-cos.ts): within
 * 1e−7 for every finite float32; tfjsGpuTrig gives TF.js's own back, for its test.
 */
export { replaceGpuTrig as sinCosTanReducedOnGpu, tfjsGpuTrig } from '../../kernels/gpu-sin-cos.js';

/**
 * Defect: wasm's Sigmoid flushes results below 2⁻¹²⁶ (x below about −87.3) to 0, where float32 holds
 * σ(x) ≈ eˣ as a subnormal down to x ≈ −103.3, so silu's and mish's adjoints vanished there.
 * setBackend('wasm') replaces that Sigmoid by TF.js's followed by eˣ on those entries
 * (wasm-sigmoid-flush-to-zero.ts); its test runs TF.js's own, kept by kernel-replacement.ts.
 */
export { fixWasmSigmoidFlushToZero as sigmoidKeepingSubnormals } from './wasm-sigmoid-flush-to-zero.js';

/**
 * Defect: wasm's Maximum, Minimum and ClipByValue let an operand that is NaN lose to the other one or
 * to the bound (maximum(1, NaN) = 1, clip(NaN, −1, 1) = −1), where PyTorch and cpu give NaN.
 * setBackend('wasm') replaces them by TF.js's followed by the NaNs they dropped
 * (wasm-nan-min-max.ts); their tests run TF.js's own, kept by kernel-replacement.ts.
 */
export { fixWasmNaNDroppingMinMax as minMaxClipKeepingNaN } from './wasm-nan-min-max.js';

/**
 * Defect: wasm's _FusedMatMul clamps a relu or relu6 activation as XNNPACK does, which turns NaN into
 * the lower bound: a NaN reaching nn.Linear or nn.MLP came out as finite numbers, where Relu (and
 * PyTorch) keep NaN. The _FusedMatMul that setBackend('wasm') registers (kernels/dense-matmul.ts)
 * clamps keeping NaN, and where it hands a product to TF.js's kernel, asks for it unclamped and
 * clamps it itself.
 */
export { simdFusedMatMul as fusedMatMulKeepingNaN } from '../../kernels/dense-matmul.js';

/**
 * Defect: a pooling window that holds NaN gives −∞ from wasm's AvgPool (XNNPACK clamps its output as
 * relu's clamp does), and the largest other entry from cpu's MaxPool; PyTorch's is NaN. (wasm's
 * MaxPool keeps NaN already: src/backend/wasm-max-pool.ts.) setBackend('wasm' | 'cpu') replaces
 * them by TF.js's followed by the NaN windows (nan-dropping-pools.ts). GPU backends are left as
 * they are.
 */
export { fixNaNDroppingPools as poolsKeepingNaN } from './nan-dropping-pools.js';

/**
 * Defect: tf.randomNormal (and truncatedNormal) take seed 0 for no seed (`seed ? seed :
 * Math.random()`), so a draw seeded 0 changed from run to run; randomUniform keeps it. Seed 0 is
 * passed as the string '0', the key TF.js's generator (alea, keyed by the seed's string) would
 * have used for it.
 */
export function randomNormalKeepingSeedZero(shape: number[], mean: number, std: number, seed?: number): tf.Tensor {
  return tf.randomNormal(shape, mean, std, 'float32', seed === 0 ? ('0' as unknown as number) : seed);
}

type Pair = [number, number];
type Pad = 'valid' | 'same';

const sizeOf = (shape: number[]) => shape.reduce((n, d) => n * d, 1);
const onGpu = () => tf.getBackend() === 'webgl' || tf.getBackend() === 'webgpu';

// ---- matMul with batch axes that broadcast

/**
 * Defect: tf.matMul broadcasts batch axes only when an operand has one matrix or as many as the
 * result; otherwise (batch ranks that differ, neither batch 1: [2,3,3]·[3,1,3,1]) it returns wrong
 * values, too few of them on cpu and wasm. Such operands are broadcast to the full batch first.
 */
export function matMulBroadcastingBatches(
  a: tf.Tensor,
  b: tf.Tensor,
  transposeA = false,
  transposeB = false,
): tf.Tensor {
  const ba = a.shape.slice(0, -2);
  const bb = b.shape.slice(0, -2);
  if (ba.join() === bb.join()) return tf.matMul(a, b, transposeA, transposeB);
  const batch = tf.broadcast_util.assertAndGetBroadcastShape(ba, bb); // the caller has checked they broadcast
  const full = sizeOf(batch);
  const fits = (tb: number[]) => sizeOf(tb) === 1 || sizeOf(tb) === full;
  if (fits(ba) && fits(bb)) return tf.matMul(a, b, transposeA, transposeB);
  return tf.tidy(() => {
    const fit = (t: tf.Tensor, tb: number[]) =>
      fits(tb) ? t : broadcastToEmptyShape(t, [...batch, ...t.shape.slice(-2)]);
    return tf.matMul(fit(a, ba), fit(b, bb), transposeA, transposeB);
  });
}

// ---- broadcasting onto an empty shape

/**
 * Defect: tf.broadcastTo leaves an axis of length 1 unbroadcast where the target's is 0 ([1,3] to
 * [0,3] gives [1,3], [] to [0] gives [1]). tf.where then hands wasm's Select a condition larger
 * than its empty output, and Select writes one entry per condition entry: past the output's end,
 * over the heap's bookkeeping, so that a later allocation traps the module. An empty target has no
 * values to broadcast: it gets an empty tensor of its shape. From rank 5 on webgpu, see tileAnyRank.
 */
export function broadcastToEmptyShape(x: tf.Tensor, shape: number[]): tf.Tensor {
  if (sizeOf(shape) === 0) return tf.zeros(shape, x.dtype);
  if (shape.length < TILE_SYNC_RANK || tf.getBackend() !== 'webgpu') return tf.broadcastTo(x, shape);
  // tf.broadcastTo's Tile at rank 5 and above on webgpu: tileAnyRank below
  return tf.tidy(() => {
    const padded = [...new Array(shape.length - x.rank).fill(1), ...x.shape];
    return tileAnyRank(
      tf.reshape(x, padded),
      shape.map((d, i) => (padded[i] === d ? 1 : d)),
    );
  });
}

// ---- Tile of rank 5 and above on webgpu

/** The rank from which webgpu's Tile reads its input synchronously. */
const TILE_SYNC_RANK = 5;

/**
 * Defect: webgpu's Tile (which tf.broadcastTo runs) computes on the CPU from rank 5 on, reading its
 * input synchronously: Node's webgpu cannot (it throws "OffscreenCanvas is not defined"), headless
 * Chromium's answers zeros. There each tiled axis runs as a Tile of rank 3 ([before, axis, after]) on
 * the GPU: the same values.
 */
export function tileAnyRank(x: tf.Tensor, reps: number[]): tf.Tensor {
  if (x.rank < TILE_SYNC_RANK || tf.getBackend() !== 'webgpu') return tf.tile(x, reps);
  return tf.tidy(() => {
    const shape = [...x.shape];
    let y = x;
    reps.forEach((r, j) => {
      if (r === 1) return;
      y = tf.tile(tf.reshape(y, [sizeOf(shape.slice(0, j)), shape[j], sizeOf(shape.slice(j + 1))]), [1, r, 1]);
      shape[j] *= r;
    });
    return tf.reshape(y, shape);
  });
}

// ---- convolution and pooling

/** TF's padding [before, after] along one axis of length n for a window k and stride s. */
export { samePadding };

/**
 * Defect: the wasm backend's conv2d returns zeros for 'same' padding with stride 2 and a filter one
 * entry wide on one axis; the same padding given explicitly is right, so on wasm it is given so
 * (to tapegrad's kernel, kernels/conv2d-forward.ts, or with the fused kernels off to TF.js's).
 * A bias [Cout], when given, is added to every output pixel (by the kernel, on wasm).
 */
export function conv2dSamePaddingExplicit(
  x: tf.Tensor,
  w: tf.Tensor,
  strides: Pair,
  pad: Pad,
  bias: tf.Tensor | null = null,
): tf.Tensor {
  // on wasm, tapegrad's kernel: XNNPACK would pack the filter again for each new filter tensor
  if (hasFused('conv2d') && [x, w, bias ?? x].every((t) => t.dtype === 'float32')) {
    const padding: [Pair, Pair] = [
      samePadding(pad, x.shape[1]!, w.shape[0]!, strides[0]),
      samePadding(pad, x.shape[2]!, w.shape[1]!, strides[1]),
    ];
    return conv2dWithFilterInPlace(x, w, bias, { strides, dilations: [1, 1], padding });
  }
  if (bias) return tf.tidy(() => tf.add(conv2dSamePaddingExplicit(x, w, strides, pad), bias));
  const explicit: Pad | [Pair, Pair, Pair, Pair] =
    pad !== 'same' || tf.getBackend() !== 'wasm'
      ? pad
      : [
          [0, 0],
          samePadding(pad, x.shape[1]!, w.shape[0]!, strides[0]),
          samePadding(pad, x.shape[2]!, w.shape[1]!, strides[1]),
          [0, 0],
        ];
  return tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, strides, explicit);
}

/**
 * Defect: the wasm backend has no Conv2DBackpropFilter kernel (and its Conv3DBackpropFilterV2 is
 * wrong for strides > 1). There the same sum, w̄[a,b,c,o] = Σ_{n,i,j} xₚ[n, s·i+a, s·j+b, c]·dy[n,i,j,o]
 * (xₚ: x padded), runs as tapegrad's kernel (src/backend/fused.ts conv2dFilterGrad, a SIMD loop that
 * reads dy in place). With the fused kernels off, as XNNPACK's kernels do it fastest: for a small
 * window (kh·kw·Cin ≤ 32, a first layer on images) as one matrix product, x's windows as the columns of
 * [kh·kw·Cin, N·Ho·Wo] (src/backend/fused.ts im2colT, in batch chunks under 2²⁴ entries) times dy
 * as [N·Ho·Wo, Cout]; otherwise as a forward convolution of x (batch and channel axes swapped,
 * [Cin, H, W, N], padded as the forward) with dy as a [Ho, Wo, N, Cout] filter dilated by the stride.
 */
export function conv2dBackpropFilterWithoutKernel(
  x: tf.Tensor,
  dy: tf.Tensor,
  wShape: number[],
  strides: Pair,
  pad: Pad,
  columnsLimit = COLUMNS_LIMIT,
): tf.Tensor {
  const [kh, kw, cin, cout] = wShape;
  if (tf.getKernel('Conv2DBackpropFilter', tf.getBackend()))
    return filterGradPaddingSkipped(x, dy, wShape, strides, pad);
  const attrs = { filterSize: [kh, kw] as Pair, strides, pad };
  if (hasConv2dFilterGrad(x.shape, attrs, dy.shape[3]!)) return conv2dFilterGrad(x, dy, attrs);
  if (kh * kw * cin > SMALL_WINDOW) {
    return tf.tidy(() => {
      const ph = samePadding(pad, x.shape[1]!, kh, strides[0]);
      const pw = samePadding(pad, x.shape[2]!, kw, strides[1]);
      const xt = tf.transpose(x, [3, 1, 2, 0]); // [Cin, H, W, N]
      const f = tf.transpose(dy, [1, 2, 0, 3]); // [Ho, Wo, N, Cout]
      const full = tf.conv2d(xt as tf.Tensor4D, f as tf.Tensor4D, 1, [[0, 0], ph, pw, [0, 0]], 'NHWC', strides);
      return tf.transpose(tf.slice(full, [0, 0, 0, 0], [-1, kh, kw, -1]), [1, 2, 0, 3]); // from [Cin, ≥kh, ≥kw, Cout]
    });
  }
  return tf.tidy(() => {
    const [N, Ho, Wo] = dy.shape as number[];
    const chunk = Math.max(1, Math.min(N, Math.floor(columnsLimit / (kh * kw * cin * Ho * Wo))));
    let sum: tf.Tensor | null = null;
    for (let n = 0; n < N; n += chunk) {
      const m = Math.min(chunk, N - n);
      const part = (t: tf.Tensor) => (m === N ? t : tf.slice(t, [n, 0, 0, 0], [m, -1, -1, -1]));
      const cols = im2colT(part(x), { filterSize: [kh, kw], strides, pad });
      const w = tf.matMul(cols, tf.reshape(part(dy), [m * Ho * Wo, cout]));
      sum = sum ? tf.add(sum, w) : w;
    }
    return tf.reshape(sum!, wShape);
  });
}

/**
 * Defect: TF.js's Conv2DBackpropFilter (cpu, webgl, webgpu) forms only the products of x's real
 * entries, where PyTorch's sum (im2col and a product) multiplies the padding's zeros too: a NaN or
 * ±∞ of dy then makes its output channel's whole filter gradient NaN (0·∞ is NaN), and the kernel
 * left the entries that only the padding meets finite. x is padded first, and the kernel runs on the
 * padded x with 'valid' windows.
 */
function filterGradPaddingSkipped(x: tf.Tensor, dy: tf.Tensor, wShape: number[], strides: Pair, pad: Pad): tf.Tensor {
  const [ph, pw] = [
    samePadding(pad, x.shape[1]!, wShape[0], strides[0]),
    samePadding(pad, x.shape[2]!, wShape[1], strides[1]),
  ];
  const padded = ph[0] + ph[1] + pw[0] + pw[1] > 0;
  return tf.tidy(
    () =>
      tf
        .engine()
        .runKernel(
          'Conv2DBackpropFilter',
          { x: padded ? tf.pad(x, [[0, 0], ph, pw, [0, 0]]) : x, dy },
          { strides, pad: padded ? 'valid' : pad, dataFormat: 'NHWC', filterShape: wShape },
        ) as tf.Tensor,
  );
}

/** The window size (kh·kw·Cin) up to which conv2dBackpropFilterWithoutKernel takes the matrix product. */
export const SMALL_WINDOW = 32;
/** The most entries conv2dBackpropFilterWithoutKernel's window matrix has at once (by default). */
const COLUMNS_LIMIT = 2 ** 24;

/**
 * Defect: the wasm backend's MaxPoolGrad (batch and channels > 1) and maxPoolWithArgmax give wrong
 * results. For each output y of a max pool of x, this is the flat index into x of its window's
 * first maximum, from portable ops (kernels/max-pool-grad.ts; on cpu and wasm the adjoint runs that
 * file's kernel, which finds the same argmax). On every backend, so that ties break the same way
 * everywhere.
 */
export { maxPoolArgmaxReference as maxPoolArgmaxWithoutKernel } from '../../kernels/max-pool-grad.js';

/**
 * Defect: AvgPoolGrad divides a 'same' border window by the full window size, unlike its forward,
 * which averages the window's real entries. So a 'same' average pool is computed as zero padding,
 * a 'valid' pool over full windows, and this rescale: window size / real entries, per output
 * position ([1, Ho, Wo, 1]; a constant).
 */
export function avgPoolSameBorderScale(
  height: number,
  width: number,
  filterSize: Pair,
  strides: Pair,
  ph: Pair,
  pw: Pair,
): tf.Tensor {
  return tf.tidy(() =>
    tf.div(
      1,
      tf.avgPool(
        tf.pad(tf.ones([1, height, width, 1]), [[0, 0], ph, pw, [0, 0]]) as tf.Tensor4D,
        filterSize,
        strides,
        'valid',
      ),
    ),
  );
}

// ---- reductions

/** The shape of x reduced over `axes` with the reduced axes kept as 1s. */
const keptShape = (shape: number[], axes: number[]) => shape.map((d, i) => (axes.includes(i) ? 1 : d));

/**
 * Defect: webgpu's Prod drops keepDims when it computes on the CPU (small inputs, under the
 * default WEBGPU_CPU_FORWARD), returning [3] for [1, 3, 1]. keepDims is applied here, by a reshape.
 */
export function prodKeepDimsByReshape(x: tf.Tensor, axes: number[], keepDims: boolean): tf.Tensor {
  return keepDims ? tf.tidy(() => tf.reshape(tf.prod(x, axes), keptShape(x.shape, axes))) : tf.prod(x, axes);
}

/** Below this magnitude webgl's max and min reductions are exact. */
const WEBGL_REDUCE_START = Math.fround(1e20);

/**
 * Defect: webgl's Max and Min start their running value at ∓1e20, so a row whose maximum is below
 * −1e20 (a row of −∞, a row of −1e30) gives −1e20, and min mirrors it. Where the result is that
 * start value, the row is reduced again scaled by 2⁻¹⁰⁰ (exact, and far above −1e20) and scaled
 * back: −1e30 comes back exact, and a row of −∞ (the start value again) overflows to −∞.
 */
export function maxMinBeyond1e20(kind: 'max' | 'min', x: tf.Tensor, axes: number[], keepDims: boolean): tf.Tensor {
  const reduce = kind === 'max' ? tf.max : tf.min;
  if (tf.getBackend() !== 'webgl' || x.dtype !== 'float32') return reduce(x, axes, keepDims);
  return tf.tidy(() => {
    const r = reduce(x, axes, keepDims);
    const start = kind === 'max' ? -WEBGL_REDUCE_START : WEBGL_REDUCE_START;
    const scaled = tf.mul(reduce(tf.mul(x, 2 ** -100), axes, keepDims), 2 ** 100);
    return tf.where(tf.equal(r, start), scaled, r);
  });
}

/**
 * Defect: webgpu's ArgMax and ArgMin of a 1-D tensor have shape [1] instead of [] (webgl, cpu and
 * wasm give []). The result is given the shape of x without `axis`.
 */
export function argMaxMinShape(kind: 'max' | 'min', x: tf.Tensor, axis: number): tf.Tensor {
  const i = kind === 'max' ? tf.argMax(x, axis) : tf.argMin(x, axis);
  const shape = x.shape.filter((_, k) => k !== axis);
  if (tf.util.arraysEqual(i.shape, shape)) return i;
  const fixed = tf.reshape(i, shape);
  i.dispose();
  return fixed;
}

/**
 * Defect: TF.js's ArgMax and ArgMin pass over NaN (argmax([1, NaN, 2]) is 2), where PyTorch takes NaN
 * for both the maximum and the minimum: a row holding NaN gives its first NaN's index.
 */
export function argMaxMinOfNaN(kind: 'max' | 'min', x: tf.Tensor, axis: number): tf.Tensor {
  const i = argMaxMinShape(kind, x, axis);
  if (x.dtype !== 'float32' || x.size === 0) return i;
  const out = tf.tidy(() => {
    const nan = tf.isNaN(x);
    return tf.where(tf.any(nan, axis), argMaxMinShape('max', tf.cast(nan, 'int32'), axis), i);
  });
  i.dispose();
  return out;
}

// ---- gathering along the last axis

/**
 * Defect: wasm's GatherV2 with batch dimensions reads the wrong rows, and memory past the input,
 * when the indices' last axis is as long as the input's ([2,3] gathered by [2,3] indices returned
 * [[12,10,11],[21,21,22]] for [[12,10,11],[21,22,20]]). out[…, j] = x[…, idx[…, j]] is gathered
 * from the flattened x at row·n + idx instead, on every backend (one code path, no batch dims).
 */
export function gatherLastAxisByFlatIndex(x: tf.Tensor, indices: tf.Tensor): tf.Tensor {
  if (indices.size === 0) return tf.zeros(indices.shape, x.dtype);
  return tf.tidy(() => {
    const n = x.shape[x.rank - 1];
    const m = indices.shape[indices.rank - 1];
    const rows = m === 0 ? 0 : indices.size / m;
    const offsets = tf.reshape(tf.mul(tf.range(0, rows, 1, 'int32'), tf.scalar(n, 'int32')), [rows, 1]);
    const flat = tf.add(tf.reshape(indices, [rows, m]), offsets);
    return tf.reshape(tf.gather(tf.reshape(x, [-1]), tf.reshape(flat, [-1])), indices.shape);
  });
}

// ---- scans on webgpu

/**
 * Defect: webgpu's Cumsum and Cumprod with `reverse` compile the scanned axis's length into the
 * shader but leave it out of the pipeline's cache key (`cum_+_false_true`), so a reverse scan
 * after one of another length (same rank and dtype) runs the other's shader: wrong values. There
 * a reverse scan is the forward scan of the flipped input, flipped back (forward scans bake in no
 * length).
 */
export function cumReverseByFlip(op: 'sum' | 'prod', x: tf.Tensor, axis: number, exclusive: boolean, reverse: boolean) {
  const scan = op === 'sum' ? tf.cumsum : tf.cumprod;
  if (!reverse || tf.getBackend() !== 'webgpu') return scan(x, axis, exclusive, reverse);
  return tf.tidy(() => tf.reverse(scan(tf.reverse(x, axis), axis, exclusive, false), axis));
}

/**
 * Defect: webgpu's TransposeProgram (every transpose but a 2-D [1, 0]) writes an int32 or bool word
 * as an f32: the shader fails to compile, and the output is left as its buffer was (zeros, or the
 * float bits of an earlier transpose). TF.js's own kernels transpose inside them (any and all over
 * leading axes of a mask, int32 sums and maxima: median's NaN check gave a wrong gradient).
 * setBackend('webgpu') fixes the program where it runs (kernels/webgpu-int-transpose.ts);
 * setWebGPUIntTransposeFixed(false) gives TF.js's own back, for its test.
 */
export {
  fixWebGPUIntTranspose as intTransposeCompiling,
  setWebGPUIntTransposeFixed,
} from '../../kernels/webgpu-int-transpose.js';

// ---- elementwise

/**
 * Defect: webgl's RealDiv returns 1 wherever a = b (its shader's guard against 0.9999), so 0/0 and
 * ∞/∞ give 1 instead of NaN. Those entries are made NaN again, on webgl only.
 */
export function divEqualOperandsNaN(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  if (tf.getBackend() !== 'webgl') return tf.div(a, b);
  return tf.tidy(() => {
    const q = tf.div(a, b);
    const undefinedRatio = tf.logicalAnd(
      tf.equal(a, b),
      tf.logicalOr(tf.equal(a, 0), tf.equal(tf.abs(a), Number.POSITIVE_INFINITY)),
    );
    return tf.where(undefinedRatio, tf.fill(q.shape, Number.NaN), q);
  });
}

/**
 * Defect: webgpu's Atan2 is the shading language's, and in Node (the `webgpu` package's Dawn, on
 * SwiftShader) it takes −0 for a negative y: atan2(−0, 1) gave π (PyTorch and IEEE: −0), so
 * cos(atan2(…)) of an LU factor's zero came out −1 (Chromium's is right). On webgpu a zero y is
 * given the IEEE answer: y itself where x is +0 or positive, ±π by y's sign where x is −0 or
 * negative (NaN stays NaN).
 */
export function atan2SignedZero(y: tf.Tensor, x: tf.Tensor): tf.Tensor {
  if (tf.getBackend() !== 'webgpu' || y.dtype !== 'float32') return tf.atan2(y, x);
  return tf.tidy(() => {
    const angle = tf.atan2(y, x);
    // the sign of a zero is that of its reciprocal (±∞)
    const xPositive = tf.logicalOr(tf.greater(x, 0), tf.greater(tf.div(1, x), 0));
    const yNegative = tf.less(tf.div(1, y), 0);
    const onAxis = tf.where(xPositive, y, tf.where(yNegative, tf.scalar(-Math.PI), tf.scalar(Math.PI)));
    return tf.where(tf.logicalAnd(tf.equal(y, 0), tf.logicalNot(tf.isNaN(x))), onAxis, angle);
  });
}

/**
 * Defect: cpu's Pow is JavaScript's Math.pow, which gives NaN for 1 to the power NaN or ±∞ and for
 * −1 to the power ±∞, where C's pow (PyTorch's, wasm's) gives 1. Those entries are set to 1.
 */
export function powOfOneOnCpu(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  if (tf.getBackend() !== 'cpu' || a.dtype !== 'float32') return tf.pow(a, b);
  return tf.tidy(() => {
    const one = tf.logicalOr(
      tf.equal(a, 1),
      tf.logicalAnd(tf.equal(a, -1), tf.equal(tf.abs(b), Number.POSITIVE_INFINITY)),
    );
    return tf.where(one, tf.scalar(1), tf.pow(a, b));
  });
}

/**
 * Defect: on webgl and webgpu, Pow computes GLSL/WGSL pow(|a|, b), which is undefined at a = 0:
 * pow(0, −1) gives 0 and pow(0, −0.5) 1.3e19 (PyTorch and IEEE: +∞), and webgpu's pow(0, 0.5) is
 * 7.7e-20 (0). There a zero base is given +∞ for b < 0 and 0 for b > 0 after the kernel.
 */
export function powZeroBase(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  if (!onGpu() || a.dtype !== 'float32') return tf.pow(a, b);
  return tf.tidy(() => {
    const zero = tf.equal(a, 0);
    const y = tf.where(tf.logicalAnd(zero, tf.greater(b, 0)), tf.scalar(0), tf.pow(a, b));
    return tf.where(tf.logicalAnd(zero, tf.less(b, 0)), tf.scalar(Infinity), y);
  });
}

/** a to the power b as C's pow gives it (PyTorch's), on every backend: the two defects above, each where it is. */
export function powAsInC(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return tf.getBackend() === 'cpu' ? powOfOneOnCpu(a, b) : powZeroBase(a, b);
}

/**
 * Defect: webgl's Log of 0 is finite (about −88.03, the log of float32's smallest normal number)
 * instead of −∞, so a clamp such as max(log p, −100) silently gives 88 where PyTorch gives 100.
 */
export function logZeroNegativeInfinity(x: tf.Tensor): tf.Tensor {
  if (tf.getBackend() !== 'webgl' || x.dtype !== 'float32') return tf.log(x);
  return tf.tidy(() => tf.where(tf.equal(x, 0), tf.scalar(-Infinity), tf.log(x)));
}

/**
 * Defect: wasm's ClipByValue is float32-only. It reads int32 entries as float32 bits (clip([1, 5, −3],
 * 0, 2) gave [1, 5, 0]) and writes a float32 word per entry of a bool output, whose entries are one
 * byte: three bytes per entry past its end, over the heap's bookkeeping, so that the module traps
 * soon after (a few hundred clips of bool tensors did). There int32 is clipped by maximum and minimum
 * (integer bounds) or in float32 and truncated, as cpu does (other bounds), and bool as int32.
 */
export function clipByValueFloat32Only(x: tf.Tensor, lo: number, hi: number): tf.Tensor {
  if (x.dtype === 'float32' || tf.getBackend() !== 'wasm') return tf.clipByValue(x, lo, hi);
  return tf.tidy(() => {
    const i = x.dtype === 'bool' ? tf.cast(x, 'int32') : x;
    const clipped =
      Number.isInteger(lo) && Number.isInteger(hi)
        ? tf.minimum(tf.maximum(i, tf.scalar(lo, 'int32')), tf.scalar(hi, 'int32'))
        : tf.cast(tf.clipByValue(tf.cast(i, 'float32'), lo, hi), 'int32');
    return x.dtype === 'bool' ? tf.cast(clipped, 'bool') : clipped;
  });
}

/**
 * Defect: wasm has no bool kernel for Reverse (its output is left unwritten) nor for GatherV2 (the
 * module traps), so flip, diagonal and takeAlongAxis of a bool tensor run f on it as int32.
 */
export function boolAsInt32(x: tf.Tensor, f: (x: tf.Tensor) => tf.Tensor): tf.Tensor {
  if (x.dtype !== 'bool' || tf.getBackend() !== 'wasm') return f(x);
  return tf.tidy(() => tf.cast(f(tf.cast(x, 'int32')), 'bool'));
}

/** Below this |x| the series is used for expm1 on the GPU; its first omitted term is x⁷/7!. */
const EXPM1_SERIES_BELOW = 0.25;

/**
 * Defect: webgl's and webgpu's Expm1 is exp(x) − 1, which loses the relative precision of small
 * results (expm1(1e-7) came out 1.19e-7). There |x| < 0.25 takes the series x + x²/2! + … + x⁶/6!
 * (relative error below 10⁻⁷), larger |x| the kernel.
 */
export function expm1SmallArgument(x: tf.Tensor): tf.Tensor {
  if (!onGpu()) return tf.expm1(x);
  return tf.tidy(() => {
    // Horner: x·(1 + x/2·(1 + x/3·(1 + x/4·(1 + x/5·(1 + x/6)))))
    let s = tf.add(1, tf.mul(x, 1 / 6));
    for (const k of [5, 4, 3, 2]) s = tf.add(1, tf.mul(tf.mul(x, 1 / k), s));
    const series = tf.mul(x, s);
    return tf.where(tf.less(tf.abs(x), EXPM1_SERIES_BELOW), series, tf.expm1(x));
  });
}
