// scaled-softmax.ts's rows as a WebAssembly SIMD loop over a wasm backend's heap: the row's maximum
// over four float32 lanes, then e^{s·x−s·max} over two float64 lanes (gelu.ts's exponential, within
// 2 ulp of float64), summed in four partial sums (entry index mod 4) joined as (s₀ + s₂) + (s₁ + s₃),
// as the JavaScript loop sums, kept in a scratch row, then divided by the sum and rounded once.
// Rows of any width: the entries past the last multiple of 4 one at a time, each added into its own
// partial sum.
//
//   rows(x, y, rows, S, L, causal, scale, e): y = softmax(scale·x) over each row of S entries; with
//     causal ≠ 0, row r (query i = r mod L) takes keys j ≤ i only, and y is 0 after. scale is a
//     float64 > 0 (so that scale·max is the maximum of scale·x), e a float64 scratch row of S + 1.
// Arguments are byte addresses in the heap, and counts.
import { type Constants, expNonPositive } from './gelu.js';
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
  when,
  whileBelow,
} from './wasm-encoder.js';
import { simdModule } from './wasm-simd-module.js';

const get = local.get;
const int = i32.const;
const inc = local.increment;
const lo = f64x2.promoteLow;
const hi = f64x2.promoteHigh;
/** Float32 lane 0 of v in every lane. */
const splat32 = (v: Code) => v128.shuffle(v, v, [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3]);
/** Float64 lane 0 of v in both lanes. */
const splat64 = (v: Code) => v128.shuffle(v, v, [0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7]);
const LOW_HALVES = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];

function rows(): WasmFunction {
  const [X, Y, ROWS, S, L, CAUSAL, SCALE, E] = [0, 1, 2, 3, 4, 5, 6, 7];
  const ints = 8;
  const [R, I, J, SB, NB, N4B] = Array.from({ length: 6 }, (_, i) => ints + i);
  const vectors = ints + 6;
  const [M, MX, SC, V, AL, AH, SE, EL, EH, KEEP, MASK_LO, MASK_HI, ZERO] = Array.from(
    { length: 13 },
    (_, i) => vectors + i,
  );
  const tmpAt = (first: number) => {
    const [T, K, K1, R_, R2, R4, R8] = Array.from({ length: 7 }, (_, i) => first + i);
    return { T, K, K1, R: R_, R2, R4, R8 };
  };
  const tmpA = tmpAt(vectors + 13);
  const tmpB = tmpAt(vectors + 20);
  const first = vectors + 27;
  const values: number[] = [];
  const c: Constants = (v) => {
    let i = values.findIndex((w) => Object.is(w, v));
    if (i < 0) i = values.push(v) - 1;
    return get(first + i);
  };
  const at = (base: number, offset: Code) => i32.add(get(base), offset);
  // e's entry for x's byte offset j: twice the offset
  const eAt = (j: Code) => i32.add(get(E), i32.shl(j, int(1)));
  const add = (l: number, v: Code) => local.set(l, f64x2.add(get(l), v));
  const exp = (v: Code, tmp: typeof tmpA) => expNonPositive(f64x2.sub(f64x2.mul(v, get(SC)), get(MX)), tmp, c);

  const max = [
    ...local.set(M, f32x4.splat(-Infinity)),
    ...local.set(J, int(0)),
    // M < x ? x : M, lane by lane: a NaN entry is passed over (its own e is NaN)
    ...whileBelow(get(J), get(N4B), [
      ...local.set(M, f32x4.pmax(get(M), v128.load(at(X, get(J))))),
      ...inc(J, int(16)),
    ]),
    ...whileBelow(get(J), get(NB), [
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
      ...local.set(V, v128.load(at(X, get(J)))),
      ...local.set(EL, exp(lo(get(V)), tmpA)),
      ...local.set(EH, exp(hi(get(V)), tmpB)),
      ...v128.store(eAt(get(J)), get(EL)),
      ...v128.store(eAt(get(J)), get(EH), 16),
      ...add(AL, get(EL)),
      ...add(AH, get(EH)),
      ...inc(J, int(16)),
    ]),
    ...whileBelow(get(J), get(NB), [
      ...local.set(EL, exp(lo(v128.load32Splat(at(X, get(J)))), tmpA)),
      // e[j] and e[j + 1] both: the next entry, or the scratch row's spare one, writes over the second
      ...v128.store(eAt(get(J)), get(EL)),
      // into its partial sum: lane j mod 2 of AL, or of AH where j mod 4 ≥ 2
      ...local.set(KEEP, v128.and(get(EL), v128.select(get(MASK_HI), get(MASK_LO), i32.and(get(J), int(4))))),
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
      ...v128.store(
        at(Y, get(J)),
        v128.shuffle(
          f32x4.demoteZero(f64x2.div(v128.load(eAt(get(J))), get(SE))),
          f32x4.demoteZero(f64x2.div(v128.load(eAt(get(J)), 16), get(SE))),
          LOW_HALVES,
        ),
      ),
      ...inc(J, int(16)),
    ]),
    ...whileBelow(get(J), get(NB), [
      ...v128.storeLow32(at(Y, get(J)), f32x4.demoteZero(f64x2.div(v128.load(eAt(get(J))), get(SE)))),
      ...inc(J, int(4)),
    ]),
    // the keys after the query's: 0
    ...whileBelow(get(J), get(SB), [...v128.storeLow32(at(Y, get(J)), get(ZERO)), ...inc(J, int(4))]),
  ];
  const body = [
    ...local.set(ZERO, f64x2.splat(0)),
    ...local.set(SC, f64x2.splatOf(get(SCALE))),
    ...local.set(MASK_LO, v128.shuffle(v128.allOnes(), get(ZERO), LOW_HALVES)),
    ...local.set(MASK_HI, v128.shuffle(get(ZERO), v128.allOnes(), LOW_HALVES)),
    ...local.set(SB, i32.shl(get(S), int(2))),
    ...whileBelow(get(R), get(ROWS), [
      // the row's keys: all S, or the first min(i + 1, S)
      ...local.set(NB, get(SB)),
      ...when(get(CAUSAL), local.set(NB, i32.minU(i32.shl(i32.add(get(I), int(1)), int(2)), get(SB)))),
      ...local.set(N4B, i32.and(get(NB), int(-16))),
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
    locals: [...new Array(6).fill(I32), ...new Array(27 + values.length).fill(V128)],
    body: [...values.flatMap((v, i) => local.set(first + i, f64x2.splat(v))), ...body, ...int(0)],
  };
}

interface ScaledSoftmaxSimd {
  rows(x: number, y: number, rows: number, s: number, l: number, causal: number, scale: number, e: number): number;
}

const scaledSoftmax = simdModule<ScaledSoftmaxSimd>('scaled-softmax', () => [rows()]);
/** The module's bytes. */
export const scaledSoftmaxModule = scaledSoftmax.bytes;
/** Turns the SIMD loop off (and on again), so that tests and benchmarks can run the JavaScript one beside it. */
export const setSimdScaledSoftmax = scaledSoftmax.setEnabled;
/** The module on `heap`, or null (no heap: the cpu backend; no wasm SIMD; turned off). */
export const simdScaledSoftmax = scaledSoftmax.on;
