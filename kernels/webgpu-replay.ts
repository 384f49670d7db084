// Replays the GPU work of a function on TF.js 4.22's webgpu backend without running the function:
// no kernel, no program setup, no uniform data, no bind group made again. The function (a
// compiled trace's replay, src/compile.ts) runs once under capture: every dispatch it makes
// through the backend's recordAndSubmit is recorded with its pipeline, its workgroup counts, the
// tensors it binds and its uniform data. The plan built from that owns a buffer for every
// intermediate (shared between values whose lives do not overlap, as TF.js's pool shares them),
// a buffer for every value a kernel uploaded from JavaScript (a constant it made) and the uniform
// buffers, with the bind groups made once. A replay is one command buffer: one compute pass of
// setPipeline / setBindGroup / dispatch per recorded dispatch, then a copy of each result that is
// not a new tensor already (below) into its place, submitted at once.
//
// Results handed back as new tensors (a function's results, the new gradients of a step) are not
// copied: each replay takes a new tensor's buffer from TF.js's pool for each of them and binds it
// where the dispatch that computes it writes (and where later dispatches read it), so the tensor
// handed back holds the only reference to its buffer: no later replay writes into it, and it may
// be kept, read or disposed like any other tensor. The plan owns no buffer for such a result;
// bind groups that name one are kept per buffer, as for the values read from outside.
//
// What the plan reads from outside (the arguments, tensors the function captured, constants) is
// bound where it lies at each replay: bind groups that name such a buffer are kept per buffer. The
// plan follows which kernels ran, not what they are: a new kernel is replayed as long as its GPU
// work goes through recordAndSubmit. What the capture cannot account for — a dispatch outside
// recordAndSubmit, a buffer copy, a pipeline still compiling, a timed program, a read of a buffer
// no recorded dispatch wrote and no kernel uploaded — leaves that trace on the kernel replay, and
// `webgpuReplayRefusal` says why.
//
// Safe because: the queued commands of TF.js are submitted before each replay (they may write
// what it reads); its own buffers are never in TF.js's pool while the plan lives; results go to
// buffers taken from the pool after every earlier submit; and the queue orders every later write
// (an upload into a buffer an argument held) after the replay's commands.
import * as tf from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';

import type {
  Encoder,
  GPUBufferLike,
  GPUObject,
  Pass,
  Program,
  Uniform,
  WebGPUBackendInternals as Backend,
} from './webgpu-backend-types.js';

/** Where a dispatch's binding comes from at replay. */
type Source =
  /** One of the values the caller passes at every replay (an argument, a captured tensor, a constant). */
  | { kind: 'external'; index: number }
  /** A buffer the plan owns: an intermediate, or what a kernel uploaded. */
  | { kind: 'owned'; buffer: GPUBufferLike }
  /** The buffer of the new tensor result `index` of plan.fresh is at this replay. */
  | { kind: 'fresh'; index: number };

interface Dispatch {
  pipeline: GPUObject;
  layout: GPUObject;
  workgroups: [number, number, number];
  /** Output first, then the inputs (TF.js's binding order), then the uniforms. */
  bindings: Source[];
  uniforms: GPUBufferLike;
  /** Made once when no binding is external; else kept per external buffers. */
  group: GPUObject | null;
  groups: Map<string, GPUObject>;
}

type Result =
  | { kind: 'copy'; from: Source; shape: number[]; dtype: tf.DataType }
  /** A new tensor whose buffer the dispatches wrote directly (plan.fresh[index]). */
  | { kind: 'fresh'; index: number }
  /** Values a CPU kernel computed from constants (or an empty result): made again from JavaScript. */
  | { kind: 'values'; values: Int32Array | Float32Array; shape: number[]; dtype: tf.DataType }
  | null;

class Plan {
  dispatches: Dispatch[] = [];
  results: Result[] = [];
  /** The buffers fed numbers go into, and their lengths. */
  fed: GPUBufferLike[] = [];
  feeds: number[] = [];
  /** The external values' shapes and dtypes at the capture. */
  externals: { shape: number[]; dtype: string }[] = [];
  /** The results made as new tensors at each replay, written by the dispatches in place of a buffer the plan owns. */
  fresh: { shape: number[]; dtype: tf.DataType }[] = [];
  owned: GPUBufferLike[] = [];
  uniforms: GPUBufferLike[] = [];
  bytes = 0;
}

