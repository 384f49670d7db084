// A WebAssembly SIMD module of our own, as a kernel declares it: its functions (written with
// wasm-encoder.ts) and nothing else. The factory gives it the rest: an on/off switch (tests and
// benchmarks run the kernel's JavaScript loop, or TF.js's kernel, beside it), its instance on a
// wasm backend's heap (one per heap, importing the heap as its memory), and, for the functions
// named `threaded`, the same module on the helper thread (helper-thread.ts), which then takes a
// share of the kernel's work. Kept small (under 4 KiB), a module compiles synchronously on a
// browser's main thread too.
import type { DataType, TensorInfo } from '@tensorflow/tfjs-core';
import { helperModule, helperWithdraws, MAX_CHUNKS, readyHelper } from './helper-thread.js';
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
   * `here` (each output entry in one of the two parts); `there` here too if the helper has not
   * taken it by the time `here` is done, or failed.
   */
  split(name: keyof E & string, here: number[], there: number[]): void;
  /**
   * Runs function `name` on each chunk's arguments (at most MAX_CHUNKS), the chunks taken one at a
   * time by this thread and the helper as each comes free (each output entry in one chunk); those the
   * helper took run here again if it failed.
   */
  share(name: keyof E & string, chunks: number[][]): void;
  /**
   * Runs function `name` over items 0 … total − 1, `args(from, to)` its arguments for items from … to − 1:
   * shared in chunks (`share`) of a multiple of `align` items each, or, with chunk sharing off, split
   * in two halves (`split`, the helper taking the second).
   */
  range(name: keyof E & string, total: number, align: number, args: (from: number, to: number) => number[]): void;
}

/** Chunks a shared range is cut into (fewer where the items are fewer). */
export const RANGE_CHUNKS = 16;
let chunkSharing = true;
/** Chunks run by the calling thread and by the helper, since the process started. */
const chunksRun = { here: 0, there: 0 };

/** How many shared chunks each thread has run (the calling thread's, the helper's), for the tests. */
export function sharedChunks(): { here: number; there: number } {
  return { ...chunksRun };
}

/** Turns the chunked sharing of `range` off (two fixed halves) and on again, for benchmarks to compare. */
export function setChunkSharing(on: boolean): void {
  chunkSharing = on;
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
  /** Keeps this module's work off the helper thread (and lets it on again), for benchmarks to compare. */
  readonly setShared: (on: boolean) => void;
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
  let shared = true;
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
    const thread = exports && shared && onHelper.size ? readyHelper(heap!) : null;
    if (!thread) return null;
    return {
      split(f, here, there) {
        thread.startChunks(onHelper.get(f)!, [there]);
        exports![f](...here);
        // the helper's part, if it has not taken it yet (a helper slow to wake)
        const mine = helperWithdraws() && thread.take() === 0;
        if (mine) exports![f](...there);
        if (!thread.finish() && !mine) exports![f](...there);
      },
      share(f, chunks) {
        // more chunks than the shared array holds (or one): all here
        if (chunks.length > MAX_CHUNKS || chunks.length < 2) {
          for (const args of chunks) exports![f](...args);
          return;
        }
        thread.startChunks(onHelper.get(f)!, chunks);
        const mine = new Uint8Array(chunks.length);
        for (let k = thread.take(); k < chunks.length; k = thread.take()) {
          exports![f](...chunks[k]);
          mine[k] = 1;
        }
        const helped = thread.finish();
        const here = mine.reduce((n, m) => n + m, 0);
        chunksRun.here += here;
        if (helped) chunksRun.there += chunks.length - here;
        else chunks.forEach((args, k) => mine[k] || exports![f](...args));
      },
      range(f, total, align, args) {
        if (!chunkSharing) {
          const half = Math.ceil(total / 2 / align) * align;
          this.split(f, args(0, half), args(half, total));
          return;
        }
        const step = Math.ceil(total / RANGE_CHUNKS / align) * align;
        const chunks: number[][] = [];
        for (let from = 0; from < total; from += step) chunks.push(args(from, Math.min(total, from + step)));
        this.share(f, chunks);
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
    setShared: (to) => {
      shared = to;
    },
  };
  simdModules.set(name, module);
  return module;
}
