// TapegradAdamMultiUpdate: one Adam / AdamW step of every parameter of an optimizer in one kernel
// call (PyTorch's multi-tensor "foreach" Adam): the same loop as TapegradAdamUpdate's on cpu and
// wasm (kernels/adam-update.ts), run over each parameter in turn, so that a step costs one trip
// through TF.js's engine however many parameters the model has.
//
// Inputs param0 … param{k−1}, grad0 …, moments0 … ([2, ...shape]: m, v), and `steps`: int32
// [k, 6], each row the float64 bits of that parameter's (lr, 1 − β₁ᵗ, 1 − β₂ᵗ): the numbers that
// change from step to step come in a tensor, so that a compiled step replays with each call's
// own, and as float64 so that the arithmetic is the per-parameter kernel's to the bit.
// Attrs: count k, decoupled (AdamW), and per parameter beta1, beta2, eps, weightDecay (arrays).
// Outputs: param0' … param{k−1}', moments0' … moments{k−1}'.
//
// The arithmetic is float32, as PyTorch's (each operation rounded to float32, in the order of
// torch.optim.Adam's single-tensor step: √v / √(1 − β₂ᵗ) + ε as its denominator), four entries at a
// time in a WebAssembly SIMD module of our own over the wasm heap, and a JavaScript loop of
// Math.fround after each operation on cpu and for the last entries (float32 operations computed in
// float64 and rounded are exactly float32's, so the bits are the same). setAdamFloat32(false) gives
// the per-parameter kernel's float64 arithmetic instead (two entries at a time in float64x2 lanes,
// its bits), which the tests use to compare the two kernels.
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { jsKernelConfigs } from './js-kernel.js';
import {
  type Code,
  F32,
  F64,
  f32x4,
  f64x2,
  I32,
  i32,
  local,
  V128,
  v128,
  type WasmFunction,
  whileBelow,
} from './wasm-encoder.js';
import { simdModule } from './wasm-simd-module.js';
import { MAX_CHUNKS } from './helper-thread.js';

export const ADAM_MULTI_UPDATE = 'TapegradAdamMultiUpdate';

export interface AdamMultiAttrs {
  count: number;
  decoupled: boolean;
  beta1: number[];
  beta2: number[];
  eps: number[];
  weightDecay: number[];
}

/** The numbers of one parameter's row of `steps`, as float64: lr, 1 − β₁ᵗ, 1 − β₂ᵗ. */
export const ADAM_STEP_WIDTH = 3;

/** The int32 tensor data of `steps` from one (lr, 1 − β₁ᵗ, 1 − β₂ᵗ) per parameter. */
export const adamStepBits = (rows: number[][]): Int32Array => new Int32Array(new Float64Array(rows.flat()).buffer);

const outShapes = (inputs: Record<string, TensorInfo | undefined>, attrs: NamedAttrMap): number[][] => {
  const k = attrs.count as number;
  const shapes: number[][] = [];
  for (let i = 0; i < k; i++) shapes.push(inputs[`param${i}`]!.shape);
  for (let i = 0; i < k; i++) shapes.push(inputs[`moments${i}`]!.shape);
  return shapes;
};

const get = local.get;

/**
 * adam(p, g, mv, p1, mv1, count, vBytes, β₁, 1 − β₁, β₂, 1 − β₂, ε, l2, keep, stepSize, bc2): the
 * loop below on entries 0 … count − 1 (count even), two at a time in float64; addresses in bytes,
 * v at mv + vBytes and mv1 + vBytes.
 */
