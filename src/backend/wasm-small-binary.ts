// TF.js 4.22's wasm Add, Sub, Multiply and RealDiv set up an XNNPACK operator on every call: a
// few microseconds even for two scalars, more than everything else an op costs. On small float32
// operands of the same shape, or one of them a single value, a JavaScript loop over the heap does
// the same arithmetic for a fraction of that. Its values are the same: each entry is computed in
// float64 and rounded once to float32, which for +, −, × and ÷ of float32 operands is the
// correctly rounded float32 result, as XNNPACK's. Larger or other operands go to TF.js's kernel.
import * as tf from '@tensorflow/tfjs-core';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { replaceWasmKernel, type WasmHeapBackend } from './wasm-kernel-replacement.js';

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

const sizeOf = (shape: number[]) => {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
};

/** Replaces wasm's Add, Sub, Multiply and RealDiv by kernels that loop in JavaScript on small operands (once). */
export function speedUpWasmSmallBinaryKernels(): void {
  for (const [name, arith] of Object.entries(ARITH)) {
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
          arith(
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
