// A WebAssembly SIMD module of our own, as a kernel declares it: its functions (written with
// wasm-encoder.ts) and nothing else. The factory gives it the rest: an on/off switch (tests and
// benchmarks run the kernel's JavaScript loop, or TF.js's kernel, beside it), its instance on a
// wasm backend's heap (one per heap, importing the heap as its memory), and, for the functions
// named `threaded`, the same module on the helper thread (helper-thread.ts), which then takes a
// share of the kernel's work. Kept small (under 4 KiB), a module compiles synchronously on a
// browser's main thread too.
import type { DataType, TensorInfo } from '@tensorflow/tfjs-core';
import { helperModule, readyHelper } from './helper-thread.js';
import { encodeModule, type MemorySource, type WasmFunction } from './wasm-encoder.js';

/** What the kernels use of TF.js's wasm backend, whose class is not exported. */
export interface WasmBackend {
  /** The Emscripten module: its memory, the heap, is wasmMemory in the threaded build, asm.memory in the other. */
  wasm: { wasmMemory?: WebAssembly.Memory; asm?: { memory?: WebAssembly.Memory } };
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: object, force?: boolean): boolean;
}

/** A wasm backend's heap; null for any other backend. */
export function heapOf(backend: { wasm?: Partial<WasmBackend['wasm']> }): WebAssembly.Memory | null {
  return backend.wasm?.wasmMemory ?? backend.wasm?.asm?.memory ?? null;
}

/** One of a module's functions, as JavaScript calls it: integers (addresses, counts) and floats. */
type Fn = (...args: number[]) => number;

/** The helper thread, ready to share a call of one of the module's `threaded` functions. */
export interface SimdHelper<E> {
  /**
   * Runs function `name` on the arguments `there` on the helper thread while this thread runs it on
   * `here` (each output entry in one of the two parts); `there` here too if the helper failed.
   */
  split(name: keyof E & string, here: number[], there: number[]): void;
}

/** A module and what the factory gives it. */
export interface SimdModule<E> {
  /** The module's bytes for `memory` (the heap imported, or a memory of its own). */
  readonly bytes: (memory: MemorySource) => Uint8Array<ArrayBuffer>;
  /** Turns the module off (and on again): its kernel runs without it, for tests and benchmarks to compare. */
  readonly setEnabled: (on: boolean) => void;
  /** Its functions on `heap`, instantiated once per heap; null with no heap (cpu), no wasm SIMD, or turned off. */
  readonly on: (heap: WebAssembly.Memory | null) => E | null;
  /** The helper thread on `heap` if it may be used and is up (and the module is on), else null. */
  readonly helper: (heap: WebAssembly.Memory | null) => SimdHelper<E> | null;
}

/** Every module made by simdModule, by name, each name once (for the tests that check them all). */
export const simdModules = new Map<string, SimdModule<unknown>>();

/**
 * The module of `functions` (called once per module built) under `name`, its functions typed as
 * `E` by the kernel; those named in `threaded` can also run on the helper thread.
 */
export function simdModule<E>(
  name: string,
  functions: () => WasmFunction[],
  threaded: (keyof E & string)[] = [],
): SimdModule<E> {
  if (simdModules.has(name)) throw new Error(`simdModule: a module named '${name}' exists already`);
  const bytes = (memory: MemorySource) => encodeModule(functions(), memory);
  const onHelper = new Map(threaded.map((f) => [f, helperModule(bytes, f)]));
  const instances = new WeakMap<WebAssembly.Memory, E | null>();
  let enabled = true;
  const on = (heap: WebAssembly.Memory | null): E | null => {
    if (!heap || !enabled) return null;
    let exports = instances.get(heap);
    if (exports === undefined) {
      const shared = typeof SharedArrayBuffer !== 'undefined' && heap.buffer instanceof SharedArrayBuffer;
      const code = bytes({ kind: 'import', shared });
      exports = WebAssembly.validate(code)
        ? (new WebAssembly.Instance(new WebAssembly.Module(code), { env: { memory: heap } }).exports as E)
        : null;
      instances.set(heap, exports);
    }
    return exports;
  };
  const helper = (heap: WebAssembly.Memory | null): SimdHelper<E> | null => {
    const exports = on(heap) as Record<string, Fn> | null;
    const thread = exports && onHelper.size ? readyHelper(heap!) : null;
    if (!thread) return null;
    return {
      split(f, here, there) {
        thread.start(onHelper.get(f)!, there);
        exports![f](...here);
        if (!thread.finish()) exports![f](...there);
      },
    };
  };
  const module: SimdModule<E> = {
    bytes,
    setEnabled: (to) => {
      enabled = to;
    },
    on,
    helper,
  };
  simdModules.set(name, module);
  return module;
}
