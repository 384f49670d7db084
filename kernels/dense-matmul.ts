// wasm's plain product A·B (+ bias, clamped), where TF.js calls XNNPACK, as a WebAssembly SIMD loop
// over the heap. XNNPACK packs all of B into its own layout each time it meets a new B tensor (it
// keeps the packed copy per tensor id), and a training step's weights and gradients are new tensors
// at every step: that packing, an allocation and a pass over all of B with strided reads, costs
// nearly as much as the product itself for a dense layer's shapes.
//
// Here each tile of 2 rows × 16 columns keeps its sums in eight registers; for each k it loads four
// vectors of B and splats one entry of each of A's two rows (a splat load: on x64 a load alone, no
// shuffle beside the multiplies and adds). B is read from a copy of one panel of 16 columns (kc rows
// of it, 16 KiB, made as the panel is reached): B's rows in place lie N entries apart, and at
// N = 1024 every one of them falls in the same set of the L1 cache, so that each load of B missed
// it; the copy is contiguous and stays in L1 while every tile of the block of rows passes over it.
// Blocks of mc rows × kc terms keep A's block in the L2 cache while the panels pass; a block of
// terms after the first starts from the sums the one before stored in C. The last N mod 16 columns
// run as one more panel padded with zeros, their sums kept in an edge buffer and copied to C once a
// block of rows is done. V8 loads every operand of a term before its arithmetic, so a tile's
// registers are its sums, B's vectors and A's splats together: 4 × 8 tiles (more splats per term),
// 5 × 8, 6 × 8 and 3 × 16 (spilled), the loop over k unrolled, and A's entries splatted from a
// vector of four by shuffles were all slower; benchmarks/dense-matmul.ts builds each to compare.
//
// The sums are XNNPACK's, term by term: each output entry starts from its bias (or +0) and adds the
// products a_ik·b_kj for k in order, rounding each product and each sum to float32 (a partial sum
// stored to C between blocks is that float32), then is clamped to the activation's bounds keeping
// NaN, as TF.js's Relu and PyTorch do (XNNPACK's clamp turns NaN into the lower bound: a TF.js defect,
// src/backend/defects.ts); a product without bounds is not clamped. So the outputs are XNNPACK's bits
// but for NaN (test/dense-matmul.test.ts).
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import {
  type Code,
  F32,
  f32x4,
  I32,
  i32,
  ifElse,
  local,
  V128,
  v128,
  type WasmFunction,
  when,
  whileBelow,
} from './wasm-encoder.js';
import { heapOf, simdModule, type WasmBackend } from './wasm-simd-module.js';

const get = local.get;

/** Options of the product's WebAssembly function (the benchmarks build the others to compare). */
export interface GemmOptions {
  /** Rows of a tile, each row's sums in `vectors` registers. */
  rows: number;
  /** Vectors of four columns of a tile (1, 2 or 4): a panel of B has 4·vectors columns. */
  vectors: number;
  /** A loaded four k at a time and each lane splatted by a shuffle, rather than one splat load per k. */
  splat: boolean;
  /** B's panel of 8 columns copied into the scratch, contiguous, rather than read in place. */
  pack: boolean;
  /** Terms per iteration of the loop over k (4 where `splat`). */
  unroll: number;
}

export const GEMM: GemmOptions = { rows: 2, vectors: 4, splat: false, pack: true, unroll: 1 };

/** The WebAssembly function's parameters. */
const PARAMS = 18;

/**
 * gemm(a, b, bias, c, M, N, K, hasBias, clamp, scratch, mc, kc, lo, hi, aTerm, aRow, bTransposed, ld):
 * c[i, j] = bias[j] + Σₖ a[i, k]·b[k, j] (b [K, N], c [M, N] row-major, their rows ld entries apart:
 * N, or more for a range of columns of wider matrices; byte addresses), clamped to
 * [lo, hi] where `clamp` is set; a's entry [i, k] at a + i·aRow + k·aTerm bytes (a [M, K]: aRow 4K,
 * aTerm 4; a stored [K, M], a product by its transpose: aRow 4, aTerm 4M; aTerm 4 where `unroll` >
 * 1); with `bTransposed` (and `pack`), b stored [N, K], a product by its transpose, each panel
 * copied column by column; blocks of mc rows by kc terms, `scratch` holding (kc + 1 + mc)·4·vectors
 * float32s.
 */
