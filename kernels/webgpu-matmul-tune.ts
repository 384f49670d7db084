// Chooses the matmul tile of each size class on the device it runs on, by timing candidate tiles
// on a product of that class, as cudnn.benchmark chooses convolution algorithms: the best tile
// differs from GPU to GPU (workgroup memory, registers, how many multiprocessors a grid must fill),
// and no table written in advance suits them all. A size class is timed once per device; what
// was chosen can be saved and handed to setMatMulTiles in another process, so that a series of
// processes on one GPU times it once.
//
// Opt-in (`await tuneMatMul()` after setBackend('webgpu')), and skipped on a software adapter
// (SwiftShader, llvmpipe) unless forced: there it would only time the CPU. A candidate that fails
// on the device (a WebGPU validation error at its first product) is passed over, not chosen.
import * as tf from '@tensorflow/tfjs-core';
import type { WebGPUBackendInternals } from './webgpu-backend-types.js';
import {
  MATMUL_TILES,
  forcedMatMulTile,
  matMulSizeClass,
  matMulTileName,
  matMulTileProblem,
  matMulTiles,
  setMatMulTile,
  setMatMulTiles,
  type MatMulTile,
  type TiledSizeClass,
  type TileLimits,
} from './webgpu-matmul.js';

const tile = (wx: number, wy: number, tm: number, tn: number, tk: number, more?: Partial<MatMulTile>): MatMulTile => ({
  wx,
  wy,
  tm,
  tn,
  tk,
  ...more,
});
const prefetch = { prefetch: true };
const double = { doubleBuffer: true };

/** The tiles tuneMatMul times for each size class (those a device cannot run are left out there). */
export const MATMUL_CANDIDATES: Record<TiledSizeClass, MatMulTile[]> = {
  large: [
    MATMUL_TILES.large,
    tile(16, 16, 8, 8, 8),
    tile(16, 16, 8, 8, 16, prefetch),
    tile(16, 16, 8, 8, 8, prefetch),
    tile(16, 16, 8, 8, 16, double),
    tile(16, 16, 8, 8, 8, double),
    tile(8, 16, 8, 8, 16),
    tile(16, 8, 8, 8, 16),
  ],
  square: [
    MATMUL_TILES.square,
    tile(8, 8, 8, 8, 16),
    tile(8, 8, 8, 8, 16, prefetch),
    tile(8, 8, 8, 8, 16, double),
    tile(16, 16, 4, 4, 16, double),
    tile(16, 8, 4, 4, 32),
    tile(16, 16, 8, 8, 16),
  ],
  tall: [
    MATMUL_TILES.tall,
    tile(4, 64, 4, 4, 16),
    tile(4, 32, 8, 4, 16),
    tile(4, 16, 4, 4, 16),
    tile(4, 32, 4, 4, 16, double),
  ],
  wide: [
    MATMUL_TILES.wide,
    tile(64, 4, 4, 4, 16),
    tile(32, 4, 4, 8, 16),
    tile(16, 4, 4, 4, 16),
    tile(32, 4, 4, 4, 16, double),
  ],
};

/** The product each size class is timed on: M, N, K (one matrix, no batch). */
export const MATMUL_TUNE_SHAPES: Record<TiledSizeClass, [number, number, number]> = {
  large: [2048, 2048, 2048],
  square: [1024, 1024, 1024],
  tall: [8192, 16, 1024],
  wide: [16, 8192, 1024],
};

export interface MatMulTuneOptions {
  /** The size classes to tune (all four by default). */
  classes?: TiledSizeClass[];
  /** Tiles to time per class, in place of MATMUL_CANDIDATES's. */
  candidates?: Partial<Record<TiledSizeClass, MatMulTile[]>>;
  /** The product (M, N, K) to time per class, in place of MATMUL_TUNE_SHAPES's; it must be of that class. */
  shapes?: Partial<Record<TiledSizeClass, [number, number, number]>>;
  /** Tune on a software adapter too, and time again classes this device has been tuned for. */
  force?: boolean;
  /** The GPU time a timed round lasts at least, in ms (20 by default); each tile's figure is the median of 3 rounds. */
  roundMs?: number;
}

/** What tuning one size class found. */
export interface MatMulTuning {
  sizeClass: TiledSizeClass;
  /** M, N, K of the product timed. */
  shape: [number, number, number];
  /** The fastest tile, now that class's on this device. */
  tile: MatMulTile;
  /** Milliseconds per product for each candidate that ran, fastest first. */
  timings: { tile: string; ms: number }[];
  /** Candidates passed over, and why (too large for the device, an error on it). */
  skipped: { tile: string; why: string }[];
}

export interface MatMulTuneResult {
  /** The adapter's vendor and architecture, as TF.js reads them. */
  adapter: string;
  software: boolean;
  /** The classes tuned by this call or an earlier one on this device; empty where skipped. */
  tuned: MatMulTuning[];
  /** The tile every class runs now. */
  tiles: Record<TiledSizeClass, MatMulTile>;
}

