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
// A 3×3 convolution of stride 1 (Cin a multiple of 4, Cout of 8), as the MNIST CNN's second layer and
// its input gradient, runs on wasm in the Winograd form instead (wasm-simd-winograd.ts: 2.25 times
// fewer multiply-adds), whose values are within the same float32 bound of the float64 sum but not
// these bits; where one of its outputs is not finite, the direct sums run after it and give theirs.
// conv2dReference, at the end, is the sum in float64: the tests' oracle.
import { jsKernelConfigs } from './js-kernel.js';
import { convForward } from './wasm-simd-conv.js';
import { RANGE_CHUNKS } from './wasm-simd-module.js';
import { padOnHeap } from './wasm-simd-pad.js';
import { winogradBlockBytes, winogradConv, winogradFilter } from './wasm-simd-winograd.js';
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

type Geometry = ReturnType<typeof convGeometry>;

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
function cornerTable({ N, C, sh, sw, Hp, Wp, Ho, Wo }: Geometry): Int32Array {
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
    const { N, H, W, C, kh, kw, cout, sh, sw, dh, dw, top, left, Ho, Wo } = g;
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
      // xₚ reaches past the last outputs' windows to whole tiles where the Winograd form may run
      const { Hp, Wp } = withTiles(g);
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
      if (winogradFits(g) && winogradConv.on(heap)) {
        const after = new Int32Array(
          scratch.buffer,
          wf === wv ? offsets.byteOffset + 4 * rows : wf.byteOffset + 4 * rows * cout,
        );
        if (runWinograd(heap!, g, xp, wf, bv, y, after)) return;
      }
      corners.set(cornerTable({ ...g, Hp, Wp }));
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

/**
 * The words of scratch the kernel takes on wasm: xₚ (where x has padding), corners, offsets, the
 * flipped filter, and the Winograd form's where it fits.
 */
export function convScratchWords(xShape: number[], wShape: number[], attrs: Conv2DAttrs): number {
  const g0 = convGeometry(xShape, wShape, attrs);
  const g = withTiles(g0);
  const padded = g.Hp !== g.H || g.Wp !== g.W ? g.N * g.Hp * g.Wp * g.C : 0;
  const rows = g.kh * g.kw * g.C;
  const direct = padded + g.N * g.Ho * g.Wo + rows + (attrs.flipFilter ? rows * g.cout : 0);
  return direct + (winogradFits(g0) ? winogradScratchWords(g0) : 0);
}

/** Whether the Winograd form computes this convolution: 3×3, stride 1, no dilation, cin a multiple of 4, cout of 8. */
function winogradFits(g: Geometry): boolean {
  return (
    g.kh === 3 &&
    g.kw === 3 &&
    g.sh === 1 &&
    g.sw === 1 &&
    g.dh === 1 &&
    g.dw === 1 &&
    g.C % 4 === 0 &&
    g.cout % 8 === 0
  );
}

/** The geometry with xₚ reaching to whole 2×2 tiles of outputs (bottom and right), where the Winograd form fits. */
function withTiles(g: Geometry): Geometry {
  if (!winogradFits(g)) return g;
  return { ...g, Hp: 2 * Math.ceil(g.Ho / 2) + 2, Wp: 2 * Math.ceil(g.Wo / 2) + 2 };
}

/** Tiles, rounded up to a multiple of 4 (the loop's four tiles at a time). */
const tileCount = (g: Geometry) => Math.ceil((g.N * Math.ceil(g.Ho / 2) * Math.ceil(g.Wo / 2)) / 4) * 4;

/** The Winograd form's scratch words: tile corners, tile outputs, U, a flag and a block per chunk. */
function winogradScratchWords(g: Geometry): number {
  return 2 * tileCount(g) + 16 * g.C * g.cout + RANGE_CHUNKS * (1 + winogradBlockBytes(g.C, g.cout) / 4);
}

/**
 * y by the Winograd form (kernels/wasm-simd-winograd.ts) from xp, padded to whole tiles (withTiles),
 * the filter [3, 3, cin, cout] and the bias; `scratch` holds its tables and blocks. False, with y to be
 * written again, where an output is not finite.
 */
function runWinograd(
  heap: WebAssembly.Memory,
  g: Geometry,
  xp: Float32Array,
  filter: Float32Array,
  bias: Float32Array | undefined,
  y: Float32Array,
  scratch: Int32Array,
): boolean {
  const { N, C, cout, Ho, Wo } = g;
  const { Hp, Wp } = withTiles(g);
  const [th, tw] = [Math.ceil(Ho / 2), Math.ceil(Wo / 2)];
  const tiles = tileCount(g);
  const corners = scratch.subarray(0, tiles);
  const outs = scratch.subarray(tiles, 2 * tiles);
  const u = new Float32Array(scratch.buffer, outs.byteOffset + 4 * tiles, 16 * C * cout);
  const flags = new Int32Array(scratch.buffer, u.byteOffset + 4 * u.length, RANGE_CHUNKS);
  const blocks = flags.byteOffset + 4 * RANGE_CHUNKS;
  let t = 0;
  for (let n = 0; n < N; n++)
    for (let i = 0; i < th; i++)
      for (let j = 0; j < tw; j++, t++) {
        corners[t] = 4 * ((n * Hp + 2 * i) * Wp + 2 * j) * C;
        outs[t] =
          (4 * ((n * Ho + 2 * i) * Wo + 2 * j) * cout) | 4 | (2 * j + 1 < Wo ? 1 : 0) | (2 * i + 1 < Ho ? 2 : 0);
      }
  // the tiles rounded up to four: read tile 0's patch, write nothing
  corners.fill(0, t);
  outs.fill(0, t);
  winogradFilter(filter, C, cout, u);
  let chunk = 0;
  const args = (from: number, to: number) => {
    // a block and a flag for each chunk: range cuts at most RANGE_CHUNKS
    const k = chunk++;
    if (k >= RANGE_CHUNKS) throw new Error(`TapegradConv2D: more than ${RANGE_CHUNKS} chunks of tiles`);
    return [
      xp.byteOffset,
      corners.byteOffset,
      outs.byteOffset,
      u.byteOffset,
      bias?.byteOffset ?? 0,
      y.byteOffset,
      blocks + k * winogradBlockBytes(C, cout),
      from,
      to,
      C,
      cout,
      4 * Wp * C,
      4 * Wo * cout,
      bias ? 1 : 0,
      flags.byteOffset + 4 * k,
    ];
  };
  const helper = tiles * 16 * C * cout >= SPLIT_MIN_WORK / 2 ? winogradConv.helper(heap) : null;
  if (helper) helper.range('winograd', tiles, 4, args);
  else winogradConv.on(heap)!.winograd(...args(0, tiles));
  for (let k = 0; k < chunk; k++) if (flags[k]) return false;
  return true;
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
