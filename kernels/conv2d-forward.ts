// TapegradConv2D: a 2-D convolution on wasm that reads its filter in place. XNNPACK (TF.js's wasm
// Conv2D) packs the filter into its own layout for each new filter tensor, and a training step's
// filters are new tensors at every step; this kernel runs the sums as a product of x's windows (never
// formed: each filter row is a fixed offset from a window's corner in x padded once) and the filter.
//
// Inputs x [N, H, W, Cin], filter [kh, kw, Cin, Cout] and optionally bias [Cout] (float32); attrs
// strides, dilations, padding [[top, bottom], [left, right]] (zeros), and flipFilter: the filter given
// [kh, kw, Cout, Cin] and read flipped and transposed (an input gradient's filter, without a Reverse
// and a Transpose of it at each step). Output
// y [N, Ho, Wo, Cout], Ho = ⌊(H + top + bottom − (kh − 1)·dh − 1)/sh⌋ + 1:
// y[n, i, j, o] = bias[o] + Σ_{a,b,c} xₚ[n, i·sh + a·dh, j·sw + b·dw, c]·filter[a, b, c, o], the terms
// in the filter's order (a, b, c), starting from the bias (or +0), each product and sum rounded to
// float32: the SIMD loop (wasm-simd-conv.ts) and the JavaScript loop here give the same bits.
// conv2dReference, at the end, is the sum in float64: the tests' oracle.
import { jsKernelConfigs } from './js-kernel.js';
import { convForward } from './wasm-simd-conv.js';
import { padOnHeap } from './wasm-simd-pad.js';
import type { Pair } from './window-padding.js';

export const CONV2D = 'TapegradConv2D';

export interface Conv2DAttrs {
  strides: Pair;
  dilations: Pair;
  padding: [Pair, Pair];
  /**
   * The filter is given as [kh, kw, Cout, Cin], the filter of the convolution whose input gradient
   * this one computes, and runs flipped and transposed: filter'[a, b, c, o] = filter[kh−1−a, kw−1−b, o, c].
   */
  flipFilter?: boolean;
}

/** The sizes the kernel works with: x's, the filter's, the output's and xₚ's. */
export function convGeometry(xShape: number[], wShape: number[], attrs: Conv2DAttrs) {
  const [N, H, W, C] = xShape;
  const [kh, kw] = wShape;
  const cout = attrs.flipFilter ? wShape[2] : wShape[3];
  const [[top, bottom], [left, right]] = attrs.padding;
  const [sh, sw] = attrs.strides;
  const [dh, dw] = attrs.dilations;
  const [Hp, Wp] = [H + top + bottom, W + left + right];
  const Ho = Math.floor((Hp - (kh - 1) * dh - 1) / sh) + 1;
  const Wo = Math.floor((Wp - (kw - 1) * dw - 1) / sw) + 1;
  return { N, H, W, C, kh, kw, cout, sh, sw, dh, dw, top, left, Hp, Wp, Ho, Wo };
}

/** The window corners of the last few geometries, kept: a training step convolves the same shapes at every step. */
const cornerTables = new Map<string, Int32Array>();
const KEPT_TABLES = 8;

/** The byte offset in xₚ of each output pixel's window corner, [N·Ho·Wo]. */
function cornerTable({ N, C, sh, sw, Hp, Wp, Ho, Wo }: ReturnType<typeof convGeometry>): Int32Array {
  const key = [N, C, sh, sw, Hp, Wp, Ho, Wo].join();
  const kept = cornerTables.get(key);
  if (kept) return kept;
  const table = new Int32Array(N * Ho * Wo);
  let p = 0;
  for (let n = 0; n < N; n++)
    for (let i = 0; i < Ho; i++) for (let j = 0; j < Wo; j++) table[p++] = 4 * (((n * Hp + i * sh) * Wp + j * sw) * C);
  if (cornerTables.size >= KEPT_TABLES) cornerTables.delete(cornerTables.keys().next().value!);
  cornerTables.set(key, table);
  return table;
}

/** Multiply-adds from which the pixels are split with the helper thread (below, waking it costs more). */
const SPLIT_MIN_WORK = 1 << 22;

