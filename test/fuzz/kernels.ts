// The wasm kernels of our own on random sizes and values, each against what it replaces: the dense and
// batched products (any M, K, N, transposes, batch broadcasting, one tensor as both operands, fused
// bias and clamp, small blocks) against XNNPACK and TF.js's loop, bit for bit, and tg.matmul's values
// and gradients on broadcast batches against a float64 reference; gelu's float32 lanes and its saved
// derivative against the float64 loops (within GELU_ULPS); batch norm's SIMD passes and their row
// groups against the JavaScript loops, bit for bit; the multi-tensor Adam/AdamW kernel against its
// JavaScript loop (float32 and float64 arithmetic), bit for bit, and tg.optim's Adam, AdamW and
// AMSGrad against PyTorch's formulas in float64; tg.compile's replay of whole training steps (shapes
// changing between calls, so that it records again) against the same steps run eagerly, bit for bit;
// conv2d (the SIMD direct and Winograd kernels) and its gradients against float64 loops. One and two
// threads (the helper thread sharing chunks or halves); every case leaves no tensor behind. A case is
// a kind and a few integers, so that a failure prints a runnable `runKernelCase(...)`.
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../../src/index.js';
import * as fused from '../../src/backend/fused.js';
import { rng } from '../../src/random.js';
import { conv2dWithBias } from '../../src/ops/conv.js';
import { BLOCKING, setDenseMatMul } from '../../kernels/dense-matmul.js';
import { setSimdBatchMatMul } from '../../kernels/batch-matmul.js';
import { setGeluFloat32 } from '../../kernels/gelu.js';
import { setSharedBatchNorm, setSimdBatchNorm } from '../../kernels/wasm-simd-batch-norm.js';
import { setAdamFloat32, setSharedAdamStep, setSimdAdam } from '../../kernels/adam-multi-update.js';
import { setChunkSharing } from '../../kernels/wasm-simd-module.js';
import { readyHelper } from '../../kernels/helper-thread.js';

export const KERNEL_KINDS = [
  'matmul',
  'broadcastMatmul',
  'gelu',
  'batchNorm',
  'adamMulti',
  'adamSteps',
  'compile',
  'conv',
];
export type KernelKind = (typeof KERNEL_KINDS)[number];

/** A case: the kind, integers in [0, 1000) that choose its sizes and switches, a seed for its values, the threads. */
export interface KernelCase {
  kind: KernelKind;
  p: number[];
  seed: number;
  threads: 1 | 2;
}

export interface KernelResult {
  ok: boolean;
  what: string;
  detail: string;
}

/**
 * The float32 SIMD gelu's distance to the float64 loops, in ulp: the kernel's tests allow 4 on their sweep;
 * a denser one finds 5 (gelu at x = −1.4178466796875, the derivative at −0.006530006416141987, each just
 * below a power of 2, where an ulp halves).
 */
const GELU_ULPS = 5;
const SPECIALS = [0, -0, Infinity, -Infinity, Number.NaN, 3e38, -3e38, 1e-40, -1e-45];

function values(n: number, seed: number, scale = 1, specials = false): Float32Array {
  const r = rng(seed);
  const v = Float32Array.from({ length: n }, () => scale * (2 * r.uniform() - 1));
  if (specials) for (let i = 0; i < Math.min(n, 6); i++) v[Math.floor(r.uniform() * n)] = SPECIALS[(seed + i) % 9];
  return v;
}

