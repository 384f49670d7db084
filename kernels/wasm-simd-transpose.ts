// wasm's Transpose of 4-byte entries (float32, int32) as WebAssembly SIMD copies over the heap. TF.js
// 4.22's kernel copies entry by entry with strided writes: an order of magnitude slower where a row
// count is a power of two (the writes then fall into the same cache sets: the weight gradients'
// explicit transposes of a batch of 2,048 tokens), and slower still on permutations of rank 5
// (attention's fused q, k, v split).
//
// The permutation is first reduced: axes of size 1 dropped, and axes that stay neighbours in the
// same order merged into one. What is left (up to five axes for runs, four for tiles) is one of two copies:
//   runs(in, out, n0, n1, n2, n3, len, s0, s1, s2, s3): the input's last axis stays last, so the
//     output is contiguous runs of `len` bytes, the run (i0, …, i3) read from in + i0·s0 + … + i3·s3;
//   tiles(in, out, n0, n1, A, B, is0, is1, os0, os1, inRow, outRow): the output's last axis (A
//     long) is read with the stride inRow, and the input's last axis (B long) becomes an output
//     axis of stride outRow; for each (i0, i1), out(b, a) = in(a, b), four by four entries through
//     a transpose of four vectors, blocks of BLOCK columns at a time so that the output rows being
//     written stay in the cache; the edges (A or B not a multiple of 4) entry by entry.
// Sizes in entries, addresses and strides in bytes. It is a copy: the output has the input's bits.
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { type Code, I32, i32, local, V128, v128, type WasmFunction, whileBelow } from './wasm-encoder.js';
import { heapOf, simdModule, type WasmBackend } from './wasm-simd-module.js';

/** Output columns a sweep down the rows takes at a time. */
const A_BLOCK = 16;

const get = local.get;
const inc = local.increment;
const int = i32.const;
const times = (a: number, b: number): Code => i32.mul(get(a), get(b));

/** Copies `bytes` (a multiple of 4, in local R, counted down) from local P to local Q, 16 bytes at a time. */
function copyRun(P: number, Q: number, R: number): Code {
  return [
    ...whileBelow(int(15), get(R), [
      ...v128.store(get(Q), v128.load(get(P))),
      ...inc(P, int(16)),
      ...inc(Q, int(16)),
      ...local.set(R, i32.sub(get(R), int(16))),
    ]),
    ...whileBelow(int(0), get(R), [
      ...i32.store(get(Q), i32.load(get(P))),
      ...inc(P, int(4)),
      ...inc(Q, int(4)),
      ...local.set(R, i32.sub(get(R), int(4))),
    ]),
  ];
}

function runs(): WasmFunction {
  const [IN, OUT, N0, N1, N2, N3, LEN, S0, S1, S2, S3] = Array.from({ length: 11 }, (_, i) => i);
  const [I0, I1, I2, I3, B0, B1, B2, P, R] = Array.from({ length: 9 }, (_, i) => 11 + i);
  /** for (i = 0; i < n; i++) { base = from + i·stride; body } */
  const loop = (i: number, n: number, base: number, from: number, stride: number, body: Code): Code => [
    ...local.set(i, int(0)),
    ...whileBelow(get(i), get(n), [
      ...local.set(base, i32.add(get(from), times(i, stride))),
      ...body,
      ...inc(i, int(1)),
    ]),
  ];
  const run = [...local.set(R, get(LEN)), ...copyRun(P, OUT, R)];
  const body = [
    ...loop(I0, N0, B0, IN, S0, loop(I1, N1, B1, B0, S1, loop(I2, N2, B2, B1, S2, loop(I3, N3, P, B2, S3, run)))),
    ...int(0),
  ];
  return { name: 'runs', params: new Array(11).fill(I32), result: I32, locals: new Array(9).fill(I32), body };
}

/** Byte indices of a shuffle taking the 32-bit lanes `l` (0–3 of its first operand, 4–7 of its second). */
const lanes = (...l: number[]) => l.flatMap((i) => [4 * i, 4 * i + 1, 4 * i + 2, 4 * i + 3]);

