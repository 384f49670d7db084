// The fuzzer's op table: how to apply each registered op to arbitrary operands while staying in
// its domain and away from its kinks.
//
// - Domains: an operand that must be positive goes through pos(x) = 2σ(x) + ½ ∈ (½, 2½); one that
//   must stay small (exp's, tan's) through tanh. Amplifying ops (mul, square, prod, matmul) get
//   tanh-bounded operands so that values stay O(1) at depth 6 and float32 differences stay exact.
//   Ops declared with a signature (unary, binary, reduce) get all this from it: their domains and
//   kinks are stated where the op is declared, and their fuzz ops are derived (fromSignature).
// - Kinks (abs, relu, max, …): gradients are checked only where every entry is at least MARGIN from
//   a kink; a case that lands closer is discarded (env.guard), as finite differences across a kink
//   measure nothing.
// - Shapes: any two operands are made compatible by `fitTo` (summing the axes that clash), so every
//   composition is valid and broadcasting happens wherever shapes differ only by 1s and rank.
import type * as tgNs from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import type { AnyOpRule, Domain, OpSignature } from '../../src/tensor.js';
import { registry } from '../../src/registry.js';

type TG = typeof tgNs;

/** What an op sees of the case: tg (possibly traced), new inputs, integer constants, kink guards. */
export interface Env {
  tg: TG;
  /** A new differentiable input of this shape (the same one on every replay). */
  input(shape: number[]): Tensor;
  /** An int32 constant (indices), recorded in the trace. */
  ints(values: number[], shape: number[]): Tensor;
  /** A bool constant (where's mask). */
  mask(values: boolean[], shape: number[]): Tensor;
  /** Discards the case if the smallest entry of `distance()` (computed without grad) is below MARGIN. First evaluation only. */
  guard(distance: () => Tensor): void;
}

/** Each op gets its operands and a few random integers (p) that pick axes, sizes and constants. */
export interface FuzzOp {
  arity: 1 | 2;
  apply(env: Env, args: Tensor[], p: number[]): Tensor;
}

export const MARGIN = 0.2;

const pos = (t: TG, x: Tensor) => t.add(t.mul(t.sigmoid(x), 2), 0.5);
const bnd = (t: TG, x: Tensor, k = 2) => t.mul(t.tanh(x), k);
/** Rank ≥ 1 (a scalar becomes [1]). */
const atLeast1 = (t: TG, x: Tensor) => (x.rank === 0 ? t.reshape(x, [1]) : x);
/** Rank ≥ 2 (a vector becomes a row). */
const atLeast2 = (t: TG, x: Tensor) => (x.rank >= 2 ? x : t.reshape(x, [1, x.size]));
const axisOf = (x: Tensor, p: number) => (x.rank === 0 ? 0 : p % x.rank);

/**
 * b made broadcast-compatible with `shape`: extra leading axes are summed away, and every axis
 * whose length clashes with shape's (neither is 1) is summed to length 1.
 */
export function fitTo(t: TG, b: Tensor, shape: number[]): Tensor {
  let out = b;
  if (out.rank > shape.length) out = t.sum(out, { axis: [...Array(out.rank - shape.length).keys()] });
  const lead = shape.length - out.rank;
  const clash = out.shape.flatMap((d, i) => (d !== 1 && shape[lead + i] !== 1 && d !== shape[lead + i] ? [i] : []));
  return clash.length ? t.sum(out, { axis: clash, keepDims: true }) : out;
}
/** b made exactly `shape`: extra leading axes summed away, axes of another length summed to 1, then broadcast. */
export function conform(t: TG, b: Tensor, shape: number[]): Tensor {
  let out = b;
  if (out.rank > shape.length) out = t.sum(out, { axis: [...Array(out.rank - shape.length).keys()] });
  const lead = shape.length - out.rank;
  const clash = out.shape.flatMap((d, i) => (d !== 1 && d !== shape[lead + i] ? [i] : []));
  if (clash.length) out = t.sum(out, { axis: clash, keepDims: true });
  return out.shape.join() === shape.join() && out.rank === shape.length ? out : t.broadcastTo(out, shape);
}