export function gemmFunction({ rows: R, vectors: W, splat, pack, unroll }: GemmOptions): WasmFunction {
  const [A, B, BIAS, C, M, N, K, HAS_BIAS, CLAMP, SCRATCH, MC, KC, LO, HI, A_TERM, A_ROW, B_T, LD] = Array.from(
    { length: PARAMS },
    (_, i) => i,
  );
  const ints = ['I0', 'IEND', 'K0', 'KL', 'J', 'NB', 'KB', 'I', 'KK', 'BPTR', 'BSTEP', 'CP', 'CS', 'BIASP', 'CLAMPNOW'];
  const more = ['CROW', 'T', 'U', 'P', 'EDGE', 'SB', 'FULL'];
  const names = [...ints, ...more];
  const L = Object.fromEntries(names.map((n, i) => [n, PARAMS + i])) as Record<string, number>;
  const ROW = Array.from({ length: R }, (_, r) => PARAMS + names.length + r);
  const firstV = PARAMS + names.length + R;
  const [AV, LOV, HIV] = [firstV, firstV + 1, firstV + 2];
  const BV = Array.from({ length: W }, (_, i) => firstV + 3 + i);
  const ACC = Array.from({ length: W * R }, (_, i) => firstV + 3 + W + i);
  const AV4 = Array.from({ length: R }, (_, i) => firstV + 3 + W + W * R + i);
  /** Columns of a panel, and bytes of one of its rows. */
  const PW = 4 * W;
  const PB = 16 * W;
  const vectors = Array.from({ length: W }, (_, w) => w);
  const inc = local.increment;
  const { I0, IEND, K0, KL, J, NB, KB, I, KK, BPTR, BSTEP, CP, CS, BIASP, CLAMPNOW, CROW, T, U, P, EDGE, SB, FULL } = L;
  const lanes = (l: number) => Array.from({ length: 16 }, (_, b) => 4 * l + (b & 3));

  /** The tile of `rows` rows from I, columns J … J + 7, terms K0 … K0 + KL − 1. */
  const tile = (rows: number): Code => {
    const acc = (r: number, w: number) => ACC[W * r + w];
    const each = (f: (r: number, w: number) => Code): Code =>
      Array.from({ length: rows }, (_, r) => vectors.map((w) => f(r, w))).flat(2);
    const cRow = (r: number) => (r ? i32.add(get(CROW), i32.mul(i32.const(r), get(CS))) : get(CROW));
    /** One term: k + l of each row (l the lane of the loaded vectors, or the splat load's offset). */
    const term = (l: number, fromVector: boolean): Code => [
      ...vectors.flatMap((w) => local.set(BV[w], v128.load(get(BPTR), 16 * w))),
      ...ROW.slice(0, rows).flatMap((p, r) => [
        ...local.set(
          AV,
          fromVector ? v128.shuffle(get(AV4[r]), get(AV4[r]), lanes(l)) : v128.load32Splat(get(p), 4 * l),
        ),
        ...vectors.flatMap((w) => local.set(acc(r, w), f32x4.add(get(acc(r, w)), f32x4.mul(get(AV), get(BV[w]))))),
      ]),
      ...inc(BPTR, get(BSTEP)),
    ];
    return [
      ...local.set(ROW[0], i32.add(i32.add(get(A), i32.mul(get(I), get(A_ROW))), i32.mul(get(K0), get(A_TERM)))),
      ...ROW.slice(1, rows).flatMap((p, r) => local.set(p, i32.add(get(ROW[r]), get(A_ROW)))),
      ...local.set(BPTR, get(P)),
      ...local.set(CROW, i32.add(get(CP), i32.mul(get(I), get(CS)))),
      // the sums so far: the bias (or +0) in the first block of terms, what the block before stored after it
      ...each((r, w) =>
        local.set(
          acc(r, w),
          v128.select(
            v128.load(cRow(r), 16 * w),
            v128.select(v128.load(get(BIASP), 16 * w), f32x4.splat(0), get(HAS_BIAS)),
            get(K0),
          ),
        ),
      ),
      ...local.set(KK, i32.const(0)),
      ...whileBelow(i32.add(get(KK), i32.const(unroll - 1)), get(KL), [
        ...(splat ? ROW.slice(0, rows).flatMap((p, r) => local.set(AV4[r], v128.load(get(p)))) : []),
        ...Array.from({ length: unroll }, (_, l) => term(l, splat)).flat(),
        ...ROW.slice(0, rows).flatMap((p) => inc(p, unroll === 1 ? get(A_TERM) : i32.const(4 * unroll))),
        ...inc(KK, i32.const(unroll)),
      ]),
      ...(unroll === 1
        ? []
        : whileBelow(get(KK), get(KL), [
            ...term(0, false),
            ...ROW.slice(0, rows).flatMap((p) => inc(p, get(A_TERM))),
            ...inc(KK, i32.const(1)),
          ])),
      ...each((r, w) =>
        v128.store(
          cRow(r),
          v128.select(
            // NaN stays NaN (each pmax and pmin keeps its first operand unless the second is beyond it); + 0 turns −0 into +0
            f32x4.add(f32x4.pmin(f32x4.pmax(get(acc(r, w)), get(LOV)), get(HIV)), f32x4.splat(0)),
            get(acc(r, w)),
            get(CLAMPNOW),
          ),
          16 * w,
        ),
      ),
    ];
  };

  /** B's rows K0 … K0 + KL − 1, columns J … J + 7 (those below N; +0 past them) copied to the scratch. */
  const packPanel: Code = [
    ...local.set(T, i32.const(0)),
    ...local.set(U, i32.add(i32.add(get(B), i32.mul(get(K0), get(NB))), i32.shl(get(J), i32.const(2)))),
    ...whileBelow(get(T), get(KL), [
      ...local.set(CROW, i32.add(get(SCRATCH), i32.mul(get(T), i32.const(PB)))),
      ...vectors.flatMap((w) =>
        v128.store(get(CROW), v128.select(v128.load(get(U), 16 * w), f32x4.splat(0), get(FULL)), 16 * w),
      ),
      ...inc(T, i32.const(1)),
      ...inc(U, get(NB)),
    ]),
  ];
  /**
   * The same panel of b stored [N, K]: each of its columns (a row of b there, contiguous) copied
   * down the scratch's column, +0 past N.
   */
  const packPanelTransposed: Code = [
    ...local.set(T, i32.const(0)),
    ...whileBelow(get(T), i32.const(PW), [
      ...local.set(CROW, i32.add(get(SCRATCH), i32.shl(get(T), i32.const(2)))),
      ...local.set(
        U,
        i32.add(get(B), i32.shl(i32.add(i32.mul(i32.add(get(J), get(T)), get(K)), get(K0)), i32.const(2))),
      ),
      ...local.set(KK, i32.const(0)),
      ...ifElse(
        i32.ltU(i32.add(get(J), get(T)), get(N)),
        whileBelow(get(KK), get(KL), [
          ...i32.store(get(CROW), i32.load(get(U))),
          ...inc(CROW, i32.const(PB)),
          ...inc(U, i32.const(4)),
          ...inc(KK, i32.const(1)),
        ]),
        whileBelow(get(KK), get(KL), [
          ...i32.store(get(CROW), i32.const(0)),
          ...inc(CROW, i32.const(PB)),
          ...inc(KK, i32.const(1)),
        ]),
      ),
      ...inc(T, i32.const(1)),
    ]),
  ];
  /** The last N mod 8 columns' entries, `count` rows of them, copied from `from` to `to` (row strides in bytes). */
  const copyColumns = (count: Code, from: Code, fromStride: Code, to: Code, toStride: Code): Code => [
    ...local.set(T, i32.const(0)),
    ...whileBelow(get(T), count, [
      ...local.set(U, i32.const(0)),
      ...whileBelow(get(U), i32.and(get(N), i32.const(PW - 1)), [
        ...i32.store(
          i32.add(i32.add(to, i32.mul(get(T), toStride)), i32.shl(get(U), i32.const(2))),
          i32.load(i32.add(i32.add(from, i32.mul(get(T), fromStride)), i32.shl(get(U), i32.const(2)))),
        ),
        ...inc(U, i32.const(1)),
      ]),
      ...inc(T, i32.const(1)),
    ]),
  ];
  const panel: Code = [
    ...local.set(FULL, i32.ltU(i32.add(get(J), i32.const(PW - 1)), get(N))),
    ...(pack
      ? [
          ...ifElse(get(B_T), packPanelTransposed, packPanel),
          ...local.set(P, get(SCRATCH)),
          ...local.set(BSTEP, i32.const(PB)),
        ]
      : [
          ...local.set(P, i32.add(i32.add(get(B), i32.mul(get(K0), get(NB))), i32.shl(get(J), i32.const(2)))),
          ...local.set(BSTEP, get(NB)),
        ]),
    ...local.set(BIASP, i32.add(get(BIAS), i32.shl(get(J), i32.const(2)))),
    ...local.set(CP, i32.add(get(C), i32.shl(get(J), i32.const(2)))),
    ...local.set(CS, get(NB)),
    // a panel past N: its B columns and bias copied, zero-padded, its sums kept in the edge buffer
    ...when(i32.eqz(get(FULL)), [
      ...vectors.flatMap((w) => v128.store(get(SB), f32x4.splat(0), 16 * w)),
      ...when(get(HAS_BIAS), copyColumns(i32.const(1), get(BIASP), i32.const(0), get(SB), i32.const(0))),
      ...when(
        i32.eqz(get(B_T)),
        copyColumns(
          get(KL),
          i32.add(get(B), i32.add(i32.mul(get(K0), get(NB)), i32.shl(get(J), i32.const(2)))),
          get(NB),
          get(SCRATCH),
          i32.const(PB),
        ),
      ),
      ...local.set(P, get(SCRATCH)),
      ...local.set(BSTEP, i32.const(PB)),
      ...local.set(BIASP, get(SB)),
      ...local.set(CP, i32.sub(get(EDGE), i32.mul(get(I0), i32.const(PB)))),
      ...local.set(CS, i32.const(PB)),
    ]),
    ...local.set(I, get(I0)),
    ...whileBelow(i32.add(get(I), i32.const(R - 1)), get(IEND), [...tile(R), ...inc(I, i32.const(R))]),
    ...whileBelow(get(I), get(IEND), [...tile(1), ...inc(I, i32.const(1))]),
    ...inc(J, i32.const(PW)),
  ];
  const body = [
    ...local.set(NB, i32.shl(get(LD), i32.const(2))),
    ...local.set(KB, i32.shl(get(K), i32.const(2))),
    ...local.set(SB, i32.add(get(SCRATCH), i32.mul(get(KC), i32.const(PB)))),
    ...local.set(EDGE, i32.add(get(SB), i32.const(PB))),
    ...local.set(LOV, f32x4.splatOf(get(LO))),
    ...local.set(HIV, f32x4.splatOf(get(HI))),
    ...whileBelow(get(I0), get(M), [
      ...local.set(IEND, i32.minU(i32.add(get(I0), get(MC)), get(M))),
      ...local.set(K0, i32.const(0)),
      ...whileBelow(get(K0), get(K), [
        ...local.set(KL, i32.minU(get(KC), i32.sub(get(K), get(K0)))),
        ...local.set(CLAMPNOW, i32.and(get(CLAMP), i32.eqz(i32.sub(get(K), i32.add(get(K0), get(KL)))))),
        ...local.set(J, i32.const(0)),
        ...whileBelow(get(J), get(N), panel),
        ...inc(K0, get(KL)),
      ]),
      ...copyColumns(
        i32.sub(get(IEND), get(I0)),
        get(EDGE),
        i32.const(PB),
        i32.add(get(C), i32.add(i32.mul(get(I0), get(NB)), i32.shl(i32.and(get(N), i32.const(-PW)), i32.const(2)))),
        get(NB),
      ),
      ...local.set(I0, get(IEND)),
    ]),
    ...i32.const(0),
  ];
  return {
    name: 'gemm',
    params: [...new Array(12).fill(I32), F32, F32, I32, I32, I32, I32],
    result: I32,
    locals: [...new Array(names.length + R).fill(I32), ...new Array(3 + W + W * R + R).fill(V128)],
    body,
  };
}

