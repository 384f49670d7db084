// Malformed arguments to the public functions: each call either succeeds (with outputs that are
// live tensors whose data matches their shapes) or throws a TapegradError whose message starts with
// the function's name — never a bare TF.js message or a TypeError — and leaves no tensor behind
// either way (tg.memory() before and after, the inputs and outputs freed).
//
// A case is a function, a seed and a few mutations. The seed draws a call near the valid one (a
// template per function: tensors of one random shape, axes in range, indices in range), then each
// mutation breaks one argument: a tensor of another rank, length, dtype, no entries, disposed, or
// made on the other backend; a number made NaN, ±Infinity, negative, fractional or huge; an array
// lengthened, shortened or emptied; an option dropped, misspelt or given a bad value; an argument
// replaced by null, a string or an object, or dropped. Arguments are data (ArgSpec) until the call,
// so a failure prints as a runnable snippet.
import fc from 'fast-check';
import * as tg from '../../src/index.js';
import { rng, type Random } from '../../src/random.js';

/** A tensor to make: its shape, dtype, values' kind, and whether it is freed or made on the other backend. */
export interface TensorSpec {
  tensor: number[];
  dtype: 'float32' | 'int32' | 'bool';
  /** Values: random normals, integers in [0, hi), or with NaN and ±Infinity among them. */
  fill: 'normal' | 'nonfinite' | { below: number };
  disposed?: boolean;
  otherBackend?: boolean;
  /** A square matrix (or batch of them) made symmetric positive definite. */
  spd?: boolean;
}
export type ArgSpec =
  | TensorSpec
  | number
  | string
  | boolean
  | null
  | undefined
  | ArgSpec[]
  | { options: Record<string, ArgSpec> }
  | { fn: 'sumOfArg' | 'identity' };

const isTensorSpec = (a: ArgSpec): a is TensorSpec => !!a && typeof a === 'object' && 'tensor' in a;
const isOptions = (a: ArgSpec): a is { options: Record<string, ArgSpec> } =>
  !!a && typeof a === 'object' && 'options' in a;

export interface BadCase {
  fn: string;
  seed: number;
  /** Each picks a mutation and where it applies. */
  mutations: number[][];
  /**
   * Numbers of 10⁹ and 2³¹ among the bad ones: sizes that ask for gigabytes, which take seconds each
   * and, on cpu (no heap limit), can fill the machine's memory; for long runs on wasm.
   */
  huge?: boolean;
}

