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
// On wasm the loop runs two entries at a time in a WebAssembly SIMD module of our own over the
// backend's heap (float64x2 lanes: the same operations in the same order, so the same bits).
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { jsKernelConfigs } from './js-kernel.js';
import {
  type Code,
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

/** adam(p, g, mv, p1, mv1, count, vBytes, …numbers): the module's loop (byte addresses). */
const adamSimd = simdModule<{ adam: (...args: number[]) => number }>('adam', () => [adam()], ['adam']);
/** Turns the SIMD loop off (and on again), so that tests and benchmarks can run the JavaScript one beside it. */
export const setSimdAdam = adamSimd.setEnabled;

/** Entries of a parameter from which its update is split with the helper thread (below, waking it costs more). */
const SPLIT_MIN_ENTRIES = 1 << 16;

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

/** cpu and wasm: per parameter, the per-parameter kernel's loop (float64 between float32 reads and writes). */
export const adamMultiUpdateJs = jsKernelConfigs(ADAM_MULTI_UPDATE, outShapes, (views, outs, attrs, _infos, heap) => {
  const a = attrs as unknown as AdamMultiAttrs;
  const k = a.count;
  // copied before reading as float64: the heap offset need not be a multiple of 8
  const steps = new Float64Array(Int32Array.from(views.steps as Int32Array).buffer);
  const simd = adamSimd.on(heap);
  /** Parameter j's loop arguments for entries from..to (even), every address moved on by `from` entries. */
  const entries = (j: number, from: number, to: number): number[] => {
    const p = views[`param${j}`]!;
    const lr = steps[ADAM_STEP_WIDTH * j];
    const beta1 = a.beta1[j];
    const beta2 = a.beta2[j];
    const numbers = [
      beta1,
      1 - beta1,
      beta2,
      1 - beta2,
      a.eps[j],
      a.decoupled ? 0 : a.weightDecay[j],
      a.decoupled ? 1 - lr * a.weightDecay[j] : 1,
      lr / steps[ADAM_STEP_WIDTH * j + 1],
      steps[ADAM_STEP_WIDTH * j + 2],
    ];
    return [
      ...[p, views[`grad${j}`]!, views[`moments${j}`]!, outs[j], outs[k + j]].map((v) => v.byteOffset + 4 * from),
      to - from,
      4 * p.length,
      ...numbers,
    ];
  };
  // the SIMD loop takes each parameter's even part, the JavaScript loop below the rest
  const even = (j: number) => (simd ? views[`param${j}`]!.length & ~1 : 0);
  // shared: the entries of every parameter in turn, cut into chunks that this thread and the helper
  // take as each comes free (each parameter's own halves where that takes too many chunks)
  let perParameter = !!simd;
  if (simd && sharedSteps) {
    let total = 0;
    for (let j = 0; j < k; j++) total += even(j);
    const helper = total >= SPLIT_MIN_ENTRIES ? adamSimd.helper(heap) : null;
    const size = 2 * Math.ceil(total / 2 / STEP_CHUNKS);
    const chunks: number[][] = [];
    for (let j = 0; helper && j < k; j++)
      for (let from = 0; from < even(j); from += size) chunks.push(entries(j, from, Math.min(even(j), from + size)));
    if (helper && chunks.length <= MAX_CHUNKS) {
      helper.share('adam', chunks);
      perParameter = false;
    } else if (!helper) {
      for (let j = 0; j < k; j++) if (even(j) > 0) simd.adam(...entries(j, 0, even(j)));
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
    const beta1 = a.beta1[j];
    const beta2 = a.beta2[j];
    const eps = a.eps[j];
    const lr = steps[ADAM_STEP_WIDTH * j];
    const l2 = a.decoupled ? 0 : a.weightDecay[j];
    const keep = a.decoupled ? 1 - lr * a.weightDecay[j] : 1;
    const stepSize = lr / steps[ADAM_STEP_WIDTH * j + 1];
    const bc2 = steps[ADAM_STEP_WIDTH * j + 2];
    const start = even(j);
    if (perParameter) {
      const helper = n >= SPLIT_MIN_ENTRIES ? adamSimd.helper(heap) : null;
      // the helper thread takes the second half
      const half = (start >> 1) & ~1;
      if (helper) helper.split('adam', entries(j, 0, half), entries(j, half, start));
      else simd!.adam(...entries(j, 0, start));
    }
    for (let i = start; i < n; i++) {
      const pi = p[i];
      const gi = g[i] + l2 * pi;
      const m = beta1 * mv[i] + (1 - beta1) * gi;
      const v = beta2 * mv[n + i] + (1 - beta2) * gi * gi;
      mv1[i] = m;
      mv1[n + i] = v;
      p1[i] = pi * keep - (stepSize * m) / (Math.sqrt(v / bc2) + eps);
    }
  }
});