const denseMatMulSimd = simdModule<{ gemm: (...args: number[]) => number }>(
  'dense-matmul',
  () => [gemmFunction(GEMM)],
  ['gemm'],
);
/** Turns the SIMD kernel off (and on again): XNNPACK runs, for tests and benchmarks to compare. */
export const setDenseMatMul = denseMatMulSimd.setEnabled;

/** The clamp bounds of TF.js's fused activations that XNNPACK applies, by activation name. */
const BOUNDS: Record<string, [number, number] | null> = { linear: null, relu: [0, Infinity], relu6: [0, 6] };

/**
 * Whether XNNPACK's product of `work` multiply-adds would run on its thread pool (set by the
 * backend): then, for many rows, its threads gain more than its packing of B costs where this
 * kernel has one thread (the helper thread not up yet).
 */
export type XnnpackOnPool = (work: number) => boolean;

/** Rows from which XNNPACK on a pool of threads beats this kernel on one thread (the helper not up) despite packing B. */
const POOLED_MIN_ROWS = 160;
/** Multiply-adds from which a product is split with the helper thread (below, waking it costs more). */
const SPLIT_MIN_WORK = 1 << 22;

/** Rows and terms of a block: mc·kc float32s of A stay in the L2 cache while B's panels pass. */
export const BLOCKING = { mc: 128, kc: 256 };

