// scaled-softmax.ts's rows as a WebAssembly SIMD loop over a wasm backend's heap: the row's maximum
// over four float32 lanes; t = scale·x − scale·max in float64 lanes, split as t = k·ln 2 + r (in
// float64: r exact to 2⁻⁵³); e^t = 2ᵏ·e^r with e^r a float32 polynomial over four lanes (Cephes'
// expf, |r| ≤ ½ ln 2), 0 below t = −87.5 (e^t under 2⁻¹²⁶); the e's summed
// in float64 in four partial sums (entry index mod 4) joined as (s₀ + s₂) + (s₁ + s₃), as the
// JavaScript loop sums, kept in a scratch row, then divided by the sum in float64 and rounded once.
// So each output is the loop's within the float32 exponential's error: 2⁻²¹ relative, or 2⁻¹²⁶
// where the loop's e^t is below float32's normal range. Rows of any width: the entries past the
// last multiple of 4 one at a time, each added into its own partial sum.
//
//   rows(x, y, rows, S, L, causal, scale, e): y = softmax(scale·x) over each row of S entries; with
//     causal ≠ 0, row r (query i = r mod L) takes keys j ≤ i only, and y is 0 after. scale is a
//     float64 > 0 (so that scale·max is the maximum of scale·x), e a float32 scratch row of S + 3.
// Arguments are byte addresses in the heap, and counts.
import {
  type Code,
  F64,
  f32x4,
  f64x2,
  I32,
  i32,
  i32x4,
  local,
  V128,
  v128,
  type WasmFunction,
  when,
  whileBelow,
} from './wasm-encoder.js';
import { simdModule } from './wasm-simd-module.js';

const get = local.get;
const int = i32.const;
const inc = local.increment;
const lo = f64x2.promoteLow;
const hi = f64x2.promoteHigh;
const splat32 = f32x4.splatLane0;
const splat64 = f64x2.splatLane0;

/** 1/j! for e^r ≈ 1 + r + r²·P(r) (Cephes' expf: within an ulp of float32 for |r| ≤ ½ ln 2), P's coefficients from the highest. */
const EXPF = [1.98756915e-4, 1.39819995e-3, 8.33345191e-3, 4.16657959e-2, 1.66666655e-1, 5.00000012e-1];
const LN2_HI = 0.6931471803691238; // ln 2 to 32 bits: k·LN2_HI is exact for |k| < 2²¹
const LN2_LO = 1.9082149292705877e-10;
/** Below this t, e^t (under 2⁻¹²⁶) is 0: 2ᵏ stays normal down to it (k ≥ −126). */
const UNDERFLOW = -87.5;
/** t is clamped here first, so that k ≥ −127 (2ᵏ's exponent field ≥ 0, not wrapped). */
const CLAMP = -88;