type Backend = WebGPUBackendInternals & {
  adapterInfo?: { vendor?: string; architecture?: string };
  device: WebGPUBackendInternals['device'] & {
    limits: TileLimits;
    queue: { onSubmittedWorkDone(): Promise<void> };
    pushErrorScope(filter: 'validation'): void;
    popErrorScope(): Promise<{ message: string } | null>;
  };
};

/** Per device, the classes tuned on it. */
const tunings = new WeakMap<object, Map<TiledSizeClass, MatMulTuning>>();

/** The adapter's name, and whether it is a CPU rasteriser rather than a GPU. */
export function webgpuAdapter(): { adapter: string; software: boolean } {
  const info = (tf.backend() as unknown as Backend).adapterInfo ?? {};
  const adapter = [info.vendor, info.architecture].filter(Boolean).join(' ') || 'unknown adapter';
  return { adapter, software: /swiftshader|llvmpipe|lavapipe|software|warp|basic render/i.test(adapter) };
}

/**
 * Times each candidate tile of each size class on the active webgpu backend's device and makes the
 * fastest that class's tile there (setMatMulTiles). Each class is timed once per device unless
 * `force`; on a software adapter nothing is timed unless `force`.
 */
export async function tuneMatMul(options: MatMulTuneOptions = {}): Promise<MatMulTuneResult> {
  if (tf.getBackend() !== 'webgpu') throw new Error(`tuneMatMul: the active backend is ${tf.getBackend()}, not webgpu`);
  const b = tf.backend() as unknown as Backend;
  const { adapter, software } = webgpuAdapter();
  const done = tunings.get(b.device) ?? new Map<TiledSizeClass, MatMulTuning>();
  tunings.set(b.device, done);
  const classes = options.classes ?? (Object.keys(MATMUL_TUNE_SHAPES) as TiledSizeClass[]);
  if (!software || options.force) {
    for (const c of classes) {
      if (done.has(c) && !options.force) continue;
      const tuning = await tuneClass(b, c, options);
      if (!tuning) continue;
      done.set(c, tuning);
      setMatMulTiles({ [c]: tuning.tile });
    }
  }
  return { adapter, software, tuned: [...done.values()], tiles: matMulTiles() };
}

async function tuneClass(b: Backend, c: TiledSizeClass, o: MatMulTuneOptions): Promise<MatMulTuning | null> {
  const shape = o.shapes?.[c] ?? MATMUL_TUNE_SHAPES[c];
  const [m, n, k] = shape;
  if (matMulSizeClass(1, m, n, k) !== c)
    throw new Error(`tuneMatMul: ${m}×${k}·${k}×${n} is a ${matMulSizeClass(1, m, n, k)} product, not ${c}`);
  const skipped: MatMulTuning['skipped'] = [];
  const timings: { tile: MatMulTile; ms: number }[] = [];
  const a = tf.randomNormal([m, k], 0, 1, 'float32', 1);
  const bm = tf.randomNormal([k, n], 0, 1, 'float32', 2);
  const wait = async () => {
    if (b.commandEncoder) {
      b.endComputePassEncoder();
      b.submitQueue();
    }
    await b.device.queue.onSubmittedWorkDone();
  };
  const product = () => tf.matMul(a, bm).dispose();
  const roundMs = o.roundMs ?? 20;
  const saved = forcedMatMulTile();
  try {
    for (const t of o.candidates?.[c] ?? MATMUL_CANDIDATES[c]) {
      const name = matMulTileName(t);
      const problem = matMulTileProblem(t, b.device.limits);
      if (problem) {
        skipped.push({ tile: name, why: problem });
        continue;
      }
      setMatMulTile(t);
      // the first product compiles the pipeline; an error there (the skipped dispatch would time fast) passes it over
      b.device.pushErrorScope('validation');
      product();
      await wait();
      const error = await b.device.popErrorScope();
      if (error) {
        skipped.push({ tile: name, why: error.message.split('\n')[0] });
        continue;
      }
      // a second product, compiled, sizes the rounds
      const t1 = performance.now();
      product();
      await wait();
      const once = performance.now() - t1;
      const reps = Math.max(1, Math.min(200, Math.ceil(roundMs / Math.max(once, 1e-3))));
      const rounds: number[] = [];
      for (let r = 0; r < 3; r++) {
        const t0 = performance.now();
        for (let i = 0; i < reps; i++) product();
        await wait();
        rounds.push((performance.now() - t0) / reps);
      }
      rounds.sort((x, y) => x - y);
      timings.push({ tile: t, ms: rounds[1] });
    }
  } finally {
    setMatMulTile(saved);
    tf.dispose([a, bm]);
  }
  if (!timings.length) return null;
  timings.sort((x, y) => x.ms - y.ms);
  return {
    sizeClass: c,
    shape,
    tile: timings[0].tile,
    timings: timings.map((t) => ({ tile: matMulTileName(t.tile), ms: t.ms })),
    skipped,
  };
}
