// A seeded shuffle simple enough to write again in Python (benchmarks/reference/common.py does), so
// that the examples and their PyTorch references train and test on the very same items.

/** mulberry32: a 32-bit seeded generator of numbers in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 0 … n−1 in a seeded random order (Fisher–Yates from the last item down). */
export function shuffled(n: number, seed: number): number[] {
  const r = mulberry32(seed);
  const out = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** A seeded split of 0 … n−1: the first n − heldOut of a shuffle to train on, the rest held out. */
export function splitIndices(n: number, heldOut: number, seed: number): { train: number[]; heldOut: number[] } {
  const order = shuffled(n, seed);
  return { train: order.slice(0, n - heldOut), heldOut: order.slice(n - heldOut) };
}

/**
 * A seeded stratified split: of each class's items (in their order), a shuffle (seed + class)
 * puts the first `fraction` (rounded) to train on and the rest held out; both lists are sorted.
 */
export function stratifiedSplit(
  labels: ArrayLike<number>,
  fraction: number,
  seed: number,
): { train: number[]; heldOut: number[] } {
  const train: number[] = [];
  const heldOut: number[] = [];
  const classes = [...new Set(Array.from(labels))].sort((a, b) => a - b);
  for (const k of classes) {
    const members = Array.from(labels, (l, i) => (l === k ? i : -1)).filter((i) => i >= 0);
    const order = shuffled(members.length, seed + k);
    const nTrain = Math.round(members.length * fraction);
    order.forEach((j, r) => (r < nTrain ? train : heldOut).push(members[j]));
  }
  return { train: train.sort((a, b) => a - b), heldOut: heldOut.sort((a, b) => a - b) };
}
