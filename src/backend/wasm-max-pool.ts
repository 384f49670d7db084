// wasm's MaxPool of 2×2 windows of stride 2 that tile x (the CNNs' pooling) as a WebAssembly SIMD
// loop of our own over the heap (a very large x shared with the helper thread by rows of windows):
// TF.js's (XNNPACK's) takes two to three times as long on one thread. TF.js's bits but for NaN: a
// window's maximum taken in row-major order as XNNPACK takes it, m = x₀, then m = (m < xᵢ ? xᵢ : m)
// (of ±0 the first stays), then clamped from below by −∞; a window holding NaN gives NaN, as
// PyTorch's (XNNPACK drops a NaN, or turns one that comes first into −∞). Other pools, and channel
// counts not a multiple of 4, go to TF.js's kernel, and then the windows holding NaN are set to NaN.
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { replaceWasmKernel, type WasmHeapBackend } from './kernel-replacement.js';
import { f32x4, I32, i32, local, V128, v128, type WasmFunction, whileBelow } from '../../kernels/wasm-encoder.js';
import { heapOf, simdModule } from '../../kernels/wasm-simd-module.js';
import { holdsNaN } from './wasm-float-scans.js';
import { type PoolAttrs, poolInfo, poolKeepingNaN } from './nan-dropping-pools.js';

/** Entries of x from which the SIMD loop runs (below, TF.js's kernel). */
export const MAX_POOL_SIMD_MIN = 1 << 14;
/**
 * Entries of x from which its rows of windows are shared with the helper thread: below, one thread
 * reads and writes as fast as two, and waking the helper costs more.
 */
export const MAX_POOL_SHARE_MIN = 1 << 21;

const get = local.get;
const inc = local.increment;

/**
 * maxPool(x, y, rows, wo, cBytes, rowBytes): y's `rows` rows of wo windows × cBytes / 4 channels,
 * each the maximum of the 2×2 window of x below it (x's rows rowBytes apart; byte addresses).
 */
function maxPool(): WasmFunction {
  const [X, Y, ROWS, WO, C_BYTES, ROW_BYTES] = [0, 1, 2, 3, 4, 5];
  const [R, J, CB, P, M, T, NAN] = [6, 7, 8, 9, 10, 11, 12];
  const at = (dx: number, dy: number) =>
    v128.load(
      i32.add(i32.add(get(P), get(CB)), i32.add(dx ? get(C_BYTES) : i32.const(0), dy ? get(ROW_BYTES) : i32.const(0))),
    );
  /** m = pmax(m, x) for the window's entry (dx, dy), its lanes that are NaN marked in NAN. */
  const next = (dx: number, dy: number) => [
    ...local.set(T, at(dx, dy)),
    ...local.set(M, f32x4.pmax(get(M), get(T))),
    ...local.set(NAN, v128.or(get(NAN), f32x4.ne(get(T), get(T)))),
  ];
  const window = [
    ...local.set(M, at(0, 0)),
    ...local.set(NAN, f32x4.ne(get(M), get(M))),
    ...next(1, 0),
    ...next(0, 1),
    ...next(1, 1),
    ...v128.store(
      i32.add(get(Y), get(CB)),
      v128.bitselect(f32x4.splat(Number.NaN), f32x4.pmax(f32x4.splat(Number.NEGATIVE_INFINITY), get(M)), get(NAN)),
    ),
  ];
  return {
    name: 'maxPool',
    params: [I32, I32, I32, I32, I32, I32],
    result: I32,
    locals: [I32, I32, I32, I32, V128, V128, V128],
    body: [
      ...local.set(R, i32.const(0)),
      ...whileBelow(get(R), get(ROWS), [
        ...local.set(P, get(X)),
        ...local.set(J, i32.const(0)),
        ...whileBelow(get(J), get(WO), [
          ...local.set(CB, i32.const(0)),
          ...whileBelow(get(CB), get(C_BYTES), [...window, ...inc(CB, i32.const(16))]),
          ...inc(P, i32.shl(get(C_BYTES), i32.const(1))),
          ...inc(Y, get(C_BYTES)),
          ...inc(J, i32.const(1)),
        ]),
        ...inc(X, i32.shl(get(ROW_BYTES), i32.const(1))),
        ...inc(R, i32.const(1)),
      ]),
      ...i32.const(0),
    ],
  };
}

const maxPoolModule = simdModule<{ maxPool: (...args: number[]) => number }>('max-pool', () => [maxPool()], [
  'maxPool',
]);
/** The module's bytes. */
export const simdMaxPoolModule = maxPoolModule.bytes;
/** Turns the SIMD loop off (and on again): TF.js's kernel runs, for tests and benchmarks to compare. */
export const setSimdMaxPool = maxPoolModule.setEnabled;

const pair = (v: number | [number, number]) => (typeof v === 'number' ? [v, v] : v);

/** Replaces wasm's MaxPool by the SIMD loop for 2×2 windows of stride 2 that tile a large float32 x (once). */
export function speedUpWasmMaxPool(): void {
  replaceWasmKernel(
    'MaxPool',
    (original): KernelFunc =>
      (args) => {
        const x = args.inputs.x as TensorInfo;
        const attrs = args.attrs as unknown as PoolAttrs;
        const { filterSize, strides } = attrs;
        const [kh, kw] = pair(filterSize);
        const [sh, sw] = pair(strides);
        const backend = args.backend as WasmHeapBackend;
        const heap = heapOf(backend);
        if (x.shape.length !== 4 || x.dtype !== 'float32') return original(args);
        const tfjs = () =>
          poolKeepingNaN(
            original,
            args,
            (t) => backend.typedArrayFromHeap(t) as Float32Array,
            (xs) => holdsNaN(backend, xs),
          );
        const [N, H, W, C] = x.shape;
        const square = kh === 2 && kw === 2 && sh === 2 && sw === 2 && H % 2 === 0 && W % 2 === 0 && C % 4 === 0;
        // windows that tile x: no padding, as TF.js works it out
        const info = square ? poolInfo(x.shape, attrs) : null;
        const p = info?.padInfo;
        const tiles =
          !!p && p.top + p.bottom + p.left + p.right === 0 && info!.outHeight * 2 === H && info!.outWidth * 2 === W;
        const simd = tiles && N * H * W * C >= MAX_POOL_SIMD_MIN ? maxPoolModule.on(heap) : null;
        if (!simd) return tfjs();
        const [Ho, Wo] = [H / 2, W / 2];
        const out = backend.makeOutput([N, Ho, Wo, C], 'float32');
        // the views are taken after the allocation: a heap that grew detached the old ones
        const xs = backend.typedArrayFromHeap(x) as Float32Array;
        const ys = backend.typedArrayFromHeap(out) as Float32Array;
        const [rowBytes, outRowBytes] = [4 * W * C, 4 * Wo * C];
        const rows = (from: number, to: number) => [
          xs.byteOffset + 2 * from * rowBytes,
          ys.byteOffset + from * outRowBytes,
          to - from,
          Wo,
          4 * C,
          rowBytes,
        ];
        const helper = N * H * W * C >= MAX_POOL_SHARE_MIN ? maxPoolModule.helper(heap) : null;
        if (helper) helper.range('maxPool', N * Ho, 1, rows);
        else simd.maxPool(...rows(0, N * Ho));
        return out;
      },
  );
}