const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** A size: mostly small (tiles' and blocks' edges), some mid, a few large (the helper thread's split). */
function dim(v: number, large = true): number {
  const r = v % 20;
  if (r < 14) return 1 + (v % 19);
  if (r < 19 || !large) return 1 + (v % 70);
  return 160 + (v % 160);
}

/** Bitwise equality, NaNs of any payload equal; a description of the first difference, or null. */
function firstDifference(got: ArrayLike<number>, want: ArrayLike<number>): string | null {
  if (got.length !== want.length) return `length ${got.length}, want ${want.length}`;
  for (let i = 0; i < got.length; i++) {
    if (Number.isNaN(got[i]) && Number.isNaN(want[i])) continue;
    if (!Object.is(got[i], want[i])) return `entry ${i}: ${got[i]}, want ${want[i]}`;
  }
  return null;
}

/** Runs fn with switch `set` off, then on again (the default), returning both results as [on, off]. */
function onOff<T>(set: (on: boolean) => void, fn: () => T): [T, T] {
  const on = fn();
  set(false);
  try {
    return [on, fn()];
  } finally {
    set(true);
  }
}

const readAll = (ts: tf.Tensor[]) => ts.map((t) => (t.dataSync() as Float32Array).slice());

async function useThreads(threads: 1 | 2): Promise<void> {
  tg.setThreads(threads);
  if (threads === 1 || tf.getBackend() !== 'wasm') return;
  const heap = (tf.backend() as unknown as { wasm: { wasmMemory?: WebAssembly.Memory } }).wasm.wasmMemory;
  for (let waited = 0; heap && !readyHelper(heap) && waited < 30_000; waited += 20)
    await new Promise((r) => setTimeout(r, 20));
}

// ---- products, at TF.js's kernels ----

const BATCHES: [number[], number[]][] = [
  [[], []],
  [[1], [1]],
  [[3], [3]],
  [[2], [1]],
  [[1], [4]],
  [
    [2, 3],
    [2, 3],
  ],
  [[2, 3], [1]],
  [
    [1, 1],
    [2, 3],
  ],
];
const BLOCKINGS = [
  { mc: 128, kc: 256 },
  { mc: 6, kc: 7 },
  { mc: 1, kc: 1 },
  { mc: 9, kc: 4 },
  { mc: 4, kc: 33 },
];

function matmulCase({ p, seed }: KernelCase): KernelResult {
  // now and then a product large enough to be split with the helper thread (2²² multiply-adds)
  const large = p[5] % 8 === 1;
  const [M, K, N] = large
    ? [8 + (p[0] % 300), 256 + (p[1] % 64), 256 + (p[2] % 64)]
    : [dim(p[0]), dim(p[1]), dim(p[2])];
  // large ones mostly single untransposed products: the dense kernel's (the batched kernel's otherwise)
  const dense = large && p[3] % 4 !== 0;
  const [ba, bb] = dense ? BATCHES[p[3] % 2] : BATCHES[p[3] % BATCHES.length];
  const alias = !dense && p[5] % 4 === 0;
  const transposeA = !dense && (p[4] & 1) === 1;
  let transposeB = alias ? !transposeA : !dense && (p[4] & 2) === 2;
  const withFused = (p[4] & 4) === 4;
  const activation = (['linear', 'relu', 'relu6'] as const)[(p[4] >> 3) % 3];
  const withBias = (p[4] & 32) === 32;
  const blocking = BLOCKINGS[p[6] % BLOCKINGS.length];
  const specials = p[7] % 3 === 0;
  const aShape = [...ba, ...(transposeA ? [K, M] : [M, K])];
  const a = tf.tensor(values(prod(aShape), seed, 2, specials), aShape);
  let b: tf.Tensor;
  if (alias) {
    // one tensor as both operands: a·aᵀ or aᵀ·a
    b = a;
    transposeB = !transposeA;
  } else {
    const bShape = [...bb, ...(transposeB ? [N, K] : [K, N])];
    b = tf.tensor(values(prod(bShape), seed + 1, 2, specials), bShape);
  }
  const n = alias ? M : N;
  const bias = tf.tensor(values(n, seed + 2, 2, specials && p[7] % 2 === 0));
  const bName = alias ? 'the same tensor' : JSON.stringify(b.shape);
  const what = `${JSON.stringify(aShape)}${transposeA ? 'ᵀ' : ''} · ${bName}${
    transposeB ? 'ᵀ' : ''
  }${withFused ? ` fused (${withBias ? 'bias, ' : ''}${activation})` : ''}, blocks ${blocking.mc}×${blocking.kc}`;
  // The dense kernel takes two matrices with one of them transposed in place, summing each entry's
  // terms in order, as XNNPACK's product of the transposed copy does (TF.js's own loop for transposed
  // operands, which the batched kernel follows, sums them in blocks of 48): without the kernels, that
  // transpose is made first. (A fused product with transposes is TF.js's loop either way.)
  let transposesMade = false;
  const run = () => {
    // fills the memory the output is likely to take, so that an entry left unwritten shows
    tf.fill([prod(aShape) + n * 4 + 64], 7777).dispose();
    const c = tf.tidy(() => {
      const swap = (t: tf.Tensor) =>
        tf.transpose(
          t,
          [...t.shape.keys()].map((i, _, all) => (i < all.length - 2 ? i : 2 * all.length - 3 - i)),
        );
      const [x, y, ta, tb] =
        transposesMade && !withFused && a.rank === 2 && b.rank === 2 && transposeA !== transposeB
          ? [transposeA ? swap(a) : a, transposeB ? swap(b) : b, false, false]
          : [a, b, transposeA, transposeB];
      return withFused
        ? tf.fused.matMul({ a: x, b: y, transposeA: ta, transposeB: tb, bias: withBias ? bias : undefined, activation })
        : tf.matMul(x, y, ta, tb);
    });
    const out = (c.dataSync() as Float32Array).slice();
    c.dispose();
    return out;
  };
  const saved = { ...BLOCKING };
  Object.assign(BLOCKING, blocking);
  try {
    const [on, off] = onOff((v) => {
      setDenseMatMul(v);
      setSimdBatchMatMul(v);
      transposesMade = !v;
    }, run);
    const diff = firstDifference(on, off);
    return { ok: diff === null, what, detail: diff ? `the kernels against XNNPACK and TF.js's loop: ${diff}` : '' };
  } finally {
    Object.assign(BLOCKING, saved);
    tf.dispose([a, b, bias]);
  }
}

// ---- tg.matmul on broadcast batches, against float64 ----

const BROADCASTS: [number[], number[]][] = [
  [[], []],
  [[2], []],
  [[], [3]],
  [[2, 3], [3]],
  [
    [2, 1],
    [1, 3],
  ],
  [
    [2, 3],
    [1, 1, 3],
  ],
  [
    [3, 1],
    [2, 1, 1],
  ],
  [[4], [1]],
];

/** The strides of `shape` broadcast to `outer` (0 along a broadcast axis), in matrices. */
function broadcastStrides(shape: number[], outer: number[]): number[] {
  const padded = [...new Array(outer.length - shape.length).fill(1), ...shape];
  const strides = new Array(outer.length).fill(0);
  let s = 1;
  for (let i = outer.length - 1; i >= 0; i--) {
    strides[i] = padded[i] === 1 ? 0 : s;
    s *= padded[i];
  }
  return strides;
}

async function broadcastMatmulCase({ p, seed }: KernelCase): Promise<KernelResult> {
  const [M, N] = [dim(p[0], false), dim(p[2], false)];
  // an inner size of 0 now and then: the product is zeros, its gradients empty
  const K = p[1] % 10 === 9 ? 0 : dim(p[1], false);
  const [ba, bb] = BROADCASTS[p[3] % BROADCASTS.length];
  const outer = ba.length >= bb.length ? [...ba] : [...bb];
  for (let i = 1; i <= Math.min(ba.length, bb.length); i++)
    outer[outer.length - i] = Math.max(ba[ba.length - i], bb[bb.length - i]);
  const aShape = [...ba, M, K];
  const bShape = [...bb, K, N];
  const what = `tg.matmul ${JSON.stringify(aShape)} · ${JSON.stringify(bShape)}`;
  const av = values(prod(aShape), seed);
  const bv = values(prod(bShape), seed + 1);
  const wv = values(prod([...outer, M, N]), seed + 2);
  const a = tg.tensor(av, { shape: aShape, requiresGrad: true });
  const b = tg.tensor(bv, { shape: bShape, requiresGrad: true });
  const w = tg.tensor(wv, { shape: [...outer, M, N] });
  try {
    const outs = tg.tidy(() => {
      const c = tg.matmul(a, b);
      const [ga, gb] = tg.gradients(tg.sum(tg.mul(c, w)), [a, b]);
      return [c, ga!, gb!];
    });
    const cShape = outs[0].shape;
    // read asynchronously: webgpu reads no other way
    const [cv, gav, gbv] = (await Promise.all(outs.map((t) => t.data()))) as Float32Array[];
    tg.dispose(outs);
    if (cShape.join() !== [...outer, M, N].join())
      return { ok: false, what, detail: `shape ${JSON.stringify(cShape)}, want ${JSON.stringify([...outer, M, N])}` };
    // the float64 reference, and the float32 rounding bound of each entry: (terms + 2)·u·Σ|terms|
    const sa = broadcastStrides(ba, outer);
    const sb = broadcastStrides(bb, outer);
    const T = prod(outer);
    const cRef = new Float64Array(T * M * N);
    const cAbs = new Float64Array(T * M * N);
    const gaRef = new Float64Array(av.length);
    const gaAbs = new Float64Array(av.length);
    const gbRef = new Float64Array(bv.length);
    const gbAbs = new Float64Array(bv.length);
    for (let t = 0; t < T; t++) {
      let [oa, ob, rest] = [0, 0, t];
      for (let d = outer.length - 1; d >= 0; d--) {
        const i = rest % outer[d];
        rest = Math.floor(rest / outer[d]);
        oa += i * sa[d];
        ob += i * sb[d];
      }
      for (let i = 0; i < M; i++)
        for (let j = 0; j < N; j++)
          for (let k = 0; k < K; k++) {
            const [x, y, g] = [av[(oa * M + i) * K + k], bv[(ob * K + k) * N + j], wv[(t * M + i) * N + j]];
            cRef[(t * M + i) * N + j] += x * y;
            cAbs[(t * M + i) * N + j] += Math.abs(x * y);
            gaRef[(oa * M + i) * K + k] += g * y;
            gaAbs[(oa * M + i) * K + k] += Math.abs(g * y);
            gbRef[(ob * K + k) * N + j] += x * g;
            gbAbs[(ob * K + k) * N + j] += Math.abs(x * g);
          }
    }
    const terms = Math.max(K, N, M) * T + 2;
    for (const [name, got, want, abs] of [
      ['product', cv, cRef, cAbs],
      ['gradient of a', gav, gaRef, gaAbs],
      ['gradient of b', gbv, gbRef, gbAbs],
    ] as [string, Float32Array, Float64Array, Float64Array][]) {
      if (got.length !== want.length)
        return { ok: false, what, detail: `${name}: ${got.length} entries, want ${want.length}` };
      for (let i = 0; i < got.length; i++)
        if (!(Math.abs(got[i] - want[i]) <= terms * 2 ** -23 * abs[i] + 1e-30))
          return { ok: false, what, detail: `${name} entry ${i}: ${got[i]}, float64 ${want[i]}` };
    }
    return { ok: true, what, detail: '' };
  } finally {
    tg.dispose([a, b, w]);
  }
}

// ---- gelu: float32 lanes and the saved derivative against the float64 loops ----

function ulps(got: number, want: number, scale = Math.abs(want)): number {
  return Math.abs(got - want) / 2 ** (Math.max(Math.floor(Math.log2(scale)), -126) - 23);
}

function geluCase({ p, seed }: KernelCase): KernelResult {
  // lengths past 2¹⁶ are split with the helper thread
  const n = p[0] % 10 === 9 ? 65_536 + (p[0] % 37) : p[0] % 300;
  const scale = [1, 4, 16, 0.01, 30][p[1] % 5];
  const specials = p[2] % 3 === 0;
  const shape = p[3] % 2 ? [n] : [1, n];
  const xv = values(n, seed, scale, specials);
  const gv = values(n, seed + 1, 1, specials && p[2] % 2 === 0);
  const what = `gelu on ${n} entries of scale ${scale}${specials ? ' with specials' : ''}`;
  const run = () =>
    tf.tidy(() => {
      const x = tg.tensor(xv, { shape, requiresGrad: true });
      const y = tg.gelu(x);
      // the adjoint reads the derivative the forward wrote (recorded), and geluGrad (unrecorded forward)
      const [dx] = tg.gradients(tg.sum(tg.mul(y, tg.tensor(gv, { shape }))), [x]);
      const yFree = tg.noGrad(() => tg.gelu(tg.tensor(xv, { shape })));
      const out = readAll([y.value, dx!.value, yFree.value]);
      tg.dispose([x, y, dx!, yFree]);
      return out;
    });
  const [on, off] = onOff(setGeluFloat32, run);
  const phi = (v: number) => Math.exp(-0.5 * v * v) / Math.sqrt(2 * Math.PI);
  for (let i = 0; i < n; i++) {
    const v = xv[i];
    const at = `at x = ${v}, dy = ${gv[i]}`;
    if (!Object.is(on[0][i], on[2][i]))
      return { ok: false, what, detail: `${at}: gelu recorded ${on[0][i]}, unrecorded ${on[2][i]}` };
    const xSpecial = !Number.isFinite(v) || Math.abs(v) >= 24;
    const fail = (why: string): KernelResult => ({
      ok: false,
      what,
      detail: `${at}: float32 ${on[0][i]}, ${on[1][i]}; float64 ${off[0][i]}, ${off[1][i]}${why}`,
    });
    // on specials the loops' values: gelu's zeros with their sign, the gradient's zero of either sign (as
    // the kernel's tests), NaN where they give NaN
    if (xSpecial ? firstDifference([on[0][i]], [off[0][i]]) !== null : !(ulps(on[0][i], off[0][i]) <= GELU_ULPS))
      return fail(` (gelu ${ulps(on[0][i], off[0][i])} ulp)`);
    if (xSpecial || !Number.isFinite(gv[i]) || !Number.isFinite(off[1][i])) {
      if (!(on[1][i] === off[1][i] || (Number.isNaN(on[1][i]) && Number.isNaN(off[1][i])))) return fail('');
      continue;
    }
    const d64 = gv[i] === 0 ? 0 : off[1][i] / gv[i];
    // the derivative's error (GELU_ULPS ulp of its scale Φ(x) + |x| φ(x)) times |dy|, and half an ulp of
    // rounding dy·d on each side
    const ulpOf = (t: number) => 2 ** (Math.max(Math.floor(Math.log2(t)), -126) - 23);
    const bound =
      GELU_ULPS * Math.abs(gv[i]) * ulpOf(Math.abs(d64) + Math.abs(v) * phi(v)) + ulpOf(Math.abs(off[1][i]));
    if (!(Math.abs(on[1][i] - off[1][i]) <= bound)) return fail(` (gradient off by ${on[1][i] - off[1][i]})`);
  }
  return { ok: true, what, detail: '' };
}

// ---- batch norm: the SIMD passes (and the helper's share) against the JavaScript loops ----

function batchNormCase({ p, seed }: KernelCase): KernelResult {
  // now and then 2¹⁶ entries or more: shared with the helper thread
  const large = p[1] % 10 === 9;
  const C = large ? 40 + (p[0] % 60) : 1 + (p[0] % 40);
  const rows = large ? 1700 + (p[1] % 900) : p[1] % 10 === 8 ? 257 + (p[1] % 900) : 1 + (p[1] % 70);
  const split = p[2] % 3;
  const shape = split === 0 ? [rows, C] : split === 1 ? [1, rows, 1, C] : rows % 2 ? [rows, 1, C] : [2, rows / 2, C];
  const offset = [0, 0, 3, -1e3, 4e6][p[3] % 5];
  const specials = p[4] % 4 === 0;
  const shared = p[5] % 2 === 0;
  const eps = [1e-5, 1e-3, 0.5][p[6] % 3];
  const n = prod(shape);
  const xv = values(n, seed, 2, specials).map((v) => v + offset);
  const dyv = values(n, seed + 1, 1, specials && p[4] % 8 === 0);
  const what = `batch norm ${JSON.stringify(shape)} (mean ${offset}, eps ${eps})${specials ? ' with specials' : ''}${
    shared ? '' : ', not shared'
  }`;
  const x = tf.tensor(xv, shape);
  const dy = tf.tensor(dyv, shape);
  const w = tf.tensor(values(C, seed + 2));
  const b = tf.tensor(values(C, seed + 3));
  setSharedBatchNorm(shared);
  try {
    const run = () => tf.tidy(() => readAll([...fused.batchNorm(x, w, b, eps), ...fused.batchNormGrad(dy, x, w, eps)]));
    const [on, off] = onOff(setSimdBatchNorm, run);
    const names = ['y', 'mean', 'variance', 'dx', 'dweight', 'dbias'];
    for (let k = 0; k < on.length; k++) {
      const diff = firstDifference(on[k], off[k]);
      if (diff) return { ok: false, what, detail: `${names[k]}: SIMD against the loops: ${diff}` };
    }
    return { ok: true, what, detail: '' };
  } finally {
    setSharedBatchNorm(true);
    tf.dispose([x, dy, w, b]);
  }
}

// ---- Adam: the multi-tensor kernel's SIMD loop against its JavaScript loop ----

function adamMultiCase({ p, seed }: KernelCase): KernelResult {
  const count = 1 + (p[0] % 6);
  const big = p[1] % 4 === 0;
  const r = rng(seed);
  const sizes = Array.from({ length: count }, (_, i) =>
    big && i === 0 ? 40_000 + 41 * p[1] : Math.floor(r.uniform() * [3, 40, 300][(p[2] + i) % 3]),
  );
  const shapes = sizes.map((s, i) => (i % 2 ? [s] : s % 2 ? [1, s] : [s / 2, 2]));
  const specials = p[3] % 3 === 0;
  const decoupled = p[4] % 2 === 0;
  const sharedStep = p[5] % 3 !== 0;
  const chunked = p[6] % 2 === 0;
  // float32 arithmetic (PyTorch's, the default) or float64 between float32 reads and writes
  const float32 = p[2] % 2 === 0;
  const arithmetic = float32 ? 'float32' : 'float64';
  const what = `multi-tensor ${decoupled ? 'AdamW' : 'Adam'} in ${arithmetic} on ${JSON.stringify(sizes)}${
    specials ? ' with specials' : ''
  }${sharedStep ? '' : ', step not shared'}${chunked ? '' : ', halves'}`;
  const ps = shapes.map((s, i) => tf.tensor(values(prod(s), seed + 10 + i, 2, specials), s));
  const gs = shapes.map((s, i) => tf.tensor(values(prod(s), seed + 20 + i, 1, specials), s));
  const ms = shapes.map((s, i) =>
    tf.tidy(() =>
      tf.stack([
        tf.tensor(values(prod(s), seed + 30 + i), s),
        tf.abs(tf.tensor(values(prod(s), seed + 40 + i, 0.5), s)),
      ]),
    ),
  );
  const rows = sizes.map((_, i) => {
    const t = 1 + Math.floor(r.uniform() * 50);
    const [b1, b2] = [0.9 - 0.1 * (i % 3), 0.999 - 0.01 * (i % 2)];
    return [10 ** (-1 - 3 * r.uniform()), 1 - b1 ** t, 1 - b2 ** t, b1, b2];
  });
  const steps = tf.tensor(fused.adamStepBits(rows.map((row) => row.slice(0, 3))), [count, 6], 'int32');
  const attrs = {
    decoupled,
    beta1: rows.map((row) => row[3]),
    beta2: rows.map((row) => row[4]),
    eps: sizes.map((_, i) => [1e-8, 1e-6, 0.1][(p[7] + i) % 3]),
    weightDecay: sizes.map((_, i) => [0, 0.01, 0.3][(p[7] + i) % 3]),
  };
  setSharedAdamStep(sharedStep);
  setAdamFloat32(float32);
  setChunkSharing(chunked);
  try {
    const run = () => {
      const out = fused.adamUpdateMulti(ps, gs, ms, steps, attrs);
      const all = [...out.params, ...out.moments];
      const got = readAll(all);
      tf.dispose(all);
      return got;
    };
    const [on, off] = onOff(setSimdAdam, run);
    for (let k = 0; k < on.length; k++) {
      const diff = firstDifference(on[k], off[k]);
      if (diff) return { ok: false, what, detail: `output ${k}: SIMD against the loop: ${diff}` };
    }
    return { ok: true, what, detail: '' };
  } finally {
    setSharedAdamStep(true);
    setAdamFloat32(true);
    setChunkSharing(true);
    tf.dispose([...ps, ...gs, ...ms, steps]);
  }
}

// ---- tg.optim's Adam, AdamW and AMSGrad against PyTorch's formulas in float64 ----

async function adamStepsCase({ p, seed }: KernelCase): Promise<KernelResult> {
  const variant = (['Adam', 'AdamW'] as const)[p[0] % 2];
  const amsgrad = p[1] % 2 === 0;
  const lr = [1e-3, 0.1, 1][p[2] % 3];
  const weightDecay = [0, 0.01, 0.5][p[3] % 3];
  const eps = [1e-8, 1e-3][p[4] % 2];
  const betas: [number, number] = [
    [0.9, 0.999],
    [0.5, 0.9],
    [0, 0.99],
  ][p[5] % 3] as [number, number];
  const sizes = [1 + (p[6] % 9), (p[7] % 40) + 1, 1 + ((p[6] + p[7]) % 5)];
  const stepsN = 1 + (seed % 4);
  const what =
    `${variant}${amsgrad ? ' (amsgrad)' : ''} lr ${lr}, weight decay ${weightDecay}, eps ${eps}, betas ${betas}, ` +
    `sizes ${JSON.stringify(sizes)}, ${stepsN} steps`;
  const init = sizes.map((s, i) => Array.from(values(s, seed + i, 2)));
  const grads = Array.from({ length: stepsN }, (_, t) =>
    sizes.map((s, i) => Array.from(values(s, seed + 100 * t + 50 + i))),
  );
  const params = init.map((v) => tg.tensor(v, { shape: [v.length], requiresGrad: true }));
  const Opt = variant === 'Adam' ? tg.optim.Adam : tg.optim.AdamW;
  const opt = new Opt(params, { lr, weightDecay, eps, betas, amsgrad });
  try {
    for (let t = 0; t < stepsN; t++) {
      const gs = grads[t].map((g) => tg.tensor(g));
      params.forEach((q, i) => {
        q.grad = gs[i];
      });
      opt.step();
      for (const q of params) q.grad = null;
      tg.dispose(gs);
    }
    const got = (await Promise.all(params.map((q) => q.data()))).map((v) => Array.from(v));
    // the reference, in float64 from the float32 starting values
    const [b1, b2] = betas;
    for (let i = 0; i < sizes.length; i++) {
      const x = init[i].slice();
      const m = new Array(sizes[i]).fill(0);
      const v = new Array(sizes[i]).fill(0);
      const vMax = new Array(sizes[i]).fill(0);
      for (let t = 1; t <= stepsN; t++)
        for (let k = 0; k < sizes[i]; k++) {
          let g = grads[t - 1][i][k];
          if (variant === 'AdamW') x[k] *= 1 - lr * weightDecay;
          else g += weightDecay * x[k];
          m[k] = b1 * m[k] + (1 - b1) * g;
          v[k] = b2 * v[k] + (1 - b2) * g * g;
          vMax[k] = Math.max(vMax[k], v[k]);
          const denom = Math.sqrt((amsgrad ? vMax[k] : v[k]) / (1 - b2 ** t)) + eps;
          x[k] -= ((lr / (1 - b1 ** t)) * m[k]) / denom;
        }
      for (let k = 0; k < sizes[i]; k++)
        if (!(Math.abs(got[i][k] - x[k]) <= 1e-5 * (Math.abs(x[k]) + lr * stepsN)))
          return { ok: false, what, detail: `parameter ${i} entry ${k}: ${got[i][k]}, float64 ${x[k]}` };
    }
    return { ok: true, what, detail: '' };
  } finally {
    opt.dispose();
    tg.dispose(params);
  }
}

// ---- tg.compile: a training step replayed against the same step run eagerly ----

async function compileCase({ p, seed }: KernelCase): Promise<KernelResult> {
  const din = 1 + (p[0] % 12);
  const hidden = 1 + (p[1] % 24);
  const dout = 1 + (p[2] % 6);
  const activation = (['relu', 'gelu', 'tanh'] as const)[p[3] % 3];
  const norm = p[4] % 3 === 0;
  const variant = (['Adam', 'AdamW', 'SGD'] as const)[p[5] % 3];
  // batch sizes from call to call: a new one records again, a seen one replays its recording
  // (batch norm refuses one row while training)
  const batches = [1 + (p[6] % 9), 1 + (p[6] % 9), 1 + (p[7] % 9), 1 + (p[6] % 9), 2 + (p[7] % 5)].map((B) =>
    norm ? Math.max(B, 2) : B,
  );
  const what =
    `compiled step ${din}→${hidden}→${dout} (${activation}${norm ? ', batch norm' : ''}), ${variant}, ` +
    `batches ${batches}`;
  const make = () => {
    const layers: tg.nn.Module[] = [new tg.nn.Linear(din, hidden, { seed })];
    if (norm) layers.push(new tg.nn.BatchNorm1d(hidden));
    layers.push(activation === 'relu' ? new tg.nn.ReLU() : activation === 'gelu' ? new tg.nn.GELU() : new tg.nn.Tanh());
    layers.push(new tg.nn.Linear(hidden, dout, { seed: seed + 1 }));
    const net = new tg.nn.Sequential(...layers);
    const opt =
      variant === 'SGD'
        ? new tg.optim.SGD(net.parameters(), { lr: 0.05, momentum: 0.9 })
        : new (variant === 'Adam' ? tg.optim.Adam : tg.optim.AdamW)(net.parameters(), { lr: 0.01, weightDecay: 0.01 });
    const step = (x: tg.Tensor, y: tg.Tensor) => {
      opt.zeroGrad();
      const loss = tg.mean(tg.square(tg.sub(net.forward(x) as tg.Tensor, y)));
      loss.backward();
      opt.step();
      return loss;
    };
    return { net, opt, step };
  };
  const eager = make();
  const traced = make();
  const compiled = tg.compile(traced.step);
  try {
    for (let s = 0; s < batches.length; s++) {
      const B = batches[s];
      const x = tg.tensor(values(B * din, seed + 10 + s), { shape: [B, din] });
      const y = tg.tensor(values(B * dout, seed + 20 + s), { shape: [B, dout] });
      const l1 = tg.tidy(() => eager.step(x, y));
      const l2 = compiled(x, y);
      const [[a], [b]] = await Promise.all([l1.data(), l2.data()]);
      tg.dispose([x, y, l1, l2]);
      if (!Object.is(a, b))
        return { ok: false, what, detail: `step ${s} (batch ${B}): loss ${b} compiled, ${a} eager` };
      const pe = eager.net.parameters();
      const pc = traced.net.parameters();
      for (let k = 0; k < pe.length; k++) {
        const diff = firstDifference(await pc[k].data(), await pe[k].data());
        if (diff) return { ok: false, what, detail: `after step ${s} (batch ${B}), parameter ${k}: ${diff}` };
      }
    }
    return { ok: true, what, detail: '' };
  } finally {
    compiled.dispose();
    for (const { net, opt } of [eager, traced]) {
      opt.dispose();
      net.dispose();
    }
  }
}

// ---- conv2d (the SIMD direct and Winograd kernels on wasm) against float64 loops ----

async function convCase({ p, seed }: KernelCase): Promise<KernelResult> {
  // half the cases in the Winograd kernel's domain: 3×3, stride 1, inputs a multiple of 4, outputs of 8
  const winograd = p[0] % 2 === 0;
  const [kh, kw] = winograd ? [3, 3] : [1 + (p[1] % 4), 1 + ((p[1] >> 2) % 4)];
  const stride = winograd ? 1 : 1 + (p[2] % 2);
  const padding = p[3] % 2 ? 'same' : 'valid';
  const cin = winograd ? 4 * (1 + (p[4] % 3)) : 1 + (p[4] % 6);
  const cout = winograd ? 8 * (1 + (p[5] % 2)) : 1 + (p[5] % 9);
  const N = 1 + (p[6] % 3);
  const H = (padding === 'valid' ? kh - 1 : 0) + 1 + (p[7] % 11);
  const W = (padding === 'valid' ? kw - 1 : 0) + 1 + ((p[7] >> 2) % 11);
  const withBias = p[2] % 3 === 0;
  const what =
    `conv2d x [${N},${H},${W},${cin}] w [${kh},${kw},${cin},${cout}] stride ${stride} ${padding}` +
    (withBias ? ' with bias' : '');
  const [Ho, Wo] =
    padding === 'same'
      ? [Math.ceil(H / stride), Math.ceil(W / stride)]
      : [Math.floor((H - kh) / stride) + 1, Math.floor((W - kw) / stride) + 1];
  const [pt, pl] =
    padding === 'same'
      ? [
          Math.floor(Math.max((Ho - 1) * stride + kh - H, 0) / 2),
          Math.floor(Math.max((Wo - 1) * stride + kw - W, 0) / 2),
        ]
      : [0, 0];
  const xv = values(N * H * W * cin, seed);
  const wv = values(kh * kw * cin * cout, seed + 1);
  const bv = values(cout, seed + 2);
  const gv = values(N * Ho * Wo * cout, seed + 3);
  const x = tg.tensor(xv, { shape: [N, H, W, cin], requiresGrad: true });
  const w = tg.tensor(wv, { shape: [kh, kw, cin, cout], requiresGrad: true });
  const b = tg.tensor(bv, { requiresGrad: true });
  const g = tg.tensor(gv, { shape: [N, Ho, Wo, cout] });
  try {
    const outs = tg.tidy(() => {
      const y = withBias ? conv2dWithBias(x, w, b, { stride, padding }) : tg.conv2d(x, w, { stride, padding });
      const grads = tg.gradients(tg.sum(tg.mul(y, g)), withBias ? [x, w, b] : [x, w]);
      return [y, ...grads.map((t) => t!)];
    });
    const got = (await Promise.all(outs.map((t) => t.data()))) as Float32Array[];
    tg.dispose(outs);
    const ref = [N * Ho * Wo * cout, xv.length, wv.length, cout].map((n) => new Float64Array(n));
    const abs = ref.map((r) => new Float64Array(r.length));
    for (let n = 0; n < N; n++)
      for (let i = 0; i < Ho; i++)
        for (let j = 0; j < Wo; j++)
          for (let o = 0; o < cout; o++) {
            const yi = ((n * Ho + i) * Wo + j) * cout + o;
            if (withBias) {
              ref[0][yi] += bv[o];
              abs[0][yi] += Math.abs(bv[o]);
              ref[3][o] += gv[yi];
              abs[3][o] += Math.abs(gv[yi]);
            }
            for (let a = 0; a < kh; a++)
              for (let c2 = 0; c2 < kw; c2++) {
                const [r, q] = [i * stride + a - pt, j * stride + c2 - pl];
                if (r < 0 || r >= H || q < 0 || q >= W) continue;
                for (let c = 0; c < cin; c++) {
                  const xi = ((n * H + r) * W + q) * cin + c;
                  const wi = ((a * kw + c2) * cin + c) * cout + o;
                  ref[0][yi] += xv[xi] * wv[wi];
                  abs[0][yi] += Math.abs(xv[xi] * wv[wi]);
                  ref[1][xi] += gv[yi] * wv[wi];
                  abs[1][xi] += Math.abs(gv[yi] * wv[wi]);
                  ref[2][wi] += gv[yi] * xv[xi];
                  abs[2][wi] += Math.abs(gv[yi] * xv[xi]);
                }
              }
          }
    // Winograd's transforms scale the rounding errors by a small constant: 8 times the direct bound
    const terms = 8 * (N * Ho * Wo + kh * kw * cin + cout + 2);
    const names = ['output', 'gradient of x', 'gradient of w', 'gradient of the bias'];
    for (let k = 0; k < got.length; k++)
      for (let i = 0; i < got[k].length; i++)
        if (!(Math.abs(got[k][i] - ref[k][i]) <= terms * 2 ** -24 * abs[k][i] + 1e-30))
          return { ok: false, what, detail: `${names[k]} entry ${i}: ${got[k][i]}, float64 ${ref[k][i]}` };
    return { ok: true, what, detail: '' };
  } finally {
    tg.dispose([x, w, b, g]);
  }
}

const WASM_ONLY = new Set(['matmul', 'gelu', 'batchNorm', 'adamMulti']);

/** Runs one case on the current backend; a thrown error, a leak or a disagreement fails it. */
export async function runKernelCase(c: KernelCase): Promise<KernelResult> {
  const backend = tf.getBackend();
  if (WASM_ONLY.has(c.kind) && backend !== 'wasm') return { ok: true, what: `${c.kind}: wasm only`, detail: '' };
  await useThreads(c.threads);
  const before = tf.memory().numTensors;
  let r: KernelResult;
  try {
    r =
      c.kind === 'matmul'
        ? matmulCase(c)
        : c.kind === 'broadcastMatmul'
          ? await broadcastMatmulCase(c)
          : c.kind === 'gelu'
            ? geluCase(c)
            : c.kind === 'batchNorm'
              ? batchNormCase(c)
              : c.kind === 'adamMulti'
                ? adamMultiCase(c)
                : c.kind === 'adamSteps'
                  ? await adamStepsCase(c)
                  : c.kind === 'conv'
                    ? await convCase(c)
                    : await compileCase(c);
  } catch (e) {
    r = { ok: false, what: c.kind, detail: `threw ${(e as Error).stack ?? e}` };
  } finally {
    tg.setThreads(1);
  }
  const leaked = tf.memory().numTensors - before;
  if (r.ok && leaked !== 0) return { ok: false, what: r.what, detail: `${leaked} tensors left behind` };
  return r;
}

const intArb = fc.integer({ min: 0, max: 999 });
/** Cases of the given kinds (all by default). */
export const kernelCaseArb = (kinds: readonly string[] = KERNEL_KINDS): fc.Arbitrary<KernelCase> =>
  fc.record({
    kind: fc.constantFrom(...kinds),
    p: fc.array(intArb, { minLength: 8, maxLength: 8 }),
    seed: fc.integer({ min: 1, max: 1_000_000 }),
    threads: fc.constantFrom(1 as const, 2 as const),
  });

export const kernelSnippet = (c: KernelCase, r: KernelResult) =>
  `${r.what}: ${r.detail}\nreproduce: await runKernelCase(${JSON.stringify(c)}) ` +
  `(test/fuzz/kernels.ts, on ${tf.getBackend()})`;

/** The property: every case of the given kinds passes. */
export const kernelsPropertyOf = (kinds: readonly string[] = KERNEL_KINDS) =>
  fc.asyncProperty(kernelCaseArb(kinds), async (c) => {
    const r = await runKernelCase(c);
    if (!r.ok) throw new Error(kernelSnippet(c, r));
  });
export const kernelsProperty = kernelsPropertyOf();
