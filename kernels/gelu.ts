// TapegradGelu and TapegradGeluGrad: gelu's forward x Φ(x) and its adjoint dy·(Φ(x) + x φ(x)) in one
// pass on cpu and wasm, computed in float64 and rounded once (JavaScript loops over the backend's
// memory; on wasm two float64 lanes at a time in a WebAssembly SIMD module on the heap): in TF.js ops, Φ without cancellation takes some thirty ops (its lower tail ½ erfc(−x/√2)
// by a rational function and a split e^(−x²/2), below), as TF.js's ½(1 + erf(x/√2)) does not.
//
// Inputs x (TapegradGelu), dy and x (TapegradGeluGrad), float32 of one shape. The TF.js
// formulations below are gelu's forward on the GPUs and the kernels' reference, and give the
// recorded adjoints in src/ops/elementwise.ts (erf's and gelu's) their pieces.
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { jsKernelConfigs } from './js-kernel.js';
import {
  type Code,
  f32x4,
  f64x2,
  I32,
  i32,
  i64x2,
  local,
  V128,
  v128,
  type WasmFunction,
  whileBelow,
} from './wasm-encoder.js';
import { simdModule } from './wasm-simd-module.js';

export const GELU = 'TapegradGelu';
export const GELU_GRAD = 'TapegradGeluGrad';

/** x is rounded to a multiple of 1/64: for |x| < 256 its square is then exact in float32. */
const SPLIT = 64;
/** Beyond this |x|, e^(−x²/4) is 0 in float32 (and clamping keeps ∞ out of the split). */
const TAIL_END = 24;

/** x rounded to a multiple of 1/64 (|x| first clamped where e^(−x²/4) is 0 anyway): xₕ² is exact in float32. */
export function splitPoint(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.div(tf.round(tf.mul(tf.clipByValue(x, -TAIL_END, TAIL_END), SPLIT)), SPLIT));
}

/**
 * e^(−c x²) (c a power of 2) as e^(−c xₕ²)·e^(−c (x − xₕ)(x + xₕ)), xₕ = splitPoint(x): the first exponent
 * exact, the second small, so that the rounding of x², which costs 2cx² ulp (160 at x = 9, c = 1), never
 * reaches the exponential.
 */
export function expMinusScaledSquare(x: tf.Tensor, c: number): tf.Tensor {
  return tf.tidy(() => {
    const xh = splitPoint(x);
    return tf.mul(tf.exp(tf.mul(tf.square(xh), -c)), tf.exp(tf.mul(tf.mul(tf.sub(x, xh), tf.add(x, xh)), -c)));
  });
}

// erfcx(a/√2) = e^(a²/2) erfc(a/√2) ≈ P(a)/Q(a) on [0, 14.2], relative error 1.5e−10 (float64), about
// 6 ulp evaluated in float32; every coefficient is positive, so no term cancels. Fitted by
// scripts/fit-normal-tail.py.
const P = [
  0.999999999847298, 1.0137641842207017, 0.5000355131696939, 0.14216841632061047, 0.023191081209368546,
  0.001770091552809654,
];
const Q = [
  1.0, 1.8116487346823933, 1.4455222107275998, 0.6556646126570097, 0.18040600904190912, 0.02906551157253353,
  0.002218483777643276,
];

const horner = (c: number[], a: tf.Tensor) => {
  let s: tf.Tensor = tf.fill(a.shape, c[c.length - 1]);
  for (let k = c.length - 2; k >= 0; k--) s = tf.add(tf.mul(s, a), c[k]);
  return s;
};

/**
 * The lower normal tail Φ(−a) = ½ erfc(a/√2) for a = |x| as two factors, c·h·h: c = ½ erfcx(a/√2)
 * and h = e^(−a²/4), so that a caller multiplying by x does so before the product leaves float32's
 * normal range (x Φ(x) is normal down to x ≈ −14, where Φ(x) is not).
 */
export function normalTailFactors(x: tf.Tensor): [tf.Tensor, tf.Tensor] {
  return tf.tidy(() => {
    const a = tf.minimum(tf.abs(x), TAIL_END);
    return [tf.mul(tf.div(horner(P, a), horner(Q, a)), 0.5), expMinusScaledSquare(a, 0.25)];
  });
}