function adam(): WasmFunction {
  const [P, G, MV, P1, MV1, COUNT, V_BYTES, B1, C1, B2, C2, EPS, L2, KEEP, STEP, BC2] = Array.from(
    { length: 16 },
    (_, i) => i,
  );
  const [END, PV, GV, MV2, VV] = [16, 17, 18, 19, 20];
  const pair = (address: Code) => f64x2.promoteLow(v128.load64Zero(address));
  const splat = (l: number) => f64x2.splatOf(get(l));
  const bump = (l: number) => local.set(l, i32.add(get(l), i32.const(8)));
  const body = [
    ...local.set(END, i32.add(get(P), i32.shl(get(COUNT), i32.const(2)))),
    ...whileBelow(get(P), get(END), [
      ...local.set(PV, pair(get(P))),
      // g + l2·p; m = β₁·m + (1 − β₁)·g; v = β₂·v + (1 − β₂)·g·g
      ...local.set(GV, f64x2.add(pair(get(G)), f64x2.mul(splat(L2), get(PV)))),
      ...local.set(MV2, f64x2.add(f64x2.mul(splat(B1), pair(get(MV))), f64x2.mul(splat(C1), get(GV)))),
      ...local.set(
        VV,
        f64x2.add(
          f64x2.mul(splat(B2), pair(i32.add(get(MV), get(V_BYTES)))),
          f64x2.mul(f64x2.mul(splat(C2), get(GV)), get(GV)),
        ),
      ),
      ...v128.storeLow64(get(MV1), f32x4.demoteZero(get(MV2))),
      ...v128.storeLow64(i32.add(get(MV1), get(V_BYTES)), f32x4.demoteZero(get(VV))),
      // p·keep − stepSize·m / (√(v / bc2) + ε)
      ...v128.storeLow64(
        get(P1),
        f32x4.demoteZero(
          f64x2.sub(
            f64x2.mul(get(PV), splat(KEEP)),
            f64x2.div(
              f64x2.mul(splat(STEP), get(MV2)),
              f64x2.add(f64x2.sqrt(f64x2.div(get(VV), splat(BC2))), splat(EPS)),
            ),
          ),
        ),
      ),
      ...bump(P),
      ...bump(G),
      ...bump(MV),
      ...bump(P1),
      ...bump(MV1),
    ]),
    ...i32.const(0),
  ];
  return {
    name: 'adam',
    params: [...new Array(7).fill(I32), ...new Array(9).fill(F64)],
    result: I32,
    locals: [I32, V128, V128, V128, V128],
    body,
  };
}

/**
 * adam32(p, g, mv, p1, mv1, count, vBytes, β₁, 1 − β₁, β₂, 1 − β₂, ε, l2, keep, stepSize, √bc2):
 * the float32 loop on entries 0 … count − 1 (count a multiple of 4), four at a time; the numbers
 * rounded to float32 as the call passes them.
 */
function adam32(): WasmFunction {
  const [P, G, MV, P1, MV1, COUNT, V_BYTES, B1, C1, B2, C2, EPS, L2, KEEP, STEP, SQRT_BC2] = Array.from(
    { length: 16 },
    (_, i) => i,
  );
  const [END, PV, GV, MV2, VV] = [16, 17, 18, 19, 20];
  const splat = (l: number) => f32x4.splatOf(get(l));
  const bump = (l: number) => local.set(l, i32.add(get(l), i32.const(16)));
  const body = [
    ...local.set(END, i32.add(get(P), i32.shl(get(COUNT), i32.const(2)))),
    ...whileBelow(get(P), get(END), [
      ...local.set(PV, v128.load(get(P))),
      // g + l2·p; m = β₁·m + (1 − β₁)·g; v = β₂·v + ((1 − β₂)·g)·g
      ...local.set(GV, f32x4.add(v128.load(get(G)), f32x4.mul(splat(L2), get(PV)))),
      ...local.set(MV2, f32x4.add(f32x4.mul(splat(B1), v128.load(get(MV))), f32x4.mul(splat(C1), get(GV)))),
      ...local.set(
        VV,
        f32x4.add(
          f32x4.mul(splat(B2), v128.load(i32.add(get(MV), get(V_BYTES)))),
          f32x4.mul(f32x4.mul(splat(C2), get(GV)), get(GV)),
        ),
      ),
      ...v128.store(get(MV1), get(MV2)),
      ...v128.store(i32.add(get(MV1), get(V_BYTES)), get(VV)),
      // p·keep − (stepSize·m) / (√v / √bc2 + ε)
      ...v128.store(
        get(P1),
        f32x4.sub(
          f32x4.mul(get(PV), splat(KEEP)),
          f32x4.div(
            f32x4.mul(splat(STEP), get(MV2)),
            f32x4.add(f32x4.div(f32x4.sqrt(get(VV)), splat(SQRT_BC2)), splat(EPS)),
          ),
        ),
      ),
      ...bump(P),
      ...bump(G),
      ...bump(MV),
      ...bump(P1),
      ...bump(MV1),
    ]),
    ...i32.const(0),
  ];
  return {
    name: 'adam32',
    params: [...new Array(7).fill(I32), ...new Array(9).fill(F32)],
    result: I32,
    locals: [I32, V128, V128, V128, V128],
    body,
  };
}

