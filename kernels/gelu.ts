// TapegradGelu, TapegradGeluGrad and TapegradGeluWithDerivative: gelu's forward x Φ(x), its adjoint
// dy·(Φ(x) + x φ(x)), and the forward with that derivative beside it (which an adjoint then multiplies
// by), each in one pass. On cpu, JavaScript loops in float64, rounded once. On wasm, WebAssembly SIMD
// over four float32 lanes (below: within a few float32 ulp of the loops, its method and its errors'
// sources there), the loops taking the last entries. In TF.js ops, Φ without cancellation takes some
// thirty ops (its lower tail ½ erfc(−x/√2) by a rational function and a split e^(−x²/2), below), as
// TF.js's ½(1 + erf(x/√2)) does not.
//
// Inputs x (TapegradGelu, TapegradGeluWithDerivative), dy and x (TapegradGeluGrad), float32 of one shape.
// The TF.js formulations below are gelu's forward on the GPUs and the kernels' reference, and give the
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
  i32x4,
  i64x2,
  local,
  V128,
  v128,
  type WasmFunction,
  whileBelow,
} from './wasm-encoder.js';
import { type SimdModule, simdModule } from './wasm-simd-module.js';

export const GELU = 'TapegradGelu';
export const GELU_GRAD = 'TapegradGeluGrad';
export const GELU_WITH_DERIVATIVE = 'TapegradGeluWithDerivative';

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

// ---- e^t over two float64 lanes in WebAssembly SIMD, a polynomial of its own (within 2 ulp of float64,
// where Math.exp is within 1), for the SIMD kernels that work in float64 (softmax cross-entropy).

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

// ---- the float64 loops over two lanes, for where gelu's float32 lanes are turned off

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
 * The float64 lanes' gelu(x, y, count) and geluGrad(dy, x, dx, count): the loops' operations in the
 * same order (an output differs from the loop's only where its float64 value lies within a few float64
 * ulp of a float32 rounding boundary); count a multiple of 4, addresses in bytes. Each turn of a loop
 * computes two independent pairs, so that their long chains of dependent float64 operations overlap.
 */
