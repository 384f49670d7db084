// The backends agree: a random composition of ops (gen.ts's cases) run on wasm (or webgpu) and on
// cpu from the same input values, its value and its gradients (of Σ w·f for fixed random weights w)
// compared, and on the tested backend through tg.compile too (its replay must give the eager run's
// bits). The backends run different kernels (tapegrad's SIMD kernels and XNNPACK on wasm, WGSL
// shaders on webgpu, TF.js's JavaScript loops on cpu), so they agree to float32 rounding, measured
// against the largest entry of what is compared; NaN and ±∞ must land on the same entries (a finite
// value past 1e37 against ±∞ is the rounding of an overflow). Cases near a kink or a tie are
// skipped, as in gen.ts. With `specials`, some input entries are replaced by NaN, ±∞, ±0 and
// subnormal values, where the kernels' edge cases differ: that found the NaNs wasm's clamps,
// min/max and pooling dropped, and a strided convolution's input gradient that multiplied its
// spread zeros by a filter holding NaN, and relu turning a NaN with its sign bit set into 0, and
// cpu's filter gradient skipping the padding's zeros (0·NaN lost, where PyTorch's and wasm's sums
// are NaN). On webgpu it found int32 transposes whose shader failed to compile, atan2(−0, 1) = π,
// tile's adjoint past the GPU's rank 6, and a compiled replay freeing twice the data TopK hands
// back. Differences known and left: sums of ±∞ against other terms that cancel or not by the order
// of a reduction. webgpu is fuzzed with finite inputs: WGSL leaves NaN and ±∞ to the
// implementation. With `layers`, the cases are tg.nn layers (layers.ts's: a kind, its configuration
// and input shape), their parameters' gradients compared too: that found wasm's average pool giving
// −∞ for a window holding +∞ and −∞ (NaN on cpu and in PyTorch). In Chromium (test/browser/fuzz-
// backends.browser.ts) it runs on webgl and webgpu, where it found webgl's Select failing from rank
// 5 (a GroupNorm dividing [N, H, W, G, C/G]) and its packed ClipByValue leaving four entries
// unclamped when one is NaN (a determinant's packed scalar, whose unused lanes hold NaN).
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../../src/index.js';
import { build, caseArb, snippet, type Case } from './gen.js';
import { buildLayer, layerCaseArb, type LayerCase } from './layers.js';

/** What the fuzzer uses of a GPUDevice. */
interface GPUErrorScopes {
  pushErrorScope(filter: 'validation'): void;
  popErrorScope(): Promise<{ message: string } | null>;
}

/** The backend a case runs on beside cpu (webgl in a browser only). */
export type Tested = 'wasm' | 'webgpu' | 'webgl';

export interface BackendsCase {
  c: Case;
  /** How many input entries become special values (0: none), and which ones (a seed). */
  specials: number;
}

// (no huge finite values: sums of them overflow to ±∞ on one backend and not the other, by the order of
// their terms, and a discontinuous op after, frac or floor, turns that into NaN against a number)
const SPECIALS = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0, -0, 1e-40, -1e-40];

/** What a backend computed: the value and each input's gradient (null: none), as numbers. */
interface Computed {
  value: Float32Array;
  grads: (Float32Array | null)[];
  /** An op landed near a kink or a tie, where the backends' roundings may fall on either side. */
  nearKink: boolean;
}

/** An input's values, made afresh on each backend (int32 ones, indices, get no gradient). */
interface InputValues {
  data: Float32Array | Int32Array;
  shape: number[];
  dtype: 'float32' | 'int32';
}

/** What a case computes from: its function, its inputs' values with the specials put in, and w's stream. */
interface Prepared {
  f: (...xs: tg.Tensor[]) => tg.Tensor;
  values: InputValues[];
  /** Tensors f reads besides its inputs (a layer's parameters): set afresh from `data` on each backend, their gradients compared too. */
  params: { tensor: tg.Tensor; data: Float32Array }[];
  /** The weights w, drawn at the first run (y's size is known then), reused by the second. */
  weights: Float32Array | null;
  next: () => number;
  nearKink: boolean;
  /** Frees what the case made (a layer). */
  dispose: () => void;
  /** The case as code, where it is not a program of gen.ts's (a layer's construction). */
  what?: string;
}

