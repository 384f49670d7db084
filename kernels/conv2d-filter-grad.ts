// TapegradConv2DFilterGrad: a 2-D convolution's filter gradient on wasm, which lacks
// Conv2DBackpropFilter, without the window matrix: one pass over x and dy per image.
//
// Inputs x [N, H, W, Cin] and dy [N, Ho, Wo, Cout] (float32); attrs filterSize [kh, kw], strides,
// pad ('valid' | 'same'). Output w̄ [kh, kw, Cin, Cout]:
// w̄[a, b, c, o] = Σ_{n,i,j} xₚ[n, i·sh + a, j·sw + b, c]·dy[n, i, j, o], xₚ being x with TF's
// padding as zeros (a padding zero times an infinite dy is NaN, as in the products PyTorch's and
// TF.js's kernels form). Each sum runs over n, i, j in that order in float32, rounding each product
// and each sum: the SIMD loop (wasm-simd-conv.ts, xₚ written out in the kernel's scratch) and the
// JavaScript loop here give the same bits. conv2dFilterGradReference, at the end, is the sum in
// float64: the tests' oracle.
import { jsKernelConfigs } from './js-kernel.js';
import { convFilterGrad } from './wasm-simd-conv.js';
import { padOnHeap } from './wasm-simd-pad.js';
import { samePadding, type Pad, type Pair } from './window-padding.js';

export const CONV2D_FILTER_GRAD = 'TapegradConv2DFilterGrad';

export interface Conv2DFilterGradAttrs {
  filterSize: Pair;
  strides: Pair;
  pad: Pad;
}

/** The output size of a window k, stride s and padding [before, after] along an axis of length n. */
const outSize = (n: number, k: number, s: number, [p0, p1]: Pair) => Math.floor((n + p0 + p1 - k) / s) + 1;

/** The sizes the kernel works with: x's, the window's, the padding and the output's, and xₚ's. */
export function filterGradGeometry(
  xShape: number[],
  { filterSize: [kh, kw], strides: [sh, sw], pad }: Conv2DFilterGradAttrs,
) {
  const [N, H, W, C] = xShape;
  const ph = samePadding(pad, H, kh, sh);
  const pw = samePadding(pad, W, kw, sw);
  const [Hp, Wp] = [H + ph[0] + ph[1], W + pw[0] + pw[1]];
  return { N, H, W, C, kh, kw, sh, sw, ph, pw, Hp, Wp, Ho: outSize(H, kh, sh, ph), Wo: outSize(W, kw, sw, pw) };
}

/** Multiply-adds from which the rows are split with the helper thread (below, waking it costs more). */
const SPLIT_MIN_WORK = 1 << 22;