let transposedA = true;
/**
 * Turns the product by a transposed left operand read in place (aᵀ·b) off (and on again): off, the
 * kernel declines it and the backend facts have the transpose made first, for benchmarks to compare.
 */
export function setDenseTransposedA(on: boolean): void {
  transposedA = on;
}
/** Whether the kernel takes aᵀ·b, reading a [K, M] in place (on unless turned off). */
export const denseTransposedA = (): boolean => transposedA;

/** Chunks of columns a product shared with the helper is cut into, and the fewest panels of b to cut. */
const COLUMN_CHUNKS = 8;
const COLUMN_CHUNKS_MIN_PANELS = 4;
let columnChunks = true;
/**
 * Turns the sharing of a product with the helper thread in chunks of columns off (and on again):
 * off, the two threads take fixed halves of the rows, each copying every panel of b, for benchmarks
 * to compare.
 */
export function setDenseColumnChunks(on: boolean): void {
  columnChunks = on;
}

let transposedB = true;
/**
 * Turns the product by a transposed right operand copied into the panels from where it lies (a·bᵀ)
 * off (and on again): off, the kernel declines it and the backend facts have the product made
 * another way, for benchmarks to compare.
 */
export function setDenseTransposedB(on: boolean): void {
  transposedB = on;
}
/** Whether the kernel takes a·bᵀ, b [N, K] copied into its panels transposed (on unless turned off). */
export const denseTransposedB = (): boolean => transposedB;

