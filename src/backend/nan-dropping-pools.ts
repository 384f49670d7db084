// TF.js 4.22's pools lose a NaN in a window: wasm's AvgPool gives −∞ (XNNPACK clamps its output as
// relu's clamp does), also where the window's sum is NaN from a +∞ and a −∞, and cpu's MaxPool the
// largest other entry (its `>` never takes NaN), where PyTorch's is NaN. The replacements run
// TF.js's kernel and then set to NaN each output entry whose window holds a NaN of x (or, for the
// mean, both infinities). The check is in the kernel, so a compiled step's replays, which call the
// kernels alone, repair their windows as the eager step does. (wasm's MaxPool is tapegrad's own,
// which keeps NaN itself: wasm-max-pool.ts.)
import { backend_util, type KernelBackend, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { replaceKernel, type WasmHeapBackend } from './kernel-replacement.js';
import { holdsNonFinite } from './wasm-float-scans.js';

/** A pool's attributes, as TF.js's MaxPool and AvgPool take them. */
export interface PoolAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** Where a pool of x with `attrs` places its windows (TF.js's own computation). */
export function poolInfo(shape: number[], attrs: PoolAttrs): backend_util.Conv2DInfo {
  return backend_util.computePool2DInfo(
    shape as [number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
}

/**
 * Sets to NaN each output entry of a pool whose window (as `info` places it) holds a NaN of x or,
 * where `infinitiesCancel` (a mean: +∞ and −∞ in one sum), both a +∞ and a −∞.
 */
export function nanWindows(
  xs: Float32Array,
  shape: number[],
  ys: Float32Array,
  info: backend_util.Conv2DInfo,
  infinitiesCancel: boolean,
): void {
  const [, H, W, C] = shape;
  const { outHeight: Ho, outWidth: Wo, strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
  const { top, left } = info.padInfo;
  // per output entry: 1 its window holds a NaN, 2 a +∞, 4 a −∞
  const seen = new Uint8Array(ys.length);
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i];
    const bit = Number.isNaN(x) ? 1 : !infinitiesCancel || Number.isFinite(x) ? 0 : x > 0 ? 2 : 4;
    if (bit === 0) continue;
    const c = i % C;
    const w = Math.floor(i / C) % W;
    const h = Math.floor(i / (C * W)) % H;
    const n = Math.floor(i / (C * W * H));
    // the windows (oh, ow) with oh·sh − top ≤ h < oh·sh − top + kh, and likewise along w
    for (let oh = Math.max(0, Math.ceil((h + top - kh + 1) / sh)); oh < Ho && oh * sh - top <= h; oh++)
      for (let ow = Math.max(0, Math.ceil((w + left - kw + 1) / sw)); ow < Wo && ow * sw - left <= w; ow++)
        seen[((n * Ho + oh) * Wo + ow) * C + c] |= bit;
  }
  for (let k = 0; k < ys.length; k++) if (seen[k] & 1 || seen[k] === 6) ys[k] = Number.NaN;
}

/**
 * TF.js's pool `original` on args, then each output entry whose window holds a NaN of x (or, where
 * `infinitiesCancel`, both infinities) set to NaN, where mayHoldNaN(xs, ys) says a window may have
 * dropped one. `view` gives a tensor's float32s in place; the views are taken after the kernel (a
 * wasm heap that grew detached older ones).
 */
export function poolKeepingNaN(
  original: KernelFunc,
  args: Parameters<KernelFunc>[0],
  view: (t: TensorInfo) => Float32Array,
  mayHoldNaN: (xs: Float32Array, ys: Float32Array) => boolean,
  infinitiesCancel = false,
): TensorInfo {
  const out = original(args) as TensorInfo;
  const x = args.inputs.x as TensorInfo;
  // a 1×1 pool may be x itself (out shares its data): its NaNs are there already
  if (x.dtype !== 'float32' || x.shape.length !== 4 || out.dataId === x.dataId) return out;
  const [xs, ys] = [view(x), view(out)];
  if (mayHoldNaN(xs, ys))
    nanWindows(xs, x.shape, ys, poolInfo(x.shape, args.attrs as unknown as PoolAttrs), infinitiesCancel);
  return out;
}

/** What the cpu replacement reads of TF.js's cpu backend, whose class is not exported. */
interface CpuBackend extends KernelBackend {
  data: { get(dataId: object): { values: unknown } };
}

/** Replaces `backend`'s pools that drop NaN (wasm: AvgPool; cpu: MaxPool) by TF.js's, then the NaN windows (once). */
export function fixNaNDroppingPools(backend: 'cpu' | 'wasm'): void {
  if (backend === 'wasm') {
    replaceKernel('wasm', 'AvgPool', (original) => (args) => {
      const b = args.backend as WasmHeapBackend;
      // a window whose sum is NaN (a NaN, or +∞ and −∞) came out ±∞ (or NaN): x is scanned only
      // when y holds one
      return poolKeepingNaN(
        original,
        args,
        (t) => b.typedArrayFromHeap(t) as Float32Array,
        (xs, ys) => holdsNonFinite(b, ys) && holdsNonFinite(b, xs),
        true,
      );
    });
    return;
  }
  replaceKernel('cpu', 'MaxPool', (original) => (args) => {
    const b = args.backend as CpuBackend;
    return poolKeepingNaN(
      original,
      args,
      (t) => b.data.get(t.dataId).values as Float32Array,
      (xs) => xs.some(Number.isNaN),
    );
  });
}
