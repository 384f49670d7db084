// A second thread for the wasm backend's SIMD kernels of our own, in Node: a worker that runs the
// same modules on the same shared heap (the threaded wasm build's memory is a SharedArrayBuffer)
// and computes part of a kernel's output — the lower rows of a product, chunks of an Adam step's
// entries — while the calling thread computes the rest. TF.js's thread pool cannot
// run a module of ours; a worker of our own can. Each output entry is computed by one thread, in
// the same order, so the bits do not depend on the split.
//
// The two threads meet through a small shared array: the caller writes which function to run and
// the arguments of each of its chunks, sets the state word to JOB and wakes the worker
// (Atomics.notify); the worker claims the job (JOB → RUNNING, one compare-and-swap), runs chunks,
// each taken by an atomic increment of a shared counter, until none is left, sets the state back
// to IDLE and wakes the caller, which waits for it (Atomics.wait, allowed on Node's main thread)
// after its own part; each checks the state word a while before it sleeps (a short wait costs less
// than a wake). A caller that takes chunks from the same counter shares the work as each thread
// comes free, so a worker slow to wake, or starved by a loaded machine, takes fewer chunks rather
// than holding the caller up; and once the caller has taken every chunk, a job the worker has not
// claimed yet is withdrawn (JOB → IDLE, the same compare-and-swap: of the two, exactly one wins),
// so the caller need not wait for a sleeping worker to wake only to find nothing left. The worker is unref'd
// (an idle one never keeps a process alive) and starts in the background: kernels run on one thread
// until it reports ready.
// A worker that fails reports it in the same words; the caller then computes that part itself and
// stops using it. The caller waits without a timeout: a worker starved by a loaded machine is slow,
// not gone, and would still write its part. A heap that will run no more (its module trapped) has
// its worker terminated: it would otherwise wait for work forever, holding the heap.
//
// Kernels do not call this file: wasm-simd-module.ts registers their modules' threaded functions
// and hands them the helper.
import type { MemorySource } from './wasm-encoder.js';

const IDLE = 0;
const JOB = 1;
/** A job the worker has claimed: the caller can no longer withdraw it. */
const RUNNING = 2;
/**
 * Words of the shared array: state, ready, failed, the module, the argument count, the chunks, the
 * next chunk to take and the worker's spin; then each chunk's arguments as float64, MAX_ARGS apart.
 */
const STATE = 0;
const READY = 1;
const FAILED = 2;
const MODULE = 3;
const COUNT = 4;
const CHUNKS = 5;
const NEXT = 6;
const SPIN = 7;
const ARGS_AT = 8; // bytes 32… as float64
const MAX_ARGS = 20;
/** The most chunks a job can have. */
export const MAX_CHUNKS = 64;

