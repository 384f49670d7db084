// What the linear-algebra kernels share: reading and writing a backend's data from JavaScript,
// the batch bookkeeping of [..., n, n] inputs, and the small frame of a WGSL program for webgpu.
import type { DataType, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { wgslProgram, wgslUniforms, type WgslProgram, type WebGPUBackendLike } from './gpu-program.js';
export type { WgslProgram, WebGPUBackendLike };

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
 * A JavaScript kernel's loop over the matrices of x ([..., r, c]): `each(a, inOff, out, outOff)`
 * writes the result of the matrix at a[inOff..] (float64) as the [rows, cols] block at out[outOff..];
 * the output is [..., rows, cols] float32.
 */
export function eachMatrix(
  backend: unknown,
  x: TensorInfo,
  [rows, cols]: [number, number],
  each: (a: Float64Array, inOff: number, out: Float64Array, outOff: number) => void,
): TensorInfo {
  const [r, c] = x.shape.slice(-2);
  const count = batchSize(x.shape);
  const a = readF64(backend, x);
  const out = new Float64Array(count * rows * cols);
  for (let b = 0; b < count; b++) each(a, b * r * c, out, b * rows * cols);
  return writeF32(backend, [...x.shape.slice(0, -2), rows, cols], out);
}

/** A linear-algebra kernel's configs: its JavaScript function on JS_BACKENDS, its WGSL one on webgpu. */
export function linalgKernelConfigs(kernelName: string, js: KernelFunc, webgpu: KernelFunc): KernelConfig[] {
  return [
    ...JS_BACKENDS.map((backendName) => ({ kernelName, backendName, kernelFunc: js })),
    { kernelName, backendName: 'webgpu', kernelFunc: webgpu },
  ];
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
  return itemsProgram(key, outputShape, count, variableNames, uniforms, body);
}

/**
 * Runs a per-matrix program whose matrices need scratch rows beyond the output's: `program` writes
 * [..., rows, n] for each matrix of x with its result in the first `keep` rows, and a second
 * program copies those rows out as [..., keep, n]. Its int32 uniforms: `ints`.
 */
export function runKeepingRows(
  backend: unknown,
  program: WgslProgram,
  x: TensorInfo,
  ints: number[],
  keep: number,
): TensorInfo {
  const gpu = backend as WebGPUBackendLike;
  const [rows, n] = program.outputShape.slice(-2);
  const scratch = runWithInts(gpu, program, [x], ints);
  // out[b, r, c] = scratch[b, r, c] for r < keep: flat index e ↦ e + b·(rows − keep)·n, b = e / (keep·n)
  const copy = wgslProgram(
    'tapegradKeepRows',
    [...program.outputShape.slice(0, -2), keep, n],
    ['scratch'],
    ['kept', 'dropped'],
    `
    let b = index / i32(uniforms.kept);
    setOutputAtIndex(index, scratch[index + b * i32(uniforms.dropped)]);`,
  );
  const out = gpu.runWebGPUProgram(copy, [scratch], 'float32', wgslUniforms([keep * n, (rows - keep) * n]));
  gpu.disposeData(scratch.dataId);
  return out;
}

/**
 * Which webgpu program LinalgLu, LinalgCholesky and LinalgTriangularSolve run: one invocation per
 * matrix (per right-hand column for the solve; right for many small matrices), or the blocked
 * programs (a few dispatches per block of columns, each spread over the whole matrix: right for
 * large ones); 'auto' chooses by size and batch.
 */
export type GpuFactorPath = 'auto' | 'per-matrix' | 'blocked';

/** The blocked programs from this order on, with fewer items (matrices, or solve columns) than this. */
export const BLOCKED_MIN_N = 64;
export const BLOCKED_MAX_BATCH = 16384;
/**
 * The blocked factorizations' trailing update (A22 − L21·U12, or A22 − L21·L21ᵀ) runs as a product
 * on the tiled matmul (kernels/webgpu-matmul.ts) where the trailing block has at least this many
 * rows and columns (the size from which that product runs its tiled program), else one thread per
 * entry looping over the block's columns.
 */
export const TRAILING_MATMUL_MIN = 64;

let factorPath: GpuFactorPath = 'auto';
let factorBlock = 32;
let trailingMatMulMin = TRAILING_MATMUL_MIN;

/**
 * Sets the webgpu factorizations' and triangular solve's path and block size, and the order of the
 * trailing block from which the blocked factorizations update it through the tiled matmul
 * (Infinity: never; tests, benchmarks).
 */
export function setGpuFactorPath(path: GpuFactorPath, blockSize = 32, trailingMatMulFrom = TRAILING_MATMUL_MIN): void {
  if (!['auto', 'per-matrix', 'blocked'].includes(path)) throw new Error(`unknown factorization path '${path}'`);
  if (!Number.isInteger(blockSize) || blockSize < 1 || blockSize > 64)
    throw new Error(`the block size must be an integer in 1..64, got ${blockSize}`);
  if (!(trailingMatMulFrom >= 1)) throw new Error(`trailingMatMulFrom must be at least 1, got ${trailingMatMulFrom}`);
  factorPath = path;
  factorBlock = blockSize;
  trailingMatMulMin = trailingMatMulFrom;
}

let choleskyLowerProduct = true;
/**
 * Whether blocked Cholesky's trailing product L21·L21ᵀ computes only its lower triangle (the
 * default: the update reads no other) or the whole square ('full': to time the difference).
 */
export function setCholeskyProductTriangle(which: 'lower' | 'full'): void {
  if (which !== 'lower' && which !== 'full')
    throw new Error(`the product's triangle is 'lower' or 'full', got '${which}'`);
  choleskyLowerProduct = which === 'lower';
}
export const choleskyProductLowerOnly = (): boolean => choleskyLowerProduct;

/** Whether a blocked factorization's trailing block of rows × cols is updated through the tiled matmul. */
export const trailingMatMul = (rows: number, cols: number): boolean => Math.min(rows, cols) >= trailingMatMulMin;

/**
 * The block size of the blocked program for `count` items (matrices, or solve columns) of order
 * n, or 0 for one thread per item. One thread per item leaves most of a GPU idle unless they fill it;
 * the blocked programs pay about three dispatches per block of columns, so small orders keep one.
 */
export function gpuFactorBlock(n: number, count: number): number {
  if (factorPath === 'per-matrix' || n <= 1) return 0;
  if (factorPath === 'blocked') return factorBlock;
  return n >= BLOCKED_MIN_N && count < BLOCKED_MAX_BATCH ? factorBlock : 0;
}

/**
 * A program with one invocation per item (`items` of them), in workgroups of `workgroup`: a flat
 * layout, so that the backend calls main(globalId.x), with the dispatch sized to the items, not
 * from the output's shape; the shader indexes the buffers itself. Items past one dispatch
 * dimension (entries of a whole output, in the blocked factorizations' steps) are spread over y
 * and z by the backend.
 */
export function itemsProgram(
  key: string,
  outputShape: number[],
  items: number,
  variableNames: string[],
  uniforms: string,
  body: string,
  workgroup = 64,
): WgslProgram {
  return {
    outputShape,
    shaderKey: `${key}_${workgroup}`,
    dispatchLayout: { x: [0] },
    dispatch: [Math.ceil(items / workgroup), 1, 1],
    variableNames,
    uniforms,
    workgroupSize: [workgroup, 1, 1],
    getUserCode: () => body,
  };
}

/** One step of a blocked program: its WGSL, with one invocation per item (itemsProgram). */
export interface BlockStep {
  key: string;
  /** The output's shape (float32). */
  shape: number[];
  items: number;
  wgsl: string;
  /** Invocations a workgroup; 64 unless given. */
  workgroup?: number;
}

/**
 * Runs the steps of a blocked program on webgpu: each with its inputs named as its WGSL reads them,
 * and the int32 uniforms that `uniforms` declares, valued `ints(step.items)` in that order.
 */
export function blockStepRunner(
  gpu: WebGPUBackendLike,
  uniforms: string,
  ints: (items: number) => number[],
): (step: BlockStep, inputs: Record<string, TensorInfo>) => TensorInfo {
  return (step, inputs) =>
    runWithInts(
      gpu,
      itemsProgram(step.key, step.shape, step.items, Object.keys(inputs), uniforms, step.wgsl, step.workgroup),
      Object.values(inputs),
      ints(step.items),
    );
}

/**
 * The webgpu kernel of a factorization (LinalgLu, LinalgCholesky) of x [..., n, n]: the blocked
 * programs (`blocked`, with the block size) where gpuFactorBlock chooses them, else `perMatrix`,
 * WGSL with one invocation per matrix writing [..., n, n + extraColumns] (int32 uniforms n, count).
 */
export function factorizationWebgpu(
  key: string,
  perMatrix: string,
  extraColumns: number,
  blocked: (gpu: WebGPUBackendLike, x: TensorInfo, n: number, count: number, nb: number) => TensorInfo,
): KernelFunc {
  return ({ inputs, backend }) => {
    const x = inputs.x as TensorInfo;
    const n = x.shape[x.shape.length - 1];
    const count = batchSize(x.shape);
    const nb = gpuFactorBlock(n, count);
    if (nb > 0 && count > 0) return blocked(backend as WebGPUBackendLike, x, n, count, nb);
    const outShape = [...x.shape.slice(0, -1), n + extraColumns];
    const program = perItemProgram(key, outShape, count, ['x'], 'n : i32, count : i32,', perMatrix);
    return runWithInts(backend, program, [x], [n, count]);
  };
}

/** Runs a program on webgpu with int32 uniforms, in the order its `uniforms` declares them. */
export function runWithInts(backend: unknown, program: WgslProgram, inputs: TensorInfo[], ints: number[]): TensorInfo {
  return (backend as WebGPUBackendLike).runWebGPUProgram(
    program,
    inputs,
    'float32',
    ints.map((v) => ({ type: 'int32' as const, data: [v] })),
  );
}