/** A stream of 32-bit numbers from a seed. */
function stream(seed: number): () => number {
  let r = (seed * 2654435761) >>> 0;
  return () => {
    r = (Math.imul(r, 1664525) + 1013904223) >>> 0;
    return r;
  };
}

/** `count` entries of the float inputs' values replaced by special values, at places drawn from next. */
function putSpecials(values: InputValues[], count: number, next: () => number): void {
  const floats = values.filter((v) => v.dtype === 'float32');
  const total = floats.reduce((n, v) => n + v.data.length, 0);
  for (let k = 0; k < count && total > 0; k++) {
    let at = next() % total;
    const i = floats.findIndex((v) => (at < v.data.length ? true : ((at -= v.data.length), false)));
    floats[i].data[at] = SPECIALS[next() % SPECIALS.length];
  }
}

const valuesOf = (x: tg.Tensor): InputValues =>
  x.dtype === 'int32'
    ? { data: Int32Array.from(x.dataSync()), shape: x.shape, dtype: 'int32' }
    : { data: Float32Array.from(x.dataSync()), shape: x.shape, dtype: 'float32' };

/**
 * Builds the case on cpu (its kink guards read values, which webgpu cannot synchronously) and puts
 * the specials into its inputs' values.
 */
function prepare(bc: BackendsCase): Prepared {
  const inputs: tg.Tensor[] = [];
  try {
    const { f, nearKink } = build(bc.c, inputs);
    const next = stream(bc.c.seed);
    const values = inputs.map(valuesOf);
    putSpecials(values, bc.specials, next);
    return { f, values, params: [], weights: null, next, nearKink, dispose: () => {} };
  } finally {
    for (const x of inputs) x.dispose();
  }
}

/** A layer case built on cpu (its inputs are nudged off kinks and ties there), its parameters' values kept. */
function prepareLayer(lc: LayerCase, specials: number): Prepared {
  const { layer, inputs, run, what } = buildLayer(lc.kind, lc.p, lc.seed);
  try {
    const next = stream(lc.seed);
    const values = inputs.map(valuesOf);
    putSpecials(values, specials, next);
    const params = layer.parameters().map((tensor) => ({ tensor, data: Float32Array.from(tensor.dataSync()) }));
    const f = (...xs: tg.Tensor[]) => run(layer, xs);
    return { f, values, params, weights: null, next, nearKink: false, dispose: () => layer.dispose(), what };
  } finally {
    for (const x of inputs) x.dispose();
  }
}

/** f and the gradients of Σ w·f with respect to the float inputs and the parameters (w drawn at the first call: y's size is known then). */
function valueAndGrads(p: Prepared) {
  return (...xs: tg.Tensor[]): (tg.Tensor | null)[] => {
    const y = p.f(...xs);
    p.weights ??= Float32Array.from({ length: y.size }, () => (p.next() / 2 ** 32) * 2 - 1);
    const w = tg.tensor(p.weights, { shape: y.shape });
    const wrt = [...xs.filter((x) => x.dtype === 'float32'), ...p.params.map((q) => q.tensor)];
    return [y, ...tg.gradients(tg.sum(tg.mul(y, w)), wrt)];
  };
}

/** The case's inputs, made afresh on the active backend, and its parameters' values likewise. */
function inputsOf(p: Prepared): tg.Tensor[] {
  for (const q of p.params) {
    const old = q.tensor.value;
    q.tensor.value = tf.tensor(q.data, old.shape);
    old.dispose();
  }
  return p.values.map((v) =>
    tg.tensor(v.data, { shape: v.shape, dtype: v.dtype, requiresGrad: v.dtype === 'float32' }),
  );
}

