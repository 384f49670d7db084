// Choosing and initialising a TF.js backend: one code path for every backend name.
//
// Each backend goes through the same two steps: `whyNotLoadable` makes sure the package that
// registers it is loaded (importing optional packages on demand) or says why it cannot be, then
// TF.js initialises it. setBackend() turns a reason into an error; listBackends() reports it.
import * as tf from '@tensorflow/tfjs-core';
import * as cpuBackend from '@tensorflow/tfjs-backend-cpu';
import * as wasmBackend from '@tensorflow/tfjs-backend-wasm';
import { TapegradError } from '../errors.js';
import { registerFusedKernels } from './fused.js';
import {
  castIntToFloatConverting,
  intTransposeCompiling,
  minMaxClipKeepingNaN,
  poolsKeepingNaN,
  sigmoidKeepingSubnormals,
  sinCosTanReducedOnGpu,
} from './defects.js';
import { flushCommands, installDispatchCache } from '../../kernels/webgpu-dispatch.js';
import { installWebGPUMatMul, preferSubgroupDevice } from '../../kernels/webgpu-matmul.js';
import { guardWasmUnwrittenOutputs } from './wasm-unwritten-output.js';
import { speedUpWasmSmallBinaryKernels } from './wasm-small-binary.js';
import { speedUpWasmSlice } from './wasm-slice-view.js';
import { speedUpWasmRelu } from './wasm-relu.js';
import { speedUpWasmMaxPool } from './wasm-max-pool.js';
import { speedUpWasmConvInputGradient } from './wasm-conv-input-gradient.js';
import { fixWebGLRankFourKernels } from './webgl-rank-four-kernels.js';
import { fixWebGLPackedClip } from './webgl-packed-clip-nan.js';
import { replaceWasmKernel } from './kernel-replacement.js';
import { simdBatchMatMul } from '../../kernels/batch-matmul.js';
import { simdFusedMatMul } from '../../kernels/dense-matmul.js';
import { allowHelperThread } from '../../kernels/helper-thread.js';
import { gatherRows } from '../../kernels/gather-rows.js';
import { simdTranspose } from '../../kernels/wasm-simd-transpose.js';
import { fixWasmCastToBool } from './wasm-cast-to-bool.js';
import { fixWasmInexactUnaryKernels } from './wasm-inexact-unary-kernels.js';
import { guardWasmHeap, isWasmTrap, dropTrappedWasm } from './wasm-heap-limit.js';
import { afterWasmStarts, beforeWasmStarts, getThreads, POOL_MIN_WORK, smallKernelsInline } from './wasm-threads.js';

/** The TF.js backends tapegrad can run on. */
export type BackendName = 'wasm' | 'cpu' | 'webgl' | 'webgpu' | 'tensorflow';
export const BACKENDS: readonly BackendName[] = ['wasm', 'cpu', 'webgl', 'webgpu', 'tensorflow'];

/** Whether a backend can start here, and if not, why. */
export interface BackendInfo {
  name: BackendName;
  available: boolean;
  /** What it runs on when available; what is missing when not. */
  reason: string;
}

// Their versions, read at run time below: a package a bundle only imports for its side effect
// (registering the backend) is dropped by esbuild when the package declares no side effects.
const STATIC: Partial<Record<BackendName, string>> = { cpu: cpuBackend.version_cpu, wasm: wasmBackend.version_wasm };

// The cpu backend prints an advert for tfjs-node when created in Node; prod mode silences it.
tf.enableProdMode();

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

/** Package names are built at run time so that bundlers leave these optional packages alone. */
const load = (pkg: string): Promise<any> => import(/* webpackIgnore: true */ /* @vite-ignore */ pkg);

/** Imports `pkg`, or returns why not: not installed (with the command that installs it), or failing. */
async function loadPackage(pkg: string, what: string): Promise<string | null> {
  try {
    await load(pkg);
    return null;
  } catch (e) {
    const err = e as { code?: string; message?: string };
    const missing =
      err.code === 'ERR_MODULE_NOT_FOUND' ||
      err.code === 'MODULE_NOT_FOUND' ||
      /Cannot find (package|module)/.test(err.message ?? '');
    return missing
      ? `${what} needs the package ${pkg}, which is not installed: npm install ${pkg}`
      : `${pkg} failed to load: ${err.message}`;
  }
}