function rows(): WasmFunction {
  const [X, Y, ROWS, S, L, CAUSAL, SCALE, E] = [0, 1, 2, 3, 4, 5, 6, 7];
  const ints = 8;
  const [R, I, J, SB, NB, N4B, PART, TAIL, ALIGNED] = Array.from({ length: 9 }, (_, i) => ints + i);
  const vectors = ints + 9;
  const [M, MX, SC, V, AL, AH, SE, EV, TL, TH, KL, KH, RR, KEEP, MASK_LO, MASK_HI, ZERO, LM] = Array.from(
    { length: 18 },
    (_, i) => vectors + i,
  );
  const first = vectors + 18;
  const values: { v: number; f32: boolean }[] = [];
  /** A constant in every lane (float64, or float32 with f32), as a local set once before the loop. */
  const c = (v: number, f32 = false) => {
    let i = values.findIndex((w) => Object.is(w.v, v) && w.f32 === f32);
    if (i < 0) i = values.push({ v, f32 }) - 1;
    return get(first + i);
  };
  const at = (base: number, offset: Code) => i32.add(get(base), offset);
  const add = (l: number, v: Code) => local.set(l, f64x2.add(get(l), v));
  /** The lanes' mask of a quad's first `bytes` / 4 lanes. */
  const c4 = (bytes: number) =>
    v128.shuffle(
      v128.allOnes(),
      get(ZERO),
      Array.from({ length: 16 }, (_, i) => (i < bytes ? i : 16 + i)),
    );
  /** The float64 t of a pair of float32 x: scale·x − scale·max, at least CLAMP (NaN stays NaN). */
  const t = (x: Code) => f64x2.max(f64x2.sub(f64x2.mul(x, get(SC)), get(MX)), c(CLAMP));
  /** k = nearest(t/ln 2) of a pair, into local K. */
  const k = (K: number, T: number) => local.set(K, f64x2.nearest(f64x2.mul(get(T), c(Math.LOG2E))));
  /** r = t − k·ln 2 of a pair, rounded to float32 (two lanes, zeros above). */
  const r = (K: number, T: number) =>
    f32x4.demoteZero(f64x2.sub(f64x2.sub(get(T), f64x2.mul(get(K), c(LN2_HI))), f64x2.mul(get(K), c(LN2_LO))));
  /** e^t of the four lanes whose t are in TL and TH, as float32: 2ᵏ·e^r, 0 where t < UNDERFLOW. */
  const exp4 = (): Code => {
    let p: Code = c(EXPF[0], true);
    for (const a of EXPF.slice(1)) p = f32x4.add(f32x4.mul(p, get(RR)), c(a, true));
    const er = f32x4.add(f32x4.add(f32x4.mul(p, f32x4.mul(get(RR), get(RR))), get(RR)), c(1, true));
    // 2ᵏ: k + 127 into the exponent field (k ≥ −127)
    const ks = v128.lowHalves(i32x4.truncSatF64x2Zero(get(KL)), i32x4.truncSatF64x2Zero(get(KH)));
    const pow2 = i32x4.shl(i32x4.add(ks, i32x4.splat(127)), 23);
    // the lanes where t < UNDERFLOW: the low 32 bits of each float64 comparison's lanes
    const under = v128.shuffle(
      f64x2.lt(get(TL), c(UNDERFLOW)),
      f64x2.lt(get(TH), c(UNDERFLOW)),
      [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27],
    );
    return v128.andNot(f32x4.mul(er, pow2), under);
  };
  /** EV = e^t of four float32 x (or of one, in every lane, for a splat). */
  const expOf = (x: Code) => [
    ...local.set(V, x),
    ...local.set(TL, t(lo(get(V)))),
    ...local.set(TH, t(hi(get(V)))),
    ...k(KL, TL),
    ...k(KH, TH),
    ...local.set(RR, v128.lowHalves(r(KL, TL), r(KH, TH))),
    ...local.set(EV, exp4()),
  ];

  const max = [
    ...local.set(M, f32x4.splat(-Infinity)),
    ...local.set(J, int(0)),
    // M < x ? x : M, lane by lane: a NaN entry is passed over (its own e is NaN)
    ...whileBelow(get(J), get(N4B), [
      ...local.set(M, f32x4.pmax(get(M), v128.load(at(X, get(J))))),
      ...inc(J, int(16)),
    ]),
    ...when(
      get(PART),
      local.set(M, f32x4.pmax(get(M), v128.bitselect(v128.load(at(X, get(J))), f32x4.splat(-Infinity), get(LM)))),
    ),
    ...whileBelow(get(J), get(TAIL), [
      ...local.set(M, f32x4.pmax(get(M), v128.load32Splat(at(X, get(J))))),
      ...inc(J, int(4)),
    ]),
    ...local.set(M, f32x4.pmax(get(M), v128.swapHalves(get(M)))),
    ...local.set(M, f32x4.pmax(get(M), v128.shuffle(get(M), get(M), [4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3]))),
    ...local.set(MX, f64x2.mul(lo(splat32(get(M))), get(SC))),
  ];
  const sums = [
    ...local.set(AL, get(ZERO)),
    ...local.set(AH, get(ZERO)),
    ...local.set(J, int(0)),
    ...whileBelow(get(J), get(N4B), [
      ...expOf(v128.load(at(X, get(J)))),
      ...v128.store(at(E, get(J)), get(EV)),
      ...add(AL, lo(get(EV))),
      ...add(AH, hi(get(EV))),
      ...inc(J, int(16)),
    ]),
    // the row's last keys as a quad whose lanes past them are 0 (their x are still the row's)
    ...when(get(PART), [
      ...expOf(v128.load(at(X, get(J)))),
      ...local.set(EV, v128.and(get(EV), get(LM))),
      ...v128.store(at(E, get(J)), get(EV)),
      ...add(AL, lo(get(EV))),
      ...add(AH, hi(get(EV))),
    ]),
    ...whileBelow(get(J), get(TAIL), [
      ...expOf(v128.load32Splat(at(X, get(J)))),
      // e[j] to e[j + 3]: the next entries, or the scratch row's spare ones, write over the others
      ...v128.store(at(E, get(J)), get(EV)),
      // into its partial sum: lane j mod 2 of AL, or of AH where j mod 4 ≥ 2
      ...local.set(KEEP, v128.and(lo(get(EV)), v128.select(get(MASK_HI), get(MASK_LO), i32.and(get(J), int(4))))),
      ...add(AL, v128.select(get(ZERO), get(KEEP), i32.and(get(J), int(8)))),
      ...add(AH, v128.select(get(KEEP), get(ZERO), i32.and(get(J), int(8)))),
      ...inc(J, int(4)),
    ]),
    ...local.set(SE, f64x2.add(get(AL), get(AH))),
    ...local.set(SE, splat64(f64x2.add(get(SE), v128.swapHalves(get(SE))))),
  ];
  const out = [
    ...local.set(J, int(0)),
    ...whileBelow(get(J), get(N4B), [
      ...local.set(EV, v128.load(at(E, get(J)))),
      ...v128.store(at(Y, get(J)), f32x4.demote4(f64x2.div(lo(get(EV)), get(SE)), f64x2.div(hi(get(EV)), get(SE)))),
      ...inc(J, int(16)),
    ]),
    ...when(get(PART), [
      ...local.set(EV, v128.load(at(E, get(J)))),
      ...v128.store(
        at(Y, get(J)),
        v128.and(f32x4.demote4(f64x2.div(lo(get(EV)), get(SE)), f64x2.div(hi(get(EV)), get(SE))), get(LM)),
      ),
      ...inc(J, int(16)),
    ]),
    ...whileBelow(get(J), get(TAIL), [
      ...v128.storeLow32(at(Y, get(J)), f32x4.demoteZero(f64x2.div(lo(v128.load(at(E, get(J)))), get(SE)))),
      ...inc(J, int(4)),
    ]),
    // the keys after the query's: 0 (by quads where rows are whole quads)
    ...when(get(ALIGNED), whileBelow(get(J), get(SB), [...v128.store(at(Y, get(J)), get(ZERO)), ...inc(J, int(16))])),
    ...whileBelow(get(J), get(SB), [...v128.storeLow32(at(Y, get(J)), get(ZERO)), ...inc(J, int(4))]),
  ];
  const body = [
    ...local.set(ZERO, f64x2.splat(0)),
    ...local.set(SC, f64x2.splatOf(get(SCALE))),
    ...local.set(MASK_LO, v128.lowHalves(v128.allOnes(), get(ZERO))),
    ...local.set(MASK_HI, v128.lowHalves(get(ZERO), v128.allOnes())),
    ...local.set(SB, i32.shl(get(S), int(2))),
    ...local.set(ALIGNED, i32.eqz(i32.and(get(SB), int(15)))),
    ...whileBelow(get(R), get(ROWS), [
      // the row's keys: all S, or the first min(i + 1, S)
      ...local.set(NB, get(SB)),
      ...when(get(CAUSAL), local.set(NB, i32.minU(i32.shl(i32.add(get(I), int(1)), int(2)), get(SB)))),
      ...local.set(N4B, i32.and(get(NB), int(-16))),
      // rows of whole quads: the last keys (1 to 3) as a masked quad, lanes [0, NB mod 16 / 4)
      ...local.set(PART, i32.and(get(ALIGNED), i32.eqz(i32.eqz(i32.and(get(NB), int(15)))))),
      ...local.set(TAIL, i32.select(get(N4B), get(NB), get(PART))),
      ...local.set(
        LM,
        v128.select(
          c4(4),
          v128.select(c4(8), c4(12), i32.eqz(i32.sub(i32.and(get(NB), int(15)), int(8)))),
          i32.eqz(i32.sub(i32.and(get(NB), int(15)), int(4))),
        ),
      ),
      ...max,
      ...sums,
      ...out,
      ...inc(I, int(1)),
      ...when(i32.eqz(i32.ltU(get(I), get(L))), local.set(I, int(0))),
      ...inc(R, int(1)),
      ...inc(X, get(SB)),
      ...inc(Y, get(SB)),
    ]),
  ];
  return {
    name: 'rows',
    params: [I32, I32, I32, I32, I32, I32, F64, I32],
    result: I32,
    locals: [...new Array(9).fill(I32), ...new Array(18 + values.length).fill(V128)],
    body: [
      ...values.flatMap(({ v, f32 }, i) => local.set(first + i, f32 ? f32x4.splat(v) : f64x2.splat(v))),
      ...body,
      ...int(0),
    ],
  };
}

interface ScaledSoftmaxSimd {
  rows(x: number, y: number, rows: number, s: number, l: number, causal: number, scale: number, e: number): number;
}

const scaledSoftmax = simdModule<ScaledSoftmaxSimd>('scaled-softmax', () => [rows()], ['rows']);
/** The module's bytes. */
export const scaledSoftmaxModule = scaledSoftmax.bytes;
/** Turns the SIMD loop off (and on again), so that tests and benchmarks can run the JavaScript one beside it. */
export const setSimdScaledSoftmax = scaledSoftmax.setEnabled;
/** The module on `heap`, or null (no heap: the cpu backend; no wasm SIMD; turned off). */
export const simdScaledSoftmax = scaledSoftmax.on;
/** The helper thread for the module on `heap` (it takes a share of the rows), or null. */
export const simdScaledSoftmaxHelper = scaledSoftmax.helper;
/** Keeps the module's work off the helper thread (and lets it on again), for tests and benchmarks to compare. */
export const setSharedScaledSoftmax = scaledSoftmax.setShared;
// off by default: attention's products and rows are too small for waking the helper thread to pay
setSharedScaledSoftmax(false);
