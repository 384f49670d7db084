// xₚ, x with TF's padding as zeros, written by a WebAssembly SIMD loop over a wasm backend's heap:
// the convolution kernels pad their input at every call (the forward and the filter gradient), and
// padInto's rows of engine copies and fills cost more than the copy itself where rows are short.
//
//   pad(x, xp, images, rows, lineBytes, topBytes, beforeBytes, afterBytes, bottomBytes): for each
//   image, topBytes of zeros, then each of its `rows` rows as beforeBytes of zeros, the row's
//   lineBytes copied from x and afterBytes of zeros, then bottomBytes of zeros (byte addresses and
//   counts, each a multiple of 4). Each entry of xp is written once, x's bits copied as they are.
import { f32x4, I32, i32, local, v128, type Code, type WasmFunction, whileBelow } from './wasm-encoder.js';
import { simdModule } from './wasm-simd-module.js';
import { padInto, type Pair } from './window-padding.js';

const get = local.get;
const inc = local.increment;

function pad(): WasmFunction {
  const [X, XP, IMAGES, ROWS, LINE, TOP, BEFORE, AFTER, BOTTOM] = Array.from({ length: 9 }, (_, i) => i);
  const [N, R, END] = [9, 10, 11];
  const zero = (bytes: number): Code => [
    ...local.set(END, i32.add(get(XP), get(bytes))),
    ...whileBelow(i32.add(get(XP), i32.const(15)), get(END), [
      ...v128.store(get(XP), f32x4.splat(0)),
      ...inc(XP, i32.const(16)),
    ]),
    ...whileBelow(get(XP), get(END), [...i32.store(get(XP), i32.const(0)), ...inc(XP, i32.const(4))]),
  ];
  const copyLine: Code = [
    ...local.set(END, i32.add(get(XP), get(LINE))),
    ...whileBelow(i32.add(get(XP), i32.const(15)), get(END), [
      ...v128.store(get(XP), v128.load(get(X))),
      ...inc(XP, i32.const(16)),
      ...inc(X, i32.const(16)),
    ]),
    ...whileBelow(get(XP), get(END), [
      ...i32.store(get(XP), i32.load(get(X))),
      ...inc(XP, i32.const(4)),
      ...inc(X, i32.const(4)),
    ]),
  ];
  return {
    name: 'pad',
    params: new Array(9).fill(I32),
    result: I32,
    locals: [I32, I32, I32],
    body: [
      ...local.set(N, i32.const(0)),
      ...whileBelow(get(N), get(IMAGES), [
        ...zero(TOP),
        ...local.set(R, i32.const(0)),
        ...whileBelow(get(R), get(ROWS), [...zero(BEFORE), ...copyLine, ...zero(AFTER), ...inc(R, i32.const(1))]),
        ...zero(BOTTOM),
        ...inc(N, i32.const(1)),
      ]),
      ...i32.const(0),
    ],
  };
}

export interface SimdPad {
  pad(...args: number[]): number;
}

const padModule = simdModule<SimdPad>('pad', () => [pad()], ['pad']);
/** The module's bytes. */
export const simdPadModule = padModule.bytes;
/** Turns the SIMD loop off (and on again): padInto's copies run, for tests and benchmarks to compare. */
export const setSimdPad = padModule.setEnabled;

/** Entries of xₚ from which its images are shared with the helper thread (below, waking it costs more). */
const SHARE_MIN = 1 << 18;

/**
 * padInto on a wasm backend's heap: x [N, H, W, C] written into xp [N, Hp, Wp, C] with `top` rows
 * and `left` columns of zeros before it and the rest after, by the SIMD loop where it runs (both
 * views of `heap`), else by padInto. The same bits either way.
 */
export function padOnHeap(
  heap: WebAssembly.Memory | null,
  x: Float32Array,
  xp: Float32Array,
  [N, H, W, C]: number[],
  [top, left]: Pair,
  [Hp, Wp]: Pair,
): void {
  const simd = padModule.on(heap);
  if (!simd) return padInto(x, xp, [N, H, W, C], [top, left], [Hp, Wp]);
  const lineBytes = 4 * Wp * C;
  const args = (from: number, to: number) => [
    x.byteOffset + from * 4 * H * W * C,
    xp.byteOffset + from * Hp * lineBytes,
    to - from,
    H,
    4 * W * C,
    top * lineBytes,
    4 * left * C,
    4 * (Wp - W - left) * C,
    (Hp - H - top) * lineBytes,
  ];
  const helper = N > 1 && N * Hp * Wp * C >= SHARE_MIN ? padModule.helper(heap) : null;
  if (helper) helper.range('pad', N, 1, args);
  else simd.pad(...args(0, N));
}
