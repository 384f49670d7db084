// TapegradColumnSum: float32 x summed over its leading axes ([R, ...rest] → rest), a bias gradient's
// sum over the batch, on cpu and wasm. wasm's Sum over leading axes transposes first, and the average
// pool that runs instead there rounds twice (the mean, then times R); this is one pass over x, row by
// row, each column's sum in float32: the rows in order within blocks of COLUMN_SUM_BLOCK rows (each
// block's sum starting from its first row), the blocks' sums then added in order, so that the error
// grows with the block's length and the number of blocks rather than with R.
//
// Input x; attr `shape`: the output's shape (x's trailing axes). On wasm the columns that fill whole
// vectors run in a WebAssembly SIMD module over the heap, four rows at a time (the same additions in
// the same order), the last C mod 4 in JavaScript (Math.fround after each addition: the same bits).
// columnSumReference, at the end, is tf.sum over the leading axes: the fallback and the tests' oracle.
import * as tf from '@tensorflow/tfjs-core';
import { jsKernelConfigs } from './js-kernel.js';
import { type Code, f32x4, I32, i32, local, V128, v128, type WasmFunction, when, whileBelow } from './wasm-encoder.js';
import { simdModule } from './wasm-simd-module.js';

export const COLUMN_SUM = 'TapegradColumnSum';

/** Rows summed in order before their sum joins the total. */
export const COLUMN_SUM_BLOCK = 256;

const get = local.get;

/**
 * columnSum(x, out, blk, R, vectorBytes, rowBytes, block): out[j] = the blocked sum of x[·, j] for the
 * columns in the first vectorBytes of each row (a multiple of 16); blk holds one row of block sums.
 */
function columnSum(): WasmFunction {
  const [X, OUT, BLK, R, VB, RB, BLOCK] = [0, 1, 2, 3, 4, 5, 6];
  const [R0, REND, DST, ROW, RR, P] = [7, 8, 9, 10, 11, 12];
  const D = 13;
  const inc = local.increment;
  /** For each vector of columns: `body` at byte offset P. */
  const eachVector = (body: Code): Code => [
    ...local.set(P, i32.const(0)),
    ...whileBelow(get(P), get(VB), [...body, ...inc(P, i32.const(16))]),
  ];
  const at = (base: Code) => i32.add(base, get(P));
  /** dst += the `rows` rows from ROW, in order. */
  const addRows = (rows: number): Code =>
    eachVector([
      ...local.set(D, v128.load(at(get(DST)))),
      ...Array.from({ length: rows }, (_, r) =>
        local.set(D, f32x4.add(get(D), v128.load(at(i32.add(get(ROW), i32.mul(i32.const(r), get(RB))))))),
      ).flat(),
      ...v128.store(at(get(DST)), get(D)),
    ]);
  const body = [
    ...local.set(R0, i32.const(0)),
    ...whileBelow(get(R0), get(R), [
      ...local.set(REND, i32.minU(i32.add(get(R0), get(BLOCK)), get(R))),
      // the first block's sums go straight to out, the others' to blk and then onto out
      ...local.set(DST, i32.select(get(BLK), get(OUT), get(R0))),
      ...local.set(ROW, i32.add(get(X), i32.mul(get(R0), get(RB)))),
      ...eachVector(v128.store(at(get(DST)), v128.load(at(get(ROW))))),
      ...inc(ROW, get(RB)),
      ...local.set(RR, i32.add(get(R0), i32.const(1))),
      ...whileBelow(i32.add(get(RR), i32.const(3)), get(REND), [
        ...addRows(4),
        ...inc(ROW, i32.shl(get(RB), i32.const(2))),
        ...inc(RR, i32.const(4)),
      ]),
      ...whileBelow(get(RR), get(REND), [...addRows(1), ...inc(ROW, get(RB)), ...inc(RR, i32.const(1))]),
      ...when(
        get(R0),
        eachVector(v128.store(at(get(OUT)), f32x4.add(v128.load(at(get(OUT))), v128.load(at(get(BLK)))))),
      ),
      ...local.set(R0, get(REND)),
    ]),
    ...i32.const(0),
  ];
  return {
    name: 'columnSum',
    params: new Array(7).fill(I32),
    result: I32,
    locals: [...new Array(6).fill(I32), V128],
    body,
  };
}

const columnSumSimd = simdModule<{ columnSum: (...args: number[]) => number }>('column-sum', () => [columnSum()]);
/** Turns the SIMD loop off (and on again), so that tests can run the JavaScript one beside it. */
export const setSimdColumnSum = columnSumSimd.setEnabled;

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

export const columnSumJs = jsKernelConfigs(
  COLUMN_SUM,
  (_inputs, attrs) => [attrs.shape as number[]],
  ({ x }, [out], _attrs, _infos, heap, scratch) => {
    const v = x as Float32Array;
    const C = out.length;
    if (C === 0) return;
    const R = v.length / C;
    if (R === 0) {
      out.fill(0);
      return;
    }
    const simd = columnSumSimd.on(heap);
    const vectors = simd ? C & ~3 : 0;
    if (vectors > 0)
      simd!.columnSum(v.byteOffset, out.byteOffset, scratch.byteOffset, R, 4 * vectors, 4 * C, COLUMN_SUM_BLOCK);
    const f = Math.fround;
    for (let j = vectors; j < C; j++) {
      let total = 0;
      for (let r0 = 0; r0 < R; r0 += COLUMN_SUM_BLOCK) {
        const end = Math.min(r0 + COLUMN_SUM_BLOCK, R);
        let s = v[r0 * C + j];
        for (let r = r0 + 1; r < end; r++) s = f(s + v[r * C + j]);
        total = r0 === 0 ? s : f(total + s);
      }
      out[j] = total;
    }
  },
  false,
  // the block sums' row, as float32s in the float64 scratch
  (_inputs, attrs) => Math.ceil(size(attrs.shape as number[]) / 2) + 2,
);

/** The same in TF.js ops: x summed over its leading axes down to `shape`. */
export function columnSumReference(x: tf.Tensor, shape: number[]): tf.Tensor {
  const lead = x.rank - shape.length;
  return tf.reshape(tf.sum(x, [...Array(lead).keys()]), shape);
}