function tiles(): WasmFunction {
  const [IN, OUT, N0, N1, A, B, IS0, IS1, OS0, OS1, IN_ROW, OUT_ROW] = Array.from({ length: 12 }, (_, i) => i);
  const [I0, I1, BI, BO, A4, B4, AI, BJ, B0, BEND, P, Q] = Array.from({ length: 12 }, (_, i) => 12 + i);
  const [IN_ROW2, IN_ROW3, OUT_ROW2, OUT_ROW3] = Array.from({ length: 4 }, (_, i) => 24 + i);
  const [R0, R1, R2, R3, T0, T1, T2, T3] = Array.from({ length: 8 }, (_, i) => 28 + i);
  // the k-th of four rows from `base`: strides times 2 and 3 kept in locals
  const row = (base: number, k: number, stride: number): Code =>
    k === 0
      ? get(base)
      : i32.add(
          get(base),
          get(k === 1 ? stride : stride === IN_ROW ? [IN_ROW2, IN_ROW3][k - 2] : [OUT_ROW2, OUT_ROW3][k - 2]),
        );
  // four input rows of four entries, as four output rows of four
  const tile = [
    ...[R0, R1, R2, R3].flatMap((r, k) => local.set(r, v128.load(row(P, k, IN_ROW)))),
    ...local.set(T0, v128.shuffle(get(R0), get(R1), lanes(0, 4, 1, 5))),
    ...local.set(T1, v128.shuffle(get(R0), get(R1), lanes(2, 6, 3, 7))),
    ...local.set(T2, v128.shuffle(get(R2), get(R3), lanes(0, 4, 1, 5))),
    ...local.set(T3, v128.shuffle(get(R2), get(R3), lanes(2, 6, 3, 7))),
    ...v128.store(row(Q, 0, OUT_ROW), v128.shuffle(get(T0), get(T2), lanes(0, 1, 4, 5))),
    ...v128.store(row(Q, 1, OUT_ROW), v128.shuffle(get(T0), get(T2), lanes(2, 3, 6, 7))),
    ...v128.store(row(Q, 2, OUT_ROW), v128.shuffle(get(T1), get(T3), lanes(0, 1, 4, 5))),
    ...v128.store(row(Q, 3, OUT_ROW), v128.shuffle(get(T1), get(T3), lanes(2, 3, 6, 7))),
    ...inc(P, i32.shl(get(IN_ROW), int(2))),
    ...inc(Q, int(16)),
    ...inc(AI, int(4)),
  ];
  // a block of A_BLOCK output columns (four tiles) at a time, down every row b of it: the tiles of a
  // row fill whole cache lines of the output's four rows before moving on
  const slab = [
    ...local.set(B0, int(0)),
    ...whileBelow(get(B0), get(A4), [
      ...local.set(BEND, i32.minU(i32.add(get(B0), int(A_BLOCK)), get(A4))),
      ...local.set(BJ, int(0)),
      ...whileBelow(get(BJ), get(B4), [
        ...local.set(P, i32.add(i32.add(get(BI), times(B0, IN_ROW)), i32.shl(get(BJ), int(2)))),
        ...local.set(Q, i32.add(i32.add(get(BO), times(BJ, OUT_ROW)), i32.shl(get(B0), int(2)))),
        ...local.set(AI, get(B0)),
        ...whileBelow(get(AI), get(BEND), tile),
        ...inc(BJ, int(4)),
      ]),
      ...local.set(B0, get(BEND)),
    ]),
    // the edges: rows a ≥ A4 whole, and the columns b ≥ B4 of the others (if any)
    ...local.set(AI, i32.select(int(0), get(A4), i32.ltU(get(B4), get(B)))),
    ...whileBelow(get(AI), get(A), [
      ...local.set(BJ, i32.select(get(B4), int(0), i32.ltU(get(AI), get(A4)))),
      ...local.set(P, i32.add(i32.add(get(BI), times(AI, IN_ROW)), i32.shl(get(BJ), int(2)))),
      ...local.set(Q, i32.add(i32.add(get(BO), times(BJ, OUT_ROW)), i32.shl(get(AI), int(2)))),
      ...whileBelow(get(BJ), get(B), [
        ...i32.store(get(Q), i32.load(get(P))),
        ...inc(P, int(4)),
        ...inc(Q, get(OUT_ROW)),
        ...inc(BJ, int(1)),
      ]),
      ...inc(AI, int(1)),
    ]),
  ];
  const body = [
    ...local.set(A4, i32.and(get(A), int(~3))),
    ...local.set(B4, i32.and(get(B), int(~3))),
    ...local.set(IN_ROW2, i32.shl(get(IN_ROW), int(1))),
    ...local.set(IN_ROW3, i32.add(get(IN_ROW2), get(IN_ROW))),
    ...local.set(OUT_ROW2, i32.shl(get(OUT_ROW), int(1))),
    ...local.set(OUT_ROW3, i32.add(get(OUT_ROW2), get(OUT_ROW))),
    ...whileBelow(get(I0), get(N0), [
      ...local.set(I1, int(0)),
      ...whileBelow(get(I1), get(N1), [
        ...local.set(BI, i32.add(i32.add(get(IN), times(I0, IS0)), times(I1, IS1))),
        ...local.set(BO, i32.add(i32.add(get(OUT), times(I0, OS0)), times(I1, OS1))),
        ...slab,
        ...inc(I1, int(1)),
      ]),
      ...inc(I0, int(1)),
    ]),
    ...int(0),
  ];
  return {
    name: 'tiles',
    params: new Array(12).fill(I32),
    result: I32,
    locals: [...new Array(16).fill(I32), ...new Array(8).fill(V128)],
    body,
  };
}

