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
import { simdModule } from './wasm-simd-module.js';

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

// ---- gelu on wasm in WebAssembly SIMD, four float32 lanes at a time, over the heap. For a = min(|x|, A_MAX):
//   Φ(−a) = C(a)·e^(−a²/2), C(a) = ½ erfcx(a/√2) ≈ P(a)/Q(a);
//   Φ(−a) − a φ(a) = (a₀ − a)·V(a)·e^(−a²/2), V(a) ≈ S(a)/Q(a),
// a₀ the root of Φ(−a) = a φ(a) (gelu's minimum, x = −a₀), so that the derivative Φ(x) + x φ(x) keeps its
// relative accuracy through that zero: x < 0 gives gelu = x Φ(−a) and the derivative (a₀ − a) V e^(−a²/2);
// x ≥ 0 gives x (1 − Φ(−a)) and 1 − (a₀ − a) V e^(−a²/2), without cancellation anywhere. P/Q and S/Q are
// relative-minimax fits on [0, A_MAX] (scripts/fit-gelu-float32.py: relative error 1.2e−8 and 1.0e−8, every
// coefficient positive, so Horner's scheme in float32 adds no cancellation). e^(−a²/2) is computed without
// rounding a²: a = aₕ + (a − aₕ), aₕ a multiple of 1/64, so −aₕ²/2 is exact and the rest small; then
// e^t = 2ᵏ e^r, k = round(t/ln 2), r = t − k ln 2 with ln 2 in two parts (Cody and Waite), e^r by a degree-6
// polynomial (relative error 1.2e−8 on |r| ≤ ½ ln 2 + 0.005), and 2ᵏ as two normal factors 2^k₁·2^k₂ applied
// last, so that a result in float32's subnormal range is rounded once. The float64 loops above are the
// reference: the tests bound the distance to them (test/fused.test.ts).

/** Beyond this |x|, gelu rounds to ±0 (x < 0) or x, and its derivative to 0 or 1, in float32. */
const A_MAX = 15;
/** ½ erfcx(a/√2) ≈ P(a)/Q(a) and (Φ(−a) − a φ(a))/(a₀ − a) ≈ S(a)/Q(a) on [0, A_MAX]. */
const P32 = [0.5000000057679248, 0.4396386451180807, 0.18427234241231574, 0.040994870598887984, 0.004173439121291149];
const Q32 = [1.0, 1.6771624363975774, 1.2067207215837392, 0.4722190750305342, 0.10276507149018299, 0.01046114674846243];
const S32 = [
  0.665078001833179, 0.9387899903147903, 0.6038527307332785, 0.21739494207297366, 0.04413484629110502,
  0.0041733942553778235,
];
/** a₀: Φ(−a₀) = a₀ φ(a₀), as a float32 and the rest. */
const A0 = 0.7517915246935645;
const A0_HI = Math.fround(A0);
const A0_LO = Math.fround(A0 - A0_HI);
/** e^r ≈ Σ cⱼ rʲ for |r| ≤ ½ ln 2 + 0.005. */
const EXP32 = [
  1.0, 1.0000000115782766, 0.499999979565012, 0.166664967737707, 0.041667163941208, 0.008370106937683813,
  0.0013888869245601485,
];
/** ln 2 as a multiple of 2⁻¹³ (k·LN2_HI32 and t − k·LN2_HI32 are exact) and the rest. */
const LN2_HI32 = 5678 / 8192;
const LN2_LO32 = Math.fround(Math.LN2 - LN2_HI32);
/** Adding this rounds a float32 of magnitude < 2²² to an integer, left in the low bits of its mantissa. */
const MAGIC32 = 1.5 * 2 ** 23;
/** Added to the bits of k + MAGIC32, then shifted into the exponent field: the bits of 2ᵏ. */
const POW2_BIAS = 127 - 0x4b400000;

/** The value whose float32 bits are the int32 n (for a lane constant given as bits). */
const fromBits = (n: number) => new Float32Array(Int32Array.of(n).buffer)[0];

/**
 * The locals one vector uses, after `first`: X (the input), then the temporaries. Stores through the
 * addresses `out` gives (each given the vector to store).
 */
