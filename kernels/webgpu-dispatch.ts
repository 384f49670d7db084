// A cheaper dispatch for TF.js 4.22's webgpu backend. For every kernel, TF.js builds the uniform
// data (NaN, ∞, each tensor's shape and strides, the size, the program's own uniforms), writes it
// into a fresh uniform buffer, and creates a bind group — more than half of the CPU time one kernel
// costs in an MLP's training step (benchmarks/gpu/step-profile.ts; docs/benchmarks.md has the
// profile: createBindGroup the most, then makeUniforms). A training loop repeats the same
// kernels on the same shapes, on buffers that TF.js's pool hands out again, so both are kept:
// uniform buffers by their content, bind groups by (pipeline, buffers). Everything else — the
// pass, the submit every WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE dispatches, which tensors the queued
// commands own — is TF.js's recordAndSubmit, restated; kernels it does not cover (timed by
// tf.profile/tf.time, textures, pipelines still compiling) go through TF.js's own.
//
// Safe because: a bind group depends only on its pipeline and buffer objects, never on their
// contents; a cached uniform buffer is never written again (it is found by its content); and an
// evicted one goes back to TF.js's pool only at the next submit, after any queued command that
// reads it (TF.js's own rule for uniforms, uniformPendingDisposal).
import * as tf from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';

import type { GPUObject, Program, Uniform, WebGPUBackendInternals as Internals } from './webgpu-backend-types.js';

/** The backend with the dispatch path's cache on it. */
interface WebGPUBackendInternals extends Internals {
  [CACHE]?: DispatchCache;
}
const CACHE = Symbol('tapegrad dispatch cache');

/** How many uniform buffers and bind groups are kept (least recently used go first). */
const MAX_UNIFORMS = 2048;
const MAX_BIND_GROUPS = 8192;

class DispatchCache {
  readonly uniforms = new Map<string, GPUObject>();
  readonly bindGroups = new Map<string, GPUObject>();
  readonly layouts = new WeakMap<GPUObject, GPUObject>();
  private readonly ids = new WeakMap<GPUObject, number>();
  private nextId = 1;
  hits = 0;
  misses = 0;
  /** A number per GPU object (pipeline, buffer), for the bind-group keys. */
  id(o: GPUObject): number {
    let n = this.ids.get(o);
    if (n === undefined) this.ids.set(o, (n = this.nextId++));
    return n;
  }
}

let enabled = true;

/** Turns the dispatch cache on or off (on by default), to measure what it saves. */
export function setDispatchCacheEnabled(on: boolean): void {
  enabled = on;
}

/** Hits and misses of the bind-group cache on the active webgpu backend, and what it holds. */
export function dispatchCacheStats(): {
  hits: number;
  misses: number;
  uniformBuffers: number;
  bindGroups: number;
} | null {
  const cache = (tf.backend() as unknown as WebGPUBackendInternals)[CACHE];
  if (!cache) return null;
  return {
    hits: cache.hits,
    misses: cache.misses,
    uniformBuffers: cache.uniforms.size,
    bindGroups: cache.bindGroups.size,
  };
}

/**
 * Submits the commands queued so far on the active backend, if it is a webgpu backend with this
 * cache (a no-op otherwise). The optimizer calls it at the end of each step: TF.js submits every
 * WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE dispatches, which falls at a different point of each step,
 * and which buffers its pool hands out depends on it, so the bind groups kept rarely came round
 * again (without this submit, about a sixth of each step's bind groups are new). Submitting at the step's end
 * makes every step start from the same pool: once the pool has grown (a few steps), none is created.
 */
export function flushCommands(): void {
  const b = tf.backend() as unknown as WebGPUBackendInternals;
  if (!b[CACHE] || !enabled || !b.commandEncoder) return;
  b.endComputePassEncoder();
  b.submitQueue();
}