/** f·Φ(x) (f = x, or 1): by the tail's factors below 0, f·(1 − tail) above (so gelu(∞) = ∞, as PyTorch). */
export function timesNormalCdf(x: tf.Tensor, f: tf.Tensor | number): tf.Tensor {
  return tf.tidy(() => {
    const [c, h] = normalTailFactors(x);
    const below = tf.mul(tf.mul(tf.mul(f, c), h), h);
    const above = tf.mul(f, tf.sub(1, tf.mul(tf.mul(c, h), h)));
    return tf.where(tf.less(x, 0), below, above);
  });
}

// ---- the kernels on cpu and wasm: float64 loops

/** erfcx(a/√2) = P(a)/Q(a) in float64 (a ≥ 0). */
function erfcxHalf64(a: number): number {
  let p = P[P.length - 1];
  for (let k = P.length - 2; k >= 0; k--) p = p * a + P[k];
  let q = Q[Q.length - 1];
  for (let k = Q.length - 2; k >= 0; k--) q = q * a + Q[k];
  return p / q;
}
/** Φ(x) in float64: ½ erfcx(|x|/√2) e^(−x²/2) below 0 (x² is exact in float64 for a float32 x). */
function normalCdf64(x: number): number {
  const a = Math.min(Math.abs(x), TAIL_END); // the tail is 0 beyond, and P/Q would be ∞/∞ at ∞
  const tail = 0.5 * erfcxHalf64(a) * Math.exp(-0.5 * a * a);
  return x < 0 ? tail : 1 - tail;
}
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

// ---- the same loops on wasm in WebAssembly SIMD, two float64 lanes at a time, over the heap: the same
// operations in the same order, with e^t a polynomial of its own (within 2 ulp of float64, where
// Math.exp is within 1), so an output can differ from the loop's only where its float64 value lies
// within a few float64 ulp of a float32 rounding boundary.

const get = local.get;
const LN2_HI = 0.6931471803691238; // ln 2 to 32 bits: k·LN2_HI is exact for |k| < 2²¹
const LN2_LO = 1.9082149292705877e-10;
/** 1/j!, j = 0 … 13: e^r for |r| ≤ ½ ln 2 within 1e−17 relative. */
const EXP_TAYLOR = Array.from(
  { length: 14 },
  (_, j) => 1 / Array.from({ length: j }, (_, i) => i + 1).reduce((a, b) => a * b, 1),
);
/** Adding this leaves an integer-valued float64 of magnitude < 2⁵¹ in the low bits of its mantissa. */
const INT_MAGIC = 2 ** 52 + 2 ** 51;

/** A float64 constant in both lanes, as a local set once before the loop. */
export type Constants = (v: number) => Code;

/**
 * e^t in float64 lanes for t ≤ 0 (t below −746 gives 0, as Math.exp; NaN gives NaN), 2ᵏ in two normal
 * factors; within 2 ulp of float64. Its temporaries are the locals `tmp` names (vectors).
 */
export function expNonPositive(
  t: Code,
  tmp: { T: number; K: number; K1: number; R: number; R2: number; R4: number; R8: number },
  c: Constants,
): Code {
  const { T, K, K1, R, R2, R4, R8 } = tmp;
  // 2ʲ from an integer-valued j in [−1022, 1023]: j + 1023 into the exponent field
  const pow2 = (j: Code) => i64x2.shl(i64x2.add(f64x2.add(j, c(INT_MAGIC)), i64x2.splat(1023)), 52);
  // the Taylor polynomial by Estrin's scheme: pairs, then pairs of pairs (a short chain of dependent operations)
  const r = (l: number) => get(l);
  let terms: Code[] = [];
  for (let j = 0; j < EXP_TAYLOR.length; j += 2)
    terms.push(f64x2.add(c(EXP_TAYLOR[j]), f64x2.mul(c(EXP_TAYLOR[j + 1]), get(R))));
  for (const power of [R2, R4, R8]) {
    const next: Code[] = [];
    for (let j = 0; j < terms.length; j += 2)
      next.push(j + 1 < terms.length ? f64x2.add(terms[j], f64x2.mul(terms[j + 1], r(power))) : terms[j]);
    terms = next;
  }
  const poly = terms[0];
  return [
    ...local.set(T, f64x2.max(t, c(-746))),
    // rounded to an integer by adding and taking away INT_MAGIC (ties to even, as nearest)
    ...local.set(K, f64x2.sub(f64x2.add(f64x2.mul(get(T), c(Math.LOG2E)), c(INT_MAGIC)), c(INT_MAGIC))),
    ...local.set(R, f64x2.sub(f64x2.sub(get(T), f64x2.mul(get(K), c(LN2_HI))), f64x2.mul(get(K), c(LN2_LO)))),
    ...local.set(R2, f64x2.mul(get(R), get(R))),
    ...local.set(R4, f64x2.mul(get(R2), get(R2))),
    ...local.set(R8, f64x2.mul(get(R4), get(R4))),
    // k in [−1076, 0] as k₁ + (k − k₁), each half normal
    ...local.set(K1, f64x2.sub(f64x2.add(f64x2.mul(get(K), c(0.5)), c(INT_MAGIC)), c(INT_MAGIC))),
    ...f64x2.mul(f64x2.mul(poly, pow2(get(K1))), pow2(f64x2.sub(get(K), get(K1)))),
  ];
}