/** The random choices a template makes. */
class Draw {
  constructor(readonly r: Random) {}
  int(n: number): number {
    return Math.floor(this.r.uniform() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  /** A small shape: rank 0–4, lengths mostly 1–3, sometimes 0. */
  shape(minRank = 0, maxRank = 4): number[] {
    const rank = minRank + this.int(maxRank - minRank + 1);
    return Array.from({ length: rank }, () => (this.int(12) === 0 ? 0 : 1 + this.int(3)));
  }
  axis(rank: number): number {
    return rank === 0 ? 0 : this.int(2 * rank) - rank;
  }
}

const f32 = (shape: number[]): TensorSpec => ({ tensor: shape, dtype: 'float32', fill: 'normal' });
const i32 = (shape: number[], below: number): TensorSpec => ({ tensor: shape, dtype: 'int32', fill: { below } });
const bool = (shape: number[]): TensorSpec => ({ tensor: shape, dtype: 'bool', fill: { below: 2 } });
const opts = (o: Record<string, ArgSpec>): ArgSpec => ({ options: o });
/** A shape that broadcasts with s: some trailing axes, some lengths made 1. */
function broadcastable(d: Draw, s: number[]): number[] {
  const tail = s.slice(d.int(s.length + 1));
  return tail.map((n) => (d.int(3) === 0 ? 1 : n));
}
const axisOf = (d: Draw, s: number[]) => (s.length === 0 ? 0 : d.int(s.length));

type Template = (d: Draw) => ArgSpec[];

const unaryNames = [
  'abs acos acosh asin asinh atan atanh ceil cos cosh elu erf exp exp2 expm1 floor frac gelu log log10 log1p log2',
  'logSigmoid mish neg reciprocal relu round rsqrt selu sigmoid sign silu sin sinh softplus softsign sqrt square',
  'tan tanh trunc clone isFinite logicalNot onesLike zerosLike stopGradient',
]
  .join(' ')
  .split(' ');
const binaryNames =
  'add atan2 div equal greater greaterEqual less lessEqual logicalAnd logicalOr maximum minimum mul notEqual pow sub'.split(
    ' ',
  );
const reduceNames = 'all any argmax argmin logSumExp max mean min prod sum'.split(' ');

const reduceOptions = (d: Draw, s: number[]): ArgSpec =>
  d.pick([undefined, opts({ axis: d.axis(s.length) }), opts({ axis: [d.axis(s.length)], keepDims: d.int(2) === 0 })]);

/** A call near the valid one, per public function. */
export const TEMPLATES: Record<string, Template> = {
  ...Object.fromEntries(unaryNames.map((n) => [n, (d: Draw) => [f32(d.shape())]])),
  ...Object.fromEntries(
    binaryNames.map((n) => [
      n,
      (d: Draw) => {
        const s = d.shape();
        return d.int(4) === 0 ? [f32(s), d.pick([0.5, 2, -1])] : [f32(s), f32(broadcastable(d, s))];
      },
    ]),
  ),
  ...Object.fromEntries(
    reduceNames.map((n) => [
      n,
      (d: Draw) => {
        const s = d.shape();
        return [f32(s), reduceOptions(d, s)];
      },
    ]),
  ),
  variance: (d) => {
    const s = d.shape(1);
    return [f32(s), opts({ axis: d.axis(s.length), correction: d.int(2) })];
  },
  std: (d) => {
    const s = d.shape(1);
    return [f32(s), opts({ axis: d.axis(s.length), correction: d.int(2) })];
  },
  norm: (d) => {
    const s = d.shape(1);
    return [f32(s), opts({ axis: d.axis(s.length), ord: d.pick([1, 2, Infinity]) })];
  },
  median: (d) => {
    const s = d.shape(1);
    return [f32(s), opts({ axis: d.axis(s.length), keepDims: true })];
  },
  where: (d) => {
    const s = d.shape();
    return [bool(broadcastable(d, s)), f32(s), d.int(3) === 0 ? 0.5 : f32(broadcastable(d, s))];
  },
  leakyRelu: (d) => [f32(d.shape()), 0.2],
  hardtanh: (d) => [f32(d.shape()), opts({ min: -0.5, max: 0.5 })],
  clip: (d) => [f32(d.shape()), -0.5, 0.5],
  softmax: (d) => {
    const s = d.shape(1);
    return [f32(s), d.axis(s.length)];
  },
  logSoftmax: (d) => {
    const s = d.shape(1);
    return [f32(s), d.axis(s.length)];
  },
  cumsum: (d) => {
    const s = d.shape(1);
    return [f32(s), d.axis(s.length), opts({ exclusive: true, reverse: d.int(2) === 0 })];
  },
  cumprod: (d) => {
    const s = d.shape(1);
    return [f32(s), d.axis(s.length)];
  },
  logCumSumExp: (d) => {
    const s = d.shape(1);
    return [f32(s), d.axis(s.length)];
  },
  sort: (d) => {
    const s = d.shape(1);
    return [f32(s), opts({ axis: d.axis(s.length), descending: true })];
  },
  topk: (d) => {
    const s = d.shape(1);
    const a = axisOf(d, s);
    return [f32(s), d.int(s[a] + 1), opts({ axis: a, largest: d.int(2) === 0 })];
  },
  reshape: (d) => {
    const s = d.shape();
    const n = s.reduce((a, b) => a * b, 1);
    return [f32(s), d.pick([[n], [-1], [1, n], [n, -1]])];
  },
  broadcastTo: (d) => {
    const s = d.shape();
    return [f32(broadcastable(d, s)), s];
  },
  squeeze: (d) => {
    const s = [...d.shape(0, 3), 1];
    return [f32(s), s.length - 1];
  },
  expandDims: (d) => {
    const s = d.shape(0, 3);
    return [f32(s), d.int(s.length + 1)];
  },
  transpose: (d) => {
    const s = d.shape();
    const perm = s.map((_, i) => i).reverse();
    return d.int(3) === 0 ? [f32(s)] : [f32(s), perm];
  },
  swapAxes: (d) => {
    const s = d.shape(1);
    return [f32(s), d.axis(s.length), d.axis(s.length)];
  },
  matrixTranspose: (d) => [f32(d.shape(2))],
  concat: (d) => {
    const s = d.shape(1);
    const a = axisOf(d, s);
    const t = [...s];
    t[a] = d.int(3);
    return [[f32(s), f32(t)], a];
  },
  stack: (d) => {
    const s = d.shape(0, 3);
    return [[f32(s), f32(s)], d.int(s.length + 1)];
  },
  split: (d) => {
    const s = d.shape(1);
    const a = axisOf(d, s);
    return [f32(s), d.int(2) === 0 ? 1 : [s[a]], a];
  },
  chunk: (d) => {
    const s = d.shape(1);
    return [f32(s), 1 + d.int(3), axisOf(d, s)];
  },
  unbind: (d) => {
    const s = d.shape(1);
    return [f32(s), axisOf(d, s)];
  },
  slice: (d) => {
    const s = d.shape(1);
    return [f32(s), s.map(() => 0), s.map((n) => n)];
  },
  pad: (d) => {
    const s = d.shape(1);
    return [f32(s), s.map(() => [d.int(2), d.int(2)]), d.int(2) === 0 ? 0 : 1.5];
  },
  tile: (d) => {
    const s = d.shape(1);
    return [f32(s), s.map(() => 1 + d.int(2))];
  },
  flip: (d) => {
    const s = d.shape(1);
    return [f32(s), [axisOf(d, s)]];
  },
  roll: (d) => {
    const s = d.shape(1);
    return [f32(s), [d.int(5) - 2], [axisOf(d, s)]];
  },
  gather: (d) => {
    const s = d.shape(1);
    const a = axisOf(d, s);
    return [f32(s), i32([d.int(3)], Math.max(s[a], 1)), a];
  },
  takeAlongAxis: (d) => {
    const s = d.shape(1);
    const a = axisOf(d, s);
    return [f32(s), i32(s, Math.max(s[a], 1)), a];
  },
  scatterAlongAxis: (d) => {
    const s = d.shape(1);
    const a = axisOf(d, s);
    return [f32(s), i32(s, Math.max(s[a], 1)), f32(s), a, opts({ reduce: d.pick(['sum', 'max', 'mean']) })];
  },
  scatterAdd: (d) => {
    const s = d.shape(1);
    const a = axisOf(d, s);
    const size = 1 + d.int(3);
    return [f32(s), i32([s[a]], size), a, size];
  },
  oneHot: (d) => [i32(d.shape(0, 2), 3), 3],
  diag: (d) => [f32(d.shape(1, 2)), d.int(3) - 1],
  diagonal: (d) => [f32(d.shape(2)), opts({ offset: d.int(3) - 1 })],
  trace: (d) => [f32(d.shape(2, 2))],
  tril: (d) => [f32(d.shape(2)), d.int(3) - 1],
  triu: (d) => [f32(d.shape(2)), d.int(3) - 1],
  matmul: (d) => {
    const [m, k, n] = [1 + d.int(3), d.int(3), 1 + d.int(3)];
    return [f32([m, k]), f32([k, n]), d.int(2) === 0 ? undefined : opts({ transposeA: false })];
  },
  dot: (d) => {
    const n = d.int(4);
    return [f32([n]), f32([n])];
  },
  outer: (d) => [f32([d.int(4)]), f32([d.int(4)])],
  linear: (d) => {
    const [b, i, o] = [1 + d.int(3), 1 + d.int(3), 1 + d.int(3)];
    return [f32([b, i]), f32([o, i]), d.int(2) === 0 ? undefined : f32([o])];
  },
  bilinear: (d) => {
    const [b, i, j] = [1 + d.int(3), 1 + d.int(3), 1 + d.int(3)];
    return [f32([b, i]), f32([i, j]), f32([b, j])];
  },
  quadForm: (d) => {
    const n = 1 + d.int(3);
    return [f32([n]), f32([n, n])];
  },
  einsum: (d) =>
    d.pick([
      ['ij,jk->ik', f32([2, 3]), f32([3, 2])],
      ['ii->', f32([2, 2])],
      ['bij->bji', f32([2, 1, 3])],
    ]),
  conv2d: (d) => {
    const [n, c, h, w, o, k] = [1 + d.int(2), 1 + d.int(2), 2 + d.int(3), 2 + d.int(3), 1 + d.int(2), 1 + d.int(2)];
    return [f32([n, c, h, w]), f32([o, c, k, k]), opts({ stride: 1 + d.int(2), padding: d.pick([0, 1, 'same']) })];
  },
  conv1d: (d) => {
    const [n, c, l, o, k] = [1 + d.int(2), 1 + d.int(2), 2 + d.int(3), 1 + d.int(2), 1 + d.int(2)];
    return [f32([n, c, l]), f32([o, c, k]), opts({ stride: 1 + d.int(2), padding: d.int(2) })];
  },
  convTranspose2d: (d) => {
    const [n, c, h, w, o, k] = [1 + d.int(2), 1 + d.int(2), 1 + d.int(3), 1 + d.int(3), 1 + d.int(2), 1 + d.int(2)];
    return [f32([n, c, h, w]), f32([c, o, k, k]), opts({ stride: 1 + d.int(2), padding: 0 })];
  },
  avgPool2d: (d) => [f32([1, 1 + d.int(2), 2 + d.int(3), 2 + d.int(3)]), 2, opts({ stride: 1 + d.int(2) })],
  maxPool2d: (d) => [f32([1, 1 + d.int(2), 2 + d.int(3), 2 + d.int(3)]), 2, opts({ stride: 1 + d.int(2) })],
  adaptiveAvgPool2d: (d) => [f32([1, 1 + d.int(2), 2 + d.int(3), 2 + d.int(3)]), d.pick([1, 2, [1, 2]])],
  interpolate: (d) => [
    f32([1, 1 + d.int(2), 1 + d.int(3), 1 + d.int(3)]),
    d.int(2) === 0 ? opts({ size: [2, 3] }) : opts({ scaleFactor: 2, mode: d.pick(['nearest', 'bilinear']) }),
  ],
  crossEntropy: (d) => {
    const [b, c] = [1 + d.int(3), 1 + d.int(3)];
    return [
      f32([b, c]),
      i32([b], c),
      d.int(2) === 0 ? undefined : opts({ reduction: d.pick(['sum', 'none', 'mean']) }),
    ];
  },
  mseLoss: (d) => {
    const s = d.shape();
    return [f32(s), f32(s), opts({ reduction: d.pick(['sum', 'none', 'mean']) })];
  },
  l1Loss: (d) => {
    const s = d.shape();
    return [f32(s), f32(s)];
  },
  cast: (d) => [f32(d.shape()), d.pick(['int32', 'bool', 'float32'])],
  // creation
  tensor: (d) => {
    const s = d.shape(0, 2);
    return [Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => d.int(5)), opts({ shape: s })];
  },
  zeros: (d) => [d.shape()],
  ones: (d) => [d.shape()],
  full: (d) => [d.shape(), 1.5],
  rand: (d) => [d.shape(), opts({ seed: d.int(9) })],
  randn: (d) => [d.shape(), opts({ seed: d.int(9) })],
  eye: (d) => [d.int(4), d.int(4)],
  arange: (d) => [0, d.int(5), 1],
  linspace: (d) => [0, 1, d.int(5)],
  scalar: () => [2.5],
  // linear algebra
  'linalg.inv': (d) => [{ ...f32([2, 2]), spd: true }],
  'linalg.det': (d) => [f32([...d.shape(0, 1), 2, 2])],
  'linalg.slogdet': (d) => [f32([...d.shape(0, 1), 3, 3])],
  'linalg.solve': (d) => [{ ...f32([3, 3]), spd: true }, f32([3, 1 + d.int(2)])],
  'linalg.cholesky': (d) => [{ ...f32([...d.shape(0, 1), 2, 2]), spd: true }],
  'linalg.triangularSolve': (d) => [f32([2, 2]), f32([2, 1 + d.int(2)]), opts({ lower: d.int(2) === 0 })],
  'linalg.lu': (d) => [f32([3, 3])],
  'linalg.qr': (d) => [f32([3, 2])],
  'linalg.eigh': (d) => [{ ...f32([3, 3]), spd: true }],
  'linalg.svd': (d) => [f32([2 + d.int(2), 2])],
  'linalg.svdvals': (d) => [f32([2, 2 + d.int(2)])],
  'linalg.pinv': (d) => [f32([2, 3]), undefined],
  'linalg.matrixExp': (d) => [f32([2, 2])],
  'linalg.matrixPower': (d) => [f32([2, 2]), d.int(4) - 1],
  'linalg.matrixNorm': (d) => [f32([2, 3]), d.pick(['fro', 1, 2, Infinity, 'nuc'])],
  'linalg.lstsq': (d) => [f32([3, 2]), f32([3, 1 + d.int(2)])],
};

// ---- mutations (each a pure change of the specs)

/** The places in a spec tree a mutation can reach: [parent, key] pairs, depth first. */
function slots(args: ArgSpec[]): [Record<string | number, ArgSpec>, string | number][] {
  const out: [Record<string | number, ArgSpec>, string | number][] = [];
  const walk = (parent: Record<string | number, ArgSpec>, key: string | number) => {
    out.push([parent, key]);
    const v = parent[key];
    if (Array.isArray(v)) v.forEach((_, i) => walk(v as unknown as Record<number, ArgSpec>, i));
    else if (isOptions(v)) for (const k of Object.keys(v.options)) walk(v.options, k);
  };
  args.forEach((_, i) => walk(args as unknown as Record<number, ArgSpec>, i));
  return out;
}

const BAD_NUMBERS = [Number.NaN, Infinity, -Infinity, -1, -3, 0, 0.5, 1.5, 100, -100, 2 ** 53];
const HUGE_NUMBERS = [1e9, 2 ** 31, -(2 ** 31)];
const BAD_VALUES: ArgSpec[] = [null, undefined, 'x', '2', true, { options: {} }, [], { fn: 'identity' }];

function mutateTensor(t: TensorSpec, k: number, m: number): TensorSpec {
  const s = t.tensor;
  switch (k % 10) {
    case 0: // another rank
      return { ...t, tensor: m % 2 === 0 ? [...s, 1 + (m % 3)] : s.slice(1) };
    case 1: {
      // one length changed
      if (s.length === 0) return { ...t, tensor: [2] };
      const i = m % s.length;
      const shape = [...s];
      shape[i] = [0, 1, s[i] + 1, 5][m % 4];
      return { ...t, tensor: shape };
    }
    case 2:
      return {
        ...t,
        dtype: (['int32', 'bool', 'float32'] as const)[m % 3],
        fill: t.dtype === 'float32' ? { below: 3 } : t.fill,
      };
    case 3:
      return { ...t, tensor: s.length ? s.map((n, i) => (i === m % s.length ? 0 : n)) : [0] };
    case 4:
      return { ...t, disposed: true };
    case 5:
      return { ...t, otherBackend: true };
    case 6:
      return { ...t, fill: 'nonfinite', dtype: 'float32' };
    case 7: // indices out of range, negative
      return { ...t, fill: { below: m % 2 === 0 ? 50 : -3 } };
    case 8:
      return { ...t, tensor: [] };
    default:
      return { ...t, tensor: [...s].reverse() };
  }
}

function mutate(args: ArgSpec[], [where, kind, m]: number[], huge: boolean): ArgSpec[] {
  const numbers = huge ? [...BAD_NUMBERS.slice(0, -3), ...HUGE_NUMBERS] : BAD_NUMBERS;
  const copy = structuredClone(args) as ArgSpec[];
  const all = slots(copy);
  // dropping or adding a trailing argument
  if (kind % 23 === 22) return m % 2 === 0 ? copy.slice(0, -1) : [...copy, BAD_VALUES[m % BAD_VALUES.length]];
  if (all.length === 0) return copy;
  const [parent, key] = all[where % all.length];
  const v = parent[key];
  if (kind % 4 === 0) {
    parent[key] = BAD_VALUES[m % BAD_VALUES.length];
    return copy;
  }
  if (isTensorSpec(v)) parent[key] = mutateTensor(v, kind, m);
  else if (typeof v === 'number') parent[key] = kind % 3 === 0 ? v + [1, -1, 10][m % 3] : numbers[m % numbers.length];
  else if (Array.isArray(v))
    parent[key] = kind % 3 === 0 ? [] : kind % 3 === 1 ? [...v, v.length ? structuredClone(v[0]) : 1] : v.slice(0, -1);
  else if (isOptions(v)) {
    if (kind % 3 === 0) v.options.keepdim = true;
    else {
      const keys = Object.keys(v.options);
      if (keys.length) v.options[keys[m % keys.length]] = [...BAD_VALUES, ...numbers][m % 19];
    }
  } else parent[key] = [...BAD_VALUES, ...numbers][(kind + m) % 19];
  return copy;
}

/** The call a case makes: its arguments, as data. */
export function argsOf(c: BadCase): ArgSpec[] {
  const d = new Draw(rng(c.seed));
  let args = TEMPLATES[c.fn](d);
  for (const m of c.mutations) args = mutate(args, m, c.huge ?? false);
  return args;
}

// ---- running a case

const OTHER: Record<string, tg.BackendName> = { wasm: 'cpu', cpu: 'wasm' };

function values(t: TensorSpec, r: Random): number[] {
  const n = t.tensor.reduce((a, b) => a * b, 1);
  const fill = t.fill;
  return Array.from({ length: n }, (_, i) => {
    if (fill === 'normal') return r.normal();
    if (fill === 'nonfinite') return [Number.NaN, Infinity, -Infinity, r.normal()][i % 4];
    return fill.below > 0 ? Math.floor(r.uniform() * fill.below) : fill.below + (i % 2);
  });
}
function makeTensor(t: TensorSpec, r: Random): tg.Tensor {
  const v = values(t, r);
  const x = tg.tensor(t.dtype === 'bool' ? v.map((e) => e !== 0) : v, { shape: t.tensor, dtype: t.dtype });
  const [m, n] = t.tensor.slice(-2);
  if (!t.spd || t.dtype !== 'float32' || t.tensor.length < 2 || m !== n) return x;
  // A·Aᵀ + n·I: symmetric, positive definite
  const y = tg.tidy(() => tg.add(tg.matmul(x, tg.matrixTranspose(x)), tg.mul(tg.eye(n), n)));
  x.dispose();
  return y;
}

/** The specs made into values: tensors (freed or on the other backend as asked), options, functions. */
async function realize(args: ArgSpec[], seed: number, made: tg.Tensor[]): Promise<unknown[]> {
  const r = rng(seed + 1);
  const home = tg.getBackend();
  const one = async (a: ArgSpec): Promise<unknown> => {
    if (isTensorSpec(a)) {
      const ok = a.tensor.every((n) => Number.isInteger(n) && n >= 0) && a.tensor.length <= 6;
      if (!ok) return a.tensor; // a shape no tensor can have: the array itself
      if (a.otherBackend) await tg.setBackend(OTHER[home]);
      const x = makeTensor(a, r);
      if (a.otherBackend) await tg.setBackend(home);
      if (a.disposed) x.dispose();
      else made.push(x);
      return x;
    }
    if (Array.isArray(a)) {
      const out: unknown[] = [];
      for (const e of a) out.push(await one(e));
      return out;
    }
    if (isOptions(a)) {
      const out: Record<string, unknown> = {};
      for (const [k, e] of Object.entries(a.options)) out[k] = await one(e);
      return out;
    }
    if (a && typeof a === 'object' && 'fn' in a) return (x: tg.Tensor) => x;
    return a;
  };
  const out: unknown[] = [];
  for (const a of args) out.push(await one(a));
  return out;
}

function publicFunction(name: string): (...args: unknown[]) => unknown {
  const [ns, fn] = name.includes('.') ? name.split('.') : [null, name];
  const where = (ns ? (tg as unknown as Record<string, unknown>)[ns] : tg) as Record<string, unknown>;
  return where[fn!] as (...args: unknown[]) => unknown;
}

/** Every tensor in a result (arrays, objects). */
function tensorsIn(x: unknown, out: tg.Tensor[] = []): tg.Tensor[] {
  if (x instanceof tg.Tensor) out.push(x);
  else if (Array.isArray(x)) for (const e of x) tensorsIn(e, out);
  else if (x && typeof x === 'object') for (const e of Object.values(x)) tensorsIn(e, out);
  return out;
}

export interface BadResult {
  ok: boolean;
  /** What went wrong, when not ok; what happened, when ok. */
  detail: string;
  threw: boolean;
}

/** Runs one case: the call must succeed cleanly or throw a TapegradError naming `fn`, leaving no tensors. */
export async function runBadCase(c: BadCase): Promise<BadResult> {
  const args = argsOf(c);
  const made: tg.Tensor[] = [];
  const before = tg.memory().numTensors;
  const values = await realize(args, c.seed, made);
  const madeCount = tg.memory().numTensors;
  let out: unknown;
  let error: unknown;
  const t0 = performance.now();
  try {
    out = publicFunction(c.fn)(...values);
  } catch (e) {
    error = e;
  }
  const ms = performance.now() - t0;
  let problem: string | null = null;
  if (ms > 5000) problem = `took ${ms.toFixed(0)} ms`;
  if (error !== undefined) {
    const msg = String((error as Error)?.message ?? error);
    if (!(error instanceof tg.TapegradError))
      problem = `threw a ${(error as Error)?.constructor?.name ?? typeof error}, not a TapegradError: ${msg}`;
    else if (!msg.startsWith(`${c.fn}: `) && !msg.startsWith(`${c.fn.replace('linalg.', '')}: `))
      problem = `the message does not start with '${c.fn}: ': ${msg}`;
    // a backend's message that an op passed on (op.ts adds the inputs' shapes): the bad input went unchecked
    else if (/ \(inputs [^)]*\)(: .*)?$/.test(msg) && !/ needs .* more than /.test(msg))
      problem = `a backend's message passed on: ${msg}`;
    if (tg.memory().numTensors !== madeCount)
      problem ??= `left ${tg.memory().numTensors - madeCount} tensors behind after throwing: ${msg}`;
  } else {
    const outs = tensorsIn(out);
    for (const o of outs) {
      if (o.isDisposed) problem ??= 'an output is disposed';
      else if (!o.shape.every((n) => Number.isInteger(n) && n >= 0)) problem ??= `an output has shape ${o.shape}`;
      else {
        const n = o.shape.reduce((a, b) => a * b, 1);
        const got = o.dataSync().length;
        if (got !== n) problem ??= `an output of shape [${o.shape}] holds ${got} values`;
      }
    }
    tg.dispose(outs);
  }
  tg.dispose(made);
  const after = tg.memory().numTensors;
  if (after !== before) problem ??= `left ${after - before} tensors behind`;
  const what = error !== undefined ? `threw: ${String((error as Error)?.message)}` : 'returned';
  return { ok: problem === null, detail: problem ?? what, threw: error !== undefined };
}