const unary = (f: (t: TG, x: Tensor, p: number[]) => Tensor): FuzzOp => ({
  arity: 1,
  apply: (env, [x], p) => f(env.tg, x, p),
});
const binary = (f: (t: TG, a: Tensor, b: Tensor, p: number[]) => Tensor): FuzzOp => ({
  arity: 2,
  apply: (env, [a, b], p) => f(env.tg, a, fitTo(env.tg, b, a.shape), p),
});
/** A unary op with a kink at `at` (distance measured without grad). */
const kinked = (
  f: (t: TG, x: Tensor, p: number[]) => Tensor,
  dist: (t: TG, x: Tensor, p: number[]) => Tensor,
): FuzzOp => ({
  arity: 1,
  apply: (env, [x], p) => {
    env.guard(() => dist(env.tg, x, p));
    return f(env.tg, x, p);
  },
});
/** Gap between the largest and second-largest entry of each slice along `axis` (max's kink). */
function topGap(t: TG, x: Tensor, axis: number, sign: 1 | -1): Tensor {
  const y = t.mul(x, sign);
  const top = t.max(y, { axis, keepDims: true });
  const rest = t.where(t.equal(y, top), -1e9, y);
  const n = x.shape[axis] ?? 1;
  return n === 1 ? t.full([1], 1e9) : t.sub(top, t.max(rest, { axis, keepDims: true }));
}
const clipBounds = (p: number[]): [number, number] => {
  const lo = -1 + (p[0] % 5) * 0.25;
  return [lo, lo + 0.5 + (p[1] % 4) * 0.5];
};
/** The distance to the nearer of clipBounds(p): clip's and hardtanh's kinks. */
const toClipBounds = (t: TG, x: Tensor, p: number[]) => {
  const [lo, hi] = clipBounds(p);
  return t.minimum(t.abs(t.sub(x, lo)), t.abs(t.sub(x, hi)));
};
/** maximum(a, b) or minimum(a, b), b broadcast to a; the kink is a tie, a = b. */
const elementwiseExtremum = (name: 'maximum' | 'minimum'): FuzzOp => ({
  arity: 2,
  apply: (env, [a, b0]) => {
    const t = env.tg;
    const b = fitTo(t, b0, a.shape);
    env.guard(() => t.abs(t.sub(a, b)));
    return t[name](a, b);
  },
});
/** A unary op along an axis of x (a scalar made [1]) that p[0] picks; env for its constants and guards. */
const alongAxis = (f: (env: Env, t: TG, x: Tensor, axis: number, p: number[]) => Tensor): FuzzOp => ({
  arity: 1,
  apply: (env, [x0], p) => {
    const x = atLeast1(env.tg, x0);
    return f(env, env.tg, x, axisOf(x, p[0]), p);
  },
});
/** max or min along an axis from p; the kink is a tie for the top (or bottom) entry. */
const reducedExtremum = (name: 'max' | 'min'): FuzzOp =>
  alongAxis((env, t, x, axis, p) => {
    env.guard(() => topGap(t, x, axis, name === 'max' ? 1 : -1));
    return t[name](x, { axis, keepDims: p[1] % 2 === 1 });
  });
/** The length of the slices a reduction with these options reduces. */
const sliceLength = (x: Tensor, o: { axis?: number }) => (o.axis === undefined ? x.size : (x.shape[o.axis] ?? 1));
/** variance's and std's correction: 0 or 1 from p; 0 where a slice has one entry. */
const correctionFor = (x: Tensor, o: { axis?: number }, p: number[]) => (sliceLength(x, o) > 1 ? p[2] % 2 : 0);

/**
 * Operands in an op's declared domain (src/tensor.ts, Domain), as smooth maps of any value, so that
 * gradients flow through them: 'positive' and 'nonzero' through pos, 'moderate' and 'unit' through tanh.
 */
const DOMAINS: Record<Domain, (t: TG, x: Tensor) => Tensor> = {
  real: (_t, x) => x,
  positive: pos,
  nonzero: pos,
  aboveMinusOne: (t, x) => t.sub(pos(t, x), 1.2),
  moderate: (t, x) => bnd(t, x),
  unit: (t, x) => t.tanh(x),
  openUnit: (t, x) => t.mul(t.tanh(x), 0.8),
  aboveOne: (t, x) => t.add(pos(t, x), 0.7),
};

/**
 * The fuzz op of a registry op declared with a signature (unary, binary, reduce): operands mapped
 * into its domains, kept MARGIN away from its kinks, broadcast (binary) or reduced along an axis
 * from p (reduce). What is not of these forms, or needs more (constants, ties), is written below.
 */
