// The wasm backend's threads: TF.js's threaded build (XNNPACK's pthreadpool on Emscripten pthreads),
// in Node and in cross-origin-isolated pages, with the number of threads set at any time.
//
// TF.js 4.22 leaves it single-threaded on a machine like this one for three reasons, each worked
// around here:
// - In Node its multithread check answers false, and Emscripten starts each pthread's worker from
//   a blob: URL and sends it the main script as a Blob, both refused by worker_threads. In Node a
//   stand-in for worker_threads.Worker starts the worker from the same source text, points it at
//   the package's copy of the main script, and starts it only when a pthread first runs on it
//   (load and run queue in the worker's own inbox, so pthread_create, which blocks the main
//   thread until the thread has started, never waits for the event loop). Its workers are
//   unref'd: idle pool threads never keep a process alive.
// - The pool's size is capped at half the logical cores (TF.js assumes two hardware threads per
//   core), so one thread on two cores. The count the module reads as it starts is raised to twice
//   the pool's maximum, and the count wanted is passed to it explicitly.
// - Waking the pool's threads and waiting for them costs more than a small kernel's whole work
//   (and far more on a loaded machine), and XNNPACK splits any kernel of more than one tile. So a
//   kernel whose estimated work is small runs with the module's pool pointer set to null, which
//   XNNPACK and pthreadpool take as "run on the calling thread". The pointer's address is found
//   once, as the word the module's own dispose clears and a new pool sets, checked by the
//   module's get_threads_count.
// - Where worker threads cannot start (a sandbox that forbids them, worker_threads throwing, a
//   worker that dies or never comes up), pthread_create would throw inside the module's start or
//   block forever. So one worker is started first, as the pthreads' are, and must come up (it is
//   kept as the first pthread's); if it does not, the module starts single-threaded, saying so
//   in one line.
// - The count is fixed when the module starts. setThreads on a running module destroys its pool
//   through the module's own dispose (which also forgets every tensor's registration), registers
//   the live tensors again and makes a pool of the new size: the tensors' memory is untouched.
import * as tf from '@tensorflow/tfjs-core';
import type { KernelBackend, KernelConfig, NamedAttrMap, NamedTensorInfoMap } from '@tensorflow/tfjs-core';
import * as wasmBackend from '@tensorflow/tfjs-backend-wasm';
import { TapegradError } from '../errors.js';

/** The most threads the wasm backend runs: the cap of TF.js's pool (also the workers it prepares). */
export const MAX_WASM_THREADS = 8;

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

interface TfjsExports {
  initWithThreadsCount(n: number): void;
  getThreadsCount(): number;
  dispose(): void;
  registerTensor(id: number, size: number, offset: number): void;
  disposeData(id: number): void;
}
interface WasmModule {
  tfjs: TfjsExports;
  HEAP32: Int32Array;
  PThread?: { unusedWorkers: { terminate(): unknown }[]; runningWorkers: { terminate(): unknown }[] };
}
interface WasmBackendLike extends KernelBackend {
  wasm: WasmModule | null;
  dataIdNextNumber: number;
}

/** The live tensors' registrations of each threaded module (id → [size, heap offset]). */
const registrations = new WeakMap<WasmModule, Map<number, [number, number]>>();

let wanted: number | undefined;