type Copy = (...args: number[]) => number;
const transpose = simdModule<{ runs: Copy; tiles: Copy }>('transpose', () => [runs(), tiles()]);
/** Turns the SIMD copies off (and on again): TF.js's kernel runs, for tests and benchmarks to compare. */
export const setSimdTranspose = transpose.setEnabled;

/** A reduced permutation's copy (header), sizes and strides in entries. */
export type TransposePlan =
  | { kind: 'runs'; n: [number, number, number, number]; len: number; s: [number, number, number, number] }
  | {
      kind: 'tiles';
      n: [number, number];
      A: number;
      B: number;
      is: [number, number];
      os: [number, number];
      inRow: number;
      outRow: number;
    };

/**
 * The copy that transposes `shape` by `perm`: axes of size 1 dropped, neighbours that stay
 * neighbours merged; null beyond five axes left (four where the last axis moves).
 */
export function transposePlan(shape: readonly number[], perm: readonly number[]): TransposePlan | null {
  const kept = shape.map((d, a) => (d === 1 ? -1 : a)).filter((a) => a >= 0);
  const rank = new Map(kept.map((a, i) => [a, i]));
  const order = perm.filter((a) => shape[a] !== 1).map((a) => rank.get(a)!);
  // groups of output axes whose input axes follow each other: [first input axis, size]
  const groups: [number, number][] = [];
  for (let k = 0; k < order.length; k++) {
    const last = groups[groups.length - 1];
    if (k > 0 && order[k] === order[k - 1] + 1) last[1] *= shape[kept[order[k]]];
    else groups.push([order[k], shape[kept[order[k]]]]);
  }
  const r = groups.length;
  // every axis of size 1: one entry
  if (r === 0) return { kind: 'runs', n: [1, 1, 1, 1], len: 1, s: [0, 0, 0, 0] };
  if (r > 5) return null;
  // strides: the input's in its own order (groups sorted by first axis), the output's contiguous
  const byInput = groups.map((_, g) => g).sort((g, h) => groups[g][0] - groups[h][0]);
  const inStride = new Array<number>(r);
  for (let k = r - 1, s = 1; k >= 0; k--) {
    inStride[byInput[k]] = s;
    s *= groups[byInput[k]][1];
  }
  const outStride = new Array<number>(r);
  for (let g = r - 1, s = 1; g >= 0; g--) {
    outStride[g] = s;
    s *= groups[g][1];
  }
  const size = (g: number) => groups[g][1];
  if (inStride[r - 1] === 1) {
    const outer = [0, 1, 2, 3].map((k) => k - (4 - (r - 1)));
    return {
      kind: 'runs',
      n: outer.map((g) => (g < 0 ? 1 : size(g))) as [number, number, number, number],
      len: size(r - 1),
      s: outer.map((g) => (g < 0 ? 0 : inStride[g])) as [number, number, number, number],
    };
  }
  if (r > 4) return null;
  const q = inStride.indexOf(1);
  const batch = groups.map((_, g) => g).filter((g) => g !== q && g !== r - 1);
  const padded = [0, 1].map((k) => batch[k - (2 - batch.length)] ?? -1);
  return {
    kind: 'tiles',
    n: padded.map((g) => (g < 0 ? 1 : size(g))) as [number, number],
    A: size(r - 1),
    B: size(q),
    is: padded.map((g) => (g < 0 ? 0 : inStride[g])) as [number, number],
    os: padded.map((g) => (g < 0 ? 0 : outStride[g])) as [number, number],
    inRow: inStride[r - 1],
    outRow: outStride[q],
  };
}

