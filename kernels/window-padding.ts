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

/** Entries from which a row is moved by the engine's copy (copyWithin), not a loop here (cheaper below). */
const COPY_MIN = 64;

/**
 * xₚ: x [N, H, W, C] written into xp [N, H + top + bottom, W + left + right, C] with zeros around
 * it, writing each entry of xp once: the padding's zeros where they lie, not the whole of xp first;
 * long rows moved by the engine's copy where x and xp are views of one buffer (a wasm heap's tensors).
 */
export function padInto(
  x: Float32Array,
  xp: Float32Array,
  [N, H, W, C]: number[],
  [top, left]: Pair,
  [Hp, Wp]: Pair,
): void {
  const line = W * C;
  const before = left * C;
  const after = (Wp - W - left) * C;
  const shared = x.buffer === xp.buffer;
  const heap = new Float32Array(xp.buffer);
  const [xAt, xpAt] = [x.byteOffset >> 2, xp.byteOffset >> 2];
  const lines = Wp * C;
  for (let n = 0; n < N; n++) {
    const image = n * Hp * lines;
    xp.fill(0, image, image + top * lines);
    xp.fill(0, image + (top + H) * lines, image + Hp * lines);
    for (let r = 0; r < H; r++) {
      const to = image + (top + r) * lines;
      const from = (n * H + r) * line;
      if (before) xp.fill(0, to, to + before);
      if (!shared) xp.set(x.subarray(from, from + line), to + before);
      else if (line >= COPY_MIN) heap.copyWithin(xpAt + to + before, xAt + from, xAt + from + line);
      else for (let k = 0; k < line; k++) xp[to + before + k] = x[from + k];
      if (after) xp.fill(0, to + before + line, to + lines);
    }
  }
}