/**
 * Runs a backend's initialisation, then removes the process listeners it added. The wasm
 * backend's Emscripten glue installs 'uncaughtException' and 'unhandledRejection' listeners that
 * rethrow, which turns any uncaught error of the program into exit code 7 after a line of
 * minified glue; without them, Node reports the program's own error and exits with 1.
 */
async function withoutProcessListeners<T>(init: () => Promise<T>): Promise<T> {
  if (!isNode || typeof process.listeners !== 'function') return init();
  type Listener = (...args: unknown[]) => void;
  const proc = process as unknown as { listeners(e: string): Listener[]; removeListener(e: string, l: Listener): void };
  const events = ['uncaughtException', 'unhandledRejection'];
  const before = events.map((e) => new Set(proc.listeners(e)));
  try {
    return await init();
  } finally {
    events.forEach((e, i) => {
      for (const l of proc.listeners(e)) if (!before[i].has(l)) proc.removeListener(e, l);
    });
  }
}

interface GpuLike {
  requestAdapter(): Promise<{
    info?: { vendor?: string; architecture?: string; device?: string; description?: string };
  } | null>;
}
const navigatorGpu = (): GpuLike | undefined => (globalThis as { navigator?: { gpu?: GpuLike } }).navigator?.gpu;

/**
 * In Node, installs Dawn's WebGPU (the optional `webgpu` package) as navigator.gpu. It must run
 * before @tensorflow/tfjs-backend-webgpu is imported: that package registers its backend only
 * if navigator.gpu exists at import time.
 */
async function installDawn(): Promise<string | null> {
  if (navigatorGpu()) return null;
  let dawn: { create: (flags: string[]) => GpuLike; globals: object };
  try {
    dawn = await load('web' + 'gpu');
  } catch {
    return 'in Node it needs the optional package webgpu (Dawn), which is not installed: npm install webgpu';
  }
  Object.assign(globalThis, dawn.globals);
  const nav = (globalThis as { navigator?: object }).navigator;
  Object.defineProperty(globalThis, 'navigator', {
    value: { ...(nav ?? {}), gpu: dawn.create([]) },
    configurable: true,
    writable: true,
  });
  return null;
}

/** Loads the package that registers `name`, or returns why it cannot run here. */
async function whyNotLoadable(name: BackendName): Promise<string | null> {
  if (tf.findBackendFactory(name)) return null;
  switch (name) {
    case 'cpu':
    case 'wasm':
      // Imported statically above; registered as that package was loaded.
      return STATIC[name] ? null : `@tensorflow/tfjs-backend-${name} was not loaded`;
    case 'webgl':
      if (isNode) return "WebGL needs a browser (Node has no WebGL2 context); in Node use 'wasm', 'cpu' or 'webgpu'";
      return (
        (await loadPackage('@tensorflow/tfjs-backend-' + 'webgl', 'WebGL')) ??
        (tf.findBackendFactory('webgl') ? null : 'this page has no WebGL2 context')
      );
    case 'webgpu': {
      if (isNode) {
        const missing = await installDawn();
        if (missing) return missing;
      } else if (!navigatorGpu()) {
        return 'this browser has no WebGPU (navigator.gpu is undefined)';
      }
      const notLoaded = await loadPackage('@tensorflow/tfjs-backend-' + 'webgpu', 'WebGPU');
      if (notLoaded) return notLoaded;
      return tf.findBackendFactory('webgpu')
        ? null
        : '@tensorflow/tfjs-backend-webgpu did not register (navigator.gpu missing at import)';
    }
    case 'tensorflow':
      if (!isNode) return 'tfjs-node (libtensorflow) runs only in Node';
      if (await loadPackage('@tensorflow/tfjs-' + 'node', 'tensorflow')) {
        return '@tensorflow/tfjs-node is not installed: npm install @tensorflow/tfjs-node (its install downloads libtensorflow from outside the npm registry)';
      }
      return tf.findBackendFactory('tensorflow') ? null : '@tensorflow/tfjs-node loaded but registered no backend';
  }
}

