// A second thread for dense-matmul.ts's products, in Node: a worker that runs the same SIMD module
// on the same shared heap (the threaded wasm build's memory is a SharedArrayBuffer) and computes
// the lower rows of a product while the calling thread computes the upper ones. TF.js's thread
// pool cannot run a module of ours; a worker of our own can, and each output entry is computed by
// one thread in the same order, so the bits do not depend on the split.
//
// The two threads meet through a small shared Int32Array: the caller writes the arguments, sets
// the state word to JOB and wakes the worker (Atomics.notify); the worker runs the rows, sets the
// state back to IDLE and wakes the caller, which waits for it (Atomics.wait, allowed on Node's
// main thread) after its own rows. The worker is unref'd (an idle one never keeps a process
// alive) and starts in the background: products run on one thread until it reports ready. A
// worker that fails reports it in the same words; the caller then computes those rows itself and
// stops using it. The caller waits without a timeout: a worker starved by a loaded machine is slow,
// not gone, and would still write its rows.

const IDLE = 0;
const JOB = 1;
/** Words of the shared array: state, ready, failed, then the arguments (two float32 at the end). */
const STATE = 0;
const READY = 1;
const FAILED = 2;
const ARGS = 3;
const LO = 12;
const HI = 13;
const WORDS = 16;

/** The worker's program (CommonJS, run with eval): instantiate the module on the heap, then serve jobs. */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { memory, bytes, control } = workerData;
const c = new Int32Array(control);
const f = new Float32Array(control);
try {
  const gemm = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports.gemm;
  Atomics.store(c, ${READY}, 1);
  for (;;) {
    Atomics.wait(c, ${STATE}, ${IDLE});
    const state = Atomics.load(c, ${STATE});
    if (state !== ${JOB}) continue;
    gemm(c[${ARGS}], c[${ARGS + 1}], c[${ARGS + 2}], c[${ARGS + 3}], c[${ARGS + 4}], c[${ARGS + 5}], c[${ARGS + 6}],
      c[${ARGS + 7}], c[${ARGS + 8}], f[${LO}], f[${HI}]);
    Atomics.store(c, ${STATE}, ${IDLE});
    Atomics.notify(c, ${STATE});
  }
} catch (e) {
  Atomics.store(c, ${FAILED}, 1);
  Atomics.store(c, ${STATE}, ${IDLE});
  Atomics.notify(c, ${STATE});
}
`;

interface NodeWorker {
  unref(): void;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  terminate(): Promise<number>;
}
type WorkerClass = new (source: string, options: { eval: true; workerData: unknown }) => NodeWorker;

/** A helper thread on one heap. */
export interface GemmHelper {
  /** Whether it has started and not failed: it can take rows now. */
  ready(): boolean;
  /** Starts gemm(...args) on the helper; `finish()` waits for it and says whether it ran (false: it failed). */
  start(args: number[], lo: number, hi: number): void;
  finish(): boolean;
}

const helpers = new WeakMap<WebAssembly.Memory, GemmHelper | null>();
let enabled = true;

/** Turns the helper thread off (and on again): products run on the calling thread alone, for benchmarks. */
export function setGemmHelper(on: boolean): void {
  enabled = on;
}

/**
 * The helper thread on `memory` running the module `bytes`, started on the first call (null where
 * no worker can run: not Node, a heap that is not shared, worker_threads missing or refusing).
 */
export function gemmHelper(memory: WebAssembly.Memory, bytes: () => Uint8Array<ArrayBuffer>): GemmHelper | null {
  if (!enabled) return null;
  if (helpers.has(memory)) return helpers.get(memory)!;
  const helper = startHelper(memory, bytes);
  helpers.set(memory, helper);
  return helper;
}

function startHelper(memory: WebAssembly.Memory, bytes: () => Uint8Array<ArrayBuffer>): GemmHelper | null {
  if (typeof SharedArrayBuffer === 'undefined' || !(memory.buffer instanceof SharedArrayBuffer)) return null;
  const proc = (globalThis as { process?: { versions?: { node?: string }; getBuiltinModule?: (n: string) => unknown } })
    .process;
  if (!proc?.versions?.node || !proc.getBuiltinModule) return null;
  const wt = proc.getBuiltinModule('node:worker_threads') as { Worker?: WorkerClass } | undefined;
  if (!wt?.Worker) return null;
  const control = new SharedArrayBuffer(4 * WORDS);
  const c = new Int32Array(control);
  const f = new Float32Array(control);
  let worker: NodeWorker;
  try {
    worker = new wt.Worker(WORKER_SOURCE, { eval: true, workerData: { memory, bytes: bytes(), control } });
  } catch {
    return null;
  }
  worker.unref();
  let broken = false;
  // a worker that dies outside a job (terminated, out of memory) is simply not used again
  worker.on('error', () => {
    broken = true;
  });
  worker.on('exit', () => {
    broken = true;
  });
  return {
    ready: () => !broken && Atomics.load(c, READY) === 1 && Atomics.load(c, FAILED) === 0,
    start(args, lo, hi) {
      args.forEach((a, i) => {
        c[ARGS + i] = a;
      });
      f[LO] = lo;
      f[HI] = hi;
      Atomics.store(c, STATE, JOB);
      Atomics.notify(c, STATE);
    },
    finish() {
      // no timeout: a worker starved by a loaded machine may still write these rows later
      while (Atomics.load(c, STATE) === JOB) Atomics.wait(c, STATE, JOB);
      if (Atomics.load(c, FAILED) === 0) return true;
      broken = true;
      return false;
    },
  };
}
