// Choosing and initialising a TF.js backend: one code path for every backend name.
import * as tf from '@tensorflow/tfjs-core';
import * as cpuBackend from '@tensorflow/tfjs-backend-cpu';
import * as wasmBackend from '@tensorflow/tfjs-backend-wasm';
import { TapegradError } from './errors.js';

export type BackendName = 'wasm' | 'cpu' | 'webgl' | 'webgpu' | 'tensorflow';
export const BACKENDS: readonly BackendName[] = ['wasm', 'cpu', 'webgl', 'webgpu', 'tensorflow'];

// Referenced so that bundlers keep the side-effect imports that register these backends.
void cpuBackend.version_cpu;
void wasmBackend.version_wasm;

// The cpu backend prints an advert for tfjs-node when created in Node; prod mode silences it.
tf.enableProdMode();

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

/** Imports the package that registers a backend, where that is not done statically. */
async function register(name: BackendName): Promise<void> {
  if (tf.findBackendFactory(name)) return;
  // Package names are built at run time so that bundlers leave these optional packages alone.
  const load = (pkg: string) => import(/* @vite-ignore */ pkg);
  if (name === 'webgl') await load('@tensorflow/tfjs-backend-' + 'webgl');
  if (name === 'webgpu') {
    const nav = (globalThis as { navigator?: { gpu?: unknown } }).navigator;
    if (isNode && !nav?.gpu) {
      // Dawn's Node binding must provide navigator.gpu before the TF.js webgpu package is imported.
      let dawn: { create: (o: string[]) => unknown; globals: object };
      try {
        dawn = await load('web' + 'gpu');
      } catch {
        throw new TapegradError('setBackend', "'webgpu' in Node needs the optional package `webgpu` (npm install webgpu)");
      }
      Object.assign(globalThis, dawn.globals);
      Object.defineProperty(globalThis, 'navigator', { value: { ...(nav ?? {}), gpu: dawn.create([]) }, configurable: true, writable: true });
    }
    await load('@tensorflow/tfjs-backend-' + 'webgpu');
  }
  if (name === 'tensorflow') {
    try {
      await load('@tensorflow/tfjs-' + 'node');
    } catch {
      throw new TapegradError('setBackend', "'tensorflow' needs @tensorflow/tfjs-node, which is not installed (npm install @tensorflow/tfjs-node; its install downloads libtensorflow)");
    }
  }
}

/** Makes `name` the active backend; resolves once it is ready. Unknown names list the known ones. */
export async function setBackend(name: BackendName): Promise<void> {
  if (!BACKENDS.includes(name)) {
    throw new TapegradError('setBackend', `unknown backend '${String(name)}'; available: ${BACKENDS.join(', ')}`);
  }
  await register(name);
  if (name === 'webgpu') {
    const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<unknown> } } }).navigator?.gpu;
    if (!gpu || !(await gpu.requestAdapter())) {
      throw new TapegradError('setBackend', "'webgpu' found no GPU adapter on this machine");
    }
  }
  let ok = false;
  try {
    ok = await tf.setBackend(name);
    await tf.ready();
  } catch (e) {
    throw new TapegradError('setBackend', `backend '${name}' failed to start: ${(e as Error).message}`);
  }
  if (!ok) throw new TapegradError('setBackend', `backend '${name}' failed to start here`);
}

/** The active backend's name. */
export function getBackend(): BackendName {
  return tf.getBackend() as BackendName;
}

/** Picks the default backend once, at import: $TAPEGRAD_BACKEND, else wasm (30× cpu's matmul), else cpu. */
export async function initDefaultBackend(): Promise<void> {
  const wanted = (isNode ? process.env.TAPEGRAD_BACKEND : undefined) as BackendName | undefined;
  if (wanted) return setBackend(wanted);
  try {
    await setBackend('wasm');
  } catch {
    await setBackend('cpu');
  }
}
