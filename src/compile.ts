// compile(fn): run fn once eagerly while recording every TF.js kernel it calls, then answer later
// calls with the same argument shapes by replaying that list of kernel calls — no tape, no adjoint
// closures, no argument checks, no constants made again: only the kernels. The recording is at
// TF.js's engine (runKernel), under every op tapegrad has, so any composition of ops, their
// gradients (tg.grad inside fn) and fused kernels replays as it ran.
//
// A whole training step replays too: backward() into .grad, and an optimizer's step (every one of
// tapegrad's but L-BFGS, whose step runs a closure), whose parameters and state are state cells
// (tape.ts: read afresh at each replay, written with the replay's new tensors) and whose learning
// rate and bias corrections are host values (the optimizer's JavaScript runs again at each replay
// for that call's numbers and step counts).
//
// What the replay must not miss is refused at the trace, with the reason: a read of a value
// (x.item(), dataSync: control flow may depend on it), a tensor made from JavaScript values that
// vary (a random draw), a change to a tensor's .value other than an optimizer's step.
//
// The recording (a Trace) is a plain list of kernel calls over numbered slots, with where each
// input comes from (Ref), what runs before the kernels (hosts: numbers uploaded into slots) and
// what happens after (writes into cells and .grad): a backend that replays by other means (the
// webgpu replay of recorded dispatches) reads the same structure.
import * as tf from '@tensorflow/tfjs-core';
import { TapegradError, fmtShape, refuseAsync, refusePromise } from './errors.js';
import { Tensor, gradAssignments } from './tensor.js';
import { traceHooks, type HostValues, type StateCell } from './tape.js';
import { indexValues } from './ops/indices.js';
import { dropWebGPUPlan, replayOnWebGPU } from './compile-webgpu.js';

/** Where a kernel's input comes from at replay. */
export type Ref =
  | { kind: 'arg'; index: number }
  | { kind: 'slot'; index: number }
  | { kind: 'constant'; value: tf.Tensor }
  /** A tapegrad tensor read but not passed (a layer's weight): its value at the time of the call. */
  | { kind: 'captured'; tensor: Tensor; shape: number[]; dtype: string }
  /** A TF.js tensor read but not passed, made before the trace. */
  | { kind: 'raw'; value: tf.Tensor }
  /** What a state cell holds at the time of the call (an optimizer's moments). */
  | { kind: 'cell'; cell: StateCell }
  /** A tapegrad tensor's .grad at the time of the call (backward() adding into it). */
  | { kind: 'grad'; tensor: Tensor };

export interface KernelCall {
  name: string;
  inputs: [string, Ref | null][];
  /** The inputs were a list (Concat, AddN, Pack), not named. */
  list: boolean;
  attrs: tf.NamedAttrMap;
  /** Slots of the outputs; `many`: the kernel returned a list. */
  outs: number[];
  many: boolean;
  /** Slots whose last reader this call is (or that nothing reads): freed after it. */
  frees: number[];
  /**
   * Outputs that are one of the inputs' data, handed back without the reference a replay frees
   * (webgpu's TopK of rows of one returns x itself): the replay takes one for them.
   */
  unowned?: number[];
  kernel?: tf.KernelConfig;
}

/** An index tensor whose values an op checked at the trace: a replay needs them within the range the trace saw. */
interface IndexGuard {
  ref: Ref;
  min: number;
  max: number;
}

/** Numbers computed in JavaScript at each call, before the kernels, into a slot (null: no kernel reads them). */
export interface HostInput {
  host: HostValues;
  slot: number | null;
  shape: number[];
  dtype: 'float32' | 'int32';
}

/** A cell the step writes: what it held at the trace (null: empty), which a replay needs again. */
export interface CellGuard {
  cell: StateCell;
  before: { shape: number[]; dtype: string } | null;
}

/** A tensor's .grad set by the step (backward()): the new gradient (null: cleared), and whether it had one before. */
export interface GradWrite {
  tensor: Tensor;
  ref: Ref | null;
  hadGrad: boolean;
}

/**
 * One recording: run `hosts`, then `calls` in order over `slots` numbered intermediates, then
 * hand out `outputs` and perform `writes` and `gradWrites`.
 */