/** Per trace: its plan, or why its GPU work is not replayed. */
const plans = new WeakMap<object, Plan | { refused: string }>();

let replayEnabled = true;

/** Turns the GPU replay on or off (on by default): off, compiled functions replay their kernels. */
export function setWebGPUReplayEnabled(on: boolean): void {
  replayEnabled = on;
}

/** What the GPU replay has done in this process, for tests and benchmarks. */
export const webgpuReplayCounters = {
  /** Traces whose GPU work was captured into a plan. */
  plans: 0,
  /** Replays of a plan. */
  replays: 0,
  /** Why captures were not made into plans (those traces replay their kernels). */
  refusals: [] as string[],
  /** Bytes of GPU buffers the live plans hold (intermediates, uploads, uniforms). */
  heldBytes: 0,
  /** The last plan made: its dispatches, and the command buffers one replay submits. */
  last: null as { dispatches: number; commandBuffers: number; results: number } | null,
};

/** What a call hands the replay: the values it reads from outside, and the numbers it feeds. */
export interface WebGPUReplayIO {
  /** Tensors read from outside at every call (arguments, captured tensors, constants, state), in a fixed order. */
  externals: tf.Tensor[];
  /**
   * Arrays of numbers written into tensors at each call (a step's learning rate and bias
   * corrections), in a fixed order. At a capture the run fills this list as it makes them (they
   * are recognised by identity); at a replay they are this call's.
   */
  feeds: (Float32Array | Int32Array)[];
}

/** Whether a trace's GPU work has a plan, was refused one, or is still to be captured. */
export function webgpuPlanState(key: object): 'plan' | 'refused' | 'none' {
  const p = plans.get(key);
  return p instanceof Plan ? 'plan' : p ? 'refused' : 'none';
}

/** Whether the active backend is webgpu with what the replay needs (else compile replays kernels). */
export function webgpuReplayAvailable(): boolean {
  if (!replayEnabled || tf.getBackend() !== 'webgpu') return false;
  const b = tf.backend() as unknown as Backend;
  return typeof b.recordAndSubmit === 'function' && typeof b.makeUniforms === 'function';
}

/** Whether `externals` have the count, shapes and dtypes of the capture (else the caller captures again). */
export function webgpuPlanFits(key: object, externals: tf.Tensor[]): boolean {
  const p = plans.get(key);
  if (!(p instanceof Plan) || p.externals.length !== externals.length) return false;
  return externals.every(
    (t, i) => t.dtype === p.externals[i].dtype && tf.util.arraysEqual(t.shape, p.externals[i].shape),
  );
}

/**
 * Runs `run` (which computes a trace's results with kernels) while recording its GPU work, and
 * keeps the plan for `key`, or why there is none. `results` names the tensors the run made that
 * a replay must give back (results, new gradients, new state), read after the run; the first
 * `newTensors` of them are always handed back as new tensors (never written into an external),
 * so that the dispatches can write them where the tensors handed back lie.
 */
export function captureWebGPU<R>(
  key: object,
  io: WebGPUReplayIO,
  run: () => R,
  results: (r: R) => (tf.Tensor | null)[],
  newTensors = 0,
): R {
  dropWebGPUReplay(key);
  const b = tf.backend() as unknown as Backend;
  const { result, plan } = capture(b, io, run, results, newTensors);
  plans.set(key, plan);
  if (plan instanceof Plan) {
    plan.bytes = [...plan.owned, ...plan.uniforms].reduce((n, buffer) => n + buffer.size, 0);
    webgpuReplayCounters.heldBytes += plan.bytes;
    webgpuReplayCounters.plans++;
    webgpuReplayCounters.last = { dispatches: plan.dispatches.length, commandBuffers: 1, results: plan.results.length };
  } else webgpuReplayCounters.refusals.push(plan.refused);
  return result;
}

