// TapegradSoftmaxGrad: softmax's adjoint along the last axis, dx = y·(dy − Σ dy·y) with y = softmax(x),
// in one pass a row on cpu and wasm instead of four kernels (a product, a sum, a difference, a
// product) — attention's weights' backward.
//
// Inputs dy and y, float32 of one shape; output dx. In float64, rounded once: the row's sum in four
// partial sums (entry index mod 4) joined as (s₀ + s₂) + (s₁ + s₃). On wasm, rows of a multiple of
// 4 entries run in SIMD (wasm-simd-softmax-grad.ts, the same bits). The reference at the end is the
// same in TF.js ops: what the GPUs run and the tests' oracle.
import * as tf from '@tensorflow/tfjs-core';
import { jsKernelConfigs } from './js-kernel.js';
import { simdSoftmaxGrad, simdSoftmaxGradHelper } from './wasm-simd-softmax-grad.js';

export const SOFTMAX_GRAD = 'TapegradSoftmaxGrad';
/** Entries from which the SIMD loop is shared with the helper thread (below, waking it costs more). */
const SHARE_MIN = 1 << 16;

export const softmaxGradJs = jsKernelConfigs(
  SOFTMAX_GRAD,
  ({ y }) => [y!.shape],
  ({ dy, y }, [dx], _attrs, infos, heap) => {
    const shape = infos.y!.shape;
    softmaxGradRows(heap, dy as Float32Array, y as Float32Array, dx, shape[shape.length - 1], 1);
  },
  false,
);

/**
 * The kernel's rows (header) of C entries: dx (which may be dy itself) from dy and y, each entry
 * rounded to float32 and then multiplied by `scale` in float32 (1: dx itself).
 */
export function softmaxGradRows(
  heap: WebAssembly.Memory | null,
  g: Float32Array,
  ys: Float32Array,
  dx: Float32Array,
  C: number,
  scale: number,
): void {
  const simd = C % 4 === 0 ? simdSoftmaxGrad(heap) : null;
  if (simd) {
    const rows = ys.length / C;
    const args = (from: number, to: number) => [
      ...[g, ys, dx].map((v) => v.byteOffset + 4 * C * from),
      to - from,
      C,
      scale,
    ];
    const helper = ys.length >= SHARE_MIN ? simdSoftmaxGradHelper(heap) : null;
    if (helper) helper.range('grad', rows, 1, args);
    else simd.grad(...(args(0, rows) as Parameters<typeof simd.grad>));
    return;
  }
  const s32 = Math.fround(scale);
  const s = [0, 0, 0, 0];
  for (let start = 0; start < ys.length; start += C) {
    s.fill(0);
    for (let j = 0; j < C; j++) s[j & 3] += g[start + j] * ys[start + j];
    const total = s[0] + s[2] + (s[1] + s[3]);
    for (let j = 0; j < C; j++) dx[start + j] = Math.fround(ys[start + j] * (g[start + j] - total)) * s32;
  }
}

/** y·(dy − Σ dy·y) along the last axis, in TF.js ops. */
export function softmaxGradReference(dy: tf.Tensor, y: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(y, tf.sub(dy, tf.sum(tf.mul(dy, y), -1, true))));
}