/** A plan as the module's function takes it: which function, and its arguments after the two addresses. */
interface PlanCall {
  fn: 'runs' | 'tiles';
  tail: number[];
}

function planCall(plan: TransposePlan): PlanCall {
  if (plan.kind === 'runs') return { fn: 'runs', tail: [...plan.n, 4 * plan.len, ...plan.s.map((s) => 4 * s)] };
  return {
    fn: 'tiles',
    tail: [...plan.n, plan.A, plan.B, ...[...plan.is, ...plan.os, plan.inRow, plan.outRow].map((s) => 4 * s)],
  };
}

/** Plans by shape and permutation: a training step transposes the same few shapes at every step. */
const plans = new Map<string, PlanCall | null>();
const MAX_PLANS = 256;
let cachePlans = true;

/** Turns the cache of transpose plans off (and on again), for benchmarks to compare. */
export function setTransposePlanCache(on: boolean): void {
  cachePlans = on;
  plans.clear();
}

/** The plan of shape by perm as its call, from the cache (or made afresh with the cache off). */
function cachedPlan(shape: readonly number[], perm: readonly number[]): PlanCall | null {
  if (!cachePlans) {
    const p = transposePlan(shape, perm);
    return p && planCall(p);
  }
  const key = `${shape}/${perm}`;
  let call = plans.get(key);
  if (call === undefined) {
    if (plans.size >= MAX_PLANS) plans.clear();
    const p = transposePlan(shape, perm);
    call = p && planCall(p);
    plans.set(key, call);
  }
  return call;
}

/**
 * x's entries permuted by `perm` into a new output on x's heap, by the SIMD copies; null where they
 * do not apply (the module off or absent, another dtype, a permutation that does not reduce, an
 * empty x).
 */
export function simdTransposeOnHeap(backend: WasmBackend, x: TensorInfo, perm: number[]): TensorInfo | null {
  const simd = transpose.on(heapOf(backend));
  const plan = simd && (x.dtype === 'float32' || x.dtype === 'int32') && cachedPlan(x.shape, perm);
  if (!simd || !plan || x.shape.includes(0)) return null;
  const out = backend.makeOutput(
    perm.map((a) => x.shape[a]),
    x.dtype,
  );
  // views after the allocation, which may grow (and so move) the heap
  const from = backend.typedArrayFromHeap(x).byteOffset;
  const to = backend.typedArrayFromHeap(out).byteOffset;
  simd[plan.fn](from, to, ...plan.tail);
  return out;
}

/**
 * The entries of `shape` at byte address `from` permuted by `perm` to byte address `to`, both on
 * `heap`, by the SIMD copies (for a kernel of ours that transposes into its own scratch); false where
 * they do not apply (no heap, the module off, a permutation that does not reduce, an empty shape).
 */
export function simdTransposeAt(
  heap: WebAssembly.Memory | null,
  from: number,
  to: number,
  shape: readonly number[],
  perm: readonly number[],
): boolean {
  const simd = transpose.on(heap);
  const plan = simd && !shape.includes(0) && cachedPlan(shape, perm);
  if (!simd || !plan) return false;
  simd[plan.fn](from, to, ...plan.tail);
  return true;
}

/**
 * Copies by a plan made by the caller (sizes and strides in entries, addresses in bytes), which may
 * read a block of a larger array (its rows strided wider than they are long); false where the SIMD
 * copies are off, and the caller copies.
 */
export function simdTransposeByPlan(
  heap: WebAssembly.Memory | null,
  from: number,
  to: number,
  plan: TransposePlan,
): boolean {
  const simd = transpose.on(heap);
  if (!simd) return false;
  const { fn, tail } = planCall(plan);
  simd[fn](from, to, ...tail);
  return true;
}

/**
 * The Transpose kernel function wrapping TF.js's `original`: ours for float32 and int32 inputs whose
 * reduced permutation has at most five axes (four where the last axis moves), TF.js's for the rest.
 */
export function simdTranspose(original: KernelFunc): KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    const { perm } = args.attrs as unknown as { perm: number[] };
    return simdTransposeOnHeap(args.backend as unknown as WasmBackend, x, perm) ?? original(args);
  };
}
