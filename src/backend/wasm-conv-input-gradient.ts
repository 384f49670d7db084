// TF.js 4.22's wasm Conv2DBackpropInput is a scalar loop, an order of magnitude slower than a
// forward convolution. The input gradient of y = conv(x, w) (strides s, padding p) is itself a
// forward convolution: of dy spread out by the strides (s − 1 zeros between neighbours) and padded
// by k − 1 − p before and the rest after, with the filter turned half a turn and its channel axes
// swapped, x̄[n,t,u,c] = Σ_{a,b,o} dyₛ[n, t + p − a, u + q − b, o]·w[a,b,c,o]. The replacement runs
// that convolution as tapegrad's kernel (kernels/conv2d-forward.ts, which reads the filter turned
// where it lies). The spread's and the padding's zeros meet every filter entry, so where the filter
// holds NaN or ±∞ (0·∞ is NaN) TF.js's loop runs instead: it forms only the products of real terms,
// as PyTorch's does. The test is in the kernel, so a compiled step's replays take it on their own
// filter.
import * as tf from '@tensorflow/tfjs-core';
import { backend_util, type KernelFunc, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import { CONV2D, type Conv2DAttrs } from '../../kernels/conv2d-forward.js';
import type { Pair } from '../../kernels/window-padding.js';
import { hasConv2d } from './fused.js';
import { replaceWasmKernel, type WasmHeapBackend } from './kernel-replacement.js';
import { holdsNonFinite } from './wasm-float-scans.js';

/** Conv2DBackpropInput's attributes, as TF.js's op gives them. */
interface BackpropInputAttrs {
  inputShape: [number, number, number, number];
  strides: number | Pair;
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** dy [N, Ho, Wo, C] with s − 1 zeros between neighbours along H and W: [N, (Ho − 1)·sh + 1, (Wo − 1)·sw + 1, C]. */
function spreadByStrides(backend: WasmHeapBackend, dy: TensorInfo, sh: number, sw: number): TensorInfo {
  const [N, Ho, Wo, C] = dy.shape;
  const [Hs, Ws] = [(Ho - 1) * sh + 1, (Wo - 1) * sw + 1];
  const out = backend.makeOutput([N, Hs, Ws, C], 'float32');
  // the views are taken after the allocation: a heap that grew detached the old ones
  const from = backend.typedArrayFromHeap(dy) as Float32Array;
  const to = backend.typedArrayFromHeap(out) as Float32Array;
  to.fill(0);
  for (let n = 0; n < N; n++)
    for (let i = 0; i < Ho; i++)
      for (let j = 0; j < Wo; j++) {
        const [src, dst] = [((n * Ho + i) * Wo + j) * C, ((n * Hs + i * sh) * Ws + j * sw) * C];
        for (let c = 0; c < C; c++) to[dst + c] = from[src + c];
      }
  return out;
}

/** Replaces wasm's Conv2DBackpropInput by the forward convolution of the spread dy, for finite float32 filters (once). */
export function speedUpWasmConvInputGradient(): void {
  replaceWasmKernel(
    'Conv2DBackpropInput',
    (original): KernelFunc =>
      (args) => {
        const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
        const a = args.attrs as unknown as BackpropInputAttrs;
        const backend = args.backend as WasmHeapBackend;
        if (dy.dtype !== 'float32' || filter.dtype !== 'float32' || a.dataFormat === 'NCHW') return original(args);
        if (tf.util.sizeFromShape(dy.shape) === 0) return original(args);
        const info = backend_util.computeConv2DInfo(
          a.inputShape,
          filter.shape as [number, number, number, number],
          a.strides,
          1,
          a.pad,
          a.dimRoundingMode,
        );
        const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw, inHeight: H, inWidth: W } = info;
        const [N, Ho, Wo, C] = dy.shape;
        const [Hs, Ws] = [(Ho - 1) * sh + 1, (Wo - 1) * sw + 1];
        const { top, left } = info.padInfo;
        // k − 1 − p before; after, what makes the padded length H + k − 1 (a 'valid' window of k leaves H)
        const padding: [Pair, Pair] = [
          [kh - 1 - top, H + top - Hs],
          [kw - 1 - left, W + left - Ws],
        ];
        const attrs: Conv2DAttrs = { strides: [1, 1], dilations: [1, 1], padding, flipFilter: true };
        const fits = padding.flat().every((p) => p >= 0) && hasConv2d([N, Hs, Ws, C], filter.shape, attrs, 'wasm');
        if (!fits || holdsNonFinite(backend, backend.typedArrayFromHeap(filter) as Float32Array)) return original(args);
        const spread = sh === 1 && sw === 1 ? dy : spreadByStrides(backend, dy, sh, sw);
        try {
          const conv = tf.getKernel(CONV2D, 'wasm')!.kernelFunc;
          return conv({ inputs: { x: spread, filter }, backend, attrs: attrs as unknown as NamedAttrMap });
        } finally {
          if (spread !== dy) backend.disposeData(spread.dataId);
        }
      },
  );
}