/**
 * c = clamp(op(a)·op(b) + bias) for the heap's float32 a [M, K] (or, with `transposeA`, a [K, M] and
 * op(a) = aᵀ, read in place) and b [K, N] (any leading axes of one matrix; or, with `transposeB`, b
 * [N, K] and op(b) = bᵀ, copied into the panels transposed), in SIMD, shaped [...outer, M, N]; null
 * where the kernel does not apply or XNNPACK is faster (the caller then runs XNNPACK's, or TF.js's
 * product).
 */
export function denseMatMul(
  backend: WasmBackend,
  a: TensorInfo,
  b: TensorInfo,
  bias: TensorInfo | undefined,
  activation: string,
  outer: number[],
  xnnpackOnPool: XnnpackOnPool,
  transposeA = false,
  transposeB = false,
): TensorInfo | null {
  const heap = heapOf(backend);
  const simd = denseMatMulSimd.on(heap);
  const bounds = BOUNDS[activation];
  if (!simd || bounds === undefined || a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  if (transposeA && (!transposedA || a.shape.length !== 2)) return null;
  if (transposeB && (!transposedB || transposeA || b.shape.length !== 2 || GEMM.pack === false)) return null;
  const [M, K] = transposeA ? [a.shape[1], a.shape[0]] : a.shape.slice(-2);
  const N = transposeB ? b.shape[0] : b.shape[b.shape.length - 1];
  const work = M * N * K;
  if (work === 0 || (bias && (bias.dtype !== 'float32' || bias.shape.length !== 1 || bias.shape[0] !== N))) return null;
  const helper = work >= SPLIT_MIN_WORK && M >= 8 ? denseMatMulSimd.helper(heap) : null;
  if (!helper && !transposeA && !transposeB && M >= POOLED_MIN_ROWS && xnnpackOnPool(work)) return null;
  const { mc, kc } = BLOCKING;
  const scratchSize = (kc + 1 + mc) * 4 * GEMM.vectors;
  const panelColumns = 4 * GEMM.vectors;
  const panels = Math.ceil(N / panelColumns);
  /**
   * Columns of a chunk shared with the helper (whole panels), or 0 where the product is split by
   * rows: where the rows fit one block, each half of them would copy every panel of b again;
   * beyond, every block of rows copies them anyway, and halves of the rows keep each thread's blocks.
   */
  const chunkColumns =
    helper && columnChunks && panels >= COLUMN_CHUNKS_MIN_PANELS && M <= mc
      ? Math.ceil(panels / COLUMN_CHUNKS) * panelColumns
      : 0;
  const parts = !helper ? 1 : chunkColumns ? Math.ceil(N / chunkColumns) : 2;
  // allocations first: one may grow the heap and detach views taken before it
  const out = backend.makeOutput([...outer, M, N], 'float32');
  const scratch = backend.makeOutput([parts * scratchSize], 'float32');
  const av = backend.typedArrayFromHeap(a) as Float32Array;
  const bv = backend.typedArrayFromHeap(b) as Float32Array;
  const biasView = bias ? (backend.typedArrayFromHeap(bias) as Float32Array) : null;
  const cv = backend.typedArrayFromHeap(out) as Float32Array;
  const sv = backend.typedArrayFromHeap(scratch) as Float32Array;
  const [lo, hi] = bounds ?? [-Infinity, Infinity];
  /** Bytes between a's entries of one term, and between its rows. */
  const [aTerm, aRow] = transposeA ? [4 * M, 4] : [4, 4 * K];
  /** The kernel's arguments for rows from..to (the rows' entries of a and c start later), with scratch `part`. */
  const rows = (from: number, to: number, part: number) => [
    av.byteOffset + from * aRow,
    bv.byteOffset,
    biasView?.byteOffset ?? 0,
    cv.byteOffset + 4 * from * N,
    to - from,
    N,
    K,
    biasView ? 1 : 0,
    bounds ? 1 : 0,
    sv.byteOffset + 4 * part * scratchSize,
    mc,
    kc,
    lo,
    hi,
    aTerm,
    aRow,
    transposeB ? 1 : 0,
    N,
  ];
  /** The kernel's arguments for every row and columns from..to, with scratch `part`. */
  const columns = (from: number, to: number, part: number) => {
    const args = rows(0, M, part);
    args[1] += 4 * from * (transposeB ? K : 1);
    if (biasView) args[2] += 4 * from;
    args[3] += 4 * from;
    args[5] = to - from;
    return args;
  };
  if (helper && chunkColumns) {
    // chunks of whole panels, taken by each thread as it comes free: each panel of b is copied once
    const chunks: number[][] = [];
    for (let j = 0; j < N; j += chunkColumns) chunks.push(columns(j, Math.min(N, j + chunkColumns), chunks.length));
    helper.share('gemm', chunks);
  } else if (helper) {
    // the helper thread takes the lower rows, from a multiple of 4 near the middle
    const half = ((M >> 1) + 3) & ~3;
    helper.split('gemm', rows(0, half, 0), rows(half, M, 1));
  } else simd.gemm(...rows(0, M, 0));
  backend.disposeData(scratch.dataId, true);
  return out;
}

/**
 * The _FusedMatMul kernel function wrapping TF.js's `original`: ours where it applies, TF.js's
 * elsewhere; two matrices (no transposes) are taken too, TF.js's kernel seeing them as [1, ·, ·].
 */
export function simdFusedMatMul(original: KernelFunc, xnnpackOnPool: XnnpackOnPool): KernelFunc {
  return (args) => {
    const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, TensorInfo | undefined>;
    const { transposeA, transposeB, activation } = args.attrs as {
      transposeA: boolean;
      transposeB: boolean;
      activation: string;
    };
    if (a && b && a.shape.length === 2 && b.shape.length === 2 && !transposeA && !transposeB) {
      const backend = args.backend as unknown as WasmBackend;
      const ours = preluActivationWeights ? null : denseMatMul(backend, a, b, bias, activation, [], xnnpackOnPool);
      if (ours) return ours;
      // the same data seen as one matrix of a batch: TF.js's kernel takes rank 3 only
      const batched = (t: TensorInfo) => ({ ...t, shape: [1, ...t.shape] });
      const out = clampedKeepingNaN(original, { ...args, inputs: { ...args.inputs, a: batched(a), b: batched(b) } });
      return { ...out, shape: [a.shape[0], b.shape[1]] };
    }
    if (
      !a ||
      !b ||
      transposeA ||
      transposeB ||
      preluActivationWeights ||
      a.shape.length !== 3 ||
      b.shape.length !== 3 ||
      a.shape[0] !== 1 ||
      b.shape[0] !== 1
    )
      return clampedKeepingNaN(original, args);
    const backend = args.backend as unknown as WasmBackend;
    return denseMatMul(backend, a, b, bias, activation, [1], xnnpackOnPool) ?? clampedKeepingNaN(original, args);
  };
}

/**
 * TF.js's _FusedMatMul, its relu or relu6 clamp applied here keeping NaN (and turning −0 into +0, as
 * TF.js's Relu): XNNPACK's clamp turns NaN into the lower bound. Other activations as TF.js's.
 */
function clampedKeepingNaN(original: KernelFunc, args: Parameters<KernelFunc>[0]): TensorInfo {
  const bounds = BOUNDS[(args.attrs as { activation: string }).activation];
  if (!bounds) return original(args) as TensorInfo;
  const out = original({ ...args, attrs: { ...args.attrs, activation: 'linear' } }) as TensorInfo;
  const v = (args.backend as unknown as WasmBackend).typedArrayFromHeap(out) as Float32Array;
  const [lo, hi] = bounds;
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    v[i] = (x < lo ? lo : Math.min(x, hi)) + 0;
  }
  return out;
}