/** The number of logical cores: os.availableParallelism() in Node, navigator.hardwareConcurrency in a page. */
export function logicalCores(): number {
  if (isNode) {
    const getBuiltin = (process as { getBuiltinModule?: (n: string) => unknown }).getBuiltinModule;
    const os = getBuiltin?.('node:os') as { availableParallelism?(): number; cpus(): unknown[] } | undefined;
    if (os) return os.availableParallelism?.() ?? os.cpus().length;
    return nodeCores ?? 1;
  }
  return (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
}
let nodeCores: number | undefined;

/** Whether this environment can run the threaded build: Node, or a cross-origin-isolated page. */
function threadsPossible(): boolean {
  if (typeof SharedArrayBuffer === 'undefined') return false;
  return isNode || (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
}

/** The wasm module TF.js's engine runs now, if the wasm backend has started. */
function liveModule(): WasmModule | null {
  const registry = (tf.engine() as unknown as { registry: Record<string, KernelBackend> }).registry;
  return (registry.wasm as WasmBackendLike | undefined)?.wasm ?? null;
}

const threadsOf = (m: WasmModule): number => (m.PThread ? m.tfjs.getThreadsCount() : 1);

/**
 * Sets the number of threads the wasm backend's kernels run on (XNNPACK's pool: matmul,
 * convolutions and the large elementwise kernels split their output among them), at any time;
 * PyTorch's `torch.set_num_threads`. Unlike PyTorch, the default is every logical core, not every
 * physical one, and the count is at most 8 (the limit of TF.js's pool: a larger count runs 8). A
 * page runs one thread unless it is cross-origin isolated (COOP/COEP headers), and so does Node where
 * worker threads cannot start (a warning says so when the backend starts); the cpu, webgl and
 * webgpu backends ignore the count. Every count gives the same bits: each output entry is
 * computed by one thread, in the same order.
 */
export function setThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) {
    throw new TapegradError('setThreads', `expects a whole number of threads ≥ 1, got ${String(n)}`);
  }
  wanted = Math.min(n, MAX_WASM_THREADS);
  wasmBackend.setThreadsCount(wanted);
  const m = liveModule();
  if (m?.PThread && threadsOf(m) !== wanted) repool(m, wanted);
}

/**
 * The number of threads the wasm backend's kernels run on (before it starts, the number it will
 * start with); PyTorch's `torch.get_num_threads`.
 */
export function getThreads(): number {
  const m = liveModule();
  if (m) return threadsOf(m);
  return threadsPossible() ? (wanted ?? defaultThreads()) : 1;
}

const defaultThreads = (): number => Math.max(1, Math.min(logicalCores(), MAX_WASM_THREADS));

/** Replaces a running module's pool by one of n threads; its tensors stay where they are. */
function repool(m: WasmModule, n: number): void {
  const live = registrations.get(m);
  if (!live) {
    throw new TapegradError(
      'setThreads',
      'the wasm backend was started outside tapegrad, so its thread count is fixed; call setThreads before it starts',
    );
  }
  const { registerTensor } = originals.get(m) ?? m.tfjs;
  m.tfjs.dispose();
  for (const [id, [size, offset]] of live) registerTensor(id, size, offset);
  m.tfjs.initWithThreadsCount(n);
}

/** Each tracked module's own registerTensor and disposeData. */
const originals = new WeakMap<WasmModule, Pick<TfjsExports, 'registerTensor' | 'disposeData'>>();

/**
 * Runs before TF.js starts a wasm module: asks for the threaded build where it can run, with the
 * wanted count, and installs what it needs to start. Returns the function that undoes what must
 * not outlast the start.
 */
export async function beforeWasmStarts(): Promise<() => void> {
  const count = wanted ?? defaultThreads();
  wasmBackend.setThreadsCount(count);
  if (!threadsPossible()) return () => {};
  const reported = 2 * MAX_WASM_THREADS;
  if (!isNode) {
    // read once, by the module's static initialiser; the page's own value comes back afterwards
    const nav = globalThis.navigator as Navigator;
    Object.defineProperty(nav, 'hardwareConcurrency', { value: reported, configurable: true });
    return () => {
      delete (nav as { hardwareConcurrency?: number }).hardwareConcurrency;
    };
  }
  const builtin = (name: string): Promise<{ default: any }> =>
    import(/* webpackIgnore: true */ /* @vite-ignore */ `node:${name}`);
  const [os, workerThreads, nodeModule] = await Promise.all([
    builtin('os'),
    builtin('worker_threads'),
    builtin('module'),
  ]);
  nodeCores = os.default.cpus().length;
  const require = nodeModule.default.createRequire(import.meta.url);
  const dir = '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd';
  const mainScript: string = require.resolve(`${dir}.js`);
  // the worker's source as TF.js writes it into its blob (its "\n" escapes kept as escapes)
  const workerSource: string = require(`${dir}.worker.js`).wasmWorkerContents.replace(/\n/g, '\\n');
  const wt = workerThreads.default as { Worker: WorkerClass };
  const OriginalWorker = wt.Worker;
  const RealWorker = workerStandIn ?? OriginalWorker;
  const first = refusal === null ? await firstWorker(RealWorker, workerSource) : refusal;
  if (typeof first === 'string') {
    if (refusal === null) console.warn(`tapegrad: the wasm backend runs on one thread: ${first}`);
    refusal = first;
    wasmBackend.setThreadsCount(1);
    return () => {};
  }
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  const cpus = os.default.cpus;
  const globalWorker = Object.getOwnPropertyDescriptor(globalThis, 'Worker');
  wt.Worker = pthreadWorkerClass(RealWorker, workerSource, mainScript, first);
  os.default.cpus = () => {
    const real = cpus();
    return Array.from({ length: reported }, (_, i) => real[i % real.length]);
  };
  return () => {
    wt.Worker = OriginalWorker;
    os.default.cpus = cpus;
    // The glue made Worker a global, which other libraries read as "in a browser". It needs it
    // again only to add a ninth worker, and a pool of 8 threads runs on 7 (returned as it ends).
    if (globalWorker) Object.defineProperty(globalThis, 'Worker', globalWorker);
    else delete (globalThis as { Worker?: unknown }).Worker;
  };
}