export interface Trace {
  calls: KernelCall[];
  guards: IndexGuard[];
  slots: number;
  outputs: (Ref | null)[];
  /** fn returned one tensor rather than a list. */
  single: boolean;
  constants: tf.Tensor[];
  hosts: HostInput[];
  cells: CellGuard[];
  /** Cells written after the kernels, in the order the step wrote them. */
  writes: { cell: StateCell; ref: Ref }[];
  gradWrites: GradWrite[];
}

type Engine = {
  runKernel(name: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap): tf.Tensor | tf.Tensor[];
  makeTensor(values: unknown, shape: number[], dtype: tf.DataType, backend?: unknown): tf.Tensor;
  startScope(name?: string): void;
  readSync(dataId: object): unknown;
  read(dataId: object): Promise<unknown>;
  nextTensorId(): number;
};

/** What compile() returns: call it as fn; dispose() frees the constants its traces keep. */
export interface Compiled<A extends Tensor[], R extends Tensor | (Tensor | null)[]> {
  (...args: A): R;
  /** How many times fn has been traced (once per distinct argument shapes and backend, and again after a change it cannot follow). */
  readonly traces: number;
  dispose(): void;
}

let tracing = false;

/**
 * Traces `fn` on its first call (an eager run, recording the kernels it calls) and replays the
 * recording on later calls with arguments of the same shapes and dtypes on the same backend;
 * other shapes trace again. Results are the same values eager execution gives (the same kernels on
 * the same inputs), as new tensors without a graph: differentiate inside fn (tg.grad) and return
 * the gradients. Tensors fn reads without taking them as arguments (a layer's weights) are read
 * afresh at every call.
 *
 * A whole training step compiles: `opt.zeroGrad(); loss.backward(); opt.step()` inside fn replays
 * as the eager step would, bit for bit — new .grad on the parameters, new parameter values and
 * optimizer state, the step count and the learning rate of the call (schedules and changes to
 * `paramGroups[k].lr` are followed) — for every optimizer but LBFGS (whose step runs a closure).
 * The first call makes the optimizer's state and the gradients, so the second traces again; fn
 * traces again too when the optimizer's other options change (and at RAdam's first rectified step).
 * A kernel that takes another path on some values (on wasm, a convolution's input gradient when
 * the filter holds NaN or ±∞) tests them inside the kernel, so a replay takes the path its own
 * values call for.
 *
 * fn must be synchronous and return a Tensor or an array of Tensors (or nulls). Refused with a
 * TapegradError at the trace: reading values inside fn (item(), dataSync(), data()), making a
 * float32 tensor of varying values inside fn (tg.randn, dropout in training mode: draw them
 * outside and pass them in), a step of an optimizer with no rule (LBFGS, one of your own written
 * as update) inside fn, a tensor's .value replaced otherwise. Constants made from numbers inside fn are kept with the trace: dispose() frees them.
 * The number of arguments is fixed by the first call, and at least fn's declared parameters: a
 * call with fewer, or with another number than the trace's, is a TapegradError naming both (a
 * JavaScript function would silently read undefined, or never see the extra ones; JAX re-traces a
 * variadic function per number of arguments, here compile one function for each).
 * JAX `jax.jit`, PyTorch `torch.compile` (which also fuses; this replays TF.js's kernels as they are).
 */