/** Installs the cache on a webgpu backend instance (once per instance). */
export function installDispatchCache(backend: object): void {
  const b = backend as WebGPUBackendInternals;
  if (b[CACHE] || typeof b.recordAndSubmit !== 'function' || typeof b.makeUniforms !== 'function') return;
  const cache = (b[CACHE] = new DispatchCache());
  installFastUpload(b);
  const original = b.recordAndSubmit;
  const GPUBufferClass = (globalThis as unknown as { GPUBuffer?: new () => object }).GPUBuffer;
  b.recordAndSubmit = function (this: WebGPUBackendInternals, program, output, inputs, programDefinedUniform) {
    if (
      !enabled ||
      !GPUBufferClass ||
      program.pipeline instanceof Promise ||
      this.activeTimers != null ||
      program.pixelsOpType != null
    ) {
      return original.call(this, program, output, inputs, programDefinedUniform);
    }
    const tensors = [output, ...inputs];
    const buffers = tensors.map((t) => this.tensorMap.get(t.dataId).resource);
    if (!buffers.every((r) => r instanceof GPUBufferClass))
      return original.call(this, program, output, inputs, programDefinedUniform);

    const uniform = uniformBuffer(this, cache, program, tensors, programDefinedUniform);
    let key = `${cache.id(program.pipeline)}`;
    for (const r of buffers) key += `,${cache.id(r as GPUObject)}`;
    key += `,${cache.id(uniform)}`;
    let group = touch(cache.bindGroups, key);
    if (group) cache.hits++;
    else {
      cache.misses++;
      const pipeline = program.pipeline as GPUObject & { getBindGroupLayout(i: number): GPUObject };
      let layout = cache.layouts.get(pipeline);
      if (!layout) cache.layouts.set(pipeline, (layout = pipeline.getBindGroupLayout(0)));
      const entries = buffers.map((buffer, i) => ({ binding: i, resource: { buffer } }));
      entries.push({ binding: buffers.length, resource: { buffer: uniform } });
      group = this.device.createBindGroup({ layout, entries });
      cache.bindGroups.set(key, group);
      if (cache.bindGroups.size > MAX_BIND_GROUPS) cache.bindGroups.delete(cache.bindGroups.keys().next().value!);
    }

    // As TF.js: the queued commands own their tensors until submitted; one pass per submit.
    for (const t of tensors) this.commandQueueOwnedIds.add(t.dataId);
    this.ensureCommandEncoderReady();
    if (!this.computePassEncoder) this.computePassEncoder = this.commandEncoder!.beginComputePass({});
    this.computePassEncoder.setPipeline(program.pipeline);
    this.computePassEncoder.setBindGroup(0, group);
    this.computePassEncoder.dispatchWorkgroups(program.dispatch[0], program.dispatch[1], program.dispatch[2]);
    this.dispatchCountInPass++;
    if ((tf.env().get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE') as number) <= this.dispatchCountInPass) {
      this.endComputePassEncoder();
      this.submitQueue();
    }
  };
}

/**
 * Uploads by queue.writeBuffer into a pooled buffer, where TF.js maps a staging buffer at creation
 * and copies it in the command stream: creating a mapped buffer costs tens of times what writeBuffer
 * does (benchmarks/gpu/dispatch-probe.ts; docs/benchmarks.md). Safe because the pool never holds
 * a buffer that an unsubmitted command uses (TF.js frees those at submit), and writeBuffer is
 * ordered on the queue before every later submit.
 */
function installFastUpload(b: WebGPUBackendInternals): void {
  const original = b.uploadToGPU;
  const usage = (globalThis as unknown as { GPUBufferUsage?: Record<string, number> }).GPUBufferUsage;
  if (!usage) return;
  const STORAGE_COPY = usage.STORAGE | usage.COPY_SRC | usage.COPY_DST;
  b.uploadToGPU = function (this: WebGPUBackendInternals, dataId: object) {
    const d = this.tensorMap.get(dataId);
    const n = d.values ? d.values.length : 0;
    const float = d.dtype === 'float32';
    if (
      !enabled ||
      d.resource != null ||
      n === 0 ||
      !(float || d.dtype === 'int32' || d.dtype === 'bool') ||
      n !== tf.util.sizeFromShape(d.shape)
    ) {
      return original.call(this, dataId);
    }
    const values = d.values!;
    const data = float
      ? values instanceof Float32Array
        ? values
        : Float32Array.from(values)
      : values instanceof Int32Array
        ? values
        : Int32Array.from(values);
    const buffer = this.bufferManager.acquireBuffer(4 * n, STORAGE_COPY);
    this.queue.writeBuffer(buffer, 0, data);
    d.values = null; // as TF.js: once uploaded, the values are not kept on the CPU
    d.resource = buffer;
  };
}

/** A Map lookup that marks the entry most recently used (Maps iterate in insertion order). */
function touch<V>(map: Map<string, V>, key: string): V | undefined {
  const v = map.get(key);
  if (v !== undefined) {
    map.delete(key);
    map.set(key, v);
  }
  return v;
}

/** -0 and 0 are different uniform bits: keep them apart in keys. */
const num = (v: number) => (v === 0 && 1 / v < 0 ? '-0' : String(v));

/**
 * The uniform buffer holding what TF.js's recordAndSubmit would write for this dispatch — found
 * by its content, or written once (with TF.js's own layout code, makeUniforms) and kept.
 */
function uniformBuffer(
  b: WebGPUBackendInternals,
  cache: DispatchCache,
  program: Program,
  tensors: TensorInfo[],
  defined?: Uniform[],
): GPUObject {
  // The content is a function of: the shapes (in TF.js's order: inputs, then output), whether
  // and how the size is passed, and the program's own uniforms.
  const shapes = [...tensors.slice(1), tensors[0]].map((t) => t.shape);
  let size: number | null = null;
  if (program.size) {
    size = tf.util.sizeFromShape(program.outputShape);
    if (program.outputComponent) size /= program.outputComponent;
  }
  let key = `${size}`;
  for (const s of shapes) key += `|${s.join(',')}`;
  if (defined) for (const u of defined) key += `|${u.type[0]}${u.data.map(num).join(',')}`;
  const cached = touch(cache.uniforms, key);
  if (cached) return cached;

  // TF.js 4.22's recordAndSubmit: NaN, ∞, each shape and its strides, the size, then the program's.
  const data: Uniform[] = [
    { type: 'float32', data: [NaN] },
    { type: 'float32', data: [Infinity] },
  ];
  for (const s of shapes) data.push({ type: 'int32', data: s }, { type: 'int32', data: tf.util.computeStrides(s) });
  if (size !== null) data.push({ type: 'int32', data: [size] });
  if (defined) data.push(...defined);
  const { buffer } = b.makeUniforms(data);
  // makeUniforms queued the buffer for release at the next submit; this cache keeps it instead.
  const i = b.uniformPendingDisposal.lastIndexOf(buffer);
  if (i >= 0) b.uniformPendingDisposal.splice(i, 1);
  cache.uniforms.set(key, buffer);
  if (cache.uniforms.size > MAX_UNIFORMS) {
    const [oldKey, oldBuffer] = cache.uniforms.entries().next().value!;
    cache.uniforms.delete(oldKey);
    b.uniformPendingDisposal.push(oldBuffer);
  }
  return buffer;
}
