// TF.js 4.22's wasm Add, Sub, Multiply and RealDiv set up an XNNPACK operator on every call: a
// few microseconds even for two scalars, more than everything else an op costs. On small float32
// operands of the same shape, or one of them a single value, a JavaScript loop over the heap does
// the same arithmetic for a fraction of that. Its values are the same: each entry is computed in
// float64 and rounded once to float32, which for +, −, × and ÷ of float32 operands is the
// correctly rounded float32 result, as XNNPACK's. Larger or other operands go to TF.js's kernel.
// Where the engine has wasm SIMD, the loop's whole vectors run in a small module of our own on the
// heap (float32 arithmetic, correctly rounded too: the same bits), the last entries in JavaScript.
import * as tf from '@tensorflow/tfjs-core';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { replaceWasmKernel, type WasmHeapBackend } from './kernel-replacement.js';
import {
  type Code,
  f32x4,
  I32,
  i32,
  local,
  V128,
  v128,
  type WasmFunction,
  whileBelow,
} from '../../kernels/wasm-encoder.js';
import { heapOf, simdModule } from '../../kernels/wasm-simd-module.js';

/** Up to this many output entries the loop runs; beyond, XNNPACK's vector code is faster. */
export const SMALL_BINARY_MAX = 4096;

type Arith = (out: Float32Array, a: Float32Array, b: Float32Array, sa: number, sb: number) => void;
// sa, sb: 1 where the operand has an entry per output, 0 where it is one value read throughout.
// Each form has its own loop (no index arithmetic per entry): this is the inner loop of small ops.
const ARITH: Record<string, Arith> = {
  Add: (o, a, b, sa, sb) => {
    const n = o.length;
    if (sa && sb) for (let i = 0; i < n; i++) o[i] = a[i] + b[i];
    else if (sa) for (let i = 0, v = b[0]; i < n; i++) o[i] = a[i] + v;
    else for (let i = 0, v = a[0]; i < n; i++) o[i] = v + b[i * sb];
  },
  Sub: (o, a, b, sa, sb) => {
    const n = o.length;
    if (sa && sb) for (let i = 0; i < n; i++) o[i] = a[i] - b[i];
    else if (sa) for (let i = 0, v = b[0]; i < n; i++) o[i] = a[i] - v;
    else for (let i = 0, v = a[0]; i < n; i++) o[i] = v - b[i * sb];
  },
  Multiply: (o, a, b, sa, sb) => {
    const n = o.length;
    if (sa && sb) for (let i = 0; i < n; i++) o[i] = a[i] * b[i];
    else if (sa) for (let i = 0, v = b[0]; i < n; i++) o[i] = a[i] * v;
    else for (let i = 0, v = a[0]; i < n; i++) o[i] = v * b[i * sb];
  },
  RealDiv: (o, a, b, sa, sb) => {
    const n = o.length;
    if (sa && sb) for (let i = 0; i < n; i++) o[i] = a[i] / b[i];
    else if (sa) for (let i = 0, v = b[0]; i < n; i++) o[i] = a[i] / v;
    else for (let i = 0, v = a[0]; i < n; i++) o[i] = v / b[i * sb];
  },
};

// The module: for each op, the forms vv (both operands an entry per output), vs (b one value) and
// sv (a one value); each function (a, b, out, count) with byte addresses and count a multiple of 4.
const OPS: Record<string, (a: Code, b: Code) => Code> = {
  Add: f32x4.add,
  Sub: f32x4.sub,
  Multiply: f32x4.mul,
  RealDiv: f32x4.div,
};
const FORMS = ['vv', 'vs', 'sv'] as const;
type Form = (typeof FORMS)[number];

