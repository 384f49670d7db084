// wasm's plain product A·B (+ bias, clamped), where TF.js calls XNNPACK, as a WebAssembly SIMD loop
// over the heap that reads B in place. XNNPACK packs B into its own layout each time it meets a new
// B tensor (it keeps the packed copy per tensor id), and a training step's weights and gradients
// are new tensors at every step: the packing, an allocation and a pass over all of B with strided
// reads, is then as long as the product itself for a dense layer's shapes. Reading B's rows where
// they lie costs nothing up front, and each tile of 4 rows × 8 columns keeps its sums in registers.
//
// The sums are XNNPACK's, term by term: each output entry starts from its bias (or +0) and adds the
// products a_ik·b_kj for k in order, rounding each product and each sum to float32, then is clamped
// as XNNPACK's x86 kernels clamp (pmax with the lower bound, then pmin with the upper); a product
// without bounds is not clamped. So the outputs are XNNPACK's bits (test/dense-matmul.test.ts).
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { type Code, F32, f32x4, I32, i32, local, V128, v128, type WasmFunction, whileBelow } from './wasm-encoder.js';
import { heapOf, simdModule, type WasmBackend } from './wasm-simd-module.js';

const get = local.get;

/**
 * gemm(a, b, bias, c, M, N, K, hasBias, clamp, lo, hi): c[i, j] = bias[j] + Σₖ a[i, k]·b[k, j]
 * (a [M, K], b [K, N], c [M, N] row-major, N ≥ 4; byte addresses), clamped to [lo, hi] where
 * `clamp` is set.
 */
function gemm(): WasmFunction {
  const [A, B, BIAS, C, M, N, K, HAS_BIAS, CLAMP, LO, HI] = Array.from({ length: 11 }, (_, i) => i);
  const [I, J, KK, NB, KB, A0, A1, A2, A3, BPTR, CROW] = Array.from({ length: 11 }, (_, i) => 11 + i);
  const [AV, BV0, BV1, LOV, HIV] = Array.from({ length: 5 }, (_, i) => 22 + i);
  const ACC = Array.from({ length: 8 }, (_, i) => 27 + i);
  const inc = (l: number, by: Code) => local.set(l, i32.add(get(l), by));
  const rowPointers = [A0, A1, A2, A3];
  /** The tile of `rows` rows from I and 4·width columns from J, its sums in registers. */
  const tile = (rows: number, width: number): Code => {
    const acc = (r: number, w: number) => ACC[r * width + w];
    const bvs = [BV0, BV1].slice(0, width);
    const each = (f: (r: number, w: number) => Code): Code =>
      Array.from({ length: rows }, (_, r) => Array.from({ length: width }, (_, w) => f(r, w))).flat(2);
    return [
      ...local.set(A0, i32.add(get(A), i32.mul(get(I), get(KB)))),
      ...rowPointers.slice(1, rows).flatMap((p, r) => local.set(p, i32.add(get(rowPointers[r]), get(KB)))),
      ...local.set(BPTR, i32.add(get(B), i32.shl(get(J), i32.const(2)))),
      ...each((r, w) =>
        local.set(
          acc(r, w),
          v128.select(
            v128.load(i32.add(get(BIAS), i32.shl(get(J), i32.const(2))), 16 * w),
            f32x4.splat(0),
            get(HAS_BIAS),
          ),
        ),
      ),
      ...local.set(KK, i32.const(0)),
      ...whileBelow(get(KK), get(K), [
        ...bvs.flatMap((bv, w) => local.set(bv, v128.load(get(BPTR), 16 * w))),
        ...rowPointers
          .slice(0, rows)
          .flatMap((p, r) => [
            ...local.set(AV, v128.load32Splat(get(p))),
            ...Array.from({ length: width }, (_, w) =>
              local.set(acc(r, w), f32x4.add(get(acc(r, w)), f32x4.mul(get(AV), get(bvs[w])))),
            ).flat(),
            ...inc(p, i32.const(4)),
          ]),
        ...inc(BPTR, get(NB)),
        ...inc(KK, i32.const(1)),
      ]),
      ...local.set(CROW, i32.add(i32.add(get(C), i32.mul(get(I), get(NB))), i32.shl(get(J), i32.const(2)))),
      ...each((r, w) => [
        ...v128.store(
          i32.add(get(CROW), i32.mul(i32.const(r), get(NB))),
          v128.select(f32x4.pmin(get(HIV), f32x4.pmax(get(LOV), get(acc(r, w)))), get(acc(r, w)), get(CLAMP)),
          16 * w,
        ),
      ]),
    ];
  };
  /** The columns J … J + 4·width − 1 of every row: tiles of 4 rows, then of one. */
  const panel = (width: number): Code => [
    ...local.set(I, i32.const(0)),
    ...whileBelow(i32.add(get(I), i32.const(3)), get(M), [...tile(4, width), ...inc(I, i32.const(4))]),
    ...whileBelow(get(I), get(M), [...tile(1, width), ...inc(I, i32.const(1))]),
    ...inc(J, i32.const(4 * width)),
  ];
  const body = [
    ...local.set(NB, i32.shl(get(N), i32.const(2))),
    ...local.set(KB, i32.shl(get(K), i32.const(2))),
    ...local.set(LOV, f32x4.splatOf(get(LO))),
    ...local.set(HIV, f32x4.splatOf(get(HI))),
    ...local.set(J, i32.const(0)),
    ...whileBelow(i32.add(get(J), i32.const(7)), get(N), panel(2)),
    ...whileBelow(i32.add(get(J), i32.const(3)), get(N), panel(1)),
    // the last N mod 4 columns as part of the last four, whose others are written again, the same
    ...whileBelow(get(J), get(N), [...local.set(J, i32.sub(get(N), i32.const(4))), ...panel(1)]),
    ...i32.const(0),
  ];
  return {
    name: 'gemm',
    params: [...new Array(9).fill(I32), F32, F32],
    result: I32,
    locals: [...new Array(11).fill(I32), ...new Array(13).fill(V128)],
    body,
  };
}

