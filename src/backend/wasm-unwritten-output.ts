// TF.js 4.22's wasm kernels return their output unwritten when XNNPACK refuses an operator (a
// binary op or a pad of rank above 6, a reduction of an empty axis, a matmul with an inner
// dimension of 0) or when a kernel meets a dtype it lacks (exp of a bool tensor): they print
// "XNN status … not successful" or "Unknown dtype" on stderr and return whatever the heap held.
//
// Kernels with an input of no entries go to cpu at once: some trap the module there (goesToCpu).
//
// The guard: every output a wasm kernel allocates gets a marker in its first entry; a kernel that
// returns with the marker still there did not write its output, and is run again on the cpu
// backend (its result copied back to wasm). A kernel that writes the marker itself (a NaN with this
// exact payload, copied from an input) costs one rerun, never a wrong value.
import * as tf from '@tensorflow/tfjs-core';
import type { KernelBackend, KernelConfig, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { WasmHeapBackend } from './kernel-replacement.js';

/** A signalling NaN as float32, an unlikely int32; one byte for bool (whose entries are 0 or 1). */
const MARK_WORD = 0x7fa5a5a5;
const MARK_BYTE = 0xa5;

interface WasmBackendLike extends WasmHeapBackend {
  wasm: WasmHeapBackend['wasm'] & { HEAPU8: Uint8Array; HEAP32: Int32Array };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
}

/**
 * Kernels whose XNNPACK operator refuses inputs of rank above 6 (XNN_MAX_TENSOR_DIMS): they go to
 * cpu at once, without the failed attempt's line on stderr. Tile's adjoint reaches rank 8.
 */
const BEYOND_RANK_6 = new Set(['Add', 'Sub', 'Multiply', 'RealDiv', 'PadV2']);

/**
 * Whether a kernel goes to cpu before it runs: an input beyond rank 6 for the operators above, or
 * an input with no entries where cpu has the kernel too. wasm's kernels meet empty inputs badly:
 * reductions and scans along an axis of an empty tensor ([0,3,3] summed over axis 1) trap the
 * module (an integer division by zero), GatherV2 from an empty tensor has given a wrong shape
 * ([1,1,0,2] for [0,2] gathered by [0], as the heap lay); there is nothing to compute, so cpu does
 * it. It runs before every wasm kernel, hence one pass over the inputs and no allocation.
 */
function goesToCpu(name: string, inputs: NamedTensorInfoMap): boolean {
  const rankLimited = BEYOND_RANK_6.has(name);
  let empty = false;
  for (const key in inputs) {
    const shape = inputs[key]?.shape;
    if (shape === undefined) continue;
    if (rankLimited && shape.length > 6) return true;
    if (!empty && shape.includes(0)) empty = true;
  }
  return empty && tf.getKernel(name, 'cpu') !== undefined;
}

/** Outputs marked as they were allocated and not yet checked. */
const marked = new WeakSet<object>();
const wrapped = new WeakSet<KernelConfig>();
const guarded = new WeakSet<object>();
/** While set, kernels run as TF.js ships them, outputs still marked (tests use it to see whether TF.js's own kernel is still wrong). */
let bypass = false;

/** Runs f with the guard off: TF.js's wasm kernels exactly as they are. */
export function withRawWasmKernels<T>(f: () => T): T {
  bypass = true;
  try {
    return f();
  } finally {
    bypass = false;
  }
}

/** Installs the guard on the wasm backend instance and wraps every wasm kernel registered so far. */
export function guardWasmUnwrittenOutputs(backend: KernelBackend): void {
  const wasm = backend as WasmBackendLike;
  if (!guarded.has(wasm)) {
    guarded.add(wasm);
    const makeOutput = wasm.makeOutput.bind(wasm);
    wasm.makeOutput = (shape, dtype, memoryOffset, values) => {
      const out = makeOutput(shape, dtype, memoryOffset, values);
      if (memoryOffset == null && values == null && tf.util.sizeFromShape(shape) > 0) {
        const at = wasm.dataIdMap.get(out.dataId)!.memoryOffset;
        if (dtype === 'bool') wasm.wasm.HEAPU8[at] = MARK_BYTE;
        else wasm.wasm.HEAP32[at >>> 2] = MARK_WORD;
        marked.add(out.dataId);
      }
      return out;
    };
  }
  for (const config of tf.getKernelsForBackend('wasm')) {
    if (wrapped.has(config)) continue;
    wrapped.add(config);
    const run = config.kernelFunc;
    // The registry hands out this same object on every call, so replacing its function reroutes them all.
    (config as { kernelFunc: KernelConfig['kernelFunc'] }).kernelFunc = (args) => {
      const backend = args.backend as WasmBackendLike;
      if (!bypass && goesToCpu(config.kernelName, args.inputs)) {
        // in the form cpu's kernel returns: an array for kernels of several outputs (Unpack), even of one
        const again = runOnCpu(config.kernelName, args.inputs, args.attrs, backend);
        return again.several ? again : again[0];
      }
      const result = run(args);
      if (bypass) return result;
      const outs = Array.isArray(result) ? result : [result];
      if (!outs.some((o) => unwritten(backend, o))) return result;
      for (const o of outs) backend.disposeData(o.dataId, true);
      const again = runOnCpu(config.kernelName, args.inputs, args.attrs, backend);
      return Array.isArray(result) ? again : again[0];
    };
  }
}

function unwritten(backend: WasmBackendLike, t: TensorInfo): boolean {
  if (!marked.has(t.dataId)) return false;
  marked.delete(t.dataId);
  return holdsMark(backend, t);
}

function holdsMark(backend: WasmBackendLike, t: TensorInfo): boolean {
  const at = backend.dataIdMap.get(t.dataId)?.memoryOffset;
  if (at === undefined) return false;
  return t.dtype === 'bool' ? backend.wasm.HEAPU8[at] === MARK_BYTE : backend.wasm.HEAP32[at >>> 2] === MARK_WORD;
}

/** Whether a tensor made by a kernel under withRawWasmKernels still holds the mark: its kernel never wrote it. */
export function leftUnwritten(t: tf.Tensor): boolean {
  return holdsMark(tf.backend() as WasmBackendLike, t as unknown as TensorInfo);
}

/** The kernel run on the cpu backend with copies of its inputs; its results copied to wasm. */
function runOnCpu(
  name: string,
  inputs: NamedTensorInfoMap,
  attrs: unknown,
  wasm: WasmBackendLike,
): TensorInfo[] & { several: boolean } {
  const cpu = tf.engine().findBackend('cpu');
  const kernel = tf.getKernel(name, 'cpu');
  if (!cpu || !kernel) {
    throw new Error(
      `the wasm kernel ${name} failed (its output was left unwritten) and the cpu backend has no ${name} to run instead`,
    );
  }
  const copies: TensorInfo[] = [];
  // Concat, AddN and Pack take their inputs as an array, the others as named inputs
  const cpuInputs: NamedTensorInfoMap = (Array.isArray(inputs) ? [] : {}) as NamedTensorInfoMap;
  for (const [key, t] of Object.entries(inputs)) {
    if (!t) continue;
    const copy = {
      dataId: cpu.write(wasm.readSync(t.dataId) as tf.backend_util.BackendValues, t.shape, t.dtype),
      shape: t.shape,
      dtype: t.dtype,
    };
    copies.push(copy);
    cpuInputs[key] = copy;
  }
  try {
    const result = kernel.kernelFunc({ inputs: cpuInputs, attrs: attrs as tf.NamedAttrMap, backend: cpu });
    const cpuOuts = Array.isArray(result) ? result : [result];
    const outs = cpuOuts.map((c) => {
      const values = cpu.readSync(c.dataId) as tf.backend_util.BackendValues;
      cpu.disposeData(c.dataId, true);
      return wasm.makeOutput(c.shape, c.dtype, undefined, values);
    });
    return Object.assign(outs, { several: Array.isArray(result) });
  } finally {
    for (const c of copies) cpu.disposeData(c.dataId, true);
  }
}