export function compile<A extends Tensor[], R extends Tensor | (Tensor | null)[]>(
  fn: (...args: A) => R,
): Compiled<A, R> {
  if (typeof fn !== 'function') throw new TapegradError('compile', `expected a function, got ${typeof fn}`);
  refuseAsync('compile', fn);
  const traces = new Map<string, Trace>();
  let count = 0;
  let disposed = false;
  /** The arguments of the first call, as dtype and shape: their number is the compiled function's signature. */
  let traced: string[] | null = null;
  const call = (...args: A): R => {
    if (disposed) throw new TapegradError('compile', 'the compiled function has been disposed');
    const given = () => args.map((x) => (x instanceof Tensor ? `${x.dtype}${fmtShape(x.shape)}` : typeof x));
    // fn would read undefined for a missing argument, or never see an extra one (jax.jit's TypeError)
    if (args.length < fn.length)
      throw new TapegradError(
        'compile',
        `the function takes ${fn.length} argument${fn.length === 1 ? '' : 's'}, ` +
          `called with ${args.length} (${given().join(', ')})`,
      );
    if (traced && args.length !== traced.length)
      throw new TapegradError(
        'compile',
        `traced with ${traced.length} argument${traced.length === 1 ? '' : 's'} (${traced.join(', ')}), called with ` +
          `${args.length} (${given().join(', ')}); compile a function for each number of arguments`,
      );
    args.forEach((x, i) => {
      if (!(x instanceof Tensor))
        throw new TapegradError('compile', `argument ${i} must be a tapegrad Tensor, got ${typeof x}`);
      x.assertLive('compile', `argument ${i}`);
    });
    const key = `${tf.getBackend()}|${args.map((x) => `${x.dtype}${fmtShape(x.shape)}`).join(' ')}`;
    const known = traces.get(key);
    if (known) {
      if (replayable(known, args))
        return (replayOnWebGPU(known, args, () => replay(known, args)) ?? replay(known, args)) as R;
      drop(known);
      traces.delete(key);
    }
    const { trace, result } = record(fn, args);
    traced ??= given();
    traces.set(key, trace);
    count++;
    return result as R;
  };
  const drop = (t: Trace) => {
    dropWebGPUPlan(t);
    t.constants.forEach((c) => c.dispose());
  };
  const dispose = () => {
    for (const t of traces.values()) drop(t);
    traces.clear();
    disposed = true;
  };
  Object.defineProperty(call, 'traces', { get: () => count });
  return Object.assign(call, { dispose }) as unknown as Compiled<A, R>;
}

/**
 * The captured tensors still hold values of the traced shapes, and the index tensors ops check
 * hold values within the range the trace saw (else the trace is made again, and its eager run
 * gives the op's own error for an index out of range).
 */
function replayable(t: Trace, args: Tensor[]): boolean {
  for (const h of t.hosts) if (!h.host.applies()) return false;
  for (const c of t.cells) {
    const v = c.cell.read();
    if ((v === null) !== (c.before === null)) return false;
    if (v && (v.isDisposed || v.dtype !== c.before!.dtype || !tf.util.arraysEqual(v.shape, c.before!.shape)))
      return false;
  }
  for (const w of t.gradWrites) if ((w.tensor.grad !== null) !== w.hadGrad) return false;
  for (const g of t.guards) {
    const v = g.ref.kind === 'arg' ? args[g.ref.index].value : g.ref.kind === 'captured' ? g.ref.tensor.value : null;
    if (!v) continue; // constants and tensors made before the trace do not change
    const values = indexValues(v);
    if (values) for (const x of values) if (x < g.min || x > g.max) return false;
  }
  for (const c of t.calls)
    for (const [, r] of c.inputs) {
      if (!r) continue;
      if (r.kind === 'raw' && r.value.isDisposed) return false;
      if (r.kind === 'captured') {
        const v = r.tensor.value;
        if (v.isDisposed || v.dtype !== r.dtype || !tf.util.arraysEqual(v.shape, r.shape)) return false;
      }
      if (r.kind === 'grad' && (!r.tensor.grad || r.tensor.grad.isDisposed)) return false;
    }
  return true;
}

/** The backend's count of references to a tensor's data; −1 where the backend keeps none. */
function refCount(dataId: object): number {
  try {
    return tf.backend().refCount(dataId);
  } catch {
    return -1;
  }
}

/**
 * Runs the recorded kernels straight on the backend, as TF.js's engine would but without it: the
 * intermediates are the backend's data alone (freed after their last reader), and only the
 * results become tf.Tensors.
 */