/**
 * Replays `key`'s plan (webgpuPlanFits first): one command buffer. Result i is a new tensor, or,
 * where `into[i]` names an external whose tensor alone holds its buffer, that external with the
 * result's values written into its buffer (state updated in place: the same tensor, new values);
 * `into` is null for the capture's first `newTensors` results.
 */
export function replayWebGPU(key: object, io: WebGPUReplayIO, into: (number | null)[]): (tf.Tensor | null)[] {
  const p = plans.get(key) as Plan;
  if (io.feeds.length !== p.feeds.length || io.feeds.some((f, i) => f.length !== p.feeds[i]))
    throw new Error(`the numbers fed (${io.feeds.map((f) => f.length)}) differ from the capture's (${p.feeds})`);
  return replayPlan(tf.backend() as unknown as Backend, p, io, into);
}

/** Frees what the plan of `key`'s trace holds (its buffers go back to TF.js's pool). */
export function dropWebGPUReplay(key: object): void {
  const p = plans.get(key);
  plans.delete(key);
  if (!(p instanceof Plan)) return;
  const b = tf.backend() as unknown as Backend;
  if (tf.getBackend() !== 'webgpu' || !b.bufferManager) return; // the backend that made them is gone
  for (const buffer of [...p.owned, ...p.uniforms]) b.bufferManager.releaseBuffer(buffer);
  webgpuReplayCounters.heldBytes -= p.bytes;
}

const STORAGE = () => {
  const u = (globalThis as unknown as { GPUBufferUsage: Record<string, number> }).GPUBufferUsage;
  return u.STORAGE | u.COPY_SRC | u.COPY_DST;
};

/** The buffer an external value lies in, uploaded first if it is still on the CPU. */
function bufferOf(b: Backend, t: TensorInfo): GPUBufferLike {
  b.uploadToGPU(t.dataId);
  return b.tensorMap.get(t.dataId).resource as GPUBufferLike;
}

const ids = new WeakMap<GPUObject, number>();
let nextId = 1;
const idOf = (o: GPUObject) => {
  let n = ids.get(o);
  if (n === undefined) ids.set(o, (n = nextId++));
  return n;
};

function replayPlan(b: Backend, p: Plan, io: WebGPUReplayIO, into: (number | null)[]): (tf.Tensor | null)[] {
  // TF.js's queued commands go first: they may write what the plan reads
  if (b.commandEncoder) {
    b.endComputePassEncoder();
    b.submitQueue();
  }
  const { externals } = io;
  p.fed.forEach((buffer, i) => b.queue.writeBuffer(buffer, 0, io.feeds[i]));
  const buffers: (GPUBufferLike | undefined)[] = new Array(externals.length);
  // the new tensors the dispatches write into, made first (after every earlier submit)
  const fresh = p.fresh.map(({ shape, dtype }) => {
    const info = b.makeTensorInfo(shape, dtype);
    return { info, buffer: bufferOf(b, info) };
  });
  const resolve = (s: Source) =>
    s.kind === 'owned'
      ? s.buffer
      : s.kind === 'fresh'
        ? fresh[s.index].buffer
        : (buffers[s.index] ??= bufferOf(b, externals[s.index]));
  const encoder = b.device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  for (const d of p.dispatches) {
    let group = d.group;
    if (!group) {
      let key = '';
      for (const s of d.bindings) if (s.kind !== 'owned') key += `${idOf(resolve(s))},`;
      group = d.groups.get(key) ?? null;
      if (!group) {
        group = b.device.createBindGroup({
          layout: d.layout,
          entries: [...d.bindings.map((s) => resolve(s)), d.uniforms].map((buffer, i) => ({
            binding: i,
            resource: { buffer },
          })),
        });
        // the buffers of an argument or a new result cycle through TF.js's pool: a few groups cover them
        if (d.groups.size >= 8) d.groups.delete(d.groups.keys().next().value!);
        d.groups.set(key, group);
      }
    }
    pass.setPipeline(d.pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2]);
  }
  pass.end();
  const engine = tf.engine();
  // in place only where the external's tensor alone holds its buffer, and no other result reads it
  const targets = new Set(into.filter((k) => k !== null));
  const inPlace = p.results.map((r, i) => {
    const k = into[i];
    if (k === null || k === undefined || r?.kind !== 'copy') return false;
    const from = r.from;
    if (from.kind === 'external' && targets.has(from.index)) return false;
    const t = externals[k];
    return b.tensorMap.get(t.dataId)?.refCount === 1 && t.dtype === r.dtype && tf.util.arraysEqual(t.shape, r.shape);
  });
  const outs = p.results.map((r, i) => {
    if (!r || inPlace[i]) return null;
    if (r.kind === 'values') return tf.tensor(r.values, r.shape, r.dtype);
    if (r.kind === 'fresh') return engine.makeTensorFromTensorInfo(fresh[r.index].info);
    const info = b.makeTensorInfo(r.shape, r.dtype);
    const to = bufferOf(b, info);
    const from = resolve(r.from);
    encoder.copyBufferToBuffer(from, 0, to, 0, Math.min(from.size, to.size));
    return engine.makeTensorFromTensorInfo(info);
  });
  // the writes in place come after every copy that may read what they overwrite
  p.results.forEach((r, i) => {
    if (!inPlace[i] || r?.kind !== 'copy') return;
    const t = externals[into[i]!];
    const from = resolve(r.from);
    const to = bufferOf(b, t);
    if (from !== to) encoder.copyBufferToBuffer(from, 0, to, 0, Math.min(from.size, to.size));
    // values a read cached on the CPU are the old ones: the next read takes the buffer's
    b.tensorMap.get(t.dataId).values = null;
    outs[i] = t;
  });
  b.queue.submit([encoder.finish()]);
  webgpuReplayCounters.replays++;
  return outs;
}