function geluVector(
  first: number,
  x: Code,
  out: { y?: (v: Code) => Code; d?: (v: Code) => Code; dy?: Code },
  c: (v: number) => Code,
): Code {
  const [X, A, AH, TH, TL, KM, KF, R, PE, K1, S1, S2, QV, U, NEG, G] = Array.from({ length: 16 }, (_, i) => first + i);
  const horner = (coef: number[], v: Code) => {
    let h: Code = c(coef[coef.length - 1]);
    for (let k = coef.length - 2; k >= 0; k--) h = f32x4.add(f32x4.mul(h, v), c(coef[k]));
    return h;
  };
  // 2^j from the bits of j + MAGIC32 (j an integer in [−126, 127])
  const pow2 = (jm: Code) => i32x4.shl(i32x4.add(jm, c(fromBits(POW2_BIAS))), 23);
  const code: Code = [
    ...local.set(X, x),
    ...local.set(A, f32x4.pmin(f32x4.abs(get(X)), c(A_MAX))),
    ...local.set(AH, f32x4.mul(f32x4.sub(f32x4.add(f32x4.mul(get(A), c(64)), c(MAGIC32)), c(MAGIC32)), c(1 / 64))),
    // t = −a²/2 = TH + TL: TH exact, TL small
    ...local.set(TH, f32x4.mul(f32x4.mul(get(AH), get(AH)), c(-0.5))),
    ...local.set(TL, f32x4.mul(f32x4.mul(f32x4.sub(get(A), get(AH)), f32x4.add(get(A), get(AH))), c(-0.5))),
    ...local.set(KM, f32x4.add(f32x4.mul(f32x4.add(get(TH), get(TL)), c(Math.LOG2E)), c(MAGIC32))),
    ...local.set(KF, f32x4.sub(get(KM), c(MAGIC32))),
    ...local.set(
      R,
      f32x4.sub(
        f32x4.add(f32x4.sub(get(TH), f32x4.mul(get(KF), c(LN2_HI32))), get(TL)),
        f32x4.mul(get(KF), c(LN2_LO32)),
      ),
    ),
    ...local.set(PE, horner(EXP32, get(R))),
    // k = k₁ + k₂, each in [−82, 1]
    ...local.set(K1, f32x4.add(f32x4.mul(get(KF), c(0.5)), c(MAGIC32))),
    ...local.set(S1, pow2(get(K1))),
    ...local.set(S2, pow2(f32x4.add(f32x4.sub(get(KM), get(K1)), c(MAGIC32)))),
    ...local.set(QV, horner(Q32, get(A))),
    ...local.set(NEG, f32x4.lt(get(X), c(0))),
  ];
  if (out.y) {
    // x Φ(−a) (x clamped, so that a large |x| rounds to −0) below 0, x (1 − Φ(−a)) above; gelu(−∞) = −∞
    code.push(
      ...local.set(U, f32x4.mul(f32x4.div(horner(P32, get(A)), get(QV)), get(PE))),
      ...out.y(
        v128.bitselect(
          get(X),
          v128.bitselect(
            f32x4.mul(f32x4.mul(f32x4.mul(f32x4.pmax(get(X), c(-A_MAX)), get(U)), get(S1)), get(S2)),
            f32x4.mul(get(X), f32x4.sub(c(1), f32x4.mul(f32x4.mul(get(U), get(S1)), get(S2)))),
            get(NEG),
          ),
          f32x4.eq(get(X), c(-Infinity)),
        ),
      ),
    );
  }
  if (out.d) {
    // G = (Φ(−a) − a φ(a)): the derivative is G below 0, 1 − G above; NaN at ±∞ (∞·0)
    const lin = f32x4.add(f32x4.sub(c(A0_HI), get(A)), c(A0_LO));
    code.push(
      ...local.set(
        G,
        f32x4.mul(
          f32x4.mul(f32x4.mul(f32x4.mul(lin, f32x4.div(horner(S32, get(A)), get(QV))), get(PE)), get(S1)),
          get(S2),
        ),
      ),
      ...local.set(G, v128.bitselect(get(G), f32x4.sub(c(1), get(G)), get(NEG))),
      ...local.set(G, v128.bitselect(c(Number.NaN), get(G), f32x4.eq(f32x4.abs(get(X)), c(Infinity)))),
      ...out.d(out.dy ? f32x4.mul(out.dy, get(G)) : get(G)),
    );
  }
  return code;
}
const VECTOR_LOCALS = 16;