function fromSignature(name: string, sig: OpSignature): FuzzOp {
  const domains = [sig.domain ?? 'real'].flat();
  const inDomain = (t: TG, x: Tensor, i: number) => DOMAINS[domains[Math.min(i, domains.length - 1)]](t, x);
  const call = (t: TG, ...args: unknown[]) =>
    (t as unknown as Record<string, (...a: unknown[]) => Tensor>)[name](...args);
  // steps at integers: the distance to the nearest one; at half-integers: to the nearest of those
  const toJumps = (t: TG, u: Tensor) =>
    sig.jumps === 'integers' ? t.abs(t.sub(u, t.round(u))) : t.abs(t.sub(t.sub(u, t.floor(u)), 0.5));
  const distance = (t: TG, u: Tensor) =>
    [...(sig.kinks ?? []).map((k) => t.abs(k === 0 ? u : t.sub(u, k))), ...(sig.jumps ? [toJumps(t, u)] : [])].reduce(
      (d, e) => t.minimum(d, e),
    );
  switch (sig.kind) {
    case 'binary':
      return binary((t, a, b) => call(t, inDomain(t, a, 0), inDomain(t, b, 1)));
    case 'reduce':
      return unary((t, x, p) => call(t, inDomain(t, x, 0), reduceOpts(x, p)));
    case 'unary':
      return {
        arity: 1,
        apply: (env, [x]) => {
          const u = inDomain(env.tg, x, 0);
          if (sig.kinks?.length || sig.jumps) env.guard(() => distance(env.tg, u));
          return call(env.tg, u);
        },
      };
  }
}

