// TapegradMaxPoolGrad: the backward of a 2-D max pool in one pass over x, on cpu and wasm (wasm's
// own MaxPoolGrad is wrong for batch and channels > 1, and its maxPoolWithArgmax too).
//
// Inputs dy [N, Ho, Wo, C], x [N, H, W, C] and y = maxPool(x) [N, Ho, Wo, C] (float32); attrs
// filterSize, strides, pad ('valid' | 'same'). dx is 0 except at each window's argmax, where it
// gathers the dy of every window whose argmax it is. The argmax is the window's first entry (in
// row-major window order) equal to y: the forward's own maximum, so that ties break the same way
// on every backend. A window with no entry equal to y (a NaN maximum) passes no gradient.
// maxPoolGradReference, at the end, is the same in TF.js ops: what the GPUs run, the recorded
// (createGraph) adjoint's argmax, and the tests' oracle.
import * as tf from '@tensorflow/tfjs-core';
import { jsKernelConfigs } from './js-kernel.js';
import { GRADS_SHARE_MIN, simdGrads, simdGradsHelper } from './wasm-simd-grads.js';
import { samePadding, type Pad, type Pair } from './window-padding.js';

export const MAX_POOL_GRAD = 'TapegradMaxPoolGrad';

export interface MaxPoolGradAttrs {
  filterSize: Pair;
  strides: Pair;
  pad: Pad;
}

export const maxPoolGradJs = jsKernelConfigs(
  MAX_POOL_GRAD,
  ({ x }) => [x!.shape],
  ({ dy, x, y }, [dx], attrs, infos, heap) => {
    const [N, H, W, C] = infos.x!.shape;
    const [, Ho, Wo] = infos.y!.shape;
    const { filterSize, strides, pad } = attrs as unknown as MaxPoolGradAttrs;
    const [kh, kw] = filterSize;
    const [sh, sw] = strides;
    const ph = samePadding(pad, H, kh, sh)[0];
    const pw = samePadding(pad, W, kw, sw)[0];
    // on wasm, windows that tile x exactly (a 2×2 pool of stride 2) in SIMD (wasm-simd-grads.ts)
    const simd = simdGrads(heap);
    if (simd && C % 4 === 0 && sh === kh && sw === kw && Ho * kh === H && Wo * kw === W && ph + pw === 0) {
      const rows = N * Ho;
      // a row of windows: Wo·C entries of dy and y, kh·W·C of x and dx
      const [outRow, inRow] = [4 * Wo * C, 4 * kh * W * C];
      const windows = (from: number, to: number) => [
        dy!.byteOffset + from * outRow,
        x!.byteOffset + from * inRow,
        y!.byteOffset + from * outRow,
        dx.byteOffset + from * inRow,
        to - from,
        Wo,
        C,
        kh,
        kw,
      ];
      const helper = dx.length >= GRADS_SHARE_MIN ? simdGradsHelper(heap) : null;
      if (helper) helper.range('maxPoolGradTiles', rows, 1, windows);
      else simd.maxPoolGradTiles(...(windows(0, rows) as Parameters<typeof simd.maxPoolGradTiles>));
      return;
    }
    const xv = x as Float32Array;
    const yv = y as Float32Array;
    const g = dy as Float32Array;
    dx.fill(0);
    for (let n = 0; n < N; n++) {
      for (let i = 0; i < Ho; i++) {
        const r0 = Math.max(i * sh - ph, 0);
        const r1 = Math.min(i * sh - ph + kh, H);
        for (let j = 0; j < Wo; j++) {
          const q0 = Math.max(j * sw - pw, 0);
          const q1 = Math.min(j * sw - pw + kw, W);
          const out = ((n * Ho + i) * Wo + j) * C;
          for (let c = 0; c < C; c++) {
            const max = yv[out + c];
            let at = -1;
            for (let r = r0; r < r1 && at < 0; r++) {
              for (let q = q0; q < q1; q++) {
                const k = ((n * H + r) * W + q) * C + c;
                if (xv[k] === max) {
                  at = k;
                  break;
                }
              }
            }
            if (at >= 0) dx[at] += g[out + c];
          }
        }
      }
    }
  },
  false,
);

