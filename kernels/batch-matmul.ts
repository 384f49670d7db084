// wasm's BatchMatMul where TF.js 4.22 runs its plain loop — a batch of more than one product (an
// attention's q·kᵀ and w·v per head), or a transpose flag — as a WebAssembly SIMD loop over the
// heap, two rows × sixteen (or four) columns at a time, so that each vector of B loaded serves two
// rows. TF.js sends only the unbatched, untransposed product to XNNPACK; the rest go through a
// scalar loop over blocks of 48 terms, an order of magnitude slower.
//
// The sums are TF.js's loop's, term by term: each output entry sums the products of one block of
// 48 terms in order from 0, and adds the block's sum to the entry (from +0), block after block; so
// the outputs are TF.js's bits. The entries between blocks are kept in C (float32 either way), so
// that the registers hold only the block's sums. op(A)ᵀ is read in place (its strides swapped);
// op(B) is copied transposed first where transposeB is set, so that each row of terms is a
// contiguous run (by the SIMD transpose's copies, a JavaScript loop where that is off).
import { broadcast_util, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { type Code, f32x4, I32, i32, local, V128, v128, type WasmFunction, whileBelow } from './wasm-encoder.js';
import { heapOf, simdModule, type WasmBackend } from './wasm-simd-module.js';
import { denseMatMul, type XnnpackOnPool } from './dense-matmul.js';
import { simdTransposeOnHeap } from './wasm-simd-transpose.js';

/** Terms TF.js's loop sums before adding them into the output entry. */
const BLOCK = 48;

const get = local.get;

/**
 * bmm(a, b, c, batch, M, N, K, aBatch, bBatch, aRow, aCol, bRow, cBatch, cRow): c[t, i, j] =
 * Σₖ a[t, i, k]·b[t, k, j] for the columns j below N rounded down to 4, in blocks of BLOCK terms;
 * a's entry (t, i, k) at a + t·aBatch + i·aRow + k·aCol, b's (t, k, j) at b + t·bBatch + k·bRow +
 * 4j, c's (t, i, j) at c + t·cBatch + i·cRow + 4j (bytes; aBatch or bBatch 0 broadcasts that
 * operand): a row of b or c is contiguous, the rest strided, so that heads of attention are read
 * and written in place in [N, L, heads·D] rows.
 */
function bmm(): WasmFunction {
  const [A, B, C, BATCH, M, N, K, A_BATCH, B_BATCH, A_ROW, A_COL, B_ROW, C_BATCH, C_ROW] = Array.from(
    { length: 14 },
    (_, i) => i,
  );
  const [T, I, J, K0, KEND, KK, AROW, APTR, BPTR, CROW, BBASE, APTR1] = Array.from({ length: 12 }, (_, i) => 14 + i);
  const [AV, ...V] = Array.from({ length: 13 }, (_, i) => 26 + i);
  const SUMS = V.slice(0, 8);
  const BV = V.slice(8);
  const inc = local.increment;
  /**
   * The columns J … J + 4·width − 1 of `rows` rows from I: `width` accumulators of four lanes a row,
   * each block's sum added into C (from +0), as TF.js adds it into its output entry.
   */
  const columns = (rows: number, width: number): Code => {
    const sums = (r: number) => SUMS.slice(4 * r, 4 * r + width);
    const pointers = [APTR, APTR1].slice(0, rows);
    const each = (f: (r: number, q: number) => Code): Code =>
      Array.from({ length: rows }, (_, r) => Array.from({ length: width }, (_, q) => f(r, q))).flat(2);
    const cAt = (r: number) =>
      i32.add(i32.add(get(CROW), i32.mul(i32.const(r), get(C_ROW))), i32.shl(get(J), i32.const(2)));
    return [
      ...local.set(K0, i32.const(0)),
      ...whileBelow(get(K0), get(K), [
        ...local.set(
          KEND,
          i32.select(get(K), i32.add(get(K0), i32.const(BLOCK)), i32.geU(i32.add(get(K0), i32.const(BLOCK)), get(K))),
        ),
        ...each((r, q) => local.set(sums(r)[q], f32x4.splat(0))),
        ...local.set(KK, get(K0)),
        ...local.set(APTR, i32.add(get(AROW), i32.mul(get(K0), get(A_COL)))),
        ...local.set(APTR1, i32.add(get(APTR), get(A_ROW))),
        ...local.set(BPTR, i32.add(i32.add(get(BBASE), i32.mul(get(K0), get(B_ROW))), i32.shl(get(J), i32.const(2)))),
        ...whileBelow(get(KK), get(KEND), [
          ...BV.slice(0, width).flatMap((bv, q) => local.set(bv, v128.load(get(BPTR), 16 * q))),
          ...pointers.flatMap((p, r) => [
            ...local.set(AV, v128.load32Splat(get(p))),
            ...sums(r).flatMap((s, q) => local.set(s, f32x4.add(get(s), f32x4.mul(get(AV), get(BV[q]))))),
            ...inc(p, get(A_COL)),
          ]),
          ...inc(BPTR, get(B_ROW)),
          ...inc(KK, i32.const(1)),
        ]),
        // the block's sum added into the entry: +0 + sum for the first block
        ...each((r, q) =>
          v128.store(
            cAt(r),
            f32x4.add(v128.select(v128.load(cAt(r), 16 * q), f32x4.splat(0), get(K0)), get(sums(r)[q])),
            16 * q,
          ),
        ),
        ...inc(K0, i32.const(BLOCK)),
      ]),
      ...inc(J, i32.const(4 * width)),
    ];
  };
  /** Rows I … I + rows − 1 of product T: sixteen columns at a time while they last, then four. */
  const rowsOf = (rows: number): Code => [
    ...local.set(AROW, i32.add(i32.add(get(A), i32.mul(get(T), get(A_BATCH))), i32.mul(get(I), get(A_ROW)))),
    ...local.set(CROW, i32.add(i32.add(get(C), i32.mul(get(T), get(C_BATCH))), i32.mul(get(I), get(C_ROW)))),
    ...local.set(J, i32.const(0)),
    ...whileBelow(i32.add(get(J), i32.const(15)), get(N), columns(rows, 4)),
    ...whileBelow(i32.add(get(J), i32.const(3)), get(N), columns(rows, 1)),
    ...inc(I, i32.const(rows)),
  ];
  const body = [
    ...whileBelow(get(T), get(BATCH), [
      ...local.set(BBASE, i32.add(get(B), i32.mul(get(T), get(B_BATCH)))),
      ...local.set(I, i32.const(0)),
      // two rows at a time (each vector of B used twice), then the last one
      ...whileBelow(i32.add(get(I), i32.const(1)), get(M), rowsOf(2)),
      ...whileBelow(get(I), get(M), rowsOf(1)),
      ...inc(T, i32.const(1)),
    ]),
    ...i32.const(0),
  ];
  return {
    name: 'bmm',
    params: new Array(14).fill(I32),
    result: I32,
    locals: [...new Array(12).fill(I32), ...new Array(13).fill(V128)],
    body,
  };
}

type Bmm = (a: number, b: number, c: number, ...sizes: number[]) => number;
const batchMatMul = simdModule<{ bmm: Bmm }>('batch-matmul', () => [bmm()], ['bmm']);
/** Turns the SIMD kernel off (and on again): TF.js's loop runs, for tests and benchmarks to compare. */
export const setSimdBatchMatMul = batchMatMul.setEnabled;
/** Keeps the products off the helper thread (and lets them on again), for tests and benchmarks to compare. */
export const setSharedBatchMatMul = batchMatMul.setShared;
// off by default: attention's products and rows are too small for waking the helper thread to pay
setSharedBatchMatMul(false);
/** Multiply-adds from which a call's products are shared with the helper thread (below, waking it costs more). */
const SHARE_MIN = 1 << 19;

/** One operand of stridedProducts: its array, its first entry's index there, and its strides in entries. */
export interface Strided {
  v: Float32Array;
  at: number;
  /** From one product to the next (0: the same matrix for every product). */
  batch: number;
  row: number;
  /** From one column to the next (a's only: b's and c's columns are contiguous). */
  col?: number;
}

/** One product of stridedProducts: its operands and its output. */
export interface StridedProduct {
  a: Strided;
  b: Strided;
  c: Strided;
}

/**
 * For each product: c[t, i, j] = Σₖ a[t, i, k]·b[t, k, j] for t < batch, i < M, j < N, each operand
 * strided in its array (`Strided`), with TF.js's loop's order of terms (blocks of 48 terms, each
 * block's sum added into the entry): in SIMD on `heap` (the arrays views of it) while the module is
 * on, shared with the helper thread when large (the products, or one product's batch, in chunks); the
 * last N mod 4 columns, and everything without the module, in a JavaScript loop of the same float32 steps.
 */
export function stridedProducts(
  heap: WebAssembly.Memory | null,
  products: StridedProduct[],
  batch: number,
  M: number,
  N: number,
  K: number,
): void {
  const simd = batchMatMul.on(heap);
  let from = 0;
  if (simd && N >= 4) {
    const at = (s: Strided, t: number) => s.v.byteOffset + 4 * (s.at + t * s.batch);
    const args = ({ a, b, c }: StridedProduct, t0: number, t1: number) => [
      ...[at(a, t0), at(b, t0), at(c, t0), t1 - t0, M, N, K],
      ...[a.batch, b.batch, a.row, a.col ?? 1, b.row, c.batch, c.row].map((s) => 4 * s),
    ];
    const helper = products.length * batch * M * N * K >= SHARE_MIN ? batchMatMul.helper(heap) : null;
    if (helper && products.length > 1)
      helper.share(
        'bmm',
        products.map((p) => args(p, 0, batch)),
      );
    else if (helper) helper.range('bmm', batch, 1, (t0, t1) => args(products[0], t0, t1));
    else for (const p of products) simd.bmm(...(args(p, 0, batch) as Parameters<Bmm>));
    from = N & ~3;
  }
  for (const { a, b, c } of products) {
    const [av, bv, cv] = [a.v, b.v, c.v];
    const aCol = a.col ?? 1;
    for (let t = 0; t < batch; t++)
      for (let i = 0; i < M; i++) {
        const aRow = a.at + t * a.batch + i * a.row;
        const cRow = c.at + t * c.batch + i * c.row;
        for (let j = from; j < N; j++) {
          let total = 0;
          for (let k0 = 0; k0 < K; k0 += BLOCK) {
            let sum = 0;
            for (let k = k0; k < Math.min(k0 + BLOCK, K); k++)
              sum = Math.fround(sum + Math.fround(av[aRow + k * aCol] * bv[b.at + t * b.batch + k * b.row + j]));
            total = Math.fround(total + sum);
          }
          cv[cRow + j] = total;
        }
      }
  }
}

/**
 * The BatchMatMul kernel function wrapping TF.js's `original`: ours where TF.js would run its loop
 * (float32 operands whose batches are equal or one of them a single matrix), the dense kernel
 * (dense-matmul.ts) where it would call XNNPACK and that is faster, TF.js's everywhere else.
 */
export function simdBatchMatMul(original: KernelFunc, xnnpackOnPool: XnnpackOnPool = () => false): KernelFunc {
  return (args) => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
    const backend = args.backend as unknown as WasmBackend;
    const simd = batchMatMul.on(heapOf(backend));
    const ra = a.shape.length;
    const rb = b.shape.length;
    if (!simd || a.dtype !== 'float32' || b.dtype !== 'float32' || ra < 2 || rb < 2) return original(args);
    const outer = broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
    const [ba, bb, batch] = [a.shape.slice(0, -2), b.shape.slice(0, -2), outer].map((s) =>
      s.reduce((x, y) => x * y, 1),
    );
    // TF.js's XNNPACK path
    if (!transposeA && !transposeB && ba === 1 && bb === 1)
      return denseMatMul(backend, a, b, undefined, 'linear', outer, xnnpackOnPool) ?? original(args);
    // a weight gradient xᵀ·g: the dense kernel reads x in place
    const denseT = transposeA && !transposeB && ra === 2 && rb === 2;
    const tDense = denseT ? denseMatMul(backend, a, b, undefined, 'linear', [], xnnpackOnPool, true) : null;
    if (tDense) return tDense;
    // an input gradient g·Wᵀ: the dense kernel copies W's panels transposed
    const denseBT = transposeB && !transposeA && ra === 2 && rb === 2;
    const btDense = denseBT ? denseMatMul(backend, a, b, undefined, 'linear', [], xnnpackOnPool, false, true) : null;
    if (btDense) return btDense;
    // batches TF.js would not pair as whole operands (neither 1 nor all)
    if ((ba !== batch && ba !== 1) || (bb !== batch && bb !== 1)) return original(args);
    const [M, K] = transposeA ? [a.shape[ra - 1], a.shape[ra - 2]] : [a.shape[ra - 2], a.shape[ra - 1]];
    const N = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
    if ((transposeB ? b.shape[rb - 1] : b.shape[rb - 2]) !== K || M * N * K === 0) return original(args);
    // allocations first: one may grow the heap and detach views taken before it; B transposed by
    // the SIMD transpose's copies where it is on
    const copied = transposeB ? simdTransposeOnHeap(backend, { ...b, shape: [bb, N, K] }, [0, 2, 1]) : null;
    const bt = transposeB && !copied ? backend.makeOutput([bb, K, N], 'float32') : copied;
    const out = backend.makeOutput([...outer, M, N], 'float32');
    const av = backend.typedArrayFromHeap(a) as Float32Array;
    let bv = backend.typedArrayFromHeap(b) as Float32Array;
    if (bt) {
      const t = backend.typedArrayFromHeap(bt) as Float32Array;
      if (!copied)
        for (let q = 0; q < bb; q++)
          for (let j = 0; j < N; j++) for (let k = 0; k < K; k++) t[(q * K + k) * N + j] = bv[(q * N + j) * K + k];
      bv = t;
    }
    const cv = backend.typedArrayFromHeap(out) as Float32Array;
    // a's entry (t, i, k): [t, M, K] rows, or [t, K, M] read transposed
    const [aRow, aCol] = transposeA ? [1, M] : [K, 1];
    const aBatch = ba === 1 ? 0 : M * K;
    const bBatch = bb === 1 ? 0 : K * N;
    stridedProducts(
      heapOf(backend),
      [
        {
          a: { v: av, at: 0, batch: aBatch, row: aRow, col: aCol },
          b: { v: bv, at: 0, batch: bBatch, row: N },
          c: { v: cv, at: 0, batch: M * N, row: N },
        },
      ],
      batch,
      M,
      N,
      K,
    );
    if (bt) backend.disposeData(bt.dataId, true);
    return out;
  };
}