/** The ops whose fuzzing needs more than their signature: constants from p, ties, conditioning, composites. */
const WRITTEN: Record<string, FuzzOp> = {
  // ---- elementwise unary, with kinks
  sign: kinked(
    (t, x) => t.add(t.sign(x), x),
    (t, x) => t.abs(x),
  ),
  leakyRelu: kinked(
    (t, x, p) => t.leakyRelu(x, 0.05 + (p[0] % 4) * 0.1),
    (t, x) => t.abs(x),
  ),
  clip: kinked((t, x, p) => t.clip(x, ...clipBounds(p)), toClipBounds),
  hardtanh: kinked((t, x, p) => {
    const [min, max] = clipBounds(p);
    return t.hardtanh(x, { min, max });
  }, toClipBounds),
  clone: unary((t, x) => t.mul(t.clone(x), x)),
  // ---- binary, broadcasting
  pow: binary((t, a, b) => t.pow(pos(t, a), bnd(t, b, 1.5))),
  maximum: elementwiseExtremum('maximum'),
  minimum: elementwiseExtremum('minimum'),
  where: {
    arity: 2,
    apply: (env, [a, b0], p) => {
      const t = env.tg;
      const b = fitTo(t, b0, a.shape);
      // a fixed mask over the trailing axis (or a scalar one), broadcast against a and b
      const len = a.rank ? a.shape[a.rank - 1] : 1;
      const bits = Array.from({ length: len }, (_, i) => ((p[0] >> i) & 1) === 1);
      return t.where(env.mask(bits, a.rank ? [len] : []), a, b);
    },
  },
  // ---- reductions (axis from p; sometimes all axes; keepDims from p)
  prod: unary((t, x, p) => t.prod(bnd(t, x, 1.5), reduceOpts(x, p))),
  variance: unary((t, x, p) => {
    const o = reduceOpts(x, p);
    return t.variance(x, { ...o, correction: correctionFor(x, o, p) });
  }),
  std: {
    arity: 1,
    apply: (env, [x], p) => {
      const t = env.tg;
      const o = reduceOpts(x, p);
      // std's kink: a constant slice (std 0); a single entry is always constant, with gradient 0
      if (sliceLength(x, o) > 1) env.guard(() => t.std(x, { axis: o.axis, correction: 0 }));
      return t.std(x, { ...o, correction: correctionFor(x, o, p) });
    },
  },
  // ---- scans (axis from p) and sorting (ties are kinks: kept MARGIN apart)
  cumsum: unary((t, x, p) =>
    t.cumsum(x, axisOf(x, p[0]), { exclusive: p[1] % 2 === 1, reverse: (p[1] >> 1) % 2 === 1 }),
  ),
  cumprod: unary((t, x, p) => t.cumprod(bnd(t, x, 1.5), axisOf(x, p[0]))),
  logCumSumExp: unary((t, x, p) => t.logCumSumExp(x, axisOf(x, p[0]))),
  sort: kinked(
    (t, x, p) => t.sort(x, { axis: axisOf(x, p[0]), descending: p[1] % 2 === 1 }).values,
    (t, x, p) => sortedGaps(t, x, axisOf(x, p[0])),
  ),
  topk: kinked(
    (t, x0, p) => {
      const x = atLeast1(t, x0);
      const axis = axisOf(x, p[0]);
      return t.topk(x, 1 + (p[2] % x.shape[axis]), { axis, largest: p[1] % 2 === 0 }).values;
    },
    (t, x, p) => sortedGaps(t, atLeast1(t, x), axisOf(x, p[0])),
  ),
  median: kinked(
    (t, x, p) => t.median(x, reduceOpts(x, p)),
    (t, x, p) => {
      const axis = reduceOpts(x, p).axis;
      return axis === undefined ? sortedGaps(t, t.reshape(x, [-1]), 0) : sortedGaps(t, x, axis);
    },
  ),
  max: reducedExtremum('max'),
  min: reducedExtremum('min'),
  norm: {
    arity: 1,
    apply: (env, [x0], p) => {
      const t = env.tg;
      const x = atLeast1(t, x0);
      const ord = [2, 1, 3, Infinity][p[2] % 4];
      const axis = axisOf(x, p[0]);
      // ord 1 and ∞ have kinks where an entry is 0; ∞ also where two |entries| tie; all where the norm is 0
      if (ord !== 2 && ord !== 3) env.guard(() => t.abs(x));
      if (ord === Infinity) env.guard(() => topGap(t, t.abs(x), axis, 1));
      env.guard(() => t.norm(x, { axis }));
      return t.norm(x, { axis, ord, keepDims: p[1] % 2 === 1 });
    },
  },
  // ---- shape ops
  reshape: unary((t, x, p) => (p[0] % 2 ? t.reshape(x, [-1]) : t.reshape(x, [...x.shape].reverse()))),
  transpose: unary((t, x, p) => t.transpose(x, permOf(x.rank, p[0]))),
  broadcastTo: unary((t, x, p) =>
    t.broadcastTo(x, [1 + (p[0] % 2), ...x.shape.map((d, i) => (d === 1 && (p[1] >> i) & 1 ? 2 : d))]),
  ),
  tile: unary((t, x0, p) => {
    const x = atLeast1(t, x0);
    return t.tile(
      x,
      x.shape.map((_, i) => 1 + ((p[0] >> i) & 1)),
    );
  }),
  slice: unary((t, x0, p) => {
    const x = atLeast1(t, x0);
    const begin = x.shape.map((d, i) => (p[0] >> (2 * i)) % d);
    const size = x.shape.map((d, i) => 1 + ((p[1] >> (2 * i)) % (d - begin[i])));
    return t.slice(x, begin, size);
  }),
  pad: unary((t, x0, p) => {
    const x = atLeast1(t, x0);
    return t.pad(
      x,
      x.shape.map((_, i) => [(p[0] >> (2 * i)) % 3, (p[1] >> (2 * i)) % 3] as [number, number]),
      (p[2] % 5) - 2,
    );
  }),
  concat: {
    arity: 2,
    apply: (env, [a0, b0], p) => {
      const t = env.tg;
      const a = atLeast1(t, a0);
      const axis = axisOf(a, p[0]);
      // b takes a's shape except along the axis, where it keeps a length of 1 or 2
      const shape = a.shape.map((d, i) => (i === axis ? 1 + (p[1] % 2) : d));
      return t.concat([a, conform(t, b0, shape)], axis);
    },
  },
  stack: {
    arity: 2,
    apply: (env, [a, b0], p) => {
      const t = env.tg;
      return t.stack([a, conform(t, b0, a.shape)], p[0] % (a.rank + 1));
    },
  },
  // ops with several outputs: the parts recombined, some of them unused (their cotangents null)
  split: unary((t, x0, p) => {
    const x = atLeast1(t, x0);
    const axis = axisOf(x, p[0]);
    const n = x.shape[axis];
    const first = p[1] % (n + 1);
    const parts = t.split(x, [first, n - first], axis);
    return p[2] % 2 ? t.concat([parts[1], parts[0]], axis) : parts[first > 0 ? 0 : 1];
  }),
  // PyTorch's part sizes (⌈n / chunks⌉, the last shorter); a part, or the parts joined in reverse order
  chunk: unary((t, x0, p) => {
    const x = atLeast1(t, x0);
    const axis = axisOf(x, p[0]);
    const parts = t.chunk(x, 1 + (p[1] % 3), axis);
    return p[2] % 2 ? t.concat(parts.reverse(), axis) : parts[p[2] % parts.length];
  }),
  unbind: unary((t, x0, p) => {
    const x = atLeast1(t, x0);
    const axis = axisOf(x, p[0]);
    const slices = t.unbind(x, axis);
    if (slices.length === 0) return t.sum(x);
    return p[1] % 2 ? t.stack(slices.reverse(), axis) : slices[p[2] % slices.length];
  }),
  gather: alongAxis((env, t, x, axis, p) => {
    const n = x.shape[axis];
    // 1 to 4 indices, repeats allowed (their gradients must add up); sometimes a 2-D index array
    const k = 1 + (p[1] % 4);
    const idx = Array.from({ length: k }, (_, i) => (p[2] >> (2 * i)) % n);
    const shape = k === 4 && p[1] & 4 ? [2, 2] : [k];
    return t.gather(x, env.ints(idx, shape), axis);
  }),
  scatterAdd: alongAxis((env, t, x, axis, p) => {
    const size = 1 + (p[1] % 3);
    const idx = Array.from({ length: x.shape[axis] }, (_, i) => (p[2] >> (2 * i)) % size);
    return t.scatterAdd(x, env.ints(idx, [idx.length]), axis, size);
  }),
  // ---- indexing: entries moved, masked, read from or written to a diagonal or integer indices
  flip: unary((t, x, p) => t.flip(x, x.rank ? [...Array(x.rank).keys()].filter((i) => (p[0] >> i) & 1) : [])),
  roll: unary((t, x0, p) => {
    const x = atLeast1(t, x0);
    return p[1] % 3 === 0 ? t.roll(x, (p[0] % 7) - 3) : t.roll(x, (p[0] % 5) - 2, axisOf(x, p[2]));
  }),
  tril: unary((t, x, p) => t.tril(atLeast2(t, x), (p[0] % 5) - 2)),
  triu: unary((t, x, p) => t.triu(atLeast2(t, x), (p[0] % 5) - 2)),
  diag: unary((t, x, p) => t.diag(t.reshape(x, [-1]), (p[0] % 5) - 2)),
  diagonal: unary((t, x0, p) => {
    const x = atLeast2(t, x0);
    const axis1 = p[1] % x.rank;
    const axis2 = (axis1 + 1 + (p[2] % (x.rank - 1))) % x.rank;
    // an offset in −1 … 1 that leaves the diagonal at least one entry
    const offset = Math.min(Math.max((p[0] % 3) - 1, 1 - x.shape[axis1]), x.shape[axis2] - 1);
    return t.diagonal(x, { offset, axis1, axis2 });
  }),
  // indices of x's rank, up to 3 along the axis, repeats allowed (their gradients add up)
  takeAlongAxis: alongAxis((env, t, x, axis, p) => {
    const n = x.shape[axis];
    const shape = x.shape.map((d, i) => (i === axis ? 1 + (p[1] % 3) : d));
    const size = shape.reduce((a, b) => a * b, 1);
    const idx = Array.from({ length: size }, (_, i) => (p[2] + 5 * i + (i >> 2)) % n);
    return t.takeAlongAxis(x, env.ints(idx, shape), axis);
  }),
  // values from b, written at distinct places ('none') or added at any ('sum')
  scatterAlongAxis: {
    arity: 2,
    apply: (env, [x0, b], p) => {
      const t = env.tg;
      const x = atLeast1(t, x0);
      const axis = axisOf(x, p[0]);
      const n = x.shape[axis];
      const reduce = p[1] % 2 ? 'sum' : 'none';
      const k = reduce === 'none' ? 1 + (p[1] % n) : 1 + (p[1] % 3);
      const shape = x.shape.map((d, i) => (i === axis ? k : d));
      const size = shape.reduce((a, c) => a * c, 1);
      const along = x.shape.slice(axis + 1).reduce((a, c) => a * c, 1);
      // 'none': along the axis, entry j of each line takes place (j + p₂) mod n, so no place is written twice
      const idx = Array.from({ length: size }, (_, i) => {
        const j = Math.floor(i / along) % k;
        return reduce === 'none' ? (j + p[2]) % n : (p[2] + 3 * i) % n;
      });
      return t.scatterAlongAxis(x, env.ints(idx, shape), conform(t, b, shape), axis, { reduce });
    },
  },
  // a product with a new operand, a trace or diagonal, or a transpose, chosen by p
  einsum: {
    arity: 1,
    apply: (env, [x0], p) => {
      const t = env.tg;
      const x = bnd(t, atLeast1(t, x0), 1);
      const last = x.shape[x.rank - 1];
      switch (p[0] % 4) {
        case 0:
          return t.einsum('...j,jk->...k', x, bnd(t, env.input([last, 1 + (p[1] % 3)]), 1));
        case 1: {
          const m = atLeast2(t, x);
          const n = Math.min(m.shape[m.rank - 1], m.shape[m.rank - 2]);
          const sq = t.slice(
            m,
            m.shape.map(() => 0),
            [...m.shape.slice(0, -2), n, n],
          );
          return t.einsum(p[1] % 2 ? '...ii->...' : '...ii->...i', sq);
        }
        case 2:
          return t.einsum('...i,...i->...', x, bnd(t, env.input([last]), 1));
        default:
          return t.einsum('i...->...i', x);
      }
    },
  },
  // ---- matrix products
  matmul: {
    arity: 1,
    apply: (env, [a0], p) => {
      const t = env.tg;
      const a = bnd(t, atLeast1(t, a0), 1);
      const k = a.shape[a.rank - 1];
      const n = 1 + (p[0] % 3);
      // a @ W, or Wᵀ-style W @ a (a as the right operand), or a vector times a matrix
      if (p[1] % 3 === 0 && a.rank >= 2) return t.matmul(env.input([n, a.shape[a.rank - 2]]), a);
      if (p[1] % 3 === 1) return t.matmul(a, env.input([k]));
      return t.matmul(a, env.input([k, n]));
    },
  },
  // x·W + b as one op; with relu on odd p[1], guarded away from the kink at a zero pre-activation
  linear: {
    arity: 1,
    apply: (env, [x0], p) => {
      const t = env.tg;
      const a = bnd(t, atLeast1(t, x0), 1);
      const x = t.reshape(a, [-1, a.shape[a.rank - 1]]);
      const n = 1 + (p[0] % 3);
      const w = env.input([x.shape[1], n]);
      const b = p[2] % 2 ? env.input([n]) : null;
      if (p[1] % 2 === 0) return t.linear(x, w, b);
      env.guard(() => t.abs(t.linear(x, w, b)));
      return t.linear(x, w, b, { activation: 'relu' });
    },
  },
  trace: unary((t, x) => t.trace(atLeast2(t, x))),
  dot: binary((t, a0, b0) => {
    const a = t.reshape(a0, [-1]);
    return t.dot(a, conform(t, t.reshape(b0, [-1]), a.shape));
  }),
  outer: binary((t, a, b) => t.outer(t.reshape(a, [-1]), t.reshape(b, [-1]))),
  quadForm: {
    arity: 1,
    apply: (env, [x0]) => {
      const t = env.tg;
      const x = atLeast1(t, x0);
      const n = x.shape[x.rank - 1];
      return t.quadForm(x, bnd(t, env.input([n, n]), 1));
    },
  },
  bilinear: {
    arity: 2,
    apply: (env, [y0, b], p) => {
      const t = env.tg;
      const y = atLeast1(t, y0);
      const m = y.shape[y.rank - 1];
      const n = 1 + (p[0] % 3);
      const x = conform(t, b, [...y.shape.slice(0, -1), n]);
      return t.bilinear(y, bnd(t, env.input([m, n]), 1), x);
    },
  },
  // ---- convolution and pooling: any operand is viewed as an NHWC image [1, H, W, C]
  conv2d: {
    arity: 1,
    apply: (env, [x0], p) => {
      const t = env.tg;
      const x = image(t, x0);
      const [, H, W, C] = x.shape;
      const kh = 1 + (p[0] % H);
      const kw = 1 + ((p[0] >> 2) % W);
      const padding = (['valid', 'same', 1] as const)[p[1] % 3];
      const stride = 1 + (p[2] % 2);
      return t.conv2d(x, env.input([kh, kw, C, 1 + ((p[1] >> 2) % 2)]), { stride, padding });
    },
  },
  avgPool2d: unary((t, x0, p) => {
    const x = image(t, x0);
    const kernelSize: [number, number] = [1 + (p[0] % x.shape[1]), 1 + ((p[0] >> 2) % x.shape[2])];
    return t.avgPool2d(x, { kernelSize, stride: 1 + (p[2] % 2), padding: p[1] % 2 ? 'same' : 'valid' });
  }),
  maxPool2d: {
    arity: 1,
    apply: (env, [x0], p) => {
      const t = env.tg;
      const x = image(t, x0);
      const k: [number, number] = [1 + (p[0] % x.shape[1]), 1 + ((p[0] >> 2) % x.shape[2])];
      // non-overlapping 'valid' windows; the max of each must beat the runner-up by MARGIN
      env.guard(() => t.tensor(windowGaps(x, k)));
      return t.maxPool2d(x, { kernelSize: k });
    },
  },
  // ---- linear algebra, on A = 2I + 0.3·tanh(X): diagonally dominant, so well conditioned, det > 0,
  // and LU's pivots do not change under the small perturbations of the check
  inv: unary((t, x, p) => t.linalg.inv(wellConditioned(t, x, p))),
  det: unary((t, x, p) => t.linalg.det(wellConditioned(t, x, p))),
  slogdet: unary((t, x, p) => t.linalg.slogdet(wellConditioned(t, x, p))[1]),
  solve: binary((t, x, b, p) => {
    const A = wellConditioned(t, x, p);
    const n = A.shape[0];
    return t.linalg.solve(A, p[2] % 2 ? conform(t, b, [n]) : conform(t, b, [n, 1 + (p[2] % 3)]));
  }),
  cholesky: unary((t, x, p) => {
    const A = wellConditioned(t, x, p);
    return t.linalg.cholesky(t.matmul(A, t.transpose(A)));
  }),
  // T is read as triangular: the other triangle must get no gradient
  triangularSolve: binary((t, x, b, p) => {
    const T = wellConditioned(t, x, p);
    const n = T.shape[0];
    return t.linalg.triangularSolve(T, conform(t, b, [n, 1 + (p[2] % 2)]), {
      lower: p[1] % 2 === 0,
      transpose: (p[1] >> 1) % 2 === 1,
    });
  }),
  lu: unary((t, x, p) => {
    const r = t.linalg.lu(wellConditioned(t, x, p));
    return [r.lu, r.L, r.U][p[1] % 3];
  }),
  // the decompositions on nearly diagonal matrices with well-separated spectra: the largest entry of
  // each singular vector and eigenvector is its diagonal one, so their signs never flip
  qr: unary((t, x, p) => {
    const r = t.linalg.qr(nearlyDiagonal(t, x, p, p[1] % 2));
    return p[2] % 2 ? r.Q : r.R;
  }),
  eigh: unary((t, x, p) => {
    const a = nearlyDiagonal(t, x, p, 0);
    const r = t.linalg.eigh(t.mul(t.add(a, t.transpose(a)), 0.5));
    return p[2] % 2 ? r.vectors : r.values;
  }),
  svd: unary((t, x, p) => {
    const r = t.linalg.svd(nearlyDiagonal(t, x, p, p[2] % 3));
    return [r.U, r.S, r.Vh][p[1] % 3];
  }),
  pinv: unary((t, x, p) => t.linalg.pinv(nearlyDiagonal(t, x, p, p[2] % 3))),
  matrixExp: unary((t, x, p) => {
    const n = 1 + (p[0] % 3);
    return t.linalg.matrixExp(t.mul(t.tanh(conform(t, x, [n, n])), 0.2 + (p[1] % 3) * 0.4));
  }),
  // ---- nn
  softmax: alongAxis((_env, t, x, axis) => t.softmax(x, axis)),
  logSoftmax: alongAxis((_env, t, x, axis) => t.logSoftmax(x, axis)),
  // through crossEntropy with a probability target that is itself differentiated
  softmaxCrossEntropy: {
    arity: 2,
    apply: (env, [z0, b], p) => {
      const t = env.tg;
      const z = atLeast1(t, z0);
      const target = t.softmax(conform(t, b, z.shape), -1);
      return t.crossEntropy(z, target, {
        reduction: (['mean', 'sum', 'none'] as const)[p[0] % 3],
        labelSmoothing: p[1] % 2 ? 0.1 : 0,
      });
    },
  },
  // through crossEntropy with class indices (int32 constants) and no label smoothing
  sparseSoftmaxCrossEntropy: {
    arity: 1,
    apply: (env, [z0], p) => {
      const t = env.tg;
      const z = atLeast1(t, z0);
      const C = z.shape[z.rank - 1];
      const labels = Array.from({ length: z.size / C }, (_, i) => (p[1] + 7 * i) % C);
      return t.crossEntropy(z, env.ints(labels, z.shape.slice(0, -1)), {
        reduction: (['mean', 'sum', 'none'] as const)[p[0] % 3],
      });
    },
  },
  mseLoss: binary((t, a, b) => t.mseLoss(a, conform(t, b, a.shape))),
};