/**
 * For each output y of a max pool of x, the flat index into x of its window's first entry equal to
 * y, in TF.js ops: a pass over the kh·kw window offsets, each a strided slice of x (padded with
 * −∞) compared with y — a plain slice of a reshape of x where the windows tile it (far cheaper on
 * wasm than strided slices). int32, flat ([y.size]).
 */
export function maxPoolArgmaxReference(
  x: tf.Tensor,
  y: tf.Tensor,
  [kh, kw]: Pair,
  [sh, sw]: Pair,
  pad: Pad,
): tf.Tensor {
  return tf.tidy(() => {
    const [N, H, W, C] = x.shape as number[];
    const [, Ho, Wo] = y.shape as number[];
    const ph = samePadding(pad, H, kh, sh);
    const pw = samePadding(pad, W, kw, sw);
    // flat index of window (n, i, j, c)'s top-left corner: ((n·H + i·sh − ph)·W + j·sw − pw)·C + c
    const term = (n: number, step: number, shift: number, axis: number) => {
      const shape = [1, 1, 1, 1];
      shape[axis] = n;
      const int = (v: number) => tf.scalar(v, 'int32');
      return tf.reshape(tf.add(tf.mul(tf.range(0, n, 1, 'int32'), int(step)), int(shift)), shape);
    };
    // broadcasting adds: wasm's Tile (broadcastTo) is many times slower
    const corner = [
      term(N, H * W * C, 0, 0),
      term(Ho, sh * W * C, -ph[0] * W * C, 1),
      term(Wo, sw * C, -pw[0] * C, 2),
      term(C, 1, 0, 3),
    ].reduce((a, b) => tf.add(a, b));
    const tiles = sh === kh && sw === kw && Ho * kh === H && Wo * kw === W && ph[0] + pw[0] === 0;
    const xr = tiles ? tf.reshape(x, [N * Ho, kh, Wo, kw * C]) : null;
    const xp = tiles ? null : tf.pad(x, [[0, 0], ph, pw, [0, 0]], -Infinity);
    const window = (a: number, b: number) =>
      xr
        ? tf.reshape(tf.slice(xr, [0, a, 0, b * C], [N * Ho, 1, Wo, C]), [N, Ho, Wo, C])
        : tf.stridedSlice(xp!, [0, a, b, 0], [N, a + (Ho - 1) * sh + 1, b + (Wo - 1) * sw + 1, C], [1, sh, sw, 1]);
    let idx = tf.zeros(y.shape, 'int32');
    let found = tf.zeros(y.shape, 'bool');
    for (let a = 0; a < kh; a++) {
      for (let b = 0; b < kw; b++) {
        const win = window(a, b);
        const hit = tf.logicalAnd(tf.equal(win, y), tf.logicalNot(found));
        idx = tf.where(hit, tf.add(corner, tf.scalar((a * W + b) * C, 'int32')), idx);
        found = tf.logicalOr(found, hit);
      }
    }
    return tf.reshape(idx, [-1]);
  });
}

/**
 * dy added into zeros shaped like x at each window's argmax (maxPoolArgmaxReference), in TF.js ops;
 * a window whose argmax does not hold its maximum (a NaN window) passes nothing, as the kernel.
 */
export function maxPoolGradReference(dy: tf.Tensor, x: tf.Tensor, y: tf.Tensor, a: MaxPoolGradAttrs): tf.Tensor {
  return tf.tidy(() => {
    const idx = maxPoolArgmaxReference(x, y, a.filterSize, a.strides, a.pad);
    const held = tf.cast(tf.equal(tf.gather(tf.reshape(x, [-1]), idx), tf.reshape(y, [-1])), 'float32');
    // scatterND sums repeated indices (overlapping windows with one argmax)
    const flat = tf.scatterND(tf.reshape(idx, [-1, 1]), tf.mul(tf.reshape(dy, [-1]), held), [x.size]);
    return tf.reshape(flat, x.shape);
  });
}
