// A small seeded generator (mulberry32) with normal samples (Box–Muller), so that gradcheck's
// directions, test inputs, the examples' data and the benchmarks' data are the same on every run.

export interface Random {
  /** Uniform in [0, 1). */
  uniform: () => number;
  /** Standard normal. */
  normal: () => number;
}

export function rng(seed: number): Random {
  let a = seed >>> 0 || 0x9e3779b9;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  return { uniform, normal };
}

/** n normal samples, scaled by `scale`, as float32. */
export function normalSamples(n: number, seed: number, scale = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = scale * r.normal();
  return out;
}
