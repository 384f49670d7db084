// TapegradConv2DFilterGrad: a 2-D convolution's filter gradient on wasm, which lacks
// Conv2DBackpropFilter, without the window matrix: one pass over x and dy per image.
//
// Inputs x [N, H, W, Cin] and dy [N, Ho, Wo, Cout] (float32); attrs filterSize [kh, kw], strides,
// pad ('valid' | 'same'). Output w̄ [kh, kw, Cin, Cout]:
// w̄[a, b, c, o] = Σ_{n,i,j} xₚ[n, i·sh + a, j·sw + b, c]·dy[n, i, j, o], xₚ being x with TF's
// padding as zeros (a padding zero times an infinite dy is NaN, as in the products PyTorch's and
// TF.js's kernels form). Each sum runs over n, i, j in that order in float32, rounding each product
// and each sum: the SIMD loop (wasm-simd-conv.ts, xₚ written out in the kernel's scratch) and the
// JavaScript loop here give the same bits. A 3×3 filter of stride 1 (Cin a multiple of 4, Cout of
// 8), as the MNIST CNN's second layer's, runs on wasm as the adjoint of Winograd's F(2×2, 3×3)
// instead (wasm-simd-winograd.ts: 2.25 times fewer multiply-adds), whose values are within
// 4·γ_{T+21}·Σ_t X_t·Y_t of the float64 sum (T tiles of 2×2 outputs; X_t the sum of |xₚ| over tile
// t's 4×4 patch, Y_t of |dy| over its outputs; test/conv2d-filter-grad.test.ts) but not these bits;
// where one of its entries is not finite, the direct sums run after it and give theirs.
// conv2dFilterGradReference, at the end, is the sum in float64: the tests' oracle.
import { jsKernelConfigs } from './js-kernel.js';
import { convFilterGrad } from './wasm-simd-conv.js';
import { RANGE_CHUNKS } from './wasm-simd-module.js';
import { padOnHeap } from './wasm-simd-pad.js';
import {
  FILTER_GRAD_GROUP,
  winogradFilterGradBlockBytes,
  winogradFilterGradConv,
  winogradFilterGradFinish,
} from './wasm-simd-winograd.js';
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
    const { N, H, W, C, kh, kw, sh, sw, ph, pw, Ho, Wo } = g;
    const cout = infos.dy!.shape[3];
    const rows = kh * kw * C;
    const xv = x as Float32Array;
    const g0 = dy as Float32Array;
    dw.fill(0);
    const simd = convFilterGrad.on(heap);
    if (simd) {
      // scratch: xₚ (where x has padding, reaching to whole tiles where the Winograd form fits),
      // then the rows' byte offsets from a window corner, then the Winograd form's tables
      const { Hp, Wp } = withTiles(g, cout);
      const padded = Hp !== H || Wp !== W;
      const xpLength = padded ? N * Hp * Wp * C : 0;
      const xp = padded ? new Float32Array(scratch.buffer, scratch.byteOffset, xpLength) : xv;
      const offsets = new Int32Array(scratch.buffer, scratch.byteOffset + 4 * xpLength, rows);
      if (padded) padOnHeap(heap, xv, xp, [N, H, W, C], [ph[0], pw[0]], [Hp, Wp]);
      if (winogradFits(g, cout) && winogradFilterGradConv.on(heap)) {
        const after = new Int32Array(scratch.buffer, offsets.byteOffset + 4 * rows);
        if (runWinograd(heap!, { ...g, Hp, Wp }, xp, g0, cout, dw, after)) return;
        dw.fill(0);
      }
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
  ({ x, dy }, attrs) =>
    Math.ceil(filterGradScratchWords(x!.shape, attrs as unknown as Conv2DFilterGradAttrs, dy!.shape[3]) / 2),
);

/**
 * The words of scratch the kernel takes on wasm: xₚ (where x has padding), the rows' offsets and,
 * where it fits, the Winograd form's.
 */
export function filterGradScratchWords(xShape: number[], attrs: Conv2DFilterGradAttrs, cout: number): number {
  const g = filterGradGeometry(xShape, attrs);
  const { Hp, Wp } = withTiles(g, cout);
  const padded = Hp !== g.H || Wp !== g.W ? g.N * Hp * Wp * g.C : 0;
  return padded + g.kh * g.kw * g.C + (winogradFits(g, cout) ? winogradScratchWords(g, cout) : 0);
}

type Geometry = ReturnType<typeof filterGradGeometry>;

/** Whether the Winograd form computes this filter gradient: 3×3, stride 1, Cin a multiple of 4, Cout of 8. */
function winogradFits(g: Geometry, cout: number): boolean {
  return g.kh === 3 && g.kw === 3 && g.sh === 1 && g.sw === 1 && g.C % 4 === 0 && cout % 8 === 0;
}

/** The geometry with xₚ reaching to whole 2×2 tiles of outputs (bottom and right), where the Winograd form fits. */
function withTiles(g: Geometry, cout: number): Geometry {
  if (!winogradFits(g, cout)) return g;
  return { ...g, Hp: 2 * Math.ceil(g.Ho / 2) + 2, Wp: 2 * Math.ceil(g.Wo / 2) + 2 };
}