/**
 * Runs once TF.js has started a wasm module: keeps the registration of every tensor, which
 * setThreads needs to move the module to a new pool. A module that made tensors before this ran
 * keeps its pool.
 */
export function afterWasmStarts(backend: KernelBackend): void {
  const wasm = backend as WasmBackendLike;
  const m = wasm.wasm;
  if (!m?.PThread || registrations.has(m) || wasm.dataIdNextNumber !== 1) return;
  const word = poolPointerWord(m);
  if (word !== null) {
    poolWords.set(m, word);
    runSmallKernelsInline();
  }
  const live = new Map<number, [number, number]>();
  registrations.set(m, live);
  const { registerTensor, disposeData } = m.tfjs;
  originals.set(m, { registerTensor, disposeData });
  m.tfjs.registerTensor = (id, size, offset) => {
    live.set(id, [size, offset]);
    registerTensor(id, size, offset);
  };
  m.tfjs.disposeData = (id) => {
    live.delete(id);
    disposeData(id);
  };
}

/** Where each threaded module keeps its pool pointer (an index into HEAP32). */
const poolWords = new WeakMap<WasmModule, number>();

/**
 * The index in HEAP32 of the module's pool pointer: the word of its static data that its dispose
 * sets to 0 and a new pool sets again, confirmed by get_threads_count answering −1 (no pool)
 * while that word alone is 0. Runs before any tensor exists; null if no word passes.
 */
function poolPointerWord(m: WasmModule): number | null {
  const n = m.tfjs.getThreadsCount();
  const words = Math.min(m.HEAP32.length, STATIC_WORDS);
  m.tfjs.dispose();
  const cleared = m.HEAP32.slice(0, words);
  m.tfjs.initWithThreadsCount(n);
  for (let i = 1; i < words; i++) {
    const heap = m.HEAP32; // read again: a pool's allocation may have grown the memory
    const pointer = heap[i];
    if (cleared[i] !== 0 || pointer === 0) continue;
    heap[i] = 0;
    const found = m.tfjs.getThreadsCount() === -1;
    heap[i] = pointer;
    if (found) return i;
  }
  return null;
}
/** The module's static data lies in its first megabytes (globals, then the stack, then the heap). */
const STATIC_WORDS = 1 << 20;

/**
 * A kernel runs on the pool when its estimated work, in multiply-adds (matmul, convolution) or
 * entries (every other kernel), reaches this; below, the pool's wake-up and wait cost more than
 * the threads save.
 */
export const POOL_MIN_WORK = 1 << 22;
const ENTRY_WORK = 16; // an entry of an elementwise or reduction kernel costs ~16 multiply-adds' time