/** [y, ...gradients] read asynchronously (webgpu's way), then disposed. */
async function readAndDispose(p: Prepared, got: (tg.Tensor | null)[]): Promise<Computed> {
  try {
    const read = async (t: tg.Tensor | null) => (t ? Float32Array.from(await t.data()) : null);
    return { value: (await read(got[0]))!, grads: await Promise.all(got.slice(1).map(read)), nearKink: p.nearKink };
  } finally {
    tg.dispose(got.filter((g): g is tg.Tensor => g !== null));
  }
}

/** The case on the active backend: its value and the gradients of Σ w·f. */
async function compute(p: Prepared): Promise<Computed> {
  return readAndDispose(
    p,
    tg.tidy(() => valueAndGrads(p)(...inputsOf(p))),
  );
}

/**
 * The case through tg.compile on the active backend, at its trace and at a replay (on webgpu, the
 * recorded command buffer): the replay's value and gradients, or null where compile refuses the case.
 */
async function computeCompiled(p: Prepared): Promise<Computed | null> {
  const compiled = tg.compile(valueAndGrads(p));
  try {
    let out: Computed | null = null;
    for (let call = 0; call < 2; call++) {
      const xs = inputsOf(p);
      try {
        out = await readAndDispose(p, compiled(...xs));
      } catch (e) {
        // refused at the trace (a value read inside fn, say): not compiled; a replay has no excuse
        if (call === 0 && e instanceof tg.TapegradError && e.message.startsWith('compile:')) return null;
        throw e;
      } finally {
        tg.dispose(xs);
      }
    }
    return out;
  } finally {
    compiled.dispose();
  }
}

/** The first entry where a (on `tested`) and b (on cpu) differ beyond rounding, or null. */
function differ(what: string, tested: Tested, a: Float32Array | null, b: Float32Array | null): string | null {
  if (!a || !b) return a === b ? null : `${what}: a gradient on one backend only`;
  if (a.length !== b.length) return `${what}: ${a.length} entries against ${b.length}`;
  let top = 1;
  for (const v of [...a, ...b]) if (Number.isFinite(v)) top = Math.max(top, Math.abs(v));
  for (let k = 0; k < a.length; k++) {
    const [u, v] = [a[k], b[k]];
    if (Number.isNaN(u) || Number.isNaN(v) || !Number.isFinite(u) || !Number.isFinite(v)) {
      if (Object.is(u, v) || (Number.isNaN(u) && Number.isNaN(v))) continue;
      if (
        !Number.isNaN(u) &&
        !Number.isNaN(v) &&
        Math.sign(u) === Math.sign(v) &&
        Math.min(Math.abs(u), Math.abs(v)) > 1e37
      )
        continue;
      return `${what} entry ${k}: ${u} on ${tested}, ${v} on cpu`;
    }
    if (!(Math.abs(u - v) <= 1e-4 * top + 1e-3 * Math.max(Math.abs(u), Math.abs(v))))
      return `${what} entry ${k}: ${u} on ${tested}, ${v} on cpu`;
  }
  return null;
}

/** Where a compiled replay differs from the eager run on the same backend (the same kernels: the same bits), or null. */
function sameBits(eager: Computed, replay: Computed): string | null {
  const arrays = [eager.value, ...eager.grads];
  const others = [replay.value, ...replay.grads];
  for (let i = 0; i < arrays.length; i++) {
    const [u, v] = [arrays[i], others[i]];
    const what = i === 0 ? 'the value' : `gradient ${i - 1}`;
    if (!u || !v) {
      if (u !== v) return `tg.compile's replay: ${what} on one only`;
      continue;
    }
    const k = u.findIndex((x, j) => !Object.is(x, v[j]));
    if (k >= 0) return `tg.compile's replay: ${what} entry ${k} is ${v[k]}, eager ${u[k]}`;
  }
  return null;
}

/**
 * Runs a case on `tested` and on cpu, and through tg.compile on `tested`; the first disagreement, or
 * null. Leaves the backend as it found it, and nothing behind.
 */
export function runBackendsCase(bc: BackendsCase, tested: Tested = 'wasm'): Promise<string | null> {
  return runPrepared(() => prepare(bc), tested);
}