/**
 * gelu(x, y, count), geluWithDerivative(x, y, d, count) and geluGrad(dy, x, dx, count): count a
 * multiple of 4, addresses in bytes; one vector of four lanes a turn (the turns are independent, so
 * that the processor overlaps their long chains).
 */
function geluFunctions(): WasmFunction[] {
  /** A function of `params` address parameters (the count last), an end address and one vector's locals, its constants in locals after them. */
  const fn = (name: string, params: number, loop: (c: (v: number) => Code, end: number) => Code): WasmFunction => {
    const first = params + 1 + VECTOR_LOCALS;
    const values: number[] = [];
    const c = (v: number) => {
      let i = values.findIndex((w) => Object.is(w, v));
      if (i < 0) i = values.push(v) - 1;
      return get(first + i);
    };
    const body = loop(c, params);
    return {
      name,
      params: new Array(params).fill(I32),
      result: I32,
      locals: [I32, ...new Array(VECTOR_LOCALS + values.length).fill(V128)],
      body: [...values.flatMap((v, i) => local.set(first + i, f32x4.splat(v))), ...body, ...i32.const(0)],
    };
  };
  const bump = (l: number) => local.set(l, i32.add(get(l), i32.const(16)));
  /** The loop over the vectors of pointer `p` (whose end is `end`), bumping `pointers` each turn. */
  const loop = (p: number, count: number, end: number, pointers: number[], body: Code) => [
    ...local.set(end, i32.add(get(p), i32.shl(get(count), i32.const(2)))),
    ...whileBelow(get(p), get(end), [...body, ...pointers.flatMap(bump)]),
  ];
  const store = (address: number) => (v: Code) => v128.store(get(address), v);
  return [
    fn('gelu', 3, (c, end) => loop(0, 2, end, [0, 1], geluVector(end + 1, v128.load(get(0)), { y: store(1) }, c))),
    fn('geluWithDerivative', 4, (c, end) =>
      loop(0, 3, end, [0, 1, 2], geluVector(end + 1, v128.load(get(0)), { y: store(1), d: store(2) }, c)),
    ),
    fn('geluGrad', 4, (c, end) =>
      loop(1, 3, end, [0, 1, 2], geluVector(end + 1, v128.load(get(1)), { d: store(2), dy: v128.load(get(0)) }, c)),
    ),
  ];
}

interface GeluSimd {
  gelu(x: number, y: number, count: number): number;
  geluWithDerivative(x: number, y: number, d: number, count: number): number;
  geluGrad(dy: number, x: number, dx: number, count: number): number;
}

const geluSimd = simdModule<GeluSimd>('gelu', geluFunctions);
/** Turns the SIMD loops off (and on again), so that tests and benchmarks can run the float64 loops beside them. */
export const setSimdGelu = geluSimd.setEnabled;

/** Φ(x) + x φ(x) in float64 (the exponential of x itself: Φ's tail clamps |x|). */
const geluDerivative64 = (x: number) => normalCdf64(x) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);

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
export const geluWithDerivativeJs: KernelConfig[] = jsKernelConfigs(
  GELU_WITH_DERIVATIVE,
  ({ x }) => [x!.shape, x!.shape],
  ({ x }, [y, d], _attrs, _infos, heap) => {
    const v = x as Float32Array;
    const simd = geluSimd.on(heap);
    const start = simd ? y.length & ~3 : 0;
    if (simd) simd.geluWithDerivative(v.byteOffset, y.byteOffset, d.byteOffset, start);
    for (let i = start; i < y.length; i++) {
      y[i] = v[i] * normalCdf64(v[i]);
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
    const simd = geluSimd.on(heap);
    const start = simd ? dx.length & ~3 : 0;
    if (simd) simd.geluGrad(g.byteOffset, v.byteOffset, dx.byteOffset, start);
    for (let i = start; i < dx.length; i++) dx[i] = g[i] * geluDerivative64(v[i]);
  },
  false,
);

/** gelu's forward in TF.js ops (the GPUs' path, and the kernel's reference): x Φ(x). */
export function geluReference(x: tf.Tensor): tf.Tensor {
  return timesNormalCdf(x, x);
}