const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Multiply-adds of a matmul or convolution, ENTRY_WORK per input entry for any other kernel. */
function workOf(name: string, inputs: NamedTensorInfoMap, attrs: NamedAttrMap | undefined): number {
  const a = inputs.a ?? inputs.x;
  const b = inputs.b ?? inputs.filter;
  if ((name === 'BatchMatMul' || name === '_FusedMatMul') && a && b) {
    const k = attrs?.transposeA ? a.shape[a.shape.length - 2] : a.shape[a.shape.length - 1];
    return (sizeOf(a.shape) * sizeOf(b.shape)) / Math.max(1, k * sizeOf(b.shape.slice(0, -2)));
  }
  if (/Conv/.test(name) && a && b) return (sizeOf(a.shape) * sizeOf(b.shape)) / Math.max(1, b.shape[2] ?? 1);
  let entries = 0;
  for (const t of Object.values(inputs)) if (t) entries += sizeOf(t.shape);
  return entries * ENTRY_WORK;
}

const inlined = new WeakSet<KernelConfig>();

/** Wraps every wasm kernel so that a small one runs on the calling thread (see the header). */
function runSmallKernelsInline(): void {
  for (const config of tf.getKernelsForBackend('wasm')) {
    if (inlined.has(config)) continue;
    inlined.add(config);
    const run = config.kernelFunc;
    // The registry hands out this same object on every call, so replacing its function reroutes them all.
    (config as { kernelFunc: KernelConfig['kernelFunc'] }).kernelFunc = (args) => {
      const m = (args.backend as WasmBackendLike).wasm;
      const word = m ? poolWords.get(m) : undefined;
      if (word === undefined || workOf(config.kernelName, args.inputs, args.attrs) >= POOL_MIN_WORK) return run(args);
      const heap = m!.HEAP32;
      const pool = heap[word];
      heap[word] = 0;
      try {
        return run(args);
      } finally {
        m!.HEAP32[word] = pool;
      }
    };
  }
}

/** Whether the running wasm module's small kernels run on the calling thread (its pool pointer was found). */
export function smallKernelsInline(): boolean {
  const m = liveModule();
  return !!m && poolWords.has(m);
}

/** Stops the workers of a module that will run no more (a trapped one), without calling into it. */
export function stopWasmThreads(backend: KernelBackend | undefined): void {
  const pthread = (backend as WasmBackendLike | undefined)?.wasm?.PThread;
  if (!pthread) return;
  for (const w of [...pthread.unusedWorkers, ...pthread.runningWorkers]) void w.terminate();
}

interface NodeWorker {
  on(event: string, listener: (...args: any[]) => void): unknown;
  off(event: string, listener: (...args: any[]) => void): unknown;
  postMessage(message: unknown, transfer?: readonly unknown[]): void;
  terminate(): Promise<number>;
  unref(): void;
}
type WorkerClass = new (...args: any[]) => NodeWorker;

/** Swallows what a spare worker reports before a pthread takes it over (an unheard 'error' would throw). */
const spareErrors = () => {};
/** Why worker threads cannot start here, once a start has found out; null until then. */
let refusal: string | null = null;
/** How long the first worker may take to come up (a loaded machine takes a second or more). */
let firstWorkerTimeout = 20_000;

/**
 * Starts the first pthread's worker (from the pthreads' source, not yet loaded) and waits until it
 * runs: the worker, or why it did not start.
 */
function firstWorker(RealWorker: WorkerClass, source: string): Promise<NodeWorker | string> {
  return new Promise((resolve) => {
    let worker: NodeWorker;
    try {
      worker = new RealWorker(source, { eval: true, execArgv: [] });
    } catch (e) {
      resolve(`worker_threads refused to start a worker (${(e as Error).message})`);
      return;
    }
    let done = false;
    const finish = (why: string | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      worker.off('online', online);
      worker.off('error', failed);
      worker.off('exit', exited);
      if (why === null) {
        worker.on('error', spareErrors); // until a pthread takes it over, with its own listeners
        resolve(worker);
      } else {
        void worker.terminate();
        resolve(why);
      }
    };
    const online = () => finish(null);
    const failed = (e: Error) => finish(`a worker failed as it started (${e.message})`);
    const exited = (code: number) => finish(`a worker exited with code ${code} as it started`);
    const timer = setTimeout(
      () => finish(`no worker came up within ${firstWorkerTimeout / 1000} s`),
      firstWorkerTimeout,
    );
    worker.on('online', online);
    worker.on('error', failed);
    worker.on('exit', exited);
    worker.unref(); // a spare worker never keeps the process alive
  });
}