export const conv2dFilterGradJs = jsKernelConfigs(
  CONV2D_FILTER_GRAD,
  ({ x, dy }, attrs) => {
    const { kh, kw, C } = filterGradGeometry(x!.shape, attrs as unknown as Conv2DFilterGradAttrs);
    return [[kh, kw, C, dy!.shape[3]]];
  },
  ({ x, dy }, [dw], attrs, infos, heap, scratch) => {
    const g = filterGradGeometry(infos.x!.shape, attrs as unknown as Conv2DFilterGradAttrs);
    const { N, H, W, C, kh, kw, sh, sw, ph, pw, Hp, Wp, Ho, Wo } = g;
    const cout = infos.dy!.shape[3];
    const rows = kh * kw * C;
    const xv = x as Float32Array;
    const g0 = dy as Float32Array;
    dw.fill(0);
    const simd = convFilterGrad.on(heap);
    if (simd) {
      // scratch: xₚ (where x has padding), then the rows' byte offsets from a window corner
      const padded = ph[0] + ph[1] + pw[0] + pw[1] > 0;
      const xpLength = padded ? N * Hp * Wp * C : 0;
      const xp = padded ? new Float32Array(scratch.buffer, scratch.byteOffset, xpLength) : xv;
      const offsets = new Int32Array(scratch.buffer, scratch.byteOffset + 4 * xpLength, rows);
      if (padded) padOnHeap(heap, xv, xp, [N, H, W, C], [ph[0], pw[0]], [Hp, Wp]);
      for (let a = 0; a < kh; a++)
        for (let b = 0; b < kw; b++)
          for (let c = 0; c < C; c++) offsets[(a * kw + b) * C + c] = 4 * ((a * Wp + b) * C + c);
      const args = (from: number, to: number) => [
        xp.byteOffset,
        g0.byteOffset,
        dw.byteOffset,
        offsets.byteOffset,
        from,
        to,
        cout,
        N,
        Ho,
        Wo,
        4 * Hp * Wp * C,
        4 * sh * Wp * C,
        4 * sw * C,
      ];
      const helper = rows >= 8 && rows * cout * N * Ho * Wo >= SPLIT_MIN_WORK ? convFilterGrad.helper(heap) : null;
      // rows in runs of 4, the tiles' height
      if (helper) helper.range('filterGrad', rows, 4, args);
      else simd.filterGrad(...args(0, rows));
      return;
    }
    for (let a = 0; a < kh; a++) {
      for (let b = 0; b < kw; b++) {
        for (let c = 0; c < C; c++) {
          const out = ((a * kw + b) * C + c) * cout;
          for (let o = 0; o < cout; o++) {
            let s = 0;
            for (let n = 0; n < N; n++) {
              for (let i = 0; i < Ho; i++) {
                const r = i * sh + a - ph[0];
                for (let j = 0; j < Wo; j++) {
                  const q = j * sw + b - pw[0];
                  const v = r >= 0 && r < H && q >= 0 && q < W ? xv[((n * H + r) * W + q) * C + c] : 0;
                  s = Math.fround(s + Math.fround(v * g0[((n * Ho + i) * Wo + j) * cout + o]));
                }
              }
            }
            dw[out + o] = s;
          }
        }
      }
    }
  },
  false,
  ({ x }, attrs) => Math.ceil(filterGradScratchWords(x!.shape, attrs as unknown as Conv2DFilterGradAttrs) / 2),
);

/** The words of scratch the kernel takes on wasm: xₚ (where x has padding) and the rows' offsets. */
export function filterGradScratchWords(xShape: number[], attrs: Conv2DFilterGradAttrs): number {
  const g = filterGradGeometry(xShape, attrs);
  const padded = g.ph[0] + g.ph[1] + g.pw[0] + g.pw[1] > 0 ? g.N * g.Hp * g.Wp * g.C : 0;
  return padded + g.kh * g.kw * g.C;
}

/**
 * The filter gradient of x [N, H, W, Cin] and dy [N, Ho, Wo, Cout] summed in float64, and beside it
 * Σ|x·dy| of each entry (what bounds a float32 sum's rounding error), both [kh·kw·Cin·Cout].
 */
export function conv2dFilterGradReference(
  x: Float32Array,
  xShape: number[],
  dy: Float32Array,
  cout: number,
  attrs: Conv2DFilterGradAttrs,
): { sum: Float64Array; magnitude: Float64Array } {
  const { N, H, W, C, kh, kw, sh, sw, ph, pw, Ho, Wo } = filterGradGeometry(xShape, attrs);
  const sum = new Float64Array(kh * kw * C * cout);
  const magnitude = new Float64Array(sum.length);
  for (let n = 0; n < N; n++)
    for (let i = 0; i < Ho; i++)
      for (let j = 0; j < Wo; j++)
        for (let a = 0; a < kh; a++)
          for (let b = 0; b < kw; b++) {
            const [r, q] = [i * sh + a - ph[0], j * sw + b - pw[0]];
            for (let c = 0; c < C; c++) {
              const v = r >= 0 && r < H && q >= 0 && q < W ? x[((n * H + r) * W + q) * C + c] : 0;
              for (let o = 0; o < cout; o++) {
                const p = v * dy[((n * Ho + i) * Wo + j) * cout + o];
                sum[((a * kw + b) * C + c) * cout + o] += p;
                magnitude[((a * kw + b) * C + c) * cout + o] += Math.abs(p);
              }
            }
          }
  return { sum, magnitude };
}