/**
 * Every fuzzed op: the registry's ops derived from their signatures, then the written ones (which
 * take precedence). The keys not named as registry ops are composites built from them (dot, outer, losses).
 */
export const FUZZ_OPS: Record<string, FuzzOp> = {
  ...Object.fromEntries(
    Object.entries(registry as Record<string, AnyOpRule>).flatMap(([name, rule]) =>
      rule.outputs !== 'several' && rule.signature && !(name in WRITTEN)
        ? [[name, fromSignature(name, rule.signature)]]
        : [],
    ),
  ),
  ...WRITTEN,
};

/** Any tensor viewed as an NHWC image [1, H, W, C] (its shape padded with 1s in front, or flattened at the front). */
function image(t: TG, x: Tensor): Tensor {
  const s = [...x.shape];
  while (s.length < 3) s.unshift(1);
  const [c, w, h] = s.reverse();
  return t.reshape(x, [1, s.slice(3).reduce((a, b) => a * b, 1) * h, w, c]);
}

/** For each non-overlapping k-window of each channel, max minus the runner-up (Infinity for 1-entry windows). */
function windowGaps(x: Tensor, [kh, kw]: [number, number]): number[] {
  const [, H, W, C] = x.shape;
  const v = x.dataSync();
  const gaps: number[] = [];
  for (let i = 0; i + kh <= H; i += kh)
    for (let j = 0; j + kw <= W; j += kw)
      for (let c = 0; c < C; c++) {
        const win: number[] = [];
        for (let a = 0; a < kh; a++) for (let b = 0; b < kw; b++) win.push(v[((i + a) * W + (j + b)) * C + c]);
        win.sort((a, b) => b - a);
        gaps.push(win.length > 1 ? win[0] - win[1] : 1e9);
      }
  return gaps;
}