function replay(t: Trace, args: Tensor[]): Tensor | (Tensor | null)[] {
  const engine = tf.engine();
  const backend = engine.backend;
  const backendName = engine.backendName;
  const slots: tf.TensorInfo[] = new Array(t.slots);
  const resolve = (r: Ref): tf.TensorInfo => {
    switch (r.kind) {
      case 'arg':
        return args[r.index].value;
      case 'slot':
        return slots[r.index];
      case 'constant':
      case 'raw':
        return r.value;
      case 'captured':
        return r.tensor.value;
      case 'cell':
        return r.cell.read()!;
      case 'grad':
        return r.tensor.grad!.value;
    }
  };
  // a kernel written with TF.js ops may return a tf.Tensor, which the engine already tracks
  const free = (info: tf.TensorInfo) => (info instanceof tf.Tensor ? info.dispose() : backend.disposeData(info.dataId));
  let done = 0;
  try {
    for (const h of t.hosts) {
      const values = h.host.next();
      if (h.slot !== null)
        slots[h.slot] = { dataId: backend.write(values, h.shape, h.dtype), shape: h.shape, dtype: h.dtype };
    }
    for (const c of t.calls) {
      c.kernel ??= tf.getKernel(c.name, backendName);
      if (!c.kernel) throw new TapegradError('compile', `the backend '${backendName}' has no kernel ${c.name}`);
      let inputs: tf.NamedTensorInfoMap | tf.TensorInfo[];
      if (c.list) inputs = c.inputs.map(([, r]) => resolve(r!));
      else {
        inputs = {};
        for (const [name, r] of c.inputs) if (r) inputs[name] = resolve(r);
      }
      const out = c.kernel.kernelFunc({ inputs: inputs as tf.NamedTensorInfoMap, backend, attrs: c.attrs });
      if (c.many) (out as tf.TensorInfo[]).forEach((o, j) => (slots[c.outs[j]] = o));
      else slots[c.outs[0]] = out as tf.TensorInfo;
      if (c.unowned) for (const j of c.unowned) backend.incRef(slots[c.outs[j]].dataId);
      for (const k of c.frees) {
        free(slots[k]);
        slots[k] = undefined as unknown as tf.TensorInfo;
      }
      done++;
    }
  } catch (e) {
    // what the calls made so far hold is freed before the error goes on
    for (const s of slots) if (s) free(s);
    throw e instanceof TapegradError
      ? e
      : new TapegradError('compile', `replaying kernel ${t.calls[done]?.name}: ${(e as Error).message}`);
  }
  // every result a tensor of its own: an argument, a constant or a repeated result is copied
  const taken = new Set<number>();
  const materialize = (r: Ref): tf.Tensor => {
    if (r.kind === 'slot' && !taken.has(r.index)) {
      taken.add(r.index);
      const info = slots[r.index];
      return info instanceof tf.Tensor ? info : engine.makeTensorFromTensorInfo(info);
    }
    return tf.clone(resolve(r) as tf.Tensor);
  };
  const outs = t.outputs.map((r) => (r ? new Tensor(materialize(r)) : null));
  // the step's effects, as the eager step left them: new gradients, parameters and optimizer state
  const grads = t.gradWrites.map((w) => (w.ref ? materialize(w.ref) : null));
  t.gradWrites.forEach((w, i) => {
    const old = w.tensor.grad;
    const g = grads[i];
    w.tensor.grad = g ? new Tensor(tf.keep(g)) : null;
    old?.dispose();
  });
  for (const w of t.writes) w.cell.write(materialize(w.ref));
  return t.single ? outs[0]! : outs;
}