// ---- printing

function literal(a: ArgSpec): string {
  if (isTensorSpec(a)) {
    const { tensor, dtype, fill } = a;
    const how =
      fill === 'normal' ? 'normal values' : fill === 'nonfinite' ? 'NaN, ±Infinity' : `integers below ${fill.below}`;
    const flags = [
      a.spd ? 'made positive definite' : '',
      a.disposed ? 'disposed' : '',
      a.otherBackend ? 'made on the other backend' : '',
    ]
      .filter(Boolean)
      .join(', ');
    return `/* ${dtype} [${tensor}] of ${how}${flags ? `, ${flags}` : ''} */ x`;
  }
  if (typeof a === 'number') return Number.isNaN(a) ? 'NaN' : String(a);
  if (a === undefined) return 'undefined';
  if (Array.isArray(a)) return `[${a.map(literal).join(', ')}]`;
  if (isOptions(a))
    return `{ ${Object.entries(a.options)
      .map(([k, v]) => `${k}: ${literal(v)}`)
      .join(', ')} }`;
  if (a && typeof a === 'object') return '(x) => x';
  return JSON.stringify(a);
}

/** The call as code, with each tensor described. */
export function describe(c: BadCase): string {
  return `tg.${c.fn}(${argsOf(c).map(literal).join(', ')})`;
}

export const BAD_FUNCTIONS = Object.keys(TEMPLATES);

export function badCaseArbOf(huge: boolean): fc.Arbitrary<BadCase> {
  return fc.record({
    fn: fc.constantFrom(...BAD_FUNCTIONS),
    seed: fc.nat(1_000_000),
    mutations: fc.array(fc.tuple(fc.nat(50), fc.nat(200), fc.nat(200)), { minLength: 0, maxLength: 2 }),
    huge: fc.constant(huge),
  });
}

/** Bad input to every function with a template; `huge` adds sizes of gigabytes (see BadCase.huge). */
export function badInputPropertyOf(huge: boolean) {
  return fc.asyncProperty(badCaseArbOf(huge), async (c) => {
    const r = await runBadCase(c);
    if (!r.ok)
      throw new Error(`bad-input fuzz case failed: ${r.detail}\n  ${describe(c)}\n  case: ${JSON.stringify(c)}`);
  });
}
export const badInputProperty = badInputPropertyOf(false);