/**
 * For tests (tapegrad/testing): the next wasm start in this process uses, in place of
 * worker_threads.Worker, one whose constructor throws ('throw'), whose worker fails as it starts
 * ('error') or never comes up ('silent', given up after `timeoutMs`). null: the real one.
 */
export function simulateWorkerFailure(kind: 'throw' | 'error' | 'silent' | null, timeoutMs = 20_000): void {
  firstWorkerTimeout = timeoutMs;
  workerStandIn = kind && failingWorker(kind);
}
let workerStandIn: WorkerClass | null = null;

function failingWorker(kind: 'throw' | 'error' | 'silent'): WorkerClass {
  return class {
    constructor() {
      if (kind === 'throw') throw new Error('simulated: worker_threads is not allowed here');
    }
    on(event: string, listener: (...args: any[]) => void) {
      if (kind === 'error' && event === 'error') setImmediate(() => listener(new Error('simulated: no thread')));
      return this;
    }
    off() {
      return this;
    }
    postMessage() {}
    terminate() {
      return Promise.resolve(1);
    }
    unref() {}
  };
}

/**
 * worker_threads.Worker as Emscripten's pthreads need it in Node. A worker Emscripten asks for
 * (from a blob: URL) is started from the worker's source; its "load" message (the module, the
 * shared memory, and the main script as a Blob) is kept and answered "loaded" at once, and the real
 * worker starts with it when a pthread first runs there (the first one takes over `first`, started
 * already). Any other worker is a plain Worker.
 */
function pthreadWorkerClass(RealWorker: WorkerClass, source: string, mainScript: string, first: NodeWorker) {
  let spare: NodeWorker | undefined = first;
  return class PthreadWorker {
    loaded?: boolean;
    private real: NodeWorker | undefined;
    private load: object | undefined;
    private listeners: [string, (...args: any[]) => void][] = [];

    constructor(url: string | URL, options?: object) {
      const href = String(url);
      // biome-ignore lint/correctness/noConstructorReturn: a worker that is not a pthread's is a plain one
      if (!href.startsWith('blob:')) return new RealWorker(url, options) as unknown as PthreadWorker;
      URL.revokeObjectURL(href);
    }

    on(event: string, listener: (...args: any[]) => void): this {
      if (this.real) {
        this.real.on(event, listener);
        this.real.unref(); // a message listener refs the worker again
      } else this.listeners.push([event, listener]);
      return this;
    }

    postMessage(message: { cmd?: string }, transfer?: readonly unknown[]): void {
      if (!this.real && message?.cmd === 'load') {
        this.load = { ...message, urlOrBlob: mainScript };
        this.loaded = true;
        const targets = this.listeners.filter(([event]) => event === 'message');
        setImmediate(() => {
          for (const [, listener] of targets) listener({ cmd: 'loaded' });
        });
        return;
      }
      this.start().postMessage(message, transfer);
    }

    private start(): NodeWorker {
      if (this.real) return this.real;
      // no inherited flags: under `node --input-type=module -e …` they would make this CommonJS
      // source an ES module, and the pthread would never start
      const real = spare ?? new RealWorker(source, { eval: true, execArgv: [] });
      if (spare) real.off('error', spareErrors);
      spare = undefined;
      let answered = this.load !== undefined; // its "loaded" was given already
      const listeners = this.listeners.splice(0);
      real.on('message', (data: { cmd?: string }) => {
        if (answered && data?.cmd === 'loaded') {
          answered = false;
          return;
        }
        for (const [event, listener] of listeners) if (event === 'message') listener(data);
      });
      for (const [event, listener] of listeners) if (event !== 'message') real.on(event, listener);
      real.unref(); // after the listeners: adding a message listener refs the worker
      if (this.load) real.postMessage(this.load);
      this.real = real;
      return real;
    }

    off(event: string, listener: (...args: any[]) => void): this {
      if (this.real) this.real.off(event, listener);
      else this.listeners = this.listeners.filter(([e, l]) => e !== event || l !== listener);
      return this;
    }

    // idle pool threads must not keep the process alive, so a running pthread does not ref its worker
    ref(): void {}
    unref(): void {}

    terminate(): Promise<number> {
      return this.real?.terminate() ?? Promise.resolve(0);
    }
  };
}