/** Tiles, rounded up to whole groups (the loop transforms a group's tiles together). */
const tileCount = (g: Geometry) =>
  Math.ceil((g.N * Math.ceil(g.Ho / 2) * Math.ceil(g.Wo / 2)) / FILTER_GRAD_GROUP) * FILTER_GRAD_GROUP;

/** The chunks of whole groups the tiles are cut into, the same on one thread as on two (so the bits are). */
function tileChunks(g: Geometry): number[] {
  const groups = tileCount(g) / FILTER_GRAD_GROUP;
  const step = Math.ceil(groups / RANGE_CHUNKS) * FILTER_GRAD_GROUP;
  const cuts: number[] = [];
  for (let from = 0; from < tileCount(g); from += step) cuts.push(from);
  return cuts;
}

/** The Winograd form's scratch words: tile corners and dy offsets, a du and a block per chunk. */
function winogradScratchWords(g: Geometry, cout: number): number {
  const chunks = tileChunks(g).length;
  return 2 * tileCount(g) + chunks * (16 * g.C * cout + winogradFilterGradBlockBytes(g.C, cout) / 4);
}

/** The tile tables of the last few geometries, kept: a training step takes the same shapes at every step. */
const tileTables = new Map<string, Int32Array>();
const KEPT_TABLES = 8;

/**
 * Each tile's byte offset in xₚ of its patch, then in dy of its first entry with its flags (see
 * winogradFilterGrad), [2·tiles]; the tiles rounded up to whole groups read tile 0's patch, and dy as zeros.
 */
function tileTable({ N, C, Ho, Wo, Hp, Wp, ...g }: Geometry, cout: number): Int32Array {
  const key = [N, C, Ho, Wo, Hp, Wp, cout].join();
  const kept = tileTables.get(key);
  if (kept) return kept;
  const tiles = tileCount({ N, C, Ho, Wo, Hp, Wp, ...g });
  const table = new Int32Array(2 * tiles);
  const [th, tw] = [Math.ceil(Ho / 2), Math.ceil(Wo / 2)];
  let t = 0;
  for (let n = 0; n < N; n++)
    for (let i = 0; i < th; i++)
      for (let j = 0; j < tw; j++, t++) {
        table[t] = 4 * ((n * Hp + 2 * i) * Wp + 2 * j) * C;
        table[tiles + t] =
          (4 * ((n * Ho + 2 * i) * Wo + 2 * j) * cout) | 4 | (2 * j + 1 < Wo ? 1 : 0) | (2 * i + 1 < Ho ? 2 : 0);
      }
  if (tileTables.size >= KEPT_TABLES) tileTables.delete(tileTables.keys().next().value!);
  tileTables.set(key, table);
  return table;
}

/** Multiply-adds (of the Winograd form) from which the chunks are shared with the helper thread. */
const WINOGRAD_SPLIT_MIN_WORK = 1 << 21;

/**
 * dw by the Winograd form's adjoint (kernels/wasm-simd-winograd.ts) from xp, padded to whole tiles
 * (withTiles), and dy; `scratch` holds its tables and blocks. False, with dw to be written again by
 * the direct sums, where an entry is not finite.
 */
function runWinograd(
  heap: WebAssembly.Memory,
  g: Geometry,
  xp: Float32Array,
  dy: Float32Array,
  cout: number,
  dw: Float32Array,
  scratch: Int32Array,
): boolean {
  const { C, Wo, Wp } = g;
  const tiles = tileCount(g);
  const corners = scratch.subarray(0, tiles);
  const dys = scratch.subarray(tiles, 2 * tiles);
  scratch.set(tileTable(g, cout));
  const cuts = tileChunks(g);
  const duLength = 16 * C * cout;
  const blockBytes = winogradFilterGradBlockBytes(C, cout);
  const partials = cuts.map(
    (_, k) => new Float32Array(scratch.buffer, dys.byteOffset + 4 * (tiles + k * duLength), duLength),
  );
  const blocks = partials[0].byteOffset + 4 * cuts.length * duLength;
  for (const part of partials) part.fill(0);
  const chunks = cuts.map((from, k) => [
    xp.byteOffset,
    corners.byteOffset,
    dys.byteOffset,
    dy.byteOffset,
    partials[k].byteOffset,
    blocks + k * blockBytes,
    from,
    Math.min(tiles, cuts[k + 1] ?? tiles),
    C,
    cout,
    4 * Wp * C,
    4 * Wo * cout,
  ]);
  const helper = tiles * 16 * C * cout >= WINOGRAD_SPLIT_MIN_WORK ? winogradFilterGradConv.helper(heap) : null;
  if (helper) helper.share('winogradFilterGrad', chunks);
  else for (const args of chunks) winogradFilterGradConv.on(heap)!.winogradFilterGrad(...args);
  const simd = winogradFilterGradConv.on(heap)!;
  simd.addInto(partials[0].byteOffset, partials[0].byteOffset + 4 * duLength, partials.length - 1, duLength);
  return winogradFilterGradFinish(partials[0], C, cout, dw);
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
