// softmax cross-entropy's row statistics and dlogits (kernels/softmax-cross-entropy.ts) as a
// WebAssembly SIMD loop over a wasm backend's heap, a row at a time: the row's maximum over four
// float32 lanes, then e^{z−max} over two float64 lanes (gelu.ts's exponential, within 2 ulp of
// float64), summed in four partial sums (entry index mod 4) joined as (s₀ + s₂) + (s₁ + s₃), as the
// JavaScript loop sums, and kept in a scratch row for dlogits. Rows of any width C: the entries past
// the last multiple of 4 one at a time, each added into its own partial sum.
//
//   rows(z, t, rows, C, stats, e, g, dz, dense): per row r, stats[4r..4r+3] (float64) = max, Σe^{z−max},
//     Σt, Σt·z (with dense targets t [rows, C]; against int32 class indices t [rows], each in [0, C)
//     (the caller checks), 1 and 0); where dz ≠ 0, also dz_rj = g_r·((e_j/Σe)·Σt − t_rj) (float64,
//     rounded once) from g (float64, one per row). e is a float64 scratch row of C + 1 entries. The
//     loss, Σt·(max + log Σe) − Σt·z, is the caller's from the statistics.
// Arguments are byte addresses in the heap, and counts.
import { type Constants, expNonPositive } from './gelu.js';
import {
  type Code,
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
const splat32 = f32x4.splatLane0;
const splat64 = f64x2.splatLane0;
const demote4 = f32x4.demote4;

function rows(): WasmFunction {
  const [Z, T, ROWS, C, STATS, E, G, DZ, DENSE] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const ints = 9;
  const [R, ZR, TR, DR, J, CB, C4B, Y] = Array.from({ length: 8 }, (_, i) => ints + i);
  const vectors = ints + 8;
  const [M, MX, V, TV, AL, AH, SL, SH, QL, QH, SE, ST, SZ, GV, EL, EH, KEEP, MASK_LO, MASK_HI, ZERO] = Array.from(
    { length: 20 },
    (_, i) => vectors + i,
  );
  const tmpAt = (first: number) => {
    const [T_, K, K1, R_, R2, R4, R8] = Array.from({ length: 7 }, (_, i) => first + i);
    return { T: T_, K, K1, R: R_, R2, R4, R8 };
  };
  const tmpA = tmpAt(vectors + 20);
  const tmpB = tmpAt(vectors + 27);
  const first = vectors + 34;
  const values: number[] = [];
  const c: Constants = (v) => {
    let i = values.findIndex((w) => Object.is(w, v));
    if (i < 0) i = values.push(v) - 1;
    return get(first + i);
  };
  const at = (base: number, offset: Code) => i32.add(get(base), offset);
  // e's entry for z's byte offset j: twice the offset
  const eAt = (j: Code) => i32.add(get(E), i32.shl(j, int(1)));
  const add = (l: number, v: Code) => local.set(l, f64x2.add(get(l), v));
  const dense = (body: Code) => when(get(DENSE), body);
  /** The entry at byte offset J, in both lanes of v, added into its partial sum: lane J/4 mod 2 of lowSum or highSum (J/8 mod 2). */
  const addTail = (lowSum: number, highSum: number, v: Code) => [
    ...local.set(KEEP, v128.and(v, v128.select(get(MASK_HI), get(MASK_LO), i32.and(get(J), int(4))))),
    ...add(lowSum, v128.select(get(ZERO), get(KEEP), i32.and(get(J), int(8)))),
    ...add(highSum, v128.select(get(KEEP), get(ZERO), i32.and(get(J), int(8)))),
  ];
  /** (a + b) + its halves swapped, in both lanes: (s₀ + s₂) + (s₁ + s₃). */
  const joined = (a: number, b: number) =>
    splat64(f64x2.add(f64x2.add(get(a), get(b)), v128.swapHalves(f64x2.add(get(a), get(b)))));

  const max = [
    ...local.set(M, f32x4.splat(-Infinity)),
    ...local.set(J, int(0)),
    // M < z ? z : M, lane by lane: a NaN entry is passed over, as the loop's z > max
    ...whileBelow(get(J), get(C4B), [
      ...local.set(M, f32x4.pmax(get(M), v128.load(at(ZR, get(J))))),
      ...inc(J, int(16)),
    ]),
    ...whileBelow(get(J), get(CB), [
      ...local.set(M, f32x4.pmax(get(M), v128.load32Splat(at(ZR, get(J))))),
      ...inc(J, int(4)),
    ]),
    ...local.set(M, f32x4.pmax(get(M), v128.swapHalves(get(M)))),
    ...local.set(M, f32x4.pmax(get(M), v128.shuffle(get(M), get(M), [4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3]))),
    ...local.set(MX, lo(splat32(get(M)))),
  ];
  const sums = [
    ...[AL, AH, SL, SH, QL, QH].flatMap((l) => local.set(l, get(ZERO))),
    ...local.set(J, int(0)),
    ...whileBelow(get(J), get(C4B), [
      ...local.set(V, v128.load(at(ZR, get(J)))),
      ...local.set(EL, expNonPositive(f64x2.sub(lo(get(V)), get(MX)), tmpA, c)),
      ...local.set(EH, expNonPositive(f64x2.sub(hi(get(V)), get(MX)), tmpB, c)),
      ...v128.store(eAt(get(J)), get(EL)),
      ...v128.store(eAt(get(J)), get(EH), 16),
      ...add(AL, get(EL)),
      ...add(AH, get(EH)),
      ...dense([
        ...local.set(TV, v128.load(at(TR, get(J)))),
        ...add(SL, lo(get(TV))),
        ...add(SH, hi(get(TV))),
        ...add(QL, f64x2.mul(lo(get(TV)), lo(get(V)))),
        ...add(QH, f64x2.mul(hi(get(TV)), hi(get(V)))),
      ]),
      ...inc(J, int(16)),
    ]),
    ...whileBelow(get(J), get(CB), [
      ...local.set(V, lo(v128.load32Splat(at(ZR, get(J))))),
      ...local.set(EL, expNonPositive(f64x2.sub(get(V), get(MX)), tmpA, c)),
      // e[j] and e[j + 1] both: the next entry, or the scratch row's spare one, writes over the second
      ...v128.store(eAt(get(J)), get(EL)),
      ...addTail(AL, AH, get(EL)),
      ...dense([
        ...local.set(TV, lo(v128.load32Splat(at(TR, get(J))))),
        ...addTail(SL, SH, get(TV)),
        ...addTail(QL, QH, f64x2.mul(get(TV), get(V))),
      ]),
      ...inc(J, int(4)),
    ]),
    ...local.set(SE, joined(AL, AH)),
    // against class indices Σt = 1 (and t = 0 but at the class, which the row's end writes again)
    ...local.set(ST, c(1)),
    ...local.set(TV, get(ZERO)),
    ...dense([...local.set(ST, joined(SL, SH)), ...local.set(SZ, joined(QL, QH))]),
    ...v128.storeLow64(get(STATS), get(MX)),
    ...v128.storeLow64(i32.add(get(STATS), int(8)), get(SE)),
    ...v128.storeLow64(i32.add(get(STATS), int(16)), get(ST)),
    ...v128.storeLow64(i32.add(get(STATS), int(24)), get(SZ)),
  ];
  // g·((e/Σe)·Σt − t)
  const d = (e: Code, t: Code) => f64x2.mul(get(GV), f64x2.sub(f64x2.mul(f64x2.div(e, get(SE)), get(ST)), t));
  const dlogits = [
    ...local.set(GV, splat64(v128.load64Zero(i32.add(get(G), i32.shl(get(R), int(3)))))),
    ...local.set(J, int(0)),
    ...whileBelow(get(J), get(C4B), [
      ...dense(local.set(TV, v128.load(at(TR, get(J))))),
      ...v128.store(
        at(DR, get(J)),
        demote4(d(v128.load(eAt(get(J))), lo(get(TV))), d(v128.load(eAt(get(J)), 16), hi(get(TV)))),
      ),
      ...inc(J, int(16)),
    ]),
    ...whileBelow(get(J), get(CB), [
      ...dense(local.set(TV, v128.load32Splat(at(TR, get(J))))),
      ...v128.storeLow32(at(DR, get(J)), f32x4.demoteZero(d(v128.load(eAt(get(J))), lo(get(TV))))),
      ...inc(J, int(4)),
    ]),
    // the class's entry again, with t = 1
    ...when(i32.eqz(get(DENSE)), [
      ...local.set(Y, i32.shl(i32.load(i32.add(get(T), i32.shl(get(R), int(2)))), int(2))),
      ...v128.storeLow32(at(DR, get(Y)), f32x4.demoteZero(d(v128.load(eAt(get(Y))), c(1)))),
    ]),
  ];
  const body = [
    ...local.set(ZERO, f64x2.splat(0)),
    ...local.set(SZ, get(ZERO)),
    ...local.set(MASK_LO, v128.lowHalves(v128.allOnes(), get(ZERO))),
    ...local.set(MASK_HI, v128.lowHalves(get(ZERO), v128.allOnes())),
    ...local.set(CB, i32.shl(get(C), int(2))),
    ...local.set(C4B, i32.and(get(CB), int(-16))),
    ...local.set(ZR, get(Z)),
    ...local.set(TR, get(T)),
    ...local.set(DR, get(DZ)),
    ...whileBelow(get(R), get(ROWS), [
      ...max,
      ...sums,
      ...when(get(DZ), dlogits),
      ...inc(R, int(1)),
      ...inc(ZR, get(CB)),
      ...inc(TR, get(CB)),
      ...inc(DR, get(CB)),
      ...inc(STATS, int(32)),
    ]),
  ];
  return {
    name: 'rows',
    params: new Array(9).fill(I32),
    result: I32,
    locals: [...new Array(8).fill(I32), ...new Array(34 + values.length).fill(V128)],
    body: [...values.flatMap((v, i) => local.set(first + i, f64x2.splat(v))), ...body, ...int(0)],
  };
}

interface SoftmaxCrossEntropySimd {
  rows(
    z: number,
    t: number,
    rows: number,
    c: number,
    stats: number,
    e: number,
    g: number,
    dz: number,
    dense: number,
  ): number;
}

const softmaxCrossEntropy = simdModule<SoftmaxCrossEntropySimd>('softmax-cross-entropy', () => [rows()]);
/** The module's bytes. */
export const softmaxCrossEntropyModule = softmaxCrossEntropy.bytes;
/** Turns the SIMD loop off (and on again), so that tests and benchmarks can run the JavaScript one beside it. */
export const setSimdSoftmaxCrossEntropy = softmaxCrossEntropy.setEnabled;
/** The module on `heap`, or null (no heap: the cpu backend; no wasm SIMD; turned off). */
export const simdSoftmaxCrossEntropy = softmaxCrossEntropy.on;
