// What the linear-algebra kernels share: reading and writing a backend's data from JavaScript,
// the batch bookkeeping of [..., n, n] inputs, and the small frame of a WGSL program for webgpu.
import type { DataType, TensorInfo } from '@tensorflow/tfjs-core';
import type { WgslProgram } from './gpu-program.js';
export type { WgslProgram, WebGPUBackendLike } from './gpu-program.js';

/** The backends whose kernels run in JavaScript on the backend's data (webgl reads back from the GPU). */
export const JS_BACKENDS = ['cpu', 'wasm', 'webgl'] as const;

/** The part of a TF.js backend the JavaScript kernels use: every backend can read synchronously. */
interface DataBackend {
  readSync(dataId: object): unknown;
  makeTensorInfo?(shape: number[], dtype: DataType, values?: Float32Array | Int32Array): TensorInfo;
  makeOutput?(shape: number[], dtype: DataType, memoryOffset?: number, values?: Float32Array | Int32Array): TensorInfo;
}

/** An input's values, as float64 for the accumulations that follow. */
export function readF64(backend: unknown, x: TensorInfo): Float64Array {
  const values = (backend as DataBackend).readSync(x.dataId) as ArrayLike<number>;
  return Float64Array.from(values);
}

/** A new backend tensor holding `values`. cpu, webgl and webgpu call it makeTensorInfo; wasm, makeOutput. */
export function writeF32(backend: unknown, shape: number[], values: Float64Array | Float32Array): TensorInfo {
  const b = backend as DataBackend;
  const data = values instanceof Float32Array ? values : Float32Array.from(values);
  if (b.makeTensorInfo) return b.makeTensorInfo(shape, 'float32', data);
  if (b.makeOutput) return b.makeOutput(shape, 'float32', undefined, data);
  throw new Error('this backend can neither makeTensorInfo nor makeOutput');
}

/** Number of matrices in a [..., r, c] tensor. */
export function batchSize(shape: readonly number[]): number {
  return shape.slice(0, -2).reduce((a, b) => a * b, 1);
}

/**
 * The broadcast batch shape of two [..., r, c] tensors and, for each output matrix, the index of
 * the matrix it reads in each input (NumPy's broadcasting rules on the leading axes).
 */
export function broadcastBatches(
  aShape: readonly number[],
  bShape: readonly number[],
): { batch: number[]; aIndex: Int32Array; bIndex: Int32Array } {
  const a = aShape.slice(0, -2);
  const b = bShape.slice(0, -2);
  const rank = Math.max(a.length, b.length);
  const pa = [...Array(rank - a.length).fill(1), ...a];
  const pb = [...Array(rank - b.length).fill(1), ...b];
  const batch = pa.map((d, i) => {
    if (d !== pb[i] && d !== 1 && pb[i] !== 1)
      throw new Error(`batch dimensions [${a}] and [${b}] cannot be broadcast`);
    return Math.max(d, pb[i]);
  });
  const count = batch.reduce((x, y) => x * y, 1);
  const aIndex = new Int32Array(count);
  const bIndex = new Int32Array(count);
  for (let o = 0; o < count; o++) {
    // Walk the output's multi-index from the last axis, accumulating each input's flat index.
    let rest = o;
    let ia = 0,
      ib = 0,
      sa = 1,
      sb = 1;
    for (let d = rank - 1; d >= 0; d--) {
      const c = rest % batch[d];
      rest = Math.floor(rest / batch[d]);
      if (pa[d] !== 1) ia += c * sa;
      if (pb[d] !== 1) ib += c * sb;
      sa *= pa[d];
      sb *= pb[d];
    }
    aIndex[o] = ia;
    bIndex[o] = ib;
  }
  return { batch, aIndex, bIndex };
}

/**
 * A program with one invocation per item of `count` (a matrix, or a matrix's column), in
 * workgroups of 64: `main(index)` receives the item's index. The backend declares the input
 * buffers (named by `variableNames`), `result`, and the struct `uniforms` (with `NAN`). Shaders
 * read float inputs as f32(x[i]): a float32 tensor cast from int32 keeps its i32 buffer there.
 */
export function perItemProgram(
  key: string,
  outputShape: number[],
  count: number,
  variableNames: string[],
  uniforms: string,
  body: string,
): WgslProgram {
  const workgroupSize: [number, number, number] = [64, 1, 1];
  return {
    outputShape,
    shaderKey: key,
    // A flat layout: the backend then calls main(globalId.x). The dispatch is sized to `count`
    // here, not from the output's shape, and the shader indexes the buffers itself.
    dispatchLayout: { x: [0] },
    dispatch: [Math.ceil(count / workgroupSize[0]), 1, 1],
    variableNames,
    uniforms,
    workgroupSize,
    getUserCode: () => body,
  };
}