function geluFunctions64(): WasmFunction[] {
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
    ...store(get(1), at, f32x4.demoteZero(f64x2.mul(f64x2.max(get(f.X), c(-TAIL_END)), get(f.PHI)))),
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
    // dy·(Φ + x·(1/√2π)·e^(−x²/2)), the exponential of x itself (beyond the clamp too), which Φ's tail shares;
    // x clamped in the product, as the loop's
    ...local.set(b.F, expNonPositive(f64x2.mul(f64x2.mul(c(-0.5), get(b.X)), get(b.X)), b.tmp, c)),
    ...local.set(b.PHI, normalCdfLanes(b.X, b.A, b.E, b.tmp, c, b.F)),
    ...store(
      get(2),
      at,
      f32x4.demoteZero(
        f64x2.mul(
          pair(get(0), at),
          f64x2.add(
            get(b.PHI),
            f64x2.mul(f64x2.mul(f64x2.min(f64x2.max(get(b.X), c(-TAIL_END)), c(TAIL_END)), c(INV_SQRT_2PI)), get(b.F)),
          ),
        ),
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

// ---- gelu on wasm in WebAssembly SIMD, four float32 lanes at a time, over the heap. With a = min(|x|, A_MAX),
// K = 1/√(2π) and a₀ the root of Φ(−a) = a φ(a) (gelu's minimum is at x = −a₀):
//   Φ(−a) = K e^(−a²/2)/W(a),                 W(a) = a + H(a)/Q(a),
//   Φ(−a) − a φ(a) = (a₀ − a)·e^(−a²/2)·V(a),  V(a) = S(a)/D(a).
// W = K/(½ erfcx(a/√2)) is the inverse of the normal tail's Mills ratio (Abramowitz and Stegun 26.2.12:
// W(a) ~ a + 1/a − 2/a³ + …), whose rational part H/Q shrinks beside a as a grows, so that its rounding
// errors reach Φ scaled by (H/Q)/W ≤ 1 (by about 1/a² for large a); Φ(−a) = K e^(−a²/2)·Q/(aQ + H), one
// division. V is smooth and positive, so that the derivative keeps its relative accuracy through its zero
// at x = −a₀. x < 0 gives gelu = x Φ(−a) and the derivative Φ(−a) − a φ(a); x ≥ 0 gives x (1 − Φ(−a)) and
// 1 − (Φ(−a) − a φ(a)): nothing cancels. H/Q and S/D are fits of scripts/fit-gelu-float32.py (errors
// 1.2e−9 of W and 1.0e−8 of V, every coefficient positive, so Horner's scheme in float32 adds no
// cancellation). e^(−a²/2) without rounding a²: a = aₕ + (a − aₕ), aₕ a multiple of 1/64, so −aₕ²/2 is
// exact and the rest small; then e^t = 2ᵏ e^r, k = round(t/ln 2), r = t − k ln 2 with ln 2 in two parts
// (Cody and Waite), K e^r by a degree-6 polynomial (relative error 2.2e−9 on |r| ≤ ½ ln 2 + 0.005), and 2ᵏ
// as 2^(k+64)·2⁻⁶⁴, the second factor applied last, so that a result in float32's subnormal range is
// rounded once. Over a dense sweep, gelu and its derivative (the latter beside Φ(x) + |x| φ(x)) lie within
// 4 float32 ulp of the float64 loops above, which are the reference (test/fused.test.ts).

/** Beyond this |x|, gelu rounds to ±0 (x < 0) or x, and its derivative to 0 or 1, in float32. */
const A_MAX = 15;
/** W(a) ≈ a + H(a)/Q(a) on [0, A_MAX]. */
const H32 = [0.797884561790202, 0.5043100323836835, 0.16690887973350838, 0.03005644055376858, 0.0025225022852696077];
const Q32 = [
  1.0, 1.0874885458486165, 0.5678430459657235, 0.17168822658367727, 0.030068542855769518, 0.0025222614248908756,
];
/** (Φ(−a) − a φ(a)) e^(a²/2)/(a₀ − a) ≈ S(a)/D(a) on [0, A_MAX] (S over K, for the factor K e^r). */
const D32 = [
  1.0, 1.6770668799370532, 1.2065713506191544, 0.47212216302915716, 0.10273328754459729, 0.010456159676843083,
];
const S32 = [
  0.6650780017679893, 0.9387264407961877, 0.6037702464231517, 0.21734760988444776, 0.04412067095501242,
  0.004171404686927676,
].map((c) => c / INV_SQRT_2PI);
/** a₀: Φ(−a₀) = a₀ φ(a₀), as a float32 and the rest. */
const A0 = 0.7517915246935645;
const A0_HI = Math.fround(A0);
const A0_LO = Math.fround(A0 - A0_HI);
/** K e^r ≈ K Σ cⱼ rʲ for |r| ≤ ½ ln 2 + 0.005. */
const EXP32 = [
  1.0, 1.000000034958072, 0.49999993688817773, 0.1666641764599052, 0.04166808137577385, 0.00837532660843666,
  0.0013842290532003131,
].map((c) => c * INV_SQRT_2PI);
/** ln 2 as a multiple of 2⁻¹³ (k·LN2_HI32 and t − k·LN2_HI32 are exact) and the rest. */
const LN2_HI32 = 5678 / 8192;
const LN2_LO32 = Math.fround(Math.LN2 - LN2_HI32);
/** Adding this rounds a float32 of magnitude < 2²² to an integer, left in the low bits of its mantissa. */
const MAGIC32 = 1.5 * 2 ** 23;
/** Added to the bits of k + MAGIC32, then shifted into the exponent field: the bits of 2^(k+64). */
const POW2_BIAS = 64 + 127 - 0x4b400000;

/** The value whose float32 bits are the int32 n (for a lane constant given as bits). */
const fromBits = (n: number) => new Float32Array(Int32Array.of(n).buffer)[0];

/**
 * One vector of four lanes: x into the local `first`, its temporaries after it; gelu's value stored by
 * `out.y`, its derivative (times `out.dy` if given) by `out.d`, those given. As statements, so that a
 * loop can interleave two vectors' (their operations each in their own order).
 */
function geluVector(
  first: number,
  x: Code,
  out: { y?: (v: Code) => Code; d?: (v: Code) => Code; dy?: Code },
  c: (v: number) => Code,
): Code[] {
  const [X, A, AH, TH, TL, KM, R, PEK, S, QV, RR, NEG, G] = Array.from({ length: 13 }, (_, i) => first + i);
  const horner = (coef: number[], v: Code) => {
    let h: Code = c(coef[coef.length - 1]);
    for (let k = coef.length - 2; k >= 0; k--) h = f32x4.add(f32x4.mul(h, v), c(coef[k]));
    return h;
  };
  const kf = f32x4.sub(get(KM), c(MAGIC32));
  /** v·2^(k+64)·2⁻⁶⁴: the scale last, so that a subnormal result is rounded once. */
  const scaled = (v: Code) => f32x4.mul(f32x4.mul(v, get(S)), c(2 ** -64));
  const code: Code[] = [
    local.set(X, x),
    local.set(A, f32x4.pmin(f32x4.abs(get(X)), c(A_MAX))),
    local.set(AH, f32x4.mul(f32x4.sub(f32x4.add(f32x4.mul(get(A), c(64)), c(MAGIC32)), c(MAGIC32)), c(1 / 64))),
    // t = −a²/2 = TH + TL: TH exact, TL small
    local.set(TH, f32x4.mul(f32x4.mul(get(AH), get(AH)), c(-0.5))),
    local.set(TL, f32x4.mul(f32x4.mul(f32x4.sub(get(A), get(AH)), f32x4.add(get(A), get(AH))), c(-0.5))),
    // k + MAGIC32, then r = t − k ln 2
    local.set(KM, f32x4.add(f32x4.mul(f32x4.add(get(TH), get(TL)), c(Math.LOG2E)), c(MAGIC32))),
    local.set(
      R,
      f32x4.sub(f32x4.add(f32x4.sub(get(TH), f32x4.mul(kf, c(LN2_HI32))), get(TL)), f32x4.mul(kf, c(LN2_LO32))),
    ),
    local.set(PEK, horner(EXP32, get(R))),
    local.set(S, i32x4.shl(i32x4.add(get(KM), c(fromBits(POW2_BIAS))), 23)),
    // RR = K e^r/(aQ + H): Φ(−a) = Q·RR·2ᵏ
    local.set(QV, horner(Q32, get(A))),
    local.set(RR, f32x4.div(get(PEK), f32x4.add(f32x4.mul(get(A), get(QV)), horner(H32, get(A))))),
    local.set(NEG, f32x4.lt(get(X), c(0))),
  ];
  // x Φ(−a) (x clamped, so that a large |x| rounds to −0, and gelu(−∞) to its limit −0) below 0, x (1 − Φ(−a))
  // above
  if (out.y)
    code.push(
      local.set(G, f32x4.mul(get(QV), get(RR))),
      out.y(
        v128.bitselect(
          scaled(f32x4.mul(f32x4.pmax(get(X), c(-A_MAX)), get(G))),
          f32x4.mul(get(X), f32x4.sub(c(1), scaled(get(G)))),
          get(NEG),
        ),
      ),
    );
  // G = Φ(−a) − a φ(a) = (a₀ − a)·(S/D)·K e^r·2ᵏ: the derivative is G below 0, 1 − G above (at ∓∞ the limits,
  // −0 and 1, as a is clamped)
  const lin = f32x4.add(f32x4.sub(c(A0_HI), get(A)), c(A0_LO));
  if (out.d)
    code.push(
      local.set(G, scaled(f32x4.mul(f32x4.mul(lin, f32x4.div(horner(S32, get(A)), horner(D32, get(A)))), get(PEK)))),
      local.set(G, v128.bitselect(get(G), f32x4.sub(c(1), get(G)), get(NEG))),
      ...(out.dy ? [local.set(G, f32x4.mul(out.dy, get(G)))] : []),
      out.d(get(G)),
    );
  return code;
}
const VECTOR_LOCALS = 13;
/** Vectors a turn of the main loop takes (their statements interleaved, so that the processor overlaps their long chains). */
const VECTORS_A_TURN = 2;

/**
 * The function `name`(x, y, d, dy, count) over count entries (a multiple of 4; addresses in bytes): gelu's
 * value into y if `outputs` has 'y', its derivative into d if it has 'd', times dy's entries if it has 'dy'
 * (the other addresses unread). VECTORS_A_TURN vectors of four lanes a turn, then one at a time.
 */
function geluFunction(name: string, outputs: ('y' | 'd' | 'dy')[]): WasmFunction {
  const [X, Y, D, DY, COUNT, END, WHOLE] = [0, 1, 2, 3, 4, 5, 6];
  const first = WHOLE + 1 + VECTORS_A_TURN * VECTOR_LOCALS;
  const values: number[] = [];
  const c = (v: number) => {
    let i = values.findIndex((w) => Object.is(w, v));
    if (i < 0) i = values.push(v) - 1;
    return get(first + i);
  };
  /** The statements of vector `k` of a turn, 16k bytes on. */
  const vector = (k: number) =>
    geluVector(
      WHOLE + 1 + k * VECTOR_LOCALS,
      v128.load(get(X), 16 * k),
      {
        y: outputs.includes('y') ? (v) => v128.store(get(Y), v, 16 * k) : undefined,
        d: outputs.includes('d') ? (v) => v128.store(get(D), v, 16 * k) : undefined,
        dy: outputs.includes('dy') ? v128.load(get(DY), 16 * k) : undefined,
      },
      c,
    );
  const turns = Array.from({ length: VECTORS_A_TURN }, (_, k) => vector(k));
  const interleaved = turns[0].flatMap((_, i) => turns.flatMap((t) => t[i]));
  const bump = (l: number, bytes: number) => local.set(l, i32.add(get(l), i32.const(bytes)));
  const bumpAll = (bytes: number) => [X, Y, D, DY].flatMap((l) => bump(l, bytes));
  const body = [
    ...local.set(END, i32.add(get(X), i32.shl(get(COUNT), i32.const(2)))),
    // the end of the whole turns: count rounded down to a multiple of 4·VECTORS_A_TURN (a power of 2)
    ...local.set(WHOLE, i32.add(get(X), i32.shl(i32.and(get(COUNT), i32.const(-4 * VECTORS_A_TURN)), i32.const(2)))),
    ...whileBelow(get(X), get(WHOLE), [...interleaved, ...bumpAll(16 * VECTORS_A_TURN)]),
    ...whileBelow(get(X), get(END), [...turns[0].flat(), ...bumpAll(16)]),
  ];
  return {
    name,
    params: [I32, I32, I32, I32, I32],
    result: I32,
    locals: [I32, I32, ...new Array(VECTORS_A_TURN * VECTOR_LOCALS + values.length).fill(V128)],
    body: [...values.flatMap((v, i) => local.set(first + i, f32x4.splat(v))), ...body, ...i32.const(0)],
  };
}

type GeluLanes = (x: number, y: number, d: number, dy: number, count: number) => number;
interface GeluSimd64 {
  gelu(x: number, y: number, count: number): number;
  geluGrad(dy: number, x: number, dx: number, count: number): number;
}

// each function in a module of its own, under the size a browser compiles at once
const geluSimd = simdModule<{ gelu: GeluLanes }>('gelu', () => [geluFunction('gelu', ['y'])], ['gelu']);
const geluWithDerivativeSimd = simdModule<{ geluWithDerivative: GeluLanes }>(
  'gelu-with-derivative',
  () => [geluFunction('geluWithDerivative', ['y', 'd'])],
  ['geluWithDerivative'],
);
const geluGradSimd = simdModule<{ geluGrad: GeluLanes }>('gelu-grad', () => [geluFunction('geluGrad', ['d', 'dy'])], [
  'geluGrad',
]);
const geluSimd64 = simdModule<GeluSimd64>('gelu-float64', geluFunctions64);
/** Turns the SIMD loops off (and on again), so that tests and benchmarks can run the float64 loops beside them. */
export const setSimdGelu = (on: boolean): void => {
  geluSimd.setEnabled(on);
  geluWithDerivativeSimd.setEnabled(on);
  geluGradSimd.setEnabled(on);
  geluSimd64.setEnabled(on);
};
let float32Lanes = true;
/**
 * Runs gelu's SIMD loops over two float64 lanes (the loops' values) rather than four float32 ones
 * (and back): for tests and benchmarks. The forward with its derivative then runs the loops.
 */
export function setGeluFloat32(on: boolean): void {
  float32Lanes = on;
}

/** Entries from which a call is split with the helper thread (below, waking it costs more). */
const SPLIT_MIN_ENTRIES = 1 << 16;

/**
 * The float32 lanes over the first entries of `x` (a multiple of 4; how many it returns: 0 where they are
 * off), into y, d (times dy) where given; the helper thread takes the second half of a large call.
 */
function float32Pass(
  heap: WebAssembly.Memory | null,
  x: Float32Array,
  y?: Float32Array,
  d?: Float32Array,
  dy?: Float32Array,
): number {
  const name = dy ? 'geluGrad' : d ? 'geluWithDerivative' : 'gelu';
  const module = (dy ? geluGradSimd : d ? geluWithDerivativeSimd : geluSimd) as SimdModule<Record<string, GeluLanes>>;
  const simd = float32Lanes ? module.on(heap) : null;
  if (!simd) return 0;
  const count = x.length & ~3;
  const args = (from: number, to: number) => [
    ...[x, y, d, dy].map((v) => (v ? v.byteOffset + 4 * from : 0)),
    to - from,
  ];
  const helper = count >= SPLIT_MIN_ENTRIES ? module.helper(heap) : null;
  const half = (count >> 1) & ~3;
  if (helper) helper.split(name, args(0, half), args(half, count));
  else simd[name](...(args(0, count) as Parameters<GeluLanes>));
  return count;
}

/**
 * x Φ(x) in float64, x clamped below where the product rounds to −0 anyway: gelu(−∞) is its limit, −0
 * (∞·0 would be NaN).
 */
const gelu64 = (x: number) => Math.max(x, -TAIL_END) * normalCdf64(x);
/**
 * Φ(x) + x φ(x) in float64 (the exponential of x itself: Φ's tail clamps |x|), x clamped in the product
 * where it rounds to 0 anyway: the derivative at ∓∞ is its limit, 0 or 1.
 */
const geluDerivative64 = (x: number) =>
  normalCdf64(x) + Math.min(Math.max(x, -TAIL_END), TAIL_END) * INV_SQRT_2PI * Math.exp(-0.5 * x * x);

export const geluJs: KernelConfig[] = jsKernelConfigs(
  GELU,
  ({ x }) => [x!.shape],
  ({ x }, [y], _attrs, _infos, heap) => {
    const v = x as Float32Array;
    let start = float32Pass(heap, v, y);
    const simd64 = start > 0 || float32Lanes ? null : geluSimd64.on(heap);
    if (simd64) simd64.gelu(v.byteOffset, y.byteOffset, (start = y.length & ~3));
    for (let i = start; i < y.length; i++) y[i] = gelu64(v[i]);
  },
  false,
);
export const geluWithDerivativeJs: KernelConfig[] = jsKernelConfigs(
  GELU_WITH_DERIVATIVE,
  ({ x }) => [x!.shape, x!.shape],
  ({ x }, [y, d], _attrs, _infos, heap) => {
    const v = x as Float32Array;
    for (let i = float32Pass(heap, v, y, d); i < y.length; i++) {
      y[i] = gelu64(v[i]);
      d[i] = geluDerivative64(v[i]);
    }
  },
  true,
);
export const geluGradJs: KernelConfig[] = jsKernelConfigs(
  GELU_GRAD,
  ({ x }) => [x!.shape],
  ({ dy, x }, [dx], _attrs, _infos, heap) => {
    const [g, v] = [dy as Float32Array, x as Float32Array];
    let start = float32Pass(heap, v, undefined, dx, g);
    const simd64 = start > 0 || float32Lanes ? null : geluSimd64.on(heap);
    if (simd64) simd64.geluGrad(g.byteOffset, v.byteOffset, dx.byteOffset, (start = dx.length & ~3));
    for (let i = start; i < dx.length; i++) dx[i] = g[i] * geluDerivative64(v[i]);
  },
  false,
);

/**
 * gelu's forward in TF.js ops (the GPUs' path, and the kernel's reference): x Φ(x), x clamped below where
 * the product rounds to −0 anyway, so that gelu(−∞) is its limit −0 (∞·0 would be NaN).
 */
export function geluReference(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => timesNormalCdf(x, tf.maximum(x, -TAIL_END)));
}
