// TF.js 4.22's wasm Slice reads its input with readSync, which copies the whole input out of the
// heap before taking the slice: one row of a [T, n] tensor costs T·n, so a loop that slices each
// step of a sequence (unbind, split: TF.js's Unpack and SplitV slice once per part) is quadratic
// in T. These kernels copy the same entries from a view of the heap: their cost is the slice's size.
import * as tf from '@tensorflow/tfjs-core';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { replaceWasmKernel, type WasmHeapBackend } from './kernel-replacement.js';

type Heap = Float32Array | Int32Array | Uint8Array;

/**
 * Copies the slice at `begin` of size `size` out of x (row-major, of `shape`) into out: in runs as
 * long as the trailing axes the slice takes whole allow.
 */
export function copySlice(x: Heap, shape: number[], begin: number[], size: number[], out: Heap): void {
  const rank = shape.length;
  if (rank === 0) {
    out[0] = x[0];
    return;
  }
  const strides = new Array<number>(rank);
  strides[rank - 1] = 1;
  for (let i = rank - 2; i >= 0; i--) strides[i] = strides[i + 1] * shape[i + 1];
  // the axes after k are taken whole: each run is size[k] rows of them, contiguous in x
  let k = rank - 1;
  while (k > 0 && size[k] === shape[k]) k--;
  const run = size[k] * strides[k];
  let count = 1;
  for (let i = 0; i < k; i++) count *= size[i];
  const idx = new Array<number>(k).fill(0);
  for (let c = 0, o = 0; c < count; c++, o += run) {
    let at = begin[k] * strides[k];
    for (let i = 0; i < k; i++) at += (begin[i] + idx[i]) * strides[i];
    out.set(x.subarray(at, at + run), o);
    for (let i = k - 1; i >= 0 && ++idx[i] === size[i]; i--) idx[i] = 0;
  }
}

/** The slice of x at `begin` of size `size`, made on the backend's heap as a tensor of `shape` (the size's entries). */
function sliceOf(backend: WasmHeapBackend, x: TensorInfo, begin: number[], size: number[], shape = size): TensorInfo {
  const out = backend.makeOutput(shape, x.dtype);
  if (size.some((d) => d === 0)) return out;
  // views after the allocation, which may grow (and so move) the heap
  copySlice(backend.typedArrayFromHeap(x), x.shape, begin, size, backend.typedArrayFromHeap(out));
  return out;
}

/**
 * Replaces wasm's Slice, and Unpack and SplitV (which call TF.js's slice directly), by kernels that
 * read their input in place rather than copying it whole (once).
 */
export function speedUpWasmSlice(): void {
  replaceWasmKernel(
    'Slice',
    (original): KernelFunc =>
      (args) => {
        const x = args.inputs.x as TensorInfo;
        if (x.dtype === 'string') return original(args);
        const { begin, size } = args.attrs as unknown as { begin: number | number[]; size?: number | number[] };
        const [b, s] = tf.slice_util.parseSliceParams(x, begin, size);
        return sliceOf(args.backend as WasmHeapBackend, x, b, s);
      },
  );
  replaceWasmKernel(
    'Unpack',
    (original): KernelFunc =>
      (args) => {
        const x = args.inputs.value as TensorInfo;
        if (x.dtype === 'string') return original(args);
        const rank = x.shape.length;
        const axis = ((args.attrs as unknown as { axis: number }).axis + rank) % rank;
        const shape = x.shape.filter((_, i) => i !== axis);
        const size = x.shape.map((d, i) => (i === axis ? 1 : d));
        return Array.from({ length: x.shape[axis] }, (_, k) =>
          sliceOf(
            args.backend as WasmHeapBackend,
            x,
            x.shape.map((_, i) => (i === axis ? k : 0)),
            size,
            shape,
          ),
        );
      },
  );
  replaceWasmKernel(
    'SplitV',
    (original): KernelFunc =>
      (args) => {
        const x = args.inputs.x as TensorInfo;
        if (x.dtype === 'string') return original(args);
        const attrs = args.attrs as unknown as { numOrSizeSplits: number | number[]; axis: number };
        const axis = tf.util.parseAxisParam(attrs.axis, x.shape)[0];
        const sizes = tf.backend_util.prepareSplitSize(x, attrs.numOrSizeSplits, axis);
        let at = 0;
        return sizes.map((n) => {
          const begin = x.shape.map((_, i) => (i === axis ? at : 0));
          at += n;
          return sliceOf(
            args.backend as WasmHeapBackend,
            x,
            begin,
            x.shape.map((d, i) => (i === axis ? n : d)),
          );
        });
      },
  );
}
