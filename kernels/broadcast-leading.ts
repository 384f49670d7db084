// TapegradBroadcastLeading: x repeated along new or size-1 leading axes ([1, 1, 1, C] → [N, H, W, C],
// a bias or a batch statistic's gradient spread over the batch), on cpu and wasm, where TF.js's
// Tile is slow and a broadcasting add needs a tensor of zeros made first. One copy of x, then the
// output's filled part copied after itself, doubling (memmove).
//
// Input x (float32) whose shape, left-padded with 1s to the output's rank, is 1 up to some axis k
// and equal to the output's from k on; attr shape: the output's shape.
// broadcastLeadingReference, at the end, is tf.broadcastTo: the tests' oracle.
import * as tf from '@tensorflow/tfjs-core';
import { jsKernelConfigs } from './js-kernel.js';

export const BROADCAST_LEADING = 'TapegradBroadcastLeading';

/** Whether x of `from` shape broadcasts to `to` by repeating it along leading axes only. */
export function broadcastsAlongLeadingAxes(from: readonly number[], to: readonly number[]): boolean {
  if (from.length > to.length) return false;
  const padded = [...Array<number>(to.length - from.length).fill(1), ...from];
  let k = 0;
  while (k < to.length && padded[k] === 1) k++;
  return padded.slice(k).every((d, i) => d === to[k + i]);
}

export const broadcastLeadingJs = jsKernelConfigs(
  BROADCAST_LEADING,
  (_inputs, attrs) => [attrs.shape as number[]],
  ({ x }, [out]) => {
    const v = x as Float32Array;
    if (out.length === 0) return;
    out.set(v);
    for (let filled = v.length; filled < out.length; ) {
      const n = Math.min(filled, out.length - filled);
      out.copyWithin(filled, 0, n);
      filled += n;
    }
  },
  false,
);

/** The same in TF.js ops. */
export function broadcastLeadingReference(x: tf.Tensor, shape: number[]): tf.Tensor {
  return tf.broadcastTo(x, shape);
}
