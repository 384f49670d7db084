// What the GPU scripts share: Dawn's navigator.gpu set before TF.js's webgpu backend is imported
// (it registers its backend at import time only then, hence the dynamic imports here, and why a
// script imports this module before anything else of TF.js or tapegrad); the adapter's name; the
// backend started with every op on the GPU's kernels; WebGPU's validation errors collected (WebGPU
// reports a bad bind group or shader as an event and skips the work, leaving an output buffer with
// stale contents); the matmul tiles for this GPU; where the JSON record goes; and the small
// helpers of argv, timing and comparison.
//
// The matmul tiles: matmul-bench.ts (an early part of the GPU command) times the candidate tiles
// of each size class on the GPU (tuneMatMul) and writes the winners to $OUT/matmul-tiles.json;
// every later script of the same run finds them there (or in $MATMUL_TILES) for the same GPU and
// runs with them, so that no one edits code between a sweep and the figures. A script that finds
// none times them itself on a hardware GPU (and saves them for the next), and keeps
// MATMUL_TILES on a software adapter.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as TF from '@tensorflow/tfjs-core';
import { create, globals } from 'webgpu';

Object.assign(globalThis, globals);
Object.defineProperty(globalThis, 'navigator', { value: { gpu: create([]) }, configurable: true, writable: true });
const webgpuBackend = await import('@tensorflow/tfjs-backend-webgpu');
void webgpuBackend.webgpu_util;
export const tf: typeof TF = await import('@tensorflow/tfjs-core');
export const tg: typeof import('../../src/index.js') = await import('../../src/index.js');
export const testing: typeof import('../../src/testing.js') = await import('../../src/testing.js');

type Backend = 'webgpu' | 'wasm' | 'cpu';
type Tiles = ReturnType<typeof testing.matMulTiles>;

/** The value after `--name` on the command line. */
export const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
export const flag = (name: string): boolean => process.argv.includes(name);
export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** max |a − b| / max |b|. */
export async function relDiff(a: TF.Tensor, b: TF.Tensor): Promise<number> {
  const [x, y] = [await a.data(), await b.data()];
  let num = 0;
  let den = 0;
  for (let i = 0; i < x.length; i++) {
    num = Math.max(num, Math.abs(x[i] - y[i]));
    den = Math.max(den, Math.abs(y[i]));
  }
  return num / Math.max(den, 1e-30);
}

export interface GpuScript {
  /** The adapter's vendor, architecture, device and description, or `<backend> (dry run)`. */
  gpu: string;
  backend: Backend;
  date: string;
  /** WebGPU validation errors so far (the first line of each). */
  gpuErrors: string[];
  /** Where the matmul tiles came from, and what they are (webgpu only). */
  matmulTiles: { from: string; tiles: Tiles } | null;
  /** A line on stderr, with the seconds since the start. */
  log(msg: string): void;
  /** The script's JSON record: $OUT/<name>.json, else benchmarks/results/<name>-<gpu>-<date>.json. */
  file: string;
  /** Writes `report` to `file`, with the GPU, the date, Node's version and the matmul tiles first. */
  save(report: object): void;
  /** `failures` and a line for the validation errors, if any. */
  withGpuErrors(failures: string[]): string[];
  /** Submits TF.js's queued commands and waits for the GPU to finish them. */
  waitForGpu(): Promise<void>;
}

export interface StartOptions {
  /** The backend (webgpu by default; wasm or cpu for a dry run without a GPU). */
  backend?: Backend;
  /** Time the matmul tiles here even where a file has them (matmul-bench.ts). */
  tuneTiles?: boolean;
}

