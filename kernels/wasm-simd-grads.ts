// The relu and max-pool backward as WebAssembly SIMD loops over a wasm backend's heap: four float32
// entries at a time, with masks instead of the JavaScript loops' branches (which mispredict on
// data of random signs). Same values as the loops: each output entry is selected, not computed.
//
//   reluGrad(dy, x, dx, count, alpha): dx = x > 0 ? dy : α·dy (a NaN x takes the α side), count a
//   multiple of 4.
//   maxPoolGradTiles(dy, x, y, dx, rows, Wo, C, kh, kw): the max-pool backward when the windows tile
//   x exactly (stride = window, no padding, H = rows/N·kh, W = Wo·kw) and C is a multiple of 4. Each
//   entry of dx is written once: dy (+ 0) where it is its window's first entry equal to y, else 0.
// Arguments are byte addresses in the heap, and counts of entries. Both loops can share their work
// with the helper thread (entries, or rows of windows: each output entry written by one thread).
import { F32, f32x4, I32, i32, local, V128, v128, type WasmFunction, whileBelow } from './wasm-encoder.js';
import { simdModule } from './wasm-simd-module.js';

const get = local.get;
const inc = local.increment;

function reluGrad(): WasmFunction {
  const [DY, X, DX, COUNT, ALPHA, END, G] = [0, 1, 2, 3, 4, 5, 6];
  const body = [
    ...local.set(END, i32.add(get(X), i32.shl(get(COUNT), i32.const(2)))),
    ...whileBelow(get(X), get(END), [
      ...local.set(G, v128.load(get(DY))),
      ...v128.store(
        get(DX),
        v128.bitselect(
          get(G),
          f32x4.mul(get(G), f32x4.splatOf(get(ALPHA))),
          f32x4.gt(v128.load(get(X)), f32x4.splat(0)),
        ),
      ),
      ...inc(DY, i32.const(16)),
      ...inc(X, i32.const(16)),
      ...inc(DX, i32.const(16)),
    ]),
  ];
  return {
    name: 'reluGrad',
    params: [I32, I32, I32, I32, F32],
    result: I32,
    locals: [I32, V128],
    body: [...body, ...i32.const(0)],
  };
}

function maxPoolGradTiles(): WasmFunction {
  const [DY, X, Y, DX, ROWS, WO, C, KH, KW] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  // locals: counters and addresses (i32), then vectors
  const [T, J, CB, A, B, OUT, BASE, P, ROW_BYTES, C_BYTES, YV, GV, FOUND, M] = [
    9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
  ];
  const mul = i32.mul;
  // x's row t·kh + a, column j·kw + b, channels cb.. (bytes): BASE + a·ROW_BYTES + b·C_BYTES + cb
  const window = whileBelow(get(A), get(KH), [
    ...local.set(B, i32.const(0)),
    ...whileBelow(get(B), get(KW), [
      ...local.set(
        P,
        i32.add(i32.add(get(BASE), mul(get(A), get(ROW_BYTES))), i32.add(mul(get(B), get(C_BYTES)), get(CB))),
      ),
      ...local.set(M, v128.andNot(f32x4.eq(v128.load(i32.add(get(X), get(P))), get(YV)), get(FOUND))),
      // + 0 turns a −0 of dy into the +0 that adding it to a zero gives
      ...v128.store(i32.add(get(DX), get(P)), f32x4.add(v128.and(get(GV), get(M)), f32x4.splat(0))),
      ...local.set(FOUND, v128.or(get(FOUND), get(M))),
      ...inc(B, i32.const(1)),
    ]),
    ...inc(A, i32.const(1)),
  ]);
  const channels = whileBelow(get(CB), get(C_BYTES), [
    ...local.set(YV, v128.load(i32.add(get(Y), get(OUT)))),
    ...local.set(GV, v128.load(i32.add(get(DY), get(OUT)))),
    ...local.set(FOUND, f32x4.splat(0)),
    ...local.set(A, i32.const(0)),
    ...window,
    ...inc(CB, i32.const(16)),
    ...inc(OUT, i32.const(16)),
  ]);
  const columns = whileBelow(get(J), get(WO), [
    ...local.set(CB, i32.const(0)),
    // the window's top-left entry: row t·kh, column j·kw
    ...local.set(BASE, i32.add(mul(mul(get(T), get(KH)), get(ROW_BYTES)), mul(mul(get(J), get(KW)), get(C_BYTES)))),
    ...channels,
    ...inc(J, i32.const(1)),
  ]);
  const body = [
    ...local.set(C_BYTES, i32.shl(get(C), i32.const(2))),
    ...local.set(ROW_BYTES, mul(mul(get(WO), get(KW)), get(C_BYTES))),
    ...whileBelow(get(T), get(ROWS), [...local.set(J, i32.const(0)), ...columns, ...inc(T, i32.const(1))]),
    ...i32.const(0),
  ];
  return {
    name: 'maxPoolGradTiles',
    params: new Array(9).fill(I32),
    result: I32,
    locals: [...new Array(10).fill(I32), ...new Array(4).fill(V128)],
    body,
  };
}

interface Grads {
  reluGrad(dy: number, x: number, dx: number, count: number, alpha: number): number;
  maxPoolGradTiles(
    dy: number,
    x: number,
    y: number,
    dx: number,
    rows: number,
    wo: number,
    c: number,
    kh: number,
    kw: number,
  ): number;
}

const grads = simdModule<Grads>('grads', () => [reluGrad(), maxPoolGradTiles()], ['reluGrad', 'maxPoolGradTiles']);
/** The module's bytes. */
export const gradsModule = grads.bytes;
/** Turns the SIMD loops off (and on again), so that tests and benchmarks can run the JavaScript ones beside them. */
export const setSimdGrads = grads.setEnabled;
/** The module on `heap`, or null (no heap: the cpu backend; no wasm SIMD; turned off). */
export const simdGrads = grads.on;
/** The helper thread that shares both loops' rows or entries, or null (none up, or the module off). */
export const simdGradsHelper = grads.helper;
/** Keeps the loops off the helper thread (and lets them on again), for benchmarks to compare. */
export const setSharedGrads = grads.setShared;
/** Entries from which a loop is shared with the helper thread (below, waking it costs more than it saves). */
export const GRADS_SHARE_MIN = 1 << 16;