/** The eager run that records: fn's results (without a graph) and the trace. */
function record(fn: (...args: never[]) => unknown, args: Tensor[]): { trace: Trace; result: unknown } {
  if (tracing) throw new TapegradError('compile', 'a compiled function cannot be traced inside another');
  const engine = tf.engine() as unknown as Engine;
  const calls: KernelCall[] = [];
  const slotOf = new Map<tf.Tensor, Ref>();
  args.forEach((x, index) => slotOf.set(x.value, { kind: 'arg', index }));
  const pendingConstants: { values: unknown; shape: number[]; dtype: tf.DataType; made: tf.Tensor }[] = [];
  /** tapegrad tensors read by ops, by their value, with their .grad and .value when first seen. */
  const seenTensors = new Map<tf.Tensor, { tensor: Tensor; grad: Tensor | null; value: tf.Tensor }>();
  /** .grad as fn found it, for tensors whose .grad fn assigned (zeroGrad) before an op read them. */
  const gradOnEntry = new Map<Tensor, Tensor | null>();
  let slots = 0;
  let depth = 0;
  let refusal: string | null = null;
  const firstId = engine.nextTensorId();
  const refuse = (why: string) => {
    refusal ??= why;
  };

  const refOf = (t: tf.Tensor): Ref => {
    const known = slotOf.get(t);
    if (known) return known;
    const seen = seenTensors.get(t);
    if (seen && (t as unknown as { id: number }).id < firstId)
      return { kind: 'captured', tensor: seen.tensor, shape: [...t.shape], dtype: t.dtype };
    if ((t as unknown as { id: number }).id < firstId) return { kind: 'raw', value: t };
    refuse(`a kernel read a tensor (shape ${fmtShape(t.shape)}) made inside fn by a path compile cannot follow`);
    return { kind: 'raw', value: t };
  };

  const { runKernel, makeTensor, readSync, read, startScope } = engine;
  engine.runKernel = function (name, inputs, attrs) {
    if (depth > 0) return runKernel.call(this, name, inputs, attrs);
    const ins = Object.entries(inputs ?? {}).map(
      ([k, t]) => [k, t ? refOf(t as tf.Tensor) : null] as [string, Ref | null],
    );
    const inputData = Object.values(inputs ?? {}).flatMap((t) => (t ? [(t as tf.Tensor).dataId] : []));
    const refsBefore = inputData.map(refCount);
    depth++;
    let out: tf.Tensor | tf.Tensor[];
    try {
      out = runKernel.call(this, name, inputs, attrs);
    } finally {
      depth--;
    }
    const list = Array.isArray(out) ? out : [out];
    const outs = list.map((o) => {
      const index = slots++;
      slotOf.set(o, { kind: 'slot', index });
      return index;
    });
    // an output that is an input's data with no reference taken for it (the engine counts its own)
    const unowned = list.flatMap((o, j) => {
      const k = inputData.indexOf(o.dataId);
      return k >= 0 && refsBefore[k] >= 0 && refCount(o.dataId) <= refsBefore[k] ? [j] : [];
    });
    calls.push({
      name,
      inputs: ins,
      list: Array.isArray(inputs),
      attrs: { ...(attrs ?? {}) },
      outs,
      many: Array.isArray(out),
      frees: [],
      ...(unowned.length ? { unowned } : {}),
    });
    return out;
  };
  engine.makeTensor = function (values, shape, dtype, backend) {
    const made = makeTensor.call(this, values, shape, dtype, backend);
    if (depth === 0) {
      const v = values as ArrayLike<number>;
      pendingConstants.push({
        values: Array.from(v as ArrayLike<number>),
        shape: [...made.shape],
        dtype: made.dtype,
        made,
      });
      slotOf.set(made, { kind: 'raw', value: made });
    }
    return made;
  };
  const refuseRead = () =>
    refuse(
      'fn reads tensor values (item(), dataSync(), data(), or an op that needs them): what it computes next may depend on them; compute them outside fn',
    );
  engine.startScope = function (name) {
    // TF.js's random ops draw in JavaScript and make a tensor of the draws
    if (depth === 0 && name && /^(random|truncatedNormal|multinomial)/.test(name))
      refuse(
        `fn draws random numbers (${name.replace(/__op$/, '')}: tg.randn, tg.rand, dropout in training mode): the draws would be frozen at the trace; draw them outside fn and pass them in`,
      );
    return startScope.call(this, name);
  };
  engine.readSync = function (dataId) {
    if (depth === 0 && traceHooks.indexReads === 0) refuseRead();
    return readSync.call(this, dataId);
  };
  engine.read = function (dataId) {
    if (depth === 0 && traceHooks.indexReads === 0) refuseRead();
    return read.call(this, dataId);
  };
  const guardsAt = new Map<tf.Tensor, IndexGuard>();
  traceHooks.onIndexValues = (t, values) => {
    let min = Infinity;
    let max = -Infinity;
    for (const x of values) {
      if (x < min) min = x;
      if (x > max) max = x;
    }
    const ref = refOf(t);
    if (ref.kind === 'slot') refuse('fn checks the values of index tensors it computes (a gather by computed indices)');
    guardsAt.set(t, { ref, min, max });
  };
  gradAssignments.onAssign = (x) => {
    if (!gradOnEntry.has(x) && !seenTensors.has(x.value)) gradOnEntry.set(x, x.grad);
  };
  traceHooks.onInputs = (xs) => {
    for (const x of xs)
      if (!seenTensors.has(x.value)) seenTensors.set(x.value, { tensor: x, grad: x.grad, value: x.value });
  };
  const hostsSeen: { host: HostValues; tensor: tf.Tensor | null }[] = [];
  traceHooks.onHostValues = (host, tensor) => {
    hostsSeen.push({ host, tensor });
  };
  const cellWrites: { cell: StateCell; before: tf.Tensor | null; after: tf.Tensor }[] = [];
  traceHooks.onStateWrite = (cell, before, after) => {
    cellWrites.push({ cell, before, after });
  };
  traceHooks.refuse = refuse;
  const before = args.map((x) => ({ grad: x.grad, value: x.value }));
  tracing = true;
  let result: unknown;
  let kept: (tf.Tensor | null)[] = [];
  try {
    kept = tidyList(() => {
      result = fn(...(args as never[]));
      refusePromise('compile', result);
      const list = Array.isArray(result) ? result : [result];
      return list.map((r, i) => {
        if (r === null) return null;
        if (!(r instanceof Tensor))
          throw new TapegradError(
            'compile',
            `fn must return a Tensor or an array of Tensors, got ${describeResult(r, i)}`,
          );
        return r.value;
      });
    });
  } finally {
    engine.runKernel = runKernel;
    engine.makeTensor = makeTensor;
    engine.readSync = readSync;
    engine.read = read;
    engine.startScope = startScope;
    traceHooks.onInputs = null;
    traceHooks.onIndexValues = null;
    traceHooks.onHostValues = null;
    traceHooks.onStateWrite = null;
    traceHooks.refuse = null;
    gradAssignments.onAssign = null;
    tracing = false;
  }
  // values an optimizer's step wrote are its state cells' (replayed); any other new value is refused
  const written = new Set(cellWrites.map((w) => w.after));
  const replaced = 'fn replaced the values of a tensor it reads other than by an optimizer step: do that outside fn';
  const touched = new Map<Tensor, { grad: Tensor | null }>();
  args.forEach((x, i) => {
    if (x.value !== before[i].value && !written.has(x.value)) refuse(`argument ${i}: ${replaced}`);
    if (x.grad !== before[i].grad) touched.set(x, { grad: before[i].grad });
  });
  for (const s of seenTensors.values()) {
    if (s.tensor.value !== s.value && !written.has(s.tensor.value)) refuse(replaced);
    const grad = gradOnEntry.has(s.tensor) ? gradOnEntry.get(s.tensor)! : s.grad;
    if (s.tensor.grad !== grad && !touched.has(s.tensor)) touched.set(s.tensor, { grad });
  }
  // a .grad cleared on a tensor no op read (zeroGrad over a parameter fn does not use)
  for (const [x, grad] of gradOnEntry) if (x.grad !== grad && !touched.has(x)) touched.set(x, { grad });
  const outputRefs = kept.map((v) => (v ? refOf(v) : null));
  const gradRefs = [...touched.keys()].map((x) => (x.grad ? refOf(x.grad.value) : null));
  const writeRefs = cellWrites.map((w) => refOf(w.after));
  if (refusal) {
    kept.forEach((v) => v?.dispose());
    throw new TapegradError('compile', refusal);
  }
  // constants: a kept copy each, put where the trace read the tensor made at the trace
  const constants: tf.Tensor[] = [];
  const constantOf = new Map<tf.Tensor, tf.Tensor>();
  // small constants of equal values share one tensor (a loop's repeated `mul(1.001)`)
  const byValue = new Map<string, tf.Tensor>();
  const hostTensors = new Set(hostsSeen.map((h) => h.tensor));
  for (const c of pendingConstants) {
    if (hostTensors.has(c.made)) continue;
    const values = c.values as number[];
    const key = values.length <= 16 ? `${c.dtype}${fmtShape(c.shape)}${values.map(spell).join()}` : null;
    let value = key === null ? undefined : byValue.get(key);
    if (!value) {
      value = tf.keep(tf.tensor(values, c.shape, c.dtype));
      constants.push(value);
      if (key !== null) byValue.set(key, value);
    }
    constantOf.set(c.made, value);
  }
  // host values: a slot each, filled before the kernels at every replay
  const hosts: HostInput[] = [];
  const hostSlot = new Map<tf.Tensor, number>();
  for (const { host, tensor } of hostsSeen) {
    let slot: number | null = null;
    if (tensor) hostSlot.set(tensor, (slot = slots++));
    hosts.push({
      host,
      slot,
      shape: tensor ? [...tensor.shape] : [],
      dtype: tensor?.dtype === 'int32' ? 'int32' : 'float32',
    });
  }
  // what cells held before the step, and .grad kept from before (added into by backward())
  const cellOf = new Map<tf.Tensor, StateCell>();
  for (const w of cellWrites) if (w.before && !cellOf.has(w.before)) cellOf.set(w.before, w.cell);
  const gradOf = new Map<tf.Tensor, Tensor>();
  const oldGradTensors = new Map<Tensor, Tensor>();
  for (const [x, { grad }] of touched)
    if (grad) {
      gradOf.set(grad.value, x);
      oldGradTensors.set(grad, x);
    }
  const fix = (r: Ref | null): Ref | null => {
    if (!r) return r;
    if (r.kind === 'raw') {
      if (constantOf.has(r.value)) return { kind: 'constant', value: constantOf.get(r.value)! };
      if (hostSlot.has(r.value)) return { kind: 'slot', index: hostSlot.get(r.value)! };
      if (cellOf.has(r.value)) return { kind: 'cell', cell: cellOf.get(r.value)! };
      if (gradOf.has(r.value)) return { kind: 'grad', tensor: gradOf.get(r.value)! };
    }
    if (r.kind === 'captured' && oldGradTensors.has(r.tensor))
      return { kind: 'grad', tensor: oldGradTensors.get(r.tensor)! };
    return r;
  };
  for (const c of calls) c.inputs = c.inputs.map(([k, r]) => [k, fix(r)]);
  const outputs = outputRefs.map(fix);
  const writes = cellWrites.map((w, i) => ({ cell: w.cell, ref: fix(writeRefs[i])! }));
  const gradWrites: GradWrite[] = [...touched].map(([tensor, { grad }], i) => ({
    tensor,
    ref: fix(gradRefs[i]),
    hadGrad: grad !== null,
  }));
  const cells: CellGuard[] = [];
  const guarded = new Set<StateCell>();
  for (const w of cellWrites) {
    if (guarded.has(w.cell)) continue;
    guarded.add(w.cell);
    cells.push({ cell: w.cell, before: w.before ? { shape: [...w.before.shape], dtype: w.before.dtype } : null });
  }
  // each slot is freed after its last reader, or at once when nothing reads it; results are kept
  const lastUse = new Int32Array(slots).fill(-1);
  calls.forEach((c, k) => {
    for (const o of c.outs) lastUse[o] = k;
    for (const [, r] of c.inputs) if (r?.kind === 'slot') lastUse[r.index] = k;
  });
  const keptSlots = new Set<number>();
  for (const r of [...outputs, ...writes.map((w) => w.ref), ...gradWrites.map((w) => w.ref)])
    if (r?.kind === 'slot') {
      lastUse[r.index] = -1;
      keptSlots.add(r.index);
    }
  lastUse.forEach((k, slot) => {
    if (k >= 0) calls[k].frees.push(slot);
  });
  const single = !Array.isArray(result);
  // a result fn passed through (an argument, a weight) is handed out as a copy, as a replay does
  const made = (v: tf.Tensor) => (v as unknown as { id: number }).id >= firstId;
  const values = kept.map((v) => (v ? new Tensor(made(v) ? v : tf.clone(v)) : null));
  return {
    trace: {
      calls,
      guards: [...guardsAt.values()].map((g) => ({ ...g, ref: fix(g.ref)! })),
      slots,
      outputs,
      single,
      constants,
      // numbers nothing reads are still computed (they advance the step counts), never uploaded
      hosts: hosts.map((h) =>
        h.slot !== null && lastUse[h.slot] < 0 && !keptSlots.has(h.slot) ? { ...h, slot: null } : h,
      ),
      cells,
      writes,
      gradWrites,
    },
    result: single ? values[0] : values,
  };
}

/** A number as a key: −0 apart from 0. */
const spell = (v: number) => (Object.is(v, -0) ? '-0' : String(v));

/** tf.tidy of a function returning a list with nulls in it (which TF.js's types do not allow). */
const tidyList = (f: () => (tf.Tensor | null)[]): (tf.Tensor | null)[] =>
  tf.tidy(f as unknown as () => tf.TensorContainer) as unknown as (tf.Tensor | null)[];

function describeResult(r: unknown, i: number): string {
  const what = r === undefined ? 'undefined' : typeof r === 'object' ? (r?.constructor?.name ?? 'an object') : typeof r;
  return `${what} (result ${i})`;
}