/** 2I + 0.3·tanh(X), X an n×n matrix (n = 1 … 3) made from x. */
function wellConditioned(t: TG, x: Tensor, p: number[]): Tensor {
  const n = 1 + (p[0] % 3);
  return t.add(t.mul(t.tanh(conform(t, x, [n, n])), 0.3), t.mul(t.eye(n), 2));
}

/**
 * diag(2, 4, 6, …) [m, n] + 0.3·tanh(X): m = n + extra rows when `shape` is 1 (tall), n + extra
 * columns when 2 (wide); singular values (and, square, eigenvalues of the symmetric part) about 2 apart.
 */
function nearlyDiagonal(t: TG, x: Tensor, p: number[], shape: number): Tensor {
  const n = 1 + (p[0] % 3);
  const [rows, cols] = shape === 1 ? [n + 1, n] : shape === 2 ? [n, n + 1] : [n, n];
  const d = t.tensor(
    Array.from({ length: rows * cols }, (_, e) => (Math.floor(e / cols) === e % cols ? 2 * (1 + (e % cols)) : 0)),
    { shape: [rows, cols] },
  );
  return t.add(t.mul(t.tanh(conform(t, x, [rows, cols])), 0.3), d);
}

/** The gaps between neighbours of x sorted along `axis` (ties are sort's kinks); 1e9 for one entry. */
function sortedGaps(t: TG, x: Tensor, axis: number): Tensor {
  const n = x.rank === 0 ? 1 : x.shape[axis];
  if (n < 2) return t.full([1], 1e9);
  const s = t.sort(x, { axis }).values;
  const size = s.shape.map((d, i) => (i === axis ? n - 1 : d));
  return t.sub(
    t.slice(
      s,
      s.shape.map((_, i) => (i === axis ? 1 : 0)),
      size,
    ),
    t.slice(
      s,
      s.shape.map(() => 0),
      size,
    ),
  );
}