/** Whether `name` can start here: loads it, checks the hardware, initialises it without switching. */
async function whyNotStartable(name: BackendName): Promise<string | null> {
  const missing = await whyNotLoadable(name);
  if (missing) return missing;
  if (name === 'webgpu') {
    const adapter = await navigatorGpu()!.requestAdapter();
    if (!adapter) return `no GPU adapter on this machine (${isNode ? 'Dawn' : 'the browser'} found none)`;
  }
  // TF.js initialises a backend once, on first use; `initializeBackend` is the engine's own step
  // for that (private in its typings, stable in 4.x), and does not change the active backend.
  // Each call makes a new instance, so only for a backend not yet in the engine's registry.
  const engine = tf.engine() as unknown as {
    registry: object;
    initializeBackend(n: string): { success: boolean | Promise<boolean> };
  };
  if (name in engine.registry) return null;
  if (name === 'webgpu') preferSubgroupDevice();
  const undo = name === 'wasm' ? await beforeWasmStarts() : () => {};
  let started: boolean;
  try {
    started = await withoutProcessListeners(async () => engine.initializeBackend(name).success);
  } finally {
    undo();
  }
  if (!started) return 'TF.js failed to initialise it (see the warning above)';
  if (name === 'wasm') afterWasmStarts((engine.registry as Record<string, tf.KernelBackend>).wasm);
  return null;
}

/** Makes `name` the active backend; resolves once it is ready, or throws saying why it cannot start. */
export async function setBackend(name: BackendName): Promise<void> {
  if (!BACKENDS.includes(name)) {
    throw new TapegradError('setBackend', `unknown backend '${String(name)}'; known: ${BACKENDS.join(', ')}`);
  }
  const reason = await whyNotStartable(name);
  if (reason) throw new TapegradError('setBackend', `'${name}' cannot start here: ${reason}`);
  let ok = false;
  try {
    ok = await tf.setBackend(name);
    await tf.ready();
  } catch (e) {
    throw new TapegradError('setBackend', `'${name}' failed to start: ${(e as Error).message}`);
  }
  if (!ok) throw new TapegradError('setBackend', `'${name}' failed to start here`);
  // The fused GPU kernels of this backend, if it has any (fused.ts).
  registerFusedKernels(name);
  if (name === 'wasm') {
    fixWasmCastToBool();
    fixWasmInexactUnaryKernels();
    sigmoidKeepingSubnormals();
    minMaxClipKeepingNaN();
    poolsKeepingNaN('wasm');
    speedUpWasmSmallBinaryKernels();
    speedUpWasmSlice();
    // large relus in SIMD, shared with the helper thread (TF.js's values)
    speedUpWasmRelu();
    // 2×2 max pools of stride 2 likewise (TF.js's bits)
    speedUpWasmMaxPool();
    // a convolution's input gradient as a forward convolution of tapegrad's (where the filter is finite)
    speedUpWasmConvInputGradient();
    // batched and transposed products in SIMD where TF.js runs a scalar loop (the same bits), and
    // plain ones where XNNPACK would pack B first (XNNPACK's bits)
    replaceWasmKernel('BatchMatMul', (original) => simdBatchMatMul(original, xnnpackOnPool));
    replaceWasmKernel('_FusedMatMul', (original) => simdFusedMatMul(original, xnnpackOnPool));
    // those products and the multi-tensor Adam share their work with a thread of their own too
    allowHelperThread(() => getThreads() > 1);
    // gathers (embedding lookups) as copies of whole rows rather than an index computed per entry
    replaceWasmKernel('GatherV2', gatherRows);
    // transposes as SIMD copies, four by four entries, rather than an index computed per entry
    replaceWasmKernel('Transpose', simdTranspose);
    guardWasmUnwrittenOutputs(tf.backend());
    guardWasmHeap(tf.backend());
  }
  if (name === 'cpu') poolsKeepingNaN('cpu');
  if (name === 'webgl' || name === 'webgpu') sinCosTanReducedOnGpu(name);
  if (name === 'webgl') {
    fixWebGLRankFourKernels();
    fixWebGLPackedClip();
  }
  if (name === 'webgpu') {
    castIntToFloatConverting();
    intTransposeCompiling(tf.backend());
    installDispatchCache(tf.backend());
    installWebGPUMatMul(tf.backend());
  }
}

/** Whether XNNPACK would run a product of `work` multiply-adds on the wasm backend's pool of threads. */
function xnnpackOnPool(work: number): boolean {
  return getThreads() > 1 && (work >= POOL_MIN_WORK || !smallKernelsInline());
}