type AdamLoop = (...args: number[]) => number;
/** adam and adam32(p, g, mv, p1, mv1, count, vBytes, …numbers): the module's loops (byte addresses). */
const adamSimd = simdModule<{ adam: AdamLoop; adam32: AdamLoop }>('adam', () => [adam(), adam32()], ['adam', 'adam32']);
/** Turns the SIMD loop off (and on again), so that tests and benchmarks can run the JavaScript one beside it. */
export const setSimdAdam = adamSimd.setEnabled;

/** Entries of a parameter from which its update is split with the helper thread (below, waking it costs more). */
const SPLIT_MIN_ENTRIES = 1 << 16;

let float32 = true;
/**
 * Chooses the multi-tensor kernel's arithmetic: float32, as PyTorch's Adam (the default), or the
 * per-parameter kernel's float64 between float32 reads and writes (its bits), for tests and
 * benchmarks to compare.
 */
export function setAdamFloat32(on: boolean): void {
  float32 = on;
}

let sharedSteps = true;
/** Chunks a step's entries are cut into for the two threads (more where its parameters' ends cut them). */
const STEP_CHUNKS = 16;
/**
 * Turns the shared step off (and on again), for benchmarks to compare: off, each parameter of at
 * least SPLIT_MIN_ENTRIES entries is halved with the helper thread in a wake-up of its own, and the
 * smaller ones stay on the calling thread; on, a step of that many entries, all parameters
 * together, is cut into chunks that the two threads take as each comes free.
 */
export function setSharedAdamStep(on: boolean): void {
  sharedSteps = on;
}

