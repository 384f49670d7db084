// compile()'s replay on webgpu: the first replay of a trace runs its kernels while the GPU work
// they make is recorded (kernels/webgpu-replay.ts); later replays submit that work again as one
// command buffer, without the kernels. This file reads a trace as compile.ts records it: what it
// reads from outside (arguments, captured tensors, constants, a step's state and gradients), the
// numbers a step computes in JavaScript each call (fed into their buffers), and what it hands back
// (results, new gradients, new state). Results and new gradients are new tensors, written by the
// dispatches straight into their buffers (no copy; no later replay writes into them). A step's new
// state goes into the buffers of the tensors that hold it (the same tensors, new values), so
// parameters and moments stay where they are.
import * as tf from '@tensorflow/tfjs-core';
import { Tensor } from './tensor.js';
import {
  captureWebGPU,
  dropWebGPUReplay,
  replayWebGPU,
  webgpuPlanFits,
  webgpuPlanState,
  webgpuReplayAvailable,
} from './backend/index.js';

/** A place a step reads a tensor from and writes a new one into (compile.ts's state cells). */
interface CellLike {
  read(): tf.Tensor | null;
  write(t: tf.Tensor): void;
}

/** Where a kernel's input comes from (compile.ts's Ref, as far as this reads it). */
type RefLike =
  | { kind: 'arg'; index: number }
  | { kind: 'slot'; index: number }
  | { kind: 'constant' | 'raw'; value: tf.Tensor }
  | { kind: 'captured'; tensor: Tensor }
  | { kind: 'cell'; cell: CellLike }
  | { kind: 'grad'; tensor: Tensor };

/** A trace as compile.ts records it, as far as this reads it. */
export interface TraceLike {
  calls: { inputs: [string, RefLike | null][] }[];
  outputs: (RefLike | null)[];
  single: boolean;
  /** Numbers computed in JavaScript at each call, before the kernels, into a slot (null: none reads them). */
  hosts?: { host: { next(): Float32Array | Int32Array }; slot: number | null }[];
  /** Cells written after the kernels. */
  writes?: { cell: CellLike; ref: RefLike }[];
  /** Tensors whose .grad the step sets (null ref: cleared). */
  gradWrites?: { tensor: Tensor; ref: RefLike | null }[];
}

/** Per trace: the references to what it reads from outside, args first, each once. */
const externalRefs = new WeakMap<object, RefLike[]>();

function refsOf(t: TraceLike, args: Tensor[]): RefLike[] {
  let refs = externalRefs.get(t);
  if (!refs) {
    const seen = new Set<unknown>();
    refs = args.map((_, index): RefLike => ({ kind: 'arg', index }));
    for (const c of t.calls)
      for (const [, r] of c.inputs) {
        if (!r || r.kind === 'arg' || r.kind === 'slot') continue;
        const key = r.kind === 'captured' || r.kind === 'grad' ? r.tensor : r.kind === 'cell' ? r.cell : r.value;
        if (seen.has(key)) continue;
        seen.add(key);
        refs.push(r);
      }
    externalRefs.set(t, refs);
  }
  return refs;
}

function valueOf(r: RefLike, args: Tensor[]): tf.Tensor {
  switch (r.kind) {
    case 'arg':
      return args[r.index].value;
    case 'captured':
      return r.tensor.value;
    case 'grad':
      return r.tensor.grad!.value;
    case 'cell':
      return r.cell.read()!;
    case 'constant':
    case 'raw':
      return r.value;
    case 'slot':
      throw new Error('a slot is not read from outside');
  }
}

/**
 * Replays trace `t` on webgpu: its recorded GPU work, or, the first time, `replay` (its kernels)
 * while recording it. Undefined where the backend is not webgpu or the trace's GPU work cannot be
 * replayed (then the caller replays the kernels).
 */
export function replayOnWebGPU(
  t: TraceLike,
  args: Tensor[],
  replay: () => Tensor | (Tensor | null)[],
): Tensor | (Tensor | null)[] | undefined {
  if (!webgpuReplayAvailable()) return undefined;
  const state = webgpuPlanState(t);
  if (state === 'refused') return undefined;
  const refs = refsOf(t, args);
  const externals = refs.map((r) => valueOf(r, args));
  const hosts = t.hosts ?? [];
  const writes = t.writes ?? [];
  const gradWrites = t.gradWrites ?? [];
  if (state === 'plan' && webgpuPlanFits(t, externals)) {
    // the step's JavaScript: its numbers for this call, in the order the trace's hosts come
    const feeds: (Float32Array | Int32Array)[] = [];
    for (const h of hosts) {
      const values = h.host.next();
      if (h.slot !== null) feeds.push(values);
    }
    // state written in place: into the tensor each cell holds now, when a kernel reads it
    const position = new Map(externals.map((v, i) => [v, i] as const));
    const into = [
      ...t.outputs.map(() => null),
      ...gradWrites.map(() => null),
      ...writes.map((w) => {
        const v = w.cell.read();
        return v ? (position.get(v) ?? null) : null;
      }),
    ];
    return handOut(t, replayWebGPU(t, { externals, feeds }, into));
  }
  // the capture: the numbers the hosts make are recognised where the kernels' replay writes them
  const feeds: (Float32Array | Int32Array)[] = [];
  const restore: (() => void)[] = [];
  for (const h of hosts) {
    if (h.slot === null) continue;
    const host = h.host;
    const next = host.next;
    host.next = () => {
      const values = next.call(host);
      feeds.push(values);
      return values;
    };
    restore.push(() => {
      host.next = next;
    });
  }
  try {
    // results and new gradients are new tensors at every replay: the dispatches write them in place
    return captureWebGPU(
      t,
      { externals, feeds },
      replay,
      (result) => [
        ...(t.single ? [result as Tensor] : (result as (Tensor | null)[])).map((r) => r?.value ?? null),
        ...gradWrites.map((w) => w.tensor.grad?.value ?? null),
        ...writes.map((w) => w.cell.read()),
      ],
      t.outputs.length + gradWrites.length,
    );
  } finally {
    for (const r of restore) r();
  }
}

/** Frees the plan a trace's GPU work was recorded into. */
export const dropWebGPUPlan = (t: object): void => dropWebGPUReplay(t);

/** The replay's tensors handed out as the kernels' replay does: results, then new gradients, then new state. */
function handOut(t: TraceLike, values: (tf.Tensor | null)[]): Tensor | (Tensor | null)[] {
  const n = t.outputs.length;
  const gradWrites = t.gradWrites ?? [];
  const outs = values.slice(0, n).map((v) => (v ? new Tensor(v) : null));
  gradWrites.forEach((w, i) => {
    const g = values[n + i];
    const old = w.tensor.grad;
    w.tensor.grad = g ? new Tensor(tf.keep(g)) : null;
    old?.dispose();
  });
  (t.writes ?? []).forEach((w, i) => {
    const v = values[n + gradWrites.length + i];
    // a tensor written in place is the one the cell holds already
    if (v && v !== w.cell.read()) w.cell.write(v);
  });
  return t.single ? outs[0]! : outs;
}