/**
 * When e is the wasm module trapping, drops the module (setBackend('wasm') starts a fresh one) and
 * returns what the user must be told (an op's error message appends it); null for any other error.
 */
export function recoverFromTrap(e: unknown): string | null {
  return isWasmTrap(e) ? dropTrappedWasm() : null;
}

/**
 * Called by the optimizer after each step: on webgpu the step's queued commands go to the GPU now,
 * so that every step starts from the same buffer pool (kernels/webgpu-dispatch.ts says why);
 * elsewhere nothing.
 */
export function endOfStep(): void {
  flushCommands();
}

/** tg.compile's replay of a trace's GPU work on webgpu (kernels/webgpu-replay.ts). */
export {
  captureWebGPU,
  dropWebGPUReplay,
  replayWebGPU,
  webgpuPlanFits,
  webgpuPlanState,
  webgpuReplayAvailable,
  type WebGPUReplayIO,
} from '../../kernels/webgpu-replay.js';

/** The float format a backend stores tensors in: float32, except WebGL without float32 render targets. */
export interface FloatPrecision {
  name: 'float32' | 'float16';
  /** Machine epsilon of that format (2⁻²³ or 2⁻¹⁰). */
  epsilon: number;
}

/**
 * The precision of the active backend. WebGL stores tensors in textures, in half precision on
 * devices that cannot render to float32 ones (many phones); TF.js's flag says which.
 */
export function floatPrecision(name: string = tf.getBackend()): FloatPrecision {
  if (name === 'webgl' && !tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED'))
    return { name: 'float16', epsilon: 2 ** -10 };
  return { name: 'float32', epsilon: 2 ** -23 };
}

/** The active backend's name. */
export function getBackend(): BackendName {
  return tf.getBackend() as BackendName;
}

/**
 * Every backend, whether it can start here, and why (not). Backends that can start are
 * initialised in passing (TF.js keeps them); the active backend does not change.
 */
export async function listBackends(): Promise<BackendInfo[]> {
  const out: BackendInfo[] = [];
  for (const name of BACKENDS) {
    try {
      const reason = await whyNotStartable(name);
      out.push({ name, available: reason === null, reason: reason ?? (await describeAvailable(name)) });
    } catch (e) {
      // A package or driver that throws while being probed: reported, so that the list is always whole.
      out.push({ name, available: false, reason: `failed while starting: ${(e as Error)?.message ?? String(e)}` });
    }
  }
  return out;
}

async function describeAvailable(name: BackendName): Promise<string> {
  switch (name) {
    case 'cpu':
      return `plain JavaScript kernels, tfjs-backend-cpu ${STATIC.cpu} (always available; slowest)`;
    case 'wasm':
      return `WebAssembly kernels (XNNPACK), tfjs-backend-wasm ${STATIC.wasm}`;
    case 'webgl':
      return `WebGL2 fragment shaders, ${tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED') ? 'float32' : 'half-precision (float16)'} render targets`;
    case 'webgpu': {
      const info = (await navigatorGpu()!.requestAdapter())?.info;
      const what = [info?.vendor, info?.architecture, info?.device, info?.description].filter(Boolean).join(' ');
      return `WebGPU compute shaders${isNode ? ' through Dawn' : ''}${what ? ` on ${what}` : ''}`;
    }
    case 'tensorflow':
      return 'native libtensorflow through @tensorflow/tfjs-node';
  }
}

/**
 * Picks the default backend once, at import.
 * Node: $TAPEGRAD_BACKEND, else wasm (far faster than cpu: docs/benchmarks.md), else cpu.
 * Browser: globalThis.TAPEGRAD_BACKEND, else the first that starts of webgpu (TF.js's own first
 * choice: compute shaders, always float32), webgl, wasm, cpu.
 */
export async function initDefaultBackend(): Promise<void> {
  const wanted = (
    isNode ? process.env.TAPEGRAD_BACKEND : (globalThis as { TAPEGRAD_BACKEND?: string }).TAPEGRAD_BACKEND
  ) as BackendName | undefined;
  if (wanted) return setBackend(wanted);
  const order: BackendName[] = isNode ? ['wasm', 'cpu'] : ['webgpu', 'webgl', 'wasm', 'cpu'];
  for (const name of order) {
    try {
      return await setBackend(name);
    } catch (e) {
      if (name === order[order.length - 1]) throw e;
    }
  }
}
