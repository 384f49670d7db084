// A small seeded generator for shuffles and splits (JavaScript's Math.random cannot be seeded).
import { TapegradError } from '../errors.js';

/** Uniform numbers in [0, 1) from a 32-bit seed (mulberry32); without a seed, from Math.random. */
export function seededRandom(fn: string, seed?: number): () => number {
  if (seed === undefined) return Math.random;
  if (!Number.isInteger(seed)) throw new TapegradError(fn, `seed must be an integer, got ${String(seed)}`);
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A uniformly random permutation of 0…n−1 (Fisher–Yates). */
export function permutation(n: number, random: () => number): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}