/** The worker's program (CommonJS, run with eval): instantiate the modules on the heap, then serve jobs. */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { memory, modules, control } = workerData;
const c = new Int32Array(control);
const args = new Float64Array(control, ${4 * ARGS_AT});
try {
  const fns = modules.map(({ bytes, name }) =>
    new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports[name]);
  Atomics.store(c, ${READY}, 1);
  for (;;) {
    for (let i = c[${SPIN}]; i > 0 && Atomics.load(c, ${STATE}) === ${IDLE}; i--);
    Atomics.wait(c, ${STATE}, ${IDLE});
    // a job withdrawn by the caller before this claim is not run
    if (Atomics.compareExchange(c, ${STATE}, ${JOB}, ${RUNNING}) !== ${JOB}) continue;
    const fn = fns[c[${MODULE}]];
    const count = c[${COUNT}];
    const chunks = c[${CHUNKS}];
    for (let k; (k = Atomics.add(c, ${NEXT}, 1)) < chunks; )
      fn(...args.subarray(k * ${MAX_ARGS}, k * ${MAX_ARGS} + count));
    Atomics.store(c, ${STATE}, ${IDLE});
    Atomics.notify(c, ${STATE});
  }
} catch (e) {
  Atomics.store(c, ${FAILED}, 1);
  Atomics.store(c, ${STATE}, ${IDLE});
  Atomics.notify(c, ${STATE});
}
`;

/** A module the helper can run: its builder and the function it exports. */
interface HelperModule {
  build: (m: MemorySource) => Uint8Array<ArrayBuffer>;
  name: string;
}
const modules: HelperModule[] = [];

/**
 * Makes module `build`'s export `name` runnable on the helper thread (at import time, before a
 * helper starts: a helper instantiates the modules registered then). Returns its index for `start`.
 */
export function helperModule(build: (m: MemorySource) => Uint8Array<ArrayBuffer>, name: string): number {
  modules.push({ build, name });
  return modules.length - 1;
}

interface NodeWorker {
  unref(): void;
  terminate(): Promise<number>;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}
type WorkerClass = new (source: string, options: { eval: true; workerData: unknown }) => NodeWorker;

/** A helper thread on one heap. */
export interface Helper {
  /** Whether it has started and not failed: it can take work now. */
  ready(): boolean;
  /**
   * Starts module `module`'s function on each chunk's arguments (numbers the function takes: i32,
   * f32 or f64; at most MAX_CHUNKS chunks), the helper taking chunks one after another until `take`
   * has handed out every one.
   */
  startChunks(module: number, chunks: number[][]): void;
  /** The next chunk for the calling thread to run: an index, or one past the last when none is left. */
  take(): number;
  /**
   * Once `take` has handed out every chunk: withdraws the job if the helper has not claimed it
   * (then it took no chunk), else waits for its chunks; false if it failed (the caller then
   * computes the chunks it did not take itself).
   */
  finish(): boolean;
  /** Terminates the worker (its heap runs no more). */
  stop(): void;
}

const helpers = new WeakMap<WebAssembly.Memory, Helper | null>();
/** Workers started and not yet exited. */
let live = 0;
let enabled = true;
let allowed: () => boolean = () => false;

/**
 * Checks of the state word before a thread sleeps (Atomics.wait): the worker's after a job (the next
 * comes within a kernel's JavaScript), the caller's before waiting for the worker's last chunk. A
 * wake from Atomics.wait costs a system call and a reschedule, more than a short job's wait.
 */
const SPIN_CHECKS = 1 << 11;
let spin = SPIN_CHECKS;

/** Turns the threads' spin before sleeping off (and on again), for benchmarks to compare. */
export function setHelperSpin(on: boolean): void {
  spin = on ? SPIN_CHECKS : 0;
}

let withdrawing = true;
/** Jobs withdrawn before the helper claimed them, since the process started. */
let withdrawn = 0;

/**
 * Turns the withdrawal of a job the helper has not claimed off (and on again): off, the caller
 * waits for the helper to wake and find no chunk left, for benchmarks and tests to compare.
 */
export function setHelperWithdraw(on: boolean): void {
  withdrawing = on;
}

/** Whether a job the helper has not claimed is withdrawn (on unless turned off). */
export const helperWithdraws = (): boolean => withdrawing;

/** How many jobs the calling thread has withdrawn before the helper claimed them, for the tests. */
export function withdrawnJobs(): number {
  return withdrawn;
}

/** Turns the helper thread off (and on again): kernels run on the calling thread alone, for benchmarks. */
export function setHelperThread(on: boolean): void {
  enabled = on;
}

/** Set by the backend: whether the kernels may use a helper now (the backend runs more than one thread). */
export function allowHelperThread(when: () => boolean): void {
  allowed = when;
}

/**
 * The helper thread on `memory` if it may be used and is ready, else null (and started on the first
 * call where it can run: Node, a shared heap, worker_threads there).
 */
export function readyHelper(memory: WebAssembly.Memory): Helper | null {
  if (!enabled || !allowed()) return null;
  let helper = helpers.get(memory);
  if (helper === undefined) {
    helper = startHelper(memory);
    helpers.set(memory, helper);
  }
  return helper?.ready() ? helper : null;
}

/** Terminates the helper thread on `memory`, whose module trapped, and never starts one on it again. */
export function stopHelperThread(memory: WebAssembly.Memory | null): void {
  if (!memory) return;
  helpers.get(memory)?.stop();
  helpers.set(memory, null);
}

/** How many helper threads run (started, not yet exited), for the tests. */
export function liveHelperThreads(): number {
  return live;
}

function startHelper(memory: WebAssembly.Memory): Helper | null {
  if (typeof SharedArrayBuffer === 'undefined' || !(memory.buffer instanceof SharedArrayBuffer)) return null;
  const proc = (globalThis as { process?: { versions?: { node?: string }; getBuiltinModule?: (n: string) => unknown } })
    .process;
  if (!proc?.versions?.node || !proc.getBuiltinModule) return null;
  const wt = proc.getBuiltinModule('node:worker_threads') as { Worker?: WorkerClass } | undefined;
  if (!wt?.Worker) return null;
  const control = new SharedArrayBuffer(4 * ARGS_AT + 8 * MAX_ARGS * MAX_CHUNKS);
  const c = new Int32Array(control);
  const args = new Float64Array(control, 4 * ARGS_AT);
  let worker: NodeWorker;
  try {
    const built = modules.map(({ build, name }) => ({ bytes: build({ kind: 'import', shared: true }), name }));
    worker = new wt.Worker(WORKER_SOURCE, { eval: true, workerData: { memory, modules: built, control } });
  } catch {
    return null;
  }
  worker.unref();
  live++;
  let broken = false;
  // a worker that dies between jobs (terminated, out of memory) is not used again
  worker.on('error', () => {
    broken = true;
  });
  worker.on('exit', () => {
    broken = true;
    live--;
  });
  const startChunks = (module: number, chunks: number[][]) => {
    c[MODULE] = module;
    c[COUNT] = chunks[0].length;
    c[CHUNKS] = chunks.length;
    c[SPIN] = spin;
    chunks.forEach((values, k) => args.set(values, k * MAX_ARGS));
    Atomics.store(c, NEXT, 0);
    Atomics.store(c, STATE, JOB);
    Atomics.notify(c, STATE);
  };
  return {
    ready: () => !broken && Atomics.load(c, READY) === 1 && Atomics.load(c, FAILED) === 0,
    startChunks,
    take: () => Atomics.add(c, NEXT, 1),
    finish() {
      if (withdrawing && Atomics.compareExchange(c, STATE, JOB, IDLE) === JOB) {
        withdrawn++;
        return true;
      }
      for (let i = spin; i > 0 && Atomics.load(c, STATE) !== IDLE; i--);
      for (let s: number; (s = Atomics.load(c, STATE)) !== IDLE; ) Atomics.wait(c, STATE, s);
      if (Atomics.load(c, FAILED) === 0) return true;
      broken = true;
      return false;
    },
    stop() {
      broken = true;
      void worker.terminate();
    },
  };
}