export const conv2dJs = jsKernelConfigs(
  CONV2D,
  ({ x, filter }, attrs) => {
    const g = convGeometry(x!.shape, filter!.shape, attrs as unknown as Conv2DAttrs);
    return [[g.N, g.Ho, g.Wo, g.cout]];
  },
  ({ x, filter, bias }, [y], attrs, infos, heap, scratch) => {
    const g = convGeometry(infos.x!.shape, infos.filter!.shape, attrs as unknown as Conv2DAttrs);
    const { N, H, W, C, kh, kw, cout, sh, sw, dh, dw, top, left, Hp, Wp, Ho, Wo } = g;
    const rows = kh * kw * C;
    const pixels = N * Ho * Wo;
    const xv = x as Float32Array;
    const wv = filter as Float32Array;
    const bv = bias as Float32Array | undefined;
    const flip = (attrs as unknown as Conv2DAttrs).flipFilter === true;
    /** Where entry [r, o] of the filter the sums use (r = (a·kw + b)·C + c) lies in wv. */
    const at = (r: number, o: number) => {
      if (!flip) return r * cout + o;
      const [ab, c] = [Math.floor(r / C), r % C];
      return ((kh * kw - 1 - ab) * cout + o) * C + c;
    };
    const simd = convForward.on(heap);
    if (simd) {
      // scratch: xₚ (where x has padding), the pixels' window corners and the rows' offsets (bytes)
      const padded = Hp !== H || Wp !== W;
      const xpLength = padded ? N * Hp * Wp * C : 0;
      const xp = padded ? new Float32Array(scratch.buffer, scratch.byteOffset, xpLength) : xv;
      const corners = new Int32Array(scratch.buffer, scratch.byteOffset + 4 * xpLength, pixels);
      const offsets = new Int32Array(scratch.buffer, corners.byteOffset + 4 * pixels, rows);
      // the flipped and transposed filter, written out [rows, cout] as the loop reads it
      const wf = flip ? new Float32Array(scratch.buffer, offsets.byteOffset + 4 * rows, rows * cout) : wv;
      if (flip)
        for (let r = 0; r < rows; r++) {
          const from = at(r, 0);
          for (let o = 0; o < cout; o++) wf[r * cout + o] = wv[from + o * C];
        }
      if (padded) padOnHeap(heap, xv, xp, [N, H, W, C], [top, left], [Hp, Wp]);
      corners.set(cornerTable(g));
      for (let a = 0; a < kh; a++)
        for (let b = 0; b < kw; b++)
          for (let c = 0; c < C; c++) offsets[(a * kw + b) * C + c] = 4 * ((a * dh * Wp + b * dw) * C + c);
      const args = (from: number, to: number) => [
        xp.byteOffset,
        corners.byteOffset,
        offsets.byteOffset,
        wf.byteOffset,
        bv?.byteOffset ?? 0,
        y.byteOffset,
        from,
        to,
        rows,
        cout,
        bv ? 1 : 0,
      ];
      const helper = pixels >= 8 && pixels * rows * cout >= SPLIT_MIN_WORK ? convForward.helper(heap) : null;
      // pixels in runs of 4, the tiles' height
      if (helper) helper.range('conv', pixels, 4, args);
      else simd.conv(...args(0, pixels));
      return;
    }
    for (let n = 0; n < N; n++)
      for (let i = 0; i < Ho; i++)
        for (let j = 0; j < Wo; j++) {
          const out = ((n * Ho + i) * Wo + j) * cout;
          for (let o = 0; o < cout; o++) {
            let s = bv ? bv[o] : 0;
            for (let a = 0; a < kh; a++) {
              const r = i * sh + a * dh - top;
              for (let b = 0; b < kw; b++) {
                const q = j * sw + b * dw - left;
                const inside = r >= 0 && r < H && q >= 0 && q < W;
                for (let c = 0; c < C; c++) {
                  const v = inside ? xv[((n * H + r) * W + q) * C + c] : 0;
                  s = Math.fround(s + Math.fround(v * wv[at((a * kw + b) * C + c, o)]));
                }
              }
            }
            y[out + o] = s;
          }
        }
  },
  false,
  ({ x, filter }, attrs) => Math.ceil(convScratchWords(x!.shape, filter!.shape, attrs as unknown as Conv2DAttrs) / 2),
);

/** The words of scratch the kernel takes on wasm: xₚ (where x has padding), corners, offsets, the flipped filter. */
export function convScratchWords(xShape: number[], wShape: number[], attrs: Conv2DAttrs): number {
  const g = convGeometry(xShape, wShape, attrs);
  const padded = g.Hp !== g.H || g.Wp !== g.W ? g.N * g.Hp * g.Wp * g.C : 0;
  const rows = g.kh * g.kw * g.C;
  return padded + g.N * g.Ho * g.Wo + rows + (attrs.flipFilter ? rows * g.cout : 0);
}

/**
 * The convolution of x [N, H, W, Cin] with filter [kh, kw, Cin, Cout] (and bias) summed in float64,
 * and beside it Σ|terms| of each entry (what bounds a float32 sum's rounding error), both
 * [N·Ho·Wo·Cout].
 */
export function conv2dReference(
  x: Float32Array,
  xShape: number[],
  filter: Float32Array,
  wShape: number[],
  bias: Float32Array | null,
  attrs: Conv2DAttrs,
): { sum: Float64Array; magnitude: Float64Array } {
  const { N, H, W, C, kh, kw, cout, sh, sw, dh, dw, top, left, Ho, Wo } = convGeometry(xShape, wShape, attrs);
  const sum = new Float64Array(N * Ho * Wo * cout);
  const magnitude = new Float64Array(sum.length);
  for (let n = 0; n < N; n++)
    for (let i = 0; i < Ho; i++)
      for (let j = 0; j < Wo; j++)
        for (let o = 0; o < cout; o++) {
          const out = ((n * Ho + i) * Wo + j) * cout + o;
          let s = bias ? bias[o] : 0;
          let m = Math.abs(s);
          for (let a = 0; a < kh; a++)
            for (let b = 0; b < kw; b++) {
              const [r, q] = [i * sh + a * dh - top, j * sw + b * dw - left];
              if (r < 0 || r >= H || q < 0 || q >= W) continue;
              for (let c = 0; c < C; c++) {
                const t = x[((n * H + r) * W + q) * C + c] * filter[((a * kw + b) * C + c) * cout + o];
                s += t;
                m += Math.abs(t);
              }
            }
          sum[out] = s;
          magnitude[out] = m;
        }
  return { sum, magnitude };
}
