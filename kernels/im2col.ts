// TapegradIm2ColT: the windows of a 2-D convolution laid out as the columns of one matrix, so that
// the filter gradient is a single matrix product (wasm lacks Conv2DBackpropFilter; XNNPACK's
// matrix product is its fastest kernel).
//
// Input x [N, H, W, C] (float32); attrs filterSize [kh, kw], strides, pad ('valid' | 'same').
// Output colsT [kh·kw·C, N·Ho·Wo]: row (a·kw + b)·C + c, column (n·Ho + i)·Wo + j holds
// x[n, i·sh + a − ph, j·sw + b − pw, c], 0 in the padding. Then
// w̄ [kh·kw·C, Cout] = colsT · dy [N·Ho·Wo, Cout] is the filter gradient, in the filter's own layout.
// im2colTReference, at the end, is the same in TF.js ops: the tests' oracle.
import * as tf from '@tensorflow/tfjs-core';
import { jsKernelConfigs } from './js-kernel.js';
import { samePadding, type Pad, type Pair } from './window-padding.js';

export const IM2COL_T = 'TapegradIm2ColT';

export interface Im2ColAttrs {
  filterSize: Pair;
  strides: Pair;
  pad: Pad;
}

/** The output size of a window k, stride s and padding [before, after] along an axis of length n. */
const outSize = (n: number, k: number, s: number, [p0, p1]: Pair) => Math.floor((n + p0 + p1 - k) / s) + 1;

function geometry(xShape: number[], { filterSize: [kh, kw], strides: [sh, sw], pad }: Im2ColAttrs) {
  const [N, H, W, C] = xShape;
  const ph = samePadding(pad, H, kh, sh);
  const pw = samePadding(pad, W, kw, sw);
  return { N, H, W, C, kh, kw, sh, sw, ph, pw, Ho: outSize(H, kh, sh, ph), Wo: outSize(W, kw, sw, pw) };
}

export const im2colTJs = jsKernelConfigs(
  IM2COL_T,
  ({ x }, attrs) => {
    const g = geometry(x!.shape, attrs as unknown as Im2ColAttrs);
    return [[g.kh * g.kw * g.C, g.N * g.Ho * g.Wo]];
  },
  ({ x }, [cols], attrs, infos) => {
    const { N, H, W, C, kh, kw, sh, sw, ph, pw, Ho, Wo } = geometry(infos.x!.shape, attrs as unknown as Im2ColAttrs);
    const P = N * Ho * Wo;
    const v = x!;
    for (let a = 0; a < kh; a++) {
      for (let b = 0; b < kw; b++) {
        const row0 = (a * kw + b) * C * P;
        for (let n = 0; n < N; n++) {
          for (let i = 0; i < Ho; i++) {
            const r = i * sh + a - ph[0];
            const p0 = (n * Ho + i) * Wo;
            if (r < 0 || r >= H) {
              for (let c = 0; c < C; c++) cols.fill(0, row0 + c * P + p0, row0 + c * P + p0 + Wo);
              continue;
            }
            const rowAt = (n * H + r) * W;
            for (let j = 0; j < Wo; j++) {
              const q = j * sw + b - pw[0];
              const to = row0 + p0 + j;
              if (q < 0 || q >= W) {
                for (let c = 0; c < C; c++) cols[to + c * P] = 0;
              } else {
                const from = (rowAt + q) * C;
                for (let c = 0; c < C; c++) cols[to + c * P] = v[from + c];
              }
            }
          }
        }
      }
    }
  },
  false,
);

/** colsT of x in TF.js ops: each window offset a strided slice of x padded with zeros. */
export function im2colTReference(x: tf.Tensor, attrs: Im2ColAttrs): tf.Tensor {
  const { N, C, kh, kw, sh, sw, ph, pw, Ho, Wo } = geometry(x.shape, attrs);
  return tf.tidy(() => {
    const xp = tf.pad(x, [[0, 0], ph, pw, [0, 0]]);
    const rows: tf.Tensor[] = [];
    for (let a = 0; a < kh; a++) {
      for (let b = 0; b < kw; b++) {
        const win = tf.stridedSlice(
          xp,
          [0, a, b, 0],
          [N, a + (Ho - 1) * sh + 1, b + (Wo - 1) * sw + 1, C],
          [1, sh, sw, 1],
        );
        rows.push(tf.transpose(tf.reshape(win, [N * Ho * Wo, C]))); // [C, P]
      }
    }
    return tf.concat(rows, 0);
  });
}