/**
 * Φ(x) of the float64 lanes in local X, as normalCdf64: needs the locals A, E and those of
 * expNonPositive. With `F`, a local holding e^(−x²/2) already: the tail's e^(−a²/2) is that one
 * where |x| < TAIL_END (a = |x| there, and (−½a)·a is (−½x)·x to the bit), else e^(−TAIL_END²/2),
 * which leaves Φ at 0 or 1 after float32's rounding as the exponential computed afresh does.
 */
function normalCdfLanes(
  X: number,
  A: number,
  E: number,
  tmp: Parameters<typeof expNonPositive>[1],
  c: Constants,
  F?: number,
): Code {
  const horner = (coef: number[]) => {
    let h: Code = c(coef[coef.length - 1]);
    for (let k = coef.length - 2; k >= 0; k--) h = f64x2.add(f64x2.mul(h, get(A)), c(coef[k]));
    return h;
  };
  const tail = f64x2.mul(f64x2.mul(c(0.5), f64x2.div(horner(P), horner(Q))), get(E));
  return [
    ...local.set(A, f64x2.min(f64x2.abs(get(X)), c(TAIL_END))),
    ...local.set(
      E,
      F === undefined
        ? expNonPositive(f64x2.mul(f64x2.mul(c(-0.5), get(A)), get(A)), tmp, c)
        : v128.bitselect(get(F), c(Math.exp(-0.5 * TAIL_END * TAIL_END)), f64x2.lt(f64x2.abs(get(X)), c(TAIL_END))),
    ),
    ...local.set(E, tail),
    ...v128.bitselect(get(E), f64x2.sub(c(1), get(E)), f64x2.lt(get(X), c(0))),
  ];
}

/**
 * gelu(x, y, count) and geluGrad(dy, x, dx, count): count a multiple of 4, addresses in bytes. Each
 * turn of a loop computes two independent pairs, so that their long chains of dependent float64
 * operations overlap.
 */