function binaryFunction(name: string, form: Form): WasmFunction {
  const [A, B, OUT, COUNT, END, SPLAT] = [0, 1, 2, 3, 4, 5];
  const get = local.get;
  const step = (l: number): Code => local.set(l, i32.add(get(l), i32.const(16)));
  const a = form === 'sv' ? get(SPLAT) : v128.load(get(A));
  const b = form === 'vs' ? get(SPLAT) : v128.load(get(B));
  const body = [
    ...(form === 'vs' ? local.set(SPLAT, v128.load32Splat(get(B))) : []),
    ...(form === 'sv' ? local.set(SPLAT, v128.load32Splat(get(A))) : []),
    ...local.set(END, i32.add(get(OUT), i32.shl(get(COUNT), i32.const(2)))),
    ...whileBelow(get(OUT), get(END), [
      ...v128.store(get(OUT), OPS[name](a, b)),
      ...(form !== 'sv' ? step(A) : []),
      ...(form !== 'vs' ? step(B) : []),
      ...step(OUT),
    ]),
    ...i32.const(0),
  ];
  return { name: `${name}_${form}`, params: [I32, I32, I32, I32], result: I32, locals: [I32, V128], body };
}

const smallBinary = simdModule<Record<string, (a: number, b: number, out: number, count: number) => number>>(
  'small-binary',
  () => Object.keys(OPS).flatMap((name) => FORMS.map((form) => binaryFunction(name, form))),
);
/** Turns the SIMD loops off (and on again), so that tests and benchmarks can run the JavaScript ones beside them. */
export const setSimdSmallBinary = smallBinary.setEnabled;

/** out = a op b over the heap: whole vectors in SIMD where the engine has it, the rest in JavaScript. */
function runArith(
  name: string,
  backend: WasmHeapBackend,
  o: Float32Array,
  a: Float32Array,
  b: Float32Array,
  sa: number,
  sb: number,
): void {
  const simd = o.length >= 8 ? smallBinary.on(heapOf(backend)) : null;
  if (!simd) return ARITH[name](o, a, b, sa, sb);
  const whole = o.length & ~3;
  simd[`${name}_${sa && sb ? 'vv' : sa ? 'vs' : 'sv'}`](a.byteOffset, b.byteOffset, o.byteOffset, whole);
  if (whole < o.length) {
    const rest = (v: Float32Array, s: number) => (s ? v.subarray(whole) : v);
    ARITH[name](o.subarray(whole), rest(a, sa), rest(b, sb), sa, sb);
  }
}

const sizeOf = (shape: number[]) => {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
};

/** Replaces wasm's Add, Sub, Multiply and RealDiv by kernels that loop in JavaScript on small operands (once). */
export function speedUpWasmSmallBinaryKernels(): void {
  for (const name of Object.keys(ARITH)) {
    replaceWasmKernel(
      name,
      (original): KernelFunc =>
        (args) => {
          const a = args.inputs.a as TensorInfo;
          const b = args.inputs.b as TensorInfo;
          if (a.dtype !== 'float32' || b.dtype !== 'float32') return original(args);
          const na = sizeOf(a.shape);
          const nb = sizeOf(b.shape);
          const backend = args.backend as WasmHeapBackend;
          if (na === 0 || nb === 0) {
            // nothing to compute; XNNPACK set up on an empty operand first can trap the module later
            const empty = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
            if (sizeOf(empty) === 0) return backend.makeOutput(empty, 'float32');
          }
          let shape: number[];
          if (na === nb && a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]))
            shape = a.shape;
          else if (nb === 1 && b.shape.length <= a.shape.length) shape = a.shape;
          else if (na === 1 && a.shape.length <= b.shape.length) shape = b.shape;
          else return original(args);
          const n = Math.max(na, nb);
          // ranks above 6 keep TF.js's kernel (and the guard built around its failure there)
          if (n > SMALL_BINARY_MAX || na === 0 || nb === 0 || shape.length > 6) return original(args);
          const out = backend.makeOutput(shape, 'float32');
          // views after the allocation, which may grow (and so move) the heap
          runArith(
            name,
            backend,
            backend.typedArrayFromHeap(out) as Float32Array,
            backend.typedArrayFromHeap(a) as Float32Array,
            backend.typedArrayFromHeap(b) as Float32Array,
            na === n ? 1 : 0,
            nb === n ? 1 : 0,
          );
          return out;
        },
    );
  }
}