function reduceOpts(x: Tensor, p: number[]): { axis?: number; keepDims: boolean } {
  const keepDims = p[1] % 2 === 1;
  return x.rank === 0 || p[0] % 4 === 3 ? { keepDims } : { axis: p[0] % x.rank, keepDims };
}

function permOf(rank: number, p: number): number[] {
  const rest = [...Array(rank).keys()];
  const out: number[] = [];
  while (rest.length) out.push(rest.splice(p % rest.length, 1)[0]), (p = Math.floor(p / 3));
  return out;
}

/**
 * Registry ops the fuzzer does not compose, each with the reason. Every other registry op must be
 * in FUZZ_OPS: the fuzz suite fails on a registered op that is in neither.
 */
const adjointOf = (op: string) =>
  `${op}'s adjoint, reached through ${op}: first-order runs use its forward, --order 2 (gradgradcheck) its adjoint`;
export const NOT_FUZZED: Record<string, string> = {
  conv2dBackpropInput: adjointOf('conv2d'),
  conv2dBackpropFilter: adjointOf('conv2d'),
  avgPool2dBackprop: adjointOf('avgPool2d'),
  batchNorm:
    "BatchNorm1d/2d's training forward, not a public function (its weight and bias are the layer's parameters); gradchecked with gradgrad in test/op-cases.ts on every backend",
  conv2dWithBias:
    "Conv2d's forward with its bias, not a public function (its filter and bias are the layer's parameters; the layer fuzzer reaches it through Conv2d); gradchecked with gradgrad in test/op-cases.ts on every backend",
  selfAttention:
    "MultiheadAttention's self-attention where a kernel computes it, not a public function (its input is the " +
    "layer's projection); gradchecked with gradgrad in test/op-cases.ts on every backend",
  layerNorm:
    "LayerNorm's forward where a kernel computes it, not a public function (its weight and bias are the layer's parameters); gradchecked with gradgrad in test/op-cases.ts on every backend",
};