function geluFunctions(): WasmFunction[] {
  const LANE_LOCALS = 12;
  const pair = (address: Code, at: number) => f64x2.promoteLow(v128.load64Zero(i32.add(address, i32.const(at))));
  const store = (address: Code, at: number, v: Code) => v128.storeLow64(i32.add(address, i32.const(at)), v);
  const bump = (l: number) => local.set(l, i32.add(get(l), i32.const(16)));
  /** A function of `params` parameters, an end address and two sets of vectors, its constants in locals after them. */
  const fn = (name: string, params: number, loop: (c: Constants) => Code): WasmFunction => {
    const first = params + 1 + 2 * LANE_LOCALS;
    const values: number[] = [];
    const c: Constants = (v) => {
      let i = values.findIndex((w) => Object.is(w, v));
      if (i < 0) i = values.push(v) - 1;
      return get(first + i);
    };
    const body = loop(c);
    return {
      name,
      params: new Array(params).fill(I32),
      result: I32,
      locals: [I32, ...new Array(2 * LANE_LOCALS + values.length).fill(V128)],
      body: [...values.flatMap((v, i) => local.set(first + i, f64x2.splat(v))), ...body, ...i32.const(0)],
    };
  };
  const lanes = (first: number) => {
    const [X, A, E, T, K, K1, R, PHI, R2, R4, R8, F] = Array.from({ length: LANE_LOCALS }, (_, i) => first + i);
    return { X, A, E, PHI, F, tmp: { T, K, K1, R, R2, R4, R8 } };
  };
  // gelu: params x, y, count; locals END, then two sets of vectors
  const geluPair = (f: ReturnType<typeof lanes>, at: number, c: Constants) => [
    ...local.set(f.X, pair(get(0), at)),
    ...local.set(f.PHI, normalCdfLanes(f.X, f.A, f.E, f.tmp, c)),
    ...store(get(1), at, f32x4.demoteZero(f64x2.mul(get(f.X), get(f.PHI)))),
  ];
  const gelu = fn('gelu', 3, (c) => [
    ...local.set(3, i32.add(get(0), i32.shl(get(2), i32.const(2)))),
    ...whileBelow(get(0), get(3), [
      ...geluPair(lanes(4), 0, c),
      ...geluPair(lanes(4 + LANE_LOCALS), 8, c),
      ...bump(0),
      ...bump(1),
    ]),
  ]);
  // geluGrad: params dy, x, dx, count; locals END, then two sets of vectors
  const gradPair = (b: ReturnType<typeof lanes>, at: number, c: Constants) => [
    ...local.set(b.X, pair(get(1), at)),
    // dy·(Φ + x·(1/√2π)·e^(−x²/2)), the exponential of x itself (beyond the clamp too), which Φ's tail shares
    ...local.set(b.F, expNonPositive(f64x2.mul(f64x2.mul(c(-0.5), get(b.X)), get(b.X)), b.tmp, c)),
    ...local.set(b.PHI, normalCdfLanes(b.X, b.A, b.E, b.tmp, c, b.F)),
    ...store(
      get(2),
      at,
      f32x4.demoteZero(
        f64x2.mul(pair(get(0), at), f64x2.add(get(b.PHI), f64x2.mul(f64x2.mul(get(b.X), c(INV_SQRT_2PI)), get(b.F)))),
      ),
    ),
  ];
  const geluGrad = fn('geluGrad', 4, (c) => [
    ...local.set(4, i32.add(get(1), i32.shl(get(3), i32.const(2)))),
    ...whileBelow(get(1), get(4), [
      ...gradPair(lanes(5), 0, c),
      ...gradPair(lanes(5 + LANE_LOCALS), 8, c),
      ...bump(0),
      ...bump(1),
      ...bump(2),
    ]),
  ]);
  return [gelu, geluGrad];
}

interface GeluSimd {
  gelu(x: number, y: number, count: number): number;
  geluGrad(dy: number, x: number, dx: number, count: number): number;
}

const geluSimd = simdModule<GeluSimd>('gelu', geluFunctions);
/** Turns the SIMD loops off (and on again), so that tests and benchmarks can run the JavaScript ones beside them. */
export const setSimdGelu = geluSimd.setEnabled;

export const geluJs: KernelConfig[] = jsKernelConfigs(
  GELU,
  ({ x }) => [x!.shape],
  ({ x }, [y], _attrs, _infos, heap) => {
    const v = x as Float32Array;
    const simd = geluSimd.on(heap);
    const start = simd ? y.length & ~3 : 0;
    if (simd) simd.gelu(v.byteOffset, y.byteOffset, start);
    for (let i = start; i < y.length; i++) y[i] = v[i] * normalCdf64(v[i]);
  },
  false,
);
export const geluGradJs: KernelConfig[] = jsKernelConfigs(
  GELU_GRAD,
  ({ x }) => [x!.shape],
  ({ dy, x }, [dx], _attrs, _infos, heap) => {
    const [g, v] = [dy as Float32Array, x as Float32Array];
    const simd = geluSimd.on(heap);
    const start = simd ? dx.length & ~3 : 0;
    if (simd) simd.geluGrad(g.byteOffset, v.byteOffset, dx.byteOffset, start);
    for (let i = start; i < dx.length; i++)
      dx[i] = g[i] * (normalCdf64(v[i]) + v[i] * INV_SQRT_2PI * Math.exp(-0.5 * v[i] * v[i]));
  },
  false,
);

/** gelu's forward in TF.js ops (the GPUs' path, and the kernel's reference): x Φ(x). */
export function geluReference(x: tf.Tensor): tf.Tensor {
  return timesNormalCdf(x, x);
}
