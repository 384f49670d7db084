// The window arithmetic the convolution and pooling kernels share with the ops: TF's 'same' and
// 'valid' padding.

export type Pair = [number, number];
export type Pad = 'valid' | 'same';

/** TF's padding [before, after] along one axis of length n for a window k and stride s. */
export function samePadding(pad: Pad, n: number, k: number, s: number): Pair {
  if (pad === 'valid') return [0, 0];
  const total = Math.max((Math.ceil(n / s) - 1) * s + k - n, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}