/** runBackendsCase for a layer case (`specials` input entries replaced by special values). */
export function runLayerBackendsCase(lc: LayerCase, specials: number, tested: Tested = 'wasm'): Promise<string | null> {
  return runPrepared(() => prepareLayer(lc, specials), tested);
}

async function runPrepared(make: () => Prepared, tested: Tested): Promise<string | null> {
  const start = tg.getBackend() as tg.BackendName;
  const before = tg.memory().numTensors;
  const got: Computed[] = [];
  let replayed: Computed | null = null;
  let p: Prepared | null = null;
  try {
    await tg.setBackend('cpu');
    p = make();
    if (p.nearKink) return null;
    // cpu first: data a layer keeps (its parameters, batch norm's running statistics) moves to the
    // tested backend at its first use there, and a webgpu in Node has no synchronous read back
    for (const backend of ['cpu', tested] as const) {
      await tg.setBackend(backend);
      // a shader that fails to compile is an error event, its work skipped: caught per case
      const device = backend === 'webgpu' ? (tf.backend() as unknown as { device: GPUErrorScopes }).device : null;
      device?.pushErrorScope('validation');
      // every op on the GPU's kernels, as a compiled replay runs them (TF.js hands small inputs
      // that are still on the CPU to its CPU kernels)
      const forward = device ? tf.env().getBool('WEBGPU_CPU_FORWARD') : true;
      if (device) tf.env().set('WEBGPU_CPU_FORWARD', false);
      try {
        got.push(await compute(p));
        if (backend === tested) replayed = await computeCompiled(p);
      } finally {
        if (device) tf.env().set('WEBGPU_CPU_FORWARD', forward);
      }
      const error = await device?.popErrorScope();
      if (error) return `a WebGPU validation error: ${error.message.split('\n')[0]}`;
    }
  } catch (e) {
    return `threw on ${tg.getBackend()}: ${(e as Error)?.stack ?? e}`;
  } finally {
    p?.dispose();
    await tg.setBackend(start);
  }
  const [b, a] = got;
  const problem =
    (replayed && sameBits(a, replayed)) ??
    differ('the value', tested, a.value, b.value) ??
    a.grads.map((g, i) => differ(`gradient ${i}`, tested, g, b.grads[i])).find((d) => d) ??
    null;
  if (problem) return p.what ? `${p.what}: ${problem}` : problem;
  const leaked = tg.memory().numTensors - before;
  return leaked ? `leaked ${leaked} tensors` : null;
}

export const backendsCaseArb = (specials: boolean): fc.Arbitrary<BackendsCase> =>
  fc.record({ c: caseArb, specials: specials ? fc.integer({ min: 1, max: 3 }) : fc.constant(0) });

/** The property: `tested` and cpu disagreeing throws, with the case as a program. */
export const backendsPropertyOf = (specials: boolean, tested: Tested = 'wasm') =>
  fc.asyncProperty(backendsCaseArb(specials), async (bc) => {
    const problem = await runBackendsCase(bc, tested);
    if (!problem) return;
    // the program is written from its inputs' values, read synchronously: on cpu
    const start = tg.getBackend() as tg.BackendName;
    await tg.setBackend('cpu');
    const program = snippet(bc.c).split('\nconst report')[0];
    await tg.setBackend(start);
    throw new Error(`backends disagree: ${problem}\n// fuzz case ${JSON.stringify(bc)}\n${program}\n`);
  });

/** The property for layers: `tested` and cpu disagreeing on a layer case throws, with the case. */
export const layerBackendsPropertyOf = (specials: boolean, tested: Tested = 'wasm') =>
  fc.asyncProperty(layerCaseArb, specials ? fc.integer({ min: 1, max: 3 }) : fc.constant(0), async (lc, count) => {
    const problem = await runLayerBackendsCase(lc, count, tested);
    if (problem)
      throw new Error(
        `backends disagree on a layer: ${problem}\n// layer case ${JSON.stringify(lc)}, specials ${count}\n`,
      );
  });