const denseMatMulSimd = simdModule<{ gemm: (...args: number[]) => number }>('dense-matmul', () => [gemm()], ['gemm']);
/** Turns the SIMD kernel off (and on again): XNNPACK runs, for tests and benchmarks to compare. */
export const setDenseMatMul = denseMatMulSimd.setEnabled;

/** The clamp bounds of TF.js's fused activations that XNNPACK applies, by activation name. */
const BOUNDS: Record<string, [number, number] | null> = { linear: null, relu: [0, Infinity], relu6: [0, 6] };

/**
 * Whether XNNPACK's product of `work` multiply-adds would run on its thread pool (set by the
 * backend): then, for many rows, its threads gain more than its packing of B costs where this
 * kernel has one thread.
 */
export type XnnpackOnPool = (work: number) => boolean;

/** Rows from which XNNPACK on a pool of threads beats this kernel on one thread despite packing B. */
const POOLED_MIN_ROWS = 160;
/** Multiply-adds from which a product is split with the helper thread (below, waking it costs more). */
const SPLIT_MIN_WORK = 1 << 22;
/** Multiply-adds from which XNNPACK's blocking for the caches beats this kernel on one thread. */
const ONE_THREAD_MAX_WORK = 1 << 26;

/**
 * c = clamp(a·b + bias) for the heap's float32 a [M, K] and b [K, N] (any leading axes of one
 * matrix; no transpose), in SIMD, shaped [...outer, M, N]; null where the kernel does not apply or
 * XNNPACK is faster (the caller then runs XNNPACK's).
 */
export function denseMatMul(
  backend: WasmBackend,
  a: TensorInfo,
  b: TensorInfo,
  bias: TensorInfo | undefined,
  activation: string,
  outer: number[],
  xnnpackOnPool: XnnpackOnPool,
): TensorInfo | null {
  const heap = heapOf(backend);
  const simd = denseMatMulSimd.on(heap);
  const bounds = BOUNDS[activation];
  if (!simd || bounds === undefined || a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  const [M, K] = a.shape.slice(-2);
  const N = b.shape[b.shape.length - 1];
  const work = M * N * K;
  if (work === 0 || N < 4 || (bias && (bias.dtype !== 'float32' || bias.shape.length !== 1 || bias.shape[0] !== N)))
    return null;
  if (work > ONE_THREAD_MAX_WORK) return null;
  const helper = work >= SPLIT_MIN_WORK && M >= 8 ? denseMatMulSimd.helper(heap) : null;
  if (!helper && M >= POOLED_MIN_ROWS && xnnpackOnPool(work)) return null;
  const out = backend.makeOutput([...outer, M, N], 'float32');
  const av = backend.typedArrayFromHeap(a) as Float32Array;
  const bv = backend.typedArrayFromHeap(b) as Float32Array;
  const biasView = bias ? (backend.typedArrayFromHeap(bias) as Float32Array) : null;
  const cv = backend.typedArrayFromHeap(out) as Float32Array;
  const [lo, hi] = bounds ?? [-Infinity, Infinity];
  /** The kernel's arguments for rows from..to (the rows' entries of a and c start later). */
  const rows = (from: number, to: number) => [
    av.byteOffset + 4 * from * K,
    bv.byteOffset,
    biasView?.byteOffset ?? 0,
    cv.byteOffset + 4 * from * N,
    to - from,
    N,
    K,
    biasView ? 1 : 0,
    bounds ? 1 : 0,
  ];
  if (helper) {
    // the helper thread takes the lower rows, from a multiple of 4 near the middle
    const half = ((M >> 1) + 3) & ~3;
    helper.split('gemm', [...rows(0, half), lo, hi], [...rows(half, M), lo, hi]);
  } else simd.gemm(...rows(0, M), lo, hi);
  return out;
}

/** The _FusedMatMul kernel function wrapping TF.js's `original`: ours where it applies, TF.js's elsewhere. */
export function simdFusedMatMul(original: KernelFunc, xnnpackOnPool: XnnpackOnPool): KernelFunc {
  return (args) => {
    const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, TensorInfo | undefined>;
    const { transposeA, transposeB, activation } = args.attrs as {
      transposeA: boolean;
      transposeB: boolean;
      activation: string;
    };
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
      return original(args);
    const backend = args.backend as unknown as WasmBackend;
    return denseMatMul(backend, a, b, bias, activation, [1], xnnpackOnPool) ?? original(args);
  };
}