/** Starts the backend for script `name` (exit status 2 where Dawn finds no adapter). */
export async function startGpuScript(name: string, options: StartOptions = {}): Promise<GpuScript> {
  const backend = options.backend ?? 'webgpu';
  const t0 = Date.now();
  const log = (msg: string) => console.error(`[${name} ${((Date.now() - t0) / 1000).toFixed(0)} s] ${msg}`);
  type Adapter = { info?: Record<string, string> } | null;
  const adapter = (await (
    globalThis as unknown as { navigator: { gpu: { requestAdapter(): Promise<Adapter> } } }
  ).navigator.gpu.requestAdapter()) as Adapter;
  if (!adapter && backend === 'webgpu') {
    console.error(`${name}: Dawn found no GPU adapter (is the NVIDIA Vulkan ICD visible? see docs/gpu.md)`);
    process.exit(2);
  }
  const info = adapter?.info ?? {};
  const gpu =
    backend === 'webgpu'
      ? [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'unknown GPU'
      : `${backend} (dry run)`;
  await tg.setBackend(backend);
  // Small tensors would otherwise be computed on the CPU by TF.js: time and check the GPU's kernels.
  // (Flags are set one by one: tf.env().setFlags replaces them all, defaults included.)
  if (backend === 'webgpu') tf.env().set('WEBGPU_CPU_FORWARD', false);
  const gpuErrors: string[] = [];
  if (backend === 'webgpu')
    (tf.backend() as unknown as { device: EventTarget }).device.addEventListener('uncapturederror', (e) =>
      gpuErrors.push(String((e as unknown as { error: { message: string } }).error.message).split('\n')[0]),
    );
  const date = new Date().toISOString();
  const slug = gpu
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
  const dir = process.env.OUT ?? join(process.cwd(), 'benchmarks/results');
  const file = process.env.OUT ? join(dir, `${name}.json`) : join(dir, `${name}-${slug}-${date.slice(0, 10)}.json`);
  const matmulTiles = backend === 'webgpu' ? await chooseMatMulTiles(gpu, log, options.tuneTiles ?? false) : null;
  if (matmulTiles) log(`matmul tiles (${matmulTiles.from}): ${describeTiles(matmulTiles.tiles)}`);
  const b = tf.backend() as unknown as {
    commandEncoder?: object | null;
    endComputePassEncoder(): void;
    submitQueue(): void;
    device: { queue: { onSubmittedWorkDone(): Promise<void> } };
  };
  return {
    gpu,
    backend,
    date,
    gpuErrors,
    matmulTiles,
    log,
    file,
    save(report) {
      mkdirSync(dir, { recursive: true });
      const head = { gpu, date, node: process.version, seconds: (Date.now() - t0) / 1000, matmulTiles };
      writeFileSync(file, `${JSON.stringify({ ...head, ...report }, null, 1)}\n`);
    },
    withGpuErrors: (failures) =>
      gpuErrors.length
        ? [...failures, `${gpuErrors.length} WebGPU validation errors; the first: ${gpuErrors[0]}`]
        : failures,
    async waitForGpu() {
      if (backend !== 'webgpu') return;
      if (b.commandEncoder) {
        b.endComputePassEncoder();
        b.submitQueue();
      }
      await b.device.queue.onSubmittedWorkDone();
    },
  };
}

const describeTiles = (tiles: Tiles) =>
  Object.entries(tiles)
    .map(([c, t]) => `${c} ${testing.matMulTileName(t)}`)
    .join(', ');

/** The file the tiles are saved to and read from: $MATMUL_TILES, else $OUT/matmul-tiles.json. */
const tilesFile = () =>
  process.env.MATMUL_TILES ?? (process.env.OUT ? join(process.env.OUT, 'matmul-tiles.json') : null);

/**
 * The tiles for this GPU: read from the tiles file where it names this GPU (unless `tune`), else
 * timed here (on a hardware GPU; a software adapter keeps MATMUL_TILES) and saved to it.
 */
async function chooseMatMulTiles(
  gpu: string,
  log: (msg: string) => void,
  tune: boolean,
): Promise<{ from: string; tiles: Tiles }> {
  const file = tilesFile();
  if (!tune && file && existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { gpu: string; tiles: Partial<Tiles> };
    if (saved.gpu === gpu) {
      testing.setMatMulTiles(saved.tiles);
      return { from: file, tiles: testing.matMulTiles() };
    }
    log(`${file} was written for ${saved.gpu}, not this GPU: not used`);
  }
  const { software } = testing.webgpuAdapter();
  if (software && !tune) return { from: 'MATMUL_TILES (software adapter: not timed)', tiles: testing.matMulTiles() };
  const t = performance.now();
  const result = await testing.tuneMatMul(software ? quickTuning : {});
  log(`timed the matmul tiles in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  for (const c of result.tuned)
    log(`  ${c.sizeClass} ${c.shape.join('×')}: ${c.timings.map((x) => `${x.tile} ${x.ms.toFixed(3)} ms`).join(', ')}`);
  if (file) {
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, `${JSON.stringify({ gpu, date: new Date().toISOString(), ...result }, null, 1)}\n`);
  }
  return { from: software ? 'timed (software adapter, a dry run)' : 'timed here', tiles: result.tiles };
}

/** On a software adapter (a dry run of the GPU command), one class, two tiles, a small product. */
const quickTuning = {
  force: true,
  classes: ['square' as const],
  shapes: { square: [128, 128, 128] as [number, number, number] },
  candidates: { square: [testing.MATMUL_TILES.square, { ...testing.MATMUL_TILES.square, doubleBuffer: true }] },
  roundMs: 1,
};
