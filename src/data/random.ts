// Seeded shuffles and splits: tapegrad's one generator (src/random.ts), or Math.random unseeded.
import { TapegradError } from '../errors.js';
import { rng } from '../random.js';

/** Uniform numbers in [0, 1) from an integer seed; without a seed, from Math.random. */
export function seededRandom(fn: string, seed?: number): () => number {
  if (seed === undefined) return Math.random;
  if (!Number.isInteger(seed)) throw new TapegradError(fn, `seed must be an integer, got ${String(seed)}`);
  return rng(seed).uniform;
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