interface Recorded {
  program: Program;
  output: TensorInfo;
  inputs: TensorInfo[];
  uniforms: Uniform[];
  /** Each binding's buffer at the dispatch (output first). */
  buffers: GPUBufferLike[];
}

/** Runs `run` while recording its GPU work, and builds the plan (or says why not). */
function capture<R>(
  b: Backend,
  io: WebGPUReplayIO,
  run: () => R,
  resultsOf: (r: R) => (tf.Tensor | null)[],
  newTensors: number,
): { result: R; plan: Plan | { refused: string } } {
  const { externals } = io;
  // on the GPU first, so that no kernel runs on the CPU with an external as input (TF.js hands
  // small kernels whose inputs are all on the CPU to its CPU kernels): what a CPU kernel computes
  // is taken for a constant
  for (const t of externals) bufferOf(b, t);
  const externalOf = new Map<object, number>();
  externals.forEach((t, i) => {
    if (!externalOf.has(t.dataId)) externalOf.set(t.dataId, i);
  });
  const recorded: Recorded[] = [];
  /** Values kernels uploaded from JavaScript, by data id (copied at the upload). */
  const uploads = new Map<object, { values: Int32Array | Float32Array; buffer: GPUBufferLike }>();
  let refusal: string | null = null;
  const refuse = (why: string) => {
    refusal ??= why;
  };
  /** The data ids the fed arrays went into, by feed index. */
  const fedIds: (object | undefined)[] = [];
  const { recordAndSubmit, uploadToGPU, write } = b;
  const proto = (name: string) =>
    (globalThis as unknown as Record<string, { prototype: Record<string, unknown> } | undefined>)[name]?.prototype;
  const passProto = proto('GPUComputePassEncoder');
  const encoderProto = proto('GPUCommandEncoder');
  const dispatchWorkgroups = passProto?.dispatchWorkgroups as Pass['dispatchWorkgroups'] | undefined;
  const copyBufferToBuffer = encoderProto?.copyBufferToBuffer as Encoder['copyBufferToBuffer'] | undefined;
  let dispatched = 0;
  let inUpload = 0;
  let inRecord = 0;
  b.recordAndSubmit = function (this: Backend, program, output, inputs, defined) {
    if (program.pipeline instanceof Promise) refuse('a pipeline was still compiling (WEBGPU_ENGINE_COMPILE_ONLY)');
    else if (program.pixelsOpType != null) refuse('a kernel draws to or reads from a texture');
    else if (this.activeTimers != null) refuse('the kernels are being timed (tf.profile, tf.time)');
    const buffers = [output, ...inputs].map((t) => this.tensorMap.get(t.dataId)?.resource as GPUBufferLike);
    recorded.push({
      program,
      output,
      inputs,
      uniforms: uniformData(program, output, inputs, defined),
      buffers,
    });
    inRecord++;
    try {
      return recordAndSubmit.call(this, program, output, inputs, defined);
    } finally {
      inRecord--;
    }
  };
  b.uploadToGPU = function (this: Backend, dataId: object) {
    const d = this.tensorMap.get(dataId);
    const values = d.resource == null && d.values != null && d.values.length > 0 ? d.values : null;
    inUpload++;
    try {
      uploadToGPU.call(this, dataId);
    } finally {
      inUpload--;
    }
    if (values)
      uploads.set(dataId, {
        values: d.dtype === 'float32' ? Float32Array.from(values) : Int32Array.from(values),
        buffer: d.resource as GPUBufferLike,
      });
  };
  // fed numbers go to the GPU at once, so that no CPU kernel computes from them (its result would
  // be taken for a constant)
  b.write = function (this: Backend, values, shape, dtype) {
    const dataId = write.call(this, values, shape, dtype);
    const i = values ? io.feeds.indexOf(values as Float32Array) : -1;
    if (i >= 0) {
      fedIds[i] = dataId;
      this.uploadToGPU(dataId);
    }
    return dataId;
  };
  if (passProto && dispatchWorkgroups)
    passProto.dispatchWorkgroups = function (this: Pass, x: number, y: number, z: number) {
      if (inRecord === 0) refuse('a kernel dispatched outside recordAndSubmit');
      dispatched++;
      return dispatchWorkgroups.call(this, x, y, z);
    };
  if (encoderProto && copyBufferToBuffer)
    encoderProto.copyBufferToBuffer = function (this: Encoder, ...a: Parameters<Encoder['copyBufferToBuffer']>) {
      if (inUpload === 0) refuse('a kernel copies buffers');
      return copyBufferToBuffer.apply(this, a);
    };
  let result: R;
  try {
    result = run();
  } finally {
    b.recordAndSubmit = recordAndSubmit;
    b.uploadToGPU = uploadToGPU;
    b.write = write;
    // the instance properties go, so that the prototype's methods are found again
    for (const name of ['recordAndSubmit', 'uploadToGPU', 'write'] as const)
      if (Object.hasOwn(b, name) && b[name] === Object.getPrototypeOf(b)[name]) delete (b as Partial<Backend>)[name];
    if (passProto && dispatchWorkgroups) passProto.dispatchWorkgroups = dispatchWorkgroups;
    if (encoderProto && copyBufferToBuffer) encoderProto.copyBufferToBuffer = copyBufferToBuffer;
  }
  if (dispatchWorkgroups && dispatched !== recorded.length) refuse('a kernel dispatched outside recordAndSubmit');
  if (fedIds.length !== io.feeds.length || fedIds.some((id) => !id))
    refuse('numbers fed to the step did not go into a tensor of their own');
  if (refusal) return { result, plan: { refused: refusal } };
  try {
    const fed = new Map(fedIds.map((id, i) => [id!, i]));
    return { result, plan: build(b, io, externalOf, fed, recorded, uploads, resultsOf(result), newTensors) };
  } catch (e) {
    if (e instanceof Refusal) return { result, plan: { refused: e.message } };
    throw e;
  }
}

