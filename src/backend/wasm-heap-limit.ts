// TF.js 4.22's wasm backend passes an allocation's size to malloc as a 32-bit number: a tensor of
// 4 GiB or more wraps around to a small block that the kernel then overruns, which traps the
// module ("memory access out of bounds", then "Aborted()" from every later call). An allocation
// the 4 GiB heap has no room for returns address 0, and the tensor is written over the heap's start.
// So sizes are checked before anything is allocated, a failed malloc is an error, and a module that
// traps anyway is dropped, with an error that says how to start a fresh one, and the threads that
// served it (its pthreads, our kernels' helper thread) are terminated.
import * as tf from '@tensorflow/tfjs-core';
import type { KernelBackend } from '@tensorflow/tfjs-core';
import { TapegradError, fmtShape } from '../errors.js';
import { stopWasmThreads } from './wasm-threads.js';
import { stopHelperThread } from '../../kernels/helper-thread.js';
import { heapOf, type WasmBackend } from '../../kernels/wasm-simd-module.js';

/** The wasm module's largest heap (emscripten_get_heap_max: 4 GiB less one 64 KiB page). */
export const WASM_HEAP_MAX = 4294901760;
/** The longest typed array V8 makes: the cpu backend (and every backend's staging) holds tensors in one. */
const TYPED_ARRAY_MAX = 2 ** 32;

interface WasmBackendLike extends KernelBackend {
  wasm: { _malloc(bytes: number): number; asm?: { malloc?(bytes: number): number } };
  move(dataId: object, values: unknown, shape: number[], dtype: tf.DataType, refCount: number): void;
}

const guarded = new WeakSet<object>();

export function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} bytes` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]} (${n.toExponential(2)} bytes)`;
}

/** Why a tensor of this shape and dtype cannot be made on the active backend, or null if it can. */
export function whyNotFits(shape: readonly number[], dtype: tf.DataType): string | null {
  let size = 1;
  for (const d of shape) size *= d;
  const bytes = size * (dtype === 'bool' ? 1 : 4);
  // every allocation passes here: the common case returns before anything is built
  if (bytes <= WASM_HEAP_MAX / 2 && size <= TYPED_ARRAY_MAX) return null;
  const what = () => `${fmtShape(shape)} ${dtype} needs ${formatBytes(bytes)}`;
  if (bytes > WASM_HEAP_MAX / 2 && tf.getBackend() === 'wasm') {
    const inUse = tf.memory().numBytes;
    if (bytes > WASM_HEAP_MAX - inUse) {
      return `${what()}, more than the wasm backend's memory can hold (${formatBytes(WASM_HEAP_MAX)} at most, ${formatBytes(inUse)} in use)`;
    }
  }
  if (size > TYPED_ARRAY_MAX) return `${what()}, more entries than a JavaScript typed array holds (2³²)`;
  return null;
}

/** Throws a TapegradError naming fn when the tensor cannot be made (creation functions call it first). */
export function assertFits(fn: string, shape: readonly number[], dtype: tf.DataType): void {
  const why = whyNotFits(shape, dtype);
  if (why) throw new TapegradError(fn, `the tensor ${why}`);
}

/** Checks every allocation of this wasm backend instance before malloc, and malloc's answer after. */
export function guardWasmHeap(backend: KernelBackend): void {
  const wasm = backend as WasmBackendLike;
  if (guarded.has(wasm)) return;
  guarded.add(wasm);
  const move = wasm.move.bind(wasm);
  wasm.move = (dataId, values, shape, dtype, refCount) => {
    const why = whyNotFits(shape, dtype);
    // a plain Error: the op that asked for it (defineOp) names itself and its inputs
    if (why) throw new Error(`the result ${why}`);
    move(dataId, values, shape, dtype, refCount);
  };
  const malloc = wasm.wasm.asm?.malloc ?? wasm.wasm._malloc.bind(wasm.wasm);
  wasm.wasm._malloc = (bytes: number) => {
    const at = malloc(bytes);
    if (at === 0 && bytes > 0)
      throw new Error(
        `the wasm heap has no room left for ${formatBytes(bytes)} (${formatBytes(tf.memory().numBytes)} in use)`,
      );
    // a block that ends past the heap: the allocator's 32-bit top wrapped around, and what it hands
    // out next may overlap live tensors; the module is treated as trapped (dropped, a fresh one started)
    const heap = heapOf(wasm as unknown as WasmBackend)?.buffer.byteLength ?? Infinity;
    if ((at >>> 0) + bytes > heap)
      throw new WebAssembly.RuntimeError(
        `the wasm allocator handed out ${formatBytes(bytes)} at byte ${at >>> 0}, past the heap's ${formatBytes(heap)}`,
      );
    return at;
  };
}

/** Whether e is the wasm module trapping (after which its every call fails). */
export function isWasmTrap(e: unknown): boolean {
  return (
    tf.getBackend() === 'wasm' &&
    (e instanceof WebAssembly.RuntimeError || /^Aborted\(/.test(String((e as Error)?.message)))
  );
}

/**
 * Takes a trapped wasm module out of TF.js's engine, so that `tg.setBackend('wasm')` starts a fresh
 * one; returns what the caller must be told. Tensors made on the old module are gone: disposing
 * them does nothing, reading them fails.
 */
export function dropTrappedWasm(): string {
  const engine = tf.engine() as unknown as {
    registry: Record<string, KernelBackend>;
    backendInstance: KernelBackend | null;
    backendName: string | null;
  };
  const dead = engine.registry.wasm;
  if (dead) {
    stopWasmThreads(dead);
    stopHelperThread(heapOf(dead as unknown as WasmBackend));
    dead.disposeData = () => true;
    dead.readSync = () => {
      throw new TapegradError('read', 'this tensor was on a wasm module that trapped and was dropped; it is lost');
    };
    dead.read = async () => dead.readSync(null as never);
    delete engine.registry.wasm;
    engine.backendInstance = null;
    engine.backendName = null;
  }
  return "the wasm module trapped and can run no more ops: `await tg.setBackend('wasm')` starts a fresh one (tensors made before are lost)";
}
