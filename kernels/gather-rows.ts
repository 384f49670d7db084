// wasm's GatherV2 (batchDims 0, float32 or int32) as copies of whole runs of the heap: TF.js 4.22's
// kernel computes every output entry's source index apart, some 40 ns an entry, so an embedding
// lookup of 2,048 rows of 64 took 5 ms; one copy per index is the same values in a fraction of that.
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';

/** What the kernel uses of TF.js's wasm backend, whose class is not exported. */
interface WasmBackend {
  makeOutput(shape: number[], dtype: 'float32' | 'int32'): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

let enabled = true;

/** Turns the copying kernel off (and on again): TF.js's runs, for tests and benchmarks to compare. */
export function setGatherRows(on: boolean): void {
  enabled = on;
}

/**
 * The GatherV2 kernel function wrapping TF.js's `original`: runs of x copied per index where x is
 * float32 or int32, batchDims is 0 and every index is in range; TF.js's kernel otherwise (its
 * errors included).
 */
export function gatherRows(original: KernelFunc): KernelFunc {
  return (args) => {
    const { x, indices } = args.inputs as { x: TensorInfo; indices: TensorInfo };
    const { axis, batchDims } = args.attrs as { axis: number | number[]; batchDims?: number };
    const ax = typeof axis === 'number' ? (axis < 0 ? axis + x.shape.length : axis) : Number.NaN;
    if (
      !enabled ||
      (batchDims ?? 0) !== 0 ||
      !(ax >= 0 && ax < x.shape.length) ||
      (x.dtype !== 'float32' && x.dtype !== 'int32') ||
      indices.dtype !== 'int32'
    )
      return original(args);
    const backend = args.backend as unknown as WasmBackend;
    const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
    const outer = size(x.shape.slice(0, ax));
    const rows = x.shape[ax];
    const run = size(x.shape.slice(ax + 1));
    const idx = backend.typedArrayFromHeap(indices) as Int32Array;
    for (let i = 0; i < idx.length; i++) if (!(idx[i] >= 0 && idx[i] < rows)) return original(args);
    const out = backend.makeOutput([...x.shape.slice(0, ax), ...indices.shape, ...x.shape.slice(ax + 1)], x.dtype);
    // views after the allocation, which may grow (and so move) the heap
    const src = backend.typedArrayFromHeap(x) as Float32Array | Int32Array;
    const dst = backend.typedArrayFromHeap(out) as Float32Array | Int32Array;
    const at = backend.typedArrayFromHeap(indices) as Int32Array;
    const n = at.length;
    for (let o = 0, w = 0; o < outer; o++)
      for (let i = 0; i < n; i++, w += run) {
        const from = (o * rows + at[i]) * run;
        if (run === 1) dst[w] = src[from];
        else dst.set(src.subarray(from, from + run), w);
      }
    return out;
  };
}
