// sin and cos of float32 arrays in WebAssembly SIMD: float32-sin-cos.ts's method, four entries at a
// time, with the same operations in the same order, so that its results are the same bits. Each
// f32x4 vector is widened to two f64x2 halves; the reduction y = x − n·π/2 and both polynomials run
// in float64 (a float32 reduction would need π/2 to about 80 bits: the float32 nearest a multiple
// of π/2 can be within 2⁻²⁸ of it), then the quadrant picks the polynomial and the sign by masks
// and the halves are rounded back to float32. The quadrant's bits come free: x·2/π + 1.5·2⁵² holds
// n in its low mantissa bits. Entries that need Math (|x| beyond the reduction's range, ±∞, NaN)
// are computed too but flagged: the function returns 1 and the caller redoes them in JavaScript.
//
// The functions are sin(src, dst, count) and cos(src, dst, count), byte addresses of float32
// arrays in the module's memory, which is either TF.js's wasm heap (imported) or its own.
import * as k from './float32-sin-cos.js';
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
} from '../../kernels/wasm-encoder.js';
import { simdModule } from '../../kernels/wasm-simd-module.js';

const [SRC, DST, COUNT, END, X, OK, T, N, Y, Z, W, ZY, XD] = Array.from({ length: 13 }, (_, i) => i);
const get = local.get;

/** sin (shift 0) or cos (shift 1) of the two float64 lanes `xd`, rounded to float32 in lanes 0 and 1. */
function half(xd: Code, shift: number): Code {
  const { mul, add, sub, splat } = f64x2;
  // y + z·y·(S1 + z·S2) + z·y·w·(S3 + z·S4) and 1 + z·C0 + w·C1 + w·z·(C2 + z·C3), as float32-sin-cos.ts
  const sin = add(
    add(get(Y), mul(get(ZY), add(splat(k.S1), mul(get(Z), splat(k.S2))))),
    mul(mul(get(ZY), get(W)), add(splat(k.S3), mul(get(Z), splat(k.S4)))),
  );
  const cos = add(
    add(add(splat(1), mul(get(Z), splat(k.C0))), mul(get(W), splat(k.C1))),
    mul(mul(get(W), get(Z)), add(splat(k.C2), mul(get(Z), splat(k.C3)))),
  );
  const q = shift ? i64x2.add(get(T), i64x2.splat(shift)) : get(T);
  const odd = i64x2.shrS(i64x2.shl(q, 63), 63);
  const sign = i64x2.shl(i64x2.shrU(q, 1), 63);
  return [
    ...local.set(XD, xd),
    // n = x·2/π rounded to an integer, by adding and subtracting 1.5·2⁵²; t keeps n in its low bits
    ...local.set(T, add(mul(get(XD), splat(k.INV_PIO2)), splat(k.TO_INT))),
    ...local.set(N, sub(get(T), splat(k.TO_INT))),
    ...local.set(Y, sub(sub(get(XD), mul(get(N), splat(k.PIO2_HI))), mul(get(N), splat(k.PIO2_LO)))),
    ...local.set(Z, mul(get(Y), get(Y))),
    ...local.set(W, mul(get(Z), get(Z))),
    ...local.set(ZY, mul(get(Z), get(Y))),
    ...f32x4.demoteZero(v128.xor(v128.bitselect(cos, sin, odd), sign)),
  ];
}

/** sin or cos of the four float32 lanes `x` (a local already set). */
function vector(shift: number): Code {
  const lo = f64x2.promoteLow(get(X));
  const hi = f64x2.promoteLow(v128.shuffle(get(X), get(X), [8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7]));
  const both = v128.lowHalves(half(lo, shift), half(hi, shift));
  // sin(−0) = −0: the polynomial's y + (+0) would give +0
  return shift ? both : v128.bitselect(get(X), both, f32x4.eq(get(X), f32x4.splat(0)));
}

/** Marks in OK the lanes of x that the reduction cannot take (and NaN). */
const check = (): Code => local.set(OK, v128.and(get(OK), f32x4.lt(f32x4.abs(get(X)), f32x4.splat(k.REDUCED_BELOW))));

/** The function over `count` entries, a multiple of 4. */
function sinCosFunction(name: string, shift: number): WasmFunction {
  const body = [
    ...local.set(OK, v128.allOnes()),
    ...local.set(END, i32.add(get(SRC), i32.shl(get(COUNT), i32.const(2)))),
    ...whileBelow(get(SRC), get(END), [
      ...local.set(X, v128.load(get(SRC))),
      ...check(),
      ...v128.store(get(DST), vector(shift)),
      ...local.set(SRC, i32.add(get(SRC), i32.const(16))),
      ...local.set(DST, i32.add(get(DST), i32.const(16))),
    ]),
    ...i32.eqz(i32x4.allTrue(get(OK))),
  ];
  return { name, params: [I32, I32, I32], result: I32, locals: [I32, ...new Array(9).fill(V128)], body };
}

type SinCos = (src: number, dst: number, count: number) => number;
const sinCos = simdModule<{ sin: SinCos; cos: SinCos }>('sin-cos', () => [
  sinCosFunction('sin', 0),
  sinCosFunction('cos', 1),
]);
/** The module's bytes. */
export const sinCosModule = sinCos.bytes;
/** Turns the SIMD path off (and on again), so that tests and benchmarks can run the JavaScript one beside it. */
export const setSimdSinCos = sinCos.setEnabled;

/**
 * ys = sin(xs) or cos(xs), both views of `memory` (TF.js's wasm heap), rounded to float32: the
 * same values as sinFloat32 and cosFloat32. Returns false, computing nothing, where the engine has
 * no wasm SIMD.
 */
export function sinCosOnHeap(
  memory: WebAssembly.Memory,
  f: 'sin' | 'cos',
  xs: Float32Array,
  ys: Float32Array,
): boolean {
  const m = sinCos.on(memory);
  if (!m) return false;
  const n = xs.length;
  const whole = n & ~3;
  if (m[f](xs.byteOffset, ys.byteOffset, whole)) {
    const exact = f === 'sin' ? Math.sin : Math.cos;
    for (let i = 0; i < whole; i++) if (!(Math.abs(xs[i]) < k.REDUCED_BELOW)) ys[i] = exact(xs[i]);
  }
  // the last n mod 4 entries in JavaScript: the module reads and writes whole vectors only
  if (whole < n) (f === 'sin' ? k.sinFloat32 : k.cosFloat32)(xs.subarray(whole), ys.subarray(whole));
  return true;
}