class Refusal extends Error {}

/** TF.js 4.22's recordAndSubmit's uniforms: NaN, ∞, each shape and its strides (inputs, then output), the size, the program's. */
function uniformData(program: Program, output: TensorInfo, inputs: TensorInfo[], defined?: Uniform[]): Uniform[] {
  const data: Uniform[] = [
    { type: 'float32', data: [Number.NaN] },
    { type: 'float32', data: [Number.POSITIVE_INFINITY] },
  ];
  for (const t of [...inputs, output])
    data.push({ type: 'int32', data: [...t.shape] }, { type: 'int32', data: tf.util.computeStrides(t.shape) });
  if (program.size) {
    const size = tf.util.sizeFromShape(program.outputShape);
    data.push({ type: 'int32', data: [program.outputComponent ? size / program.outputComponent : size] });
  }
  if (defined) for (const u of defined) data.push({ type: u.type, data: [...u.data] });
  return data;
}

/** -0 and 0 are different uniform bits: keep them apart in keys. */
const num = (v: number) => (v === 0 && 1 / v < 0 ? '-0' : String(v));

function build(
  b: Backend,
  io: WebGPUReplayIO,
  externalOf: Map<object, number>,
  fed: Map<object, number>,
  recorded: Recorded[],
  uploads: Map<object, { values: Int32Array | Float32Array; buffer: GPUBufferLike }>,
  results: (tf.Tensor | null)[],
  newTensors: number,
): Plan {
  const plan = new Plan();
  plan.externals = io.externals.map((t) => ({ shape: [...t.shape], dtype: t.dtype }));
  plan.feeds = io.feeds.map((f) => f.length);
  const usage = STORAGE();
  try {
    // the values dispatches write: each lives from its first write to its last use (results: to the end)
    const firstWrite = new Map<object, number>();
    const lastUse = new Map<object, number>();
    recorded.forEach((r, k) => {
      if (!firstWrite.has(r.output.dataId)) firstWrite.set(r.output.dataId, k);
      lastUse.set(r.output.dataId, k);
      for (const t of r.inputs) lastUse.set(t.dataId, k);
    });
    for (const v of results) if (v) lastUse.set(v.dataId, recorded.length);
    // new-tensor results a dispatch writes, whose buffer a new tensor of their shape has (its
    // size: TF.js's, 4 bytes an entry): written straight into that tensor's buffer at each replay
    const freshOf = new Map<object, Source>();
    const writtenBytes = new Map<object, number>();
    for (const r of recorded)
      if (!writtenBytes.has(r.output.dataId)) writtenBytes.set(r.output.dataId, r.buffers[0].size);
    results.slice(0, newTensors).forEach((v) => {
      if (!v || freshOf.has(v.dataId) || externalOf.has(v.dataId) || uploads.has(v.dataId)) return;
      const bytes = 4 * tf.util.sizeFromShape(v.shape);
      if (bytes === 0 || !['float32', 'int32', 'bool'].includes(v.dtype) || writtenBytes.get(v.dataId) !== bytes)
        return;
      freshOf.set(v.dataId, { kind: 'fresh', index: plan.fresh.length });
      plan.fresh.push({ shape: [...v.shape], dtype: v.dtype });
    });
    // a buffer per value that a kernel uploaded, written once now; fed numbers, at every replay
    plan.fed = new Array(io.feeds.length);
    const uploaded = new Map<object, Source>();
    const uploadedSource = (dataId: object): Source => {
      let s = uploaded.get(dataId);
      if (!s) {
        const u = uploads.get(dataId)!;
        const buffer = b.bufferManager.acquireBuffer(u.buffer.size, usage);
        plan.owned.push(buffer);
        const f = fed.get(dataId);
        if (f === undefined) b.queue.writeBuffer(buffer, 0, u.values);
        else plan.fed[f] = buffer;
        uploaded.set(dataId, (s = { kind: 'owned', buffer }));
      }
      return s;
    };
    // intermediates share buffers of their size when their lives do not overlap
    const free = new Map<number, GPUBufferLike[]>();
    const live = new Map<object, Source>();
    const ending = new Map<number, object[]>();
    for (const [id, k] of lastUse) if (firstWrite.has(id)) ending.set(k, [...(ending.get(k) ?? []), id]);
    const sourceOf = (dataId: object, k: number, what: string): Source => {
      const written = live.get(dataId) ?? freshOf.get(dataId);
      if (written) return written;
      const e = externalOf.get(dataId);
      if (e !== undefined) return { kind: 'external', index: e };
      if (uploads.has(dataId)) return uploadedSource(dataId);
      throw new Refusal(`${what} reads a buffer that no recorded dispatch wrote (dispatch ${k})`);
    };
    const uniformsByKey = new Map<string, GPUBufferLike>();
    recorded.forEach((r, k) => {
      const inputs = r.inputs.map((t) => sourceOf(t.dataId, k, 'a kernel'));
      let out = live.get(r.output.dataId) ?? freshOf.get(r.output.dataId);
      if (!out) {
        if (externalOf.has(r.output.dataId) || uploads.has(r.output.dataId))
          throw new Refusal(`a kernel writes into a tensor it did not make (dispatch ${k})`);
        const size = r.buffers[0].size;
        let buffer = free.get(size)?.pop();
        if (!buffer) {
          buffer = b.bufferManager.acquireBuffer(size, usage);
          plan.owned.push(buffer);
        }
        live.set(r.output.dataId, (out = { kind: 'owned', buffer }));
      }
      let key = '';
      for (const u of r.uniforms) key += `|${u.type[0]}${u.data.map(num).join(',')}`;
      let uniforms = uniformsByKey.get(key);
      if (!uniforms) {
        uniforms = b.makeUniforms(r.uniforms).buffer;
        // makeUniforms queued it for release at the next submit; the plan keeps it instead
        const i = b.uniformPendingDisposal.lastIndexOf(uniforms);
        if (i >= 0) b.uniformPendingDisposal.splice(i, 1);
        plan.uniforms.push(uniforms);
        uniformsByKey.set(key, uniforms);
      }
      const pipeline = r.program.pipeline as GPUObject & { getBindGroupLayout(i: number): GPUObject };
      const bindings = [out, ...inputs];
      const d: Dispatch = {
        pipeline,
        layout: pipeline.getBindGroupLayout(0),
        workgroups: [...r.program.dispatch] as [number, number, number],
        bindings,
        uniforms,
        group: null,
        groups: new Map(),
      };
      if (bindings.every((s) => s.kind === 'owned'))
        d.group = b.device.createBindGroup({
          layout: d.layout,
          entries: [...bindings.map((s) => (s as { buffer: GPUBufferLike }).buffer), uniforms].map((buffer, i) => ({
            binding: i,
            resource: { buffer },
          })),
        });
      plan.dispatches.push(d);
      // values read for the last time here give their buffers back, for the dispatches after this one
      for (const id of ending.get(k) ?? []) {
        const s = live.get(id);
        if (s?.kind !== 'owned') continue;
        live.delete(id);
        const list = free.get(s.buffer.size) ?? [];
        list.push(s.buffer);
        free.set(s.buffer.size, list);
      }
    });
    for (const [id, i] of fed) if (!plan.fed[i]) plan.fed[i] = (uploadedSource(id) as { buffer: GPUBufferLike }).buffer;
    const handedFresh = new Set<number>();
    plan.results = results.map((v, i): Result => {
      if (!v) return null;
      const shape = [...v.shape];
      const dtype = v.dtype;
      const f = freshOf.get(v.dataId);
      if (f?.kind === 'fresh') {
        // the first new-tensor result of the value is the tensor written; the others are copies of it
        if (i < newTensors && !handedFresh.has(f.index)) {
          handedFresh.add(f.index);
          return { kind: 'fresh', index: f.index };
        }
        return { kind: 'copy', from: f, shape, dtype };
      }
      const written = live.get(v.dataId);
      if (written) return { kind: 'copy', from: written, shape, dtype };
      const e = externalOf.get(v.dataId);
      if (e !== undefined) return { kind: 'copy', from: { kind: 'external', index: e }, shape, dtype };
      if (uploads.has(v.dataId)) return { kind: 'copy', from: uploadedSource(v.dataId), shape, dtype };
      const d = b.tensorMap.get(v.dataId);
      if (d?.values && d.resource == null)
        return {
          kind: 'values',
          values: dtype === 'float32' ? Float32Array.from(d.values) : Int32Array.from(d.values),
          shape,
          dtype,
        };
      throw new Refusal(`result ${i} lies in a buffer that no recorded dispatch wrote`);
    });
    return plan;
  } catch (e) {
    for (const buffer of [...plan.owned, ...plan.uniforms]) b.bufferManager.releaseBuffer(buffer);
    throw e;
  }
}