/** cpu and wasm: per parameter, the loop in float32 (or the per-parameter kernel's float64, setAdamFloat32). */
export const adamMultiUpdateJs = jsKernelConfigs(ADAM_MULTI_UPDATE, outShapes, (views, outs, attrs, _infos, heap) => {
  const a = attrs as unknown as AdamMultiAttrs;
  const k = a.count;
  // copied before reading as float64: the heap offset need not be a multiple of 8
  const steps = new Float64Array(Int32Array.from(views.steps as Int32Array).buffer);
  const simd = adamSimd.on(heap);
  const single = float32;
  const loop = single ? 'adam32' : 'adam';
  /** Entries a SIMD call takes at a time. */
  const width = single ? 4 : 2;
  /** Parameter j's numbers: β₁, 1 − β₁, β₂, 1 − β₂, ε, l2, keep, stepSize, and bc2 (float64) or √bc2 (float32). */
  const numbers = (j: number): number[] => {
    const lr = steps[ADAM_STEP_WIDTH * j];
    const beta1 = a.beta1[j];
    const beta2 = a.beta2[j];
    const bc2 = steps[ADAM_STEP_WIDTH * j + 2];
    return [
      beta1,
      1 - beta1,
      beta2,
      1 - beta2,
      a.eps[j],
      a.decoupled ? 0 : a.weightDecay[j],
      a.decoupled ? 1 - lr * a.weightDecay[j] : 1,
      lr / steps[ADAM_STEP_WIDTH * j + 1],
      single ? Math.sqrt(bc2) : bc2,
    ];
  };
  /** Parameter j's loop arguments for entries from..to, every address moved on by `from` entries. */
  const entries = (j: number, from: number, to: number): number[] => {
    const p = views[`param${j}`]!;
    return [
      ...[p, views[`grad${j}`]!, views[`moments${j}`]!, outs[j], outs[k + j]].map((v) => v.byteOffset + 4 * from),
      to - from,
      4 * p.length,
      ...numbers(j),
    ];
  };
  // the SIMD loop takes each parameter's entries up to a multiple of its width, the JavaScript loop below the rest
  const inSimd = (j: number) => (simd ? views[`param${j}`]!.length & -width : 0);
  // shared: the entries of every parameter in turn, cut into chunks that this thread and the helper
  // take as each comes free (each parameter's own halves where that takes too many chunks)
  let perParameter = !!simd;
  if (simd && sharedSteps) {
    let total = 0;
    for (let j = 0; j < k; j++) total += inSimd(j);
    const helper = total >= SPLIT_MIN_ENTRIES ? adamSimd.helper(heap) : null;
    const size = width * Math.ceil(total / width / STEP_CHUNKS);
    const chunks: number[][] = [];
    for (let j = 0; helper && j < k; j++)
      for (let from = 0; from < inSimd(j); from += size)
        chunks.push(entries(j, from, Math.min(inSimd(j), from + size)));
    if (helper && chunks.length <= MAX_CHUNKS) {
      helper.share(loop, chunks);
      perParameter = false;
    } else if (!helper) {
      for (let j = 0; j < k; j++) if (inSimd(j) > 0) simd[loop](...entries(j, 0, inSimd(j)));
      perParameter = false;
    }
  }
  for (let j = 0; j < k; j++) {
    const p = views[`param${j}`]!;
    const g = views[`grad${j}`]!;
    const mv = views[`moments${j}`]!;
    const p1 = outs[j];
    const mv1 = outs[k + j];
    const n = p.length;
    const start = inSimd(j);
    if (perParameter) {
      const helper = n >= SPLIT_MIN_ENTRIES ? adamSimd.helper(heap) : null;
      // the helper thread takes the second half
      const half = (start >> 1) & -width;
      if (helper) helper.split(loop, entries(j, 0, half), entries(j, half, start));
      else simd![loop](...entries(j, 0, start));
    }
    if (start === n) continue;
    const [beta1, c1, beta2, c2, eps, l2, keep, stepSize, bc2] = numbers(j);
    if (single) {
      // each operation rounded to float32, as the SIMD loop's lanes
      const f = Math.fround;
      const [b1, b2, c1f, c2f, epsf, l2f, keepf, stepf, sqrtBc2] = [
        beta1,
        beta2,
        c1,
        c2,
        eps,
        l2,
        keep,
        stepSize,
        bc2,
      ].map(f);
      for (let i = start; i < n; i++) {
        const pi = p[i];
        const gi = f(g[i] + f(l2f * pi));
        const m = f(f(b1 * mv[i]) + f(c1f * gi));
        const v = f(f(b2 * mv[n + i]) + f(f(c2f * gi) * gi));
        mv1[i] = m;
        mv1[n + i] = v;
        p1[i] = f(f(pi * keepf) - f(f(stepf * m) / f(f(f(Math.sqrt(v)) / sqrtBc2) + epsf)));
      }
      continue;
    }
    for (let i = start; i < n; i++) {
      const pi = p[i];
      const gi = g[i] + l2 * pi;
      const m = beta1 * mv[i] + c1 * gi;
      const v = beta2 * mv[n + i] + c2 * gi * gi;
      mv1[i] = m;
      mv1[n + i] = v;
      p1[i] = pi * keep - (stepSize * m) / (Math.sqrt(v / bc2) + eps);
    }
  }
});
