// One gradient-check case per differentiable primitive in tg.registry. The table is typed
// Record<OpName, OpCase>, so registering an op without a case here fails to compile; the ops
// suite also compares the keys at run time. Families other than the core keep their cases in
// their own files (op-cases-*.ts), merged into `cases` at the bottom.
//
// Inputs are drawn from a seeded generator, inside each op's domain and more than 0.1 away from
// its kinks (gradcheck's stencil reaches ±2h with h = 2⁻⁵·max(1, |x|), i.e. ±0.0625 near 0).
import * as tg from '../src/index.js';
import type { OpName } from '../src/registry.js';
import { rng } from '../src/random.js';
import { batchNorm, layerNorm, scaledSoftmax, selfAttention } from '../src/ops/nn.js';
import { formsCases } from './op-cases-forms.js';
import { nnCases } from './op-cases-nn.js';
import { elementwiseCases } from './op-cases-elementwise.js';
import { linalgCases, linalgCompositeCases } from './op-cases-linalg.js';
import { indexingCases, indexingCompositeCases } from './op-cases-indexing.js';
import { scanCases, scanCompositeCases } from './op-cases-scan.js';

export interface OpCase {
  /** Small inputs for the full check (every entry perturbed). `seed` varies the draw. */
  make: (seed: number) => tg.Tensor[];
  /** The function checked; it may return any shape (full mode checks the whole Jacobian). */
  f: (...xs: tg.Tensor[]) => tg.Tensor;
  /** Larger inputs for the fast (random-direction) check. Defaults to `make`. */
  makeLarge?: (seed: number) => tg.Tensor[];
  /** Also run gradgradcheck (every op that is twice differentiable at the inputs drawn). */
  gradgrad?: boolean;
  /** Tolerances when the defaults are too tight for this op in float32 (say why). */
  tol?: { atol?: number; rtol?: number };
}

export type CaseTable<K extends string> = Record<K, OpCase | OpCase[]>;

/**
 * The case of an op with several outputs (split, unbind): its outputs flattened and joined into
 * one vector, so that every check's cotangent reaches each of them (gradcheck's random inner
 * product in fast mode, one-hot rows in full mode) and the suites that call `f` get one tensor.
 */
export function several(c: Omit<OpCase, 'f'> & { f: (...xs: tg.Tensor[]) => tg.Tensor[] }): OpCase {
  return { ...c, f: (...xs) => tg.concat(c.f(...xs).map((o) => o.reshape([o.size]))) };
}

// ---- input makers (all seeded, so a failure reproduces)

interface Draw {
  lo?: number;
  hi?: number;
  /** Points where the op has a kink or a pole: values are pushed at least `margin` away. */
  avoid?: number[];
  margin?: number;
}
/** n values uniform in [lo, hi), each at least `margin` from every point in `avoid`. */
export function draw(n: number, seed: number, { lo = -2, hi = 2, avoid = [], margin = 0.15 }: Draw = {}): number[] {
  const r = rng(seed * 7919 + n);
  return Array.from({ length: n }, () => {
    let v = lo + (hi - lo) * r.uniform();
    for (const k of avoid) if (Math.abs(v - k) < margin) v = k + (v >= k ? margin : -margin);
    return v;
  });
}
const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
/** A float32 tensor of the given shape with values from draw(). */
export function T(shape: number[], seed: number, d: Draw = {}): tg.Tensor {
  return tg.tensor(draw(sizeOf(shape), seed, d), { shape });
}
/** n distinct values, at least `gap` apart from `lo` up, in shuffled order. */
function distinctValues(n: number, seed: number, gap: number, lo: number): number[] {
  const r = rng(seed * 104729 + n);
  const v = Array.from({ length: n }, (_, i) => lo + i * gap + 0.02 * r.uniform());
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r.uniform() * (i + 1));
    [v[i], v[j]] = [v[j], v[i]];
  }
  return v;
}
/** Distinct values (for max, min, maximum): no ties within the stencil's reach. */
export function distinct(shape: number[], seed: number, gap = 0.35, lo = -1.5): tg.Tensor {
  return tg.tensor(distinctValues(sizeOf(shape), seed, gap, lo), { shape });
}
/** Distinct magnitudes, at least 0.3 apart and 0.3 from 0, with random signs (for the ∞-norm). */
function signedDistinct(shape: number[], seed: number): tg.Tensor {
  const r = rng(seed * 31 + 5);
  return tg.tensor(
    distinctValues(sizeOf(shape), seed, 0.3, 0.3).map((x) => (r.uniform() < 0.5 ? -x : x)),
    { shape },
  );
}
/**
 * Values near odd (oddGrid) or even (evenGrid) multiples of ¼ in [−2, 2]: an entry of one is at
 * least 0.2 from any entry of the other, so maximum/minimum of the two never come near a tie.
 */
function grid(shape: number[], seed: number, odd: boolean): tg.Tensor {
  const r = rng(seed * 613 + (odd ? 1 : 2));
  const v = Array.from(
    { length: sizeOf(shape) },
    () => (2 * Math.floor(r.uniform() * 8) - 8 + (odd ? 1 : 0)) * 0.25 + 0.05 * r.uniform(),
  );
  return tg.tensor(v, { shape });
}
const oddGrid = (shape: number[], seed: number) => grid(shape, seed, true);
const evenGrid = (shape: number[], seed: number) => grid(shape, seed, false);
/** Positive values (for log, sqrt, reciprocal, pow's base). */
const P = (shape: number[], seed: number) => T(shape, seed, { lo: 0.5, hi: 2 });
/** Values with |x| ≥ 0.5 and a random sign (denominators). */
const signedAway = (shape: number[], seed: number) => T(shape, seed, { lo: -2, hi: 2, avoid: [0], margin: 0.5 });
const ints = (values: number[], shape?: number[]) => tg.tensor(values, { dtype: 'int32', shape });
const bools = (values: boolean[], shape?: number[]) => tg.tensor(values, { dtype: 'bool', shape });
/** Rows of positive weights summing to 1 (class probabilities). */
function probs(shape: number[], seed: number): tg.Tensor {
  const C = shape[shape.length - 1];
  const v = draw(sizeOf(shape), seed, { lo: 0.1, hi: 1 });
  for (let i = 0; i < v.length; i += C) {
    const s = v.slice(i, i + C).reduce((a, b) => a + b, 0);
    for (let j = i; j < i + C; j++) v[j] /= s;
  }
  return tg.tensor(v, { shape });
}

const SMALL = [2, 3];
const LARGE = [8, 16];

/** An elementwise unary op: full check on [2,3], fast on [8,16], second order too. */
function unaryCase(f: (x: tg.Tensor) => tg.Tensor, d: Draw = {}): OpCase {
  return { make: (s) => [T(SMALL, s, d)], makeLarge: (s) => [T(LARGE, s, d)], f, gradgrad: true };
}
/** A binary op on broadcasting operands ([2,3] with [3]), its same-shape form, and a number operand. */
function binaryCases(
  op: (a: tg.TensorLike, b: tg.TensorLike) => tg.Tensor,
  da: (shape: number[], s: number) => tg.Tensor,
  db = da,
  numbers = true,
): OpCase[] {
  const withNumbers: OpCase[] = [
    { make: (s) => [da([2, 3], s)], f: (a) => op(a, 1.5), gradgrad: true },
    { make: (s) => [db([2, 3], s)], f: (b) => op(1.5, b), gradgrad: true },
  ];
  return [
    {
      make: (s) => [da(SMALL, s), db(SMALL, s + 100)],
      makeLarge: (s) => [da(LARGE, s), db(LARGE, s + 100)],
      f: (a, b) => op(a, b),
      gradgrad: true,
    },
    { make: (s) => [da([2, 3], s), db([3], s + 100)], f: (a, b) => op(a, b), gradgrad: true },
    { make: (s) => [da([2, 1], s), db([1, 3], s + 100)], f: (a, b) => op(a, b), gradgrad: true },
    ...(numbers ? withNumbers : []),
  ];
}
/**
 * A reduction: all axes, one axis, and several axes with keepDims. `large: false` for max/min,
 * whose distinct inputs cannot stay far enough apart at the large size.
 */
function reduceCases(
  op: (x: tg.Tensor, o?: { axis?: number | number[]; keepDims?: boolean }) => tg.Tensor,
  make: (shape: number[], s: number) => tg.Tensor,
  large = true,
): OpCase[] {
  const makeLarge = large ? (s: number) => [make(LARGE, s)] : undefined;
  return [
    { make: (s) => [make([2, 3], s)], makeLarge, f: (x) => op(x), gradgrad: true },
    { make: (s) => [make([2, 3], s)], makeLarge, f: (x) => op(x, { axis: 1 }), gradgrad: true },
    { make: (s) => [make([2, 3, 2], s)], f: (x) => op(x, { axis: [0, -1], keepDims: true }), gradgrad: true },
  ];
}

// ---- the core families

export const coreCases = {
  // elementwise, unary
  neg: unaryCase(tg.neg),
  abs: unaryCase(tg.abs, { avoid: [0] }),
  sign: unaryCase(tg.sign, { avoid: [0] }),
  exp: unaryCase(tg.exp),
  log: unaryCase(tg.log, { lo: 0.3, hi: 3 }),
  log1p: unaryCase(tg.log1p, { lo: -0.6, hi: 3 }),
  expm1: unaryCase(tg.expm1),
  sqrt: unaryCase(tg.sqrt, { lo: 0.3, hi: 3 }),
  rsqrt: unaryCase(tg.rsqrt, { lo: 0.3, hi: 3 }),
  square: unaryCase(tg.square),
  reciprocal: unaryCase(tg.reciprocal, { lo: -2, hi: 2, avoid: [0], margin: 0.5 }),
  sin: unaryCase(tg.sin, { lo: -3, hi: 3 }),
  cos: unaryCase(tg.cos, { lo: -3, hi: 3 }),
  tan: unaryCase(tg.tan, { lo: -1, hi: 1 }),
  tanh: unaryCase(tg.tanh),
  sigmoid: unaryCase(tg.sigmoid, { lo: -3, hi: 3 }),
  relu: unaryCase(tg.relu, { avoid: [0] }),
  leakyRelu: [unaryCase((x) => tg.leakyRelu(x, 0.2), { avoid: [0] }), unaryCase((x) => x.leakyRelu(), { avoid: [0] })],
  elu: unaryCase(tg.elu, { avoid: [0] }),
  softplus: unaryCase(tg.softplus, { lo: -3, hi: 3 }),
  erf: unaryCase(tg.erf),
  gelu: unaryCase(tg.gelu, { lo: -3, hi: 3 }),
  clip: unaryCase((x) => tg.clip(x, -0.5, 0.5), { avoid: [-0.5, 0.5] }),

  // elementwise, binary (broadcasting, numbers as operands)
  add: binaryCases(tg.add, T),
  sub: binaryCases(tg.sub, T),
  mul: binaryCases(tg.mul, T),
  div: binaryCases(tg.div, T, signedAway),
  pow: [
    ...binaryCases(tg.pow, P, (shape, s) => T(shape, s, { lo: -2, hi: 2 })),
    // an integer power of a signed base (only the base is differentiated)
    { make: (s) => [T([2, 3], s)], f: (x) => x.pow(3), gradgrad: true },
  ],
  maximum: [
    ...binaryCases(tg.maximum, oddGrid, evenGrid, false),
    // numbers as operands, kept away from the inputs
    { make: (s) => [T([2, 3], s, { avoid: [0.25] })], f: (x) => tg.maximum(x, 0.25), gradgrad: true },
    { make: (s) => [T([2, 3], s, { avoid: [-0.5] })], f: (x) => tg.maximum(-0.5, x), gradgrad: true },
  ],
  minimum: [
    ...binaryCases(tg.minimum, oddGrid, evenGrid, false),
    // numbers as operands, kept away from the inputs
    { make: (s) => [T([2, 3], s, { avoid: [0.25] })], f: (x) => tg.minimum(x, 0.25), gradgrad: true },
    { make: (s) => [T([2, 3], s, { avoid: [-0.5] })], f: (x) => tg.minimum(-0.5, x), gradgrad: true },
  ],
  where: [
    {
      make: (s) => [bools([true, false, true, false, false, true], [2, 3]), T([2, 3], s), T([2, 3], s + 1)],
      f: (c, a, b) => tg.where(c, a, b),
      gradgrad: true,
    },
    // a and b broadcast against the condition
    {
      make: (s) => [bools([true, false, true, false, false, true], [2, 3]), T([3], s), T([2, 1], s + 1)],
      f: (c, a, b) => tg.where(c, a, b),
      gradgrad: true,
    },
    { make: (s) => [bools([true, false, false], [3]), T([2, 3], s)], f: (c, a) => tg.where(c, a, 0.5), gradgrad: true },
  ],

  // reductions
  sum: reduceCases(tg.sum, T),
  mean: reduceCases(tg.mean, T),
  prod: [
    ...reduceCases(tg.prod, (shape, s) => T(shape, s, { lo: -1.5, hi: 1.5, avoid: [0], margin: 0.3 })),
    // exact zeros (one, two, three in a row): the gradient at a zero is the product of the others,
    // and the second derivatives through the zeros are right too
    {
      make: () => [
        tg.tensor([
          [2, 0, 3],
          [0.5, -1, 0],
          [0, 1.5, 0],
          [0, 0, 0],
        ]),
      ],
      f: (x) => tg.prod(x, { axis: 1 }),
      gradgrad: true,
    },
    {
      make: () => [
        tg.tensor([
          [2, 0],
          [0.5, -1.5],
        ]),
      ],
      f: (x) => tg.prod(x),
      gradgrad: true,
    },
  ],
  max: [
    ...reduceCases(tg.max, (shape, s) => distinct(shape, s), false),
    { make: (s) => [distinct([3, 4], s)], f: (x) => x.max({ axis: 0 }) },
  ],
  min: reduceCases(tg.min, (shape, s) => distinct(shape, s), false),
  logSumExp: reduceCases(tg.logSumExp, T),
  variance: [
    ...reduceCases(tg.variance, T),
    {
      make: (s) => [T([3, 4], s)],
      makeLarge: (s) => [T(LARGE, s)],
      f: (x) => tg.variance(x, { axis: 1, correction: 1 }),
      gradgrad: true,
    },
    {
      make: (s) => [T([3, 4], s)],
      f: (x) => tg.variance(x, { axis: 0, keepDims: true, correction: 1 }),
      gradgrad: true,
    },
  ],
  norm: [
    ...reduceCases(tg.norm, T),
    { make: (s) => [T([2, 3], s, { avoid: [0] })], f: (x) => tg.norm(x, { ord: 1, axis: 1 }), gradgrad: true },
    { make: (s) => [signedDistinct([2, 3], s)], f: (x) => tg.norm(x, { ord: Infinity, axis: 1 }) },
    {
      make: (s) => [T([2, 3], s, { avoid: [0] })],
      makeLarge: (s) => [T(LARGE, s, { avoid: [0] })],
      f: (x) => tg.norm(x, { ord: 3, axis: 0, keepDims: true }),
      gradgrad: true,
    },
  ],

  // shape
  reshape: [
    { make: (s) => [T([2, 3], s)], f: (x) => x.reshape([3, 2]), gradgrad: true },
    { make: (s) => [T([2, 3, 2], s)], f: (x) => x.reshape([-1, 4]).mul(x.reshape([3, 4])) },
  ],
  transpose: [
    { make: (s) => [T([2, 3], s)], makeLarge: (s) => [T(LARGE, s)], f: (x) => x.transpose(), gradgrad: true },
    { make: (s) => [T([2, 3, 2], s)], f: (x) => x.transpose([1, 2, 0]), gradgrad: true },
  ],
  broadcastTo: [
    { make: (s) => [T([3], s)], f: (x) => x.broadcastTo([2, 3]), gradgrad: true },
    { make: (s) => [T([2, 1], s)], f: (x) => tg.broadcastTo(x, [2, 2, 3]).square(), gradgrad: true },
  ],
  tile: [
    { make: (s) => [T([2, 3], s)], f: (x) => x.tile([2, 1]), gradgrad: true },
    { make: (s) => [T([2, 1, 2], s)], f: (x) => tg.tile(x, [1, 3, 2]).square() },
  ],
  slice: [
    { make: (s) => [T([3, 4], s)], makeLarge: (s) => [T(LARGE, s)], f: (x) => x.slice([1, 1], [2, 2]), gradgrad: true },
    // size −1 runs to the end; a number begin slices the first axis
    { make: (s) => [T([3, 4], s)], f: (x) => x.slice([0, 1], [-1, -1]).square() },
    { make: (s) => [T([3, 4], s)], f: (x) => tg.slice(x, 1).exp() },
  ],
  pad: [
    {
      make: (s) => [T([2, 3], s)],
      f: (x) =>
        x.pad([
          [1, 0],
          [2, 1],
        ]),
      gradgrad: true,
    },
    {
      make: (s) => [T([2, 3], s)],
      f: (x) =>
        tg
          .pad(
            x,
            [
              [0, 1],
              [1, 1],
            ],
            0.5,
          )
          .square(),
    },
  ],
  concat: [
    {
      make: (s) => [T([2, 3], s), T([1, 3], s + 1), T([2, 3], s + 2)],
      f: (a, b, c) => tg.concat([a, b, c], 0),
      gradgrad: true,
    },
    {
      make: (s) => [T([2, 1], s), T([2, 3], s + 1), T([2, 2], s + 2)],
      f: (a, b, c) => tg.concat([a, b, c], -1).square(),
    },
  ],
  stack: [
    {
      make: (s) => [T([2, 3], s), T([2, 3], s + 1), T([2, 3], s + 2)],
      f: (a, b, c) => tg.stack([a, b, c]),
      gradgrad: true,
    },
    {
      make: (s) => [T([2, 2], s), T([2, 2], s + 1), T([2, 2], s + 2)],
      f: (a, b, c) => tg.stack([a, b, c], 1).square(),
    },
  ],
  split: [
    several({ make: (s) => [T([4, 3], s)], f: (x) => tg.split(x, 2), gradgrad: true }),
    // a part that reaches no output: its cotangent is null, made zeros inside the adjoint
    several({ make: (s) => [T([2, 6], s)], f: (x) => x.split([1, 2, 3], 1).filter((_, k) => k !== 1) }),
    {
      make: (s) => [T([4, 3], s)],
      f: (x) => {
        const [a, b] = tg.split(x, 2);
        return a.mul(b.square());
      },
    },
    {
      make: (s) => [T([2, 6], s)],
      f: (x) => {
        const [a, b, c] = tg.split(x, [1, 2, 3], 1);
        return tg.concat([c, b.exp(), a.mul(2)], 1);
      },
    },
  ],
  unbind: [
    several({ make: (s) => [T([3, 2], s)], f: (x) => tg.unbind(x), gradgrad: true }),
    several({
      make: (s) => [T([2, 3, 2], s)],
      f: (x) =>
        x
          .unbind(1)
          .slice(1)
          .map((p) => p.square()),
    }),
    { make: (s) => [T([2, 4], s)], f: (x) => tg.stack(tg.unbind(x, 1).reverse(), 0).exp() },
  ],
  gather: [
    // repeated indices: their gradients accumulate
    {
      make: (s) => [T([4, 3], s), ints([0, 2, 0, 3, 0])],
      makeLarge: (s) => [T([16, 8], s), ints([1, 1, 5, 15, 0, 1])],
      f: (x, i) => tg.gather(x, i).square(),
      gradgrad: true,
    },
    { make: (s) => [T([2, 4], s), ints([3, 1, 3])], f: (x, i) => tg.gather(x, i, 1), gradgrad: true },
    // 2-D indices: the result's shape puts the indices' shape at the axis
    { make: (s) => [T([4, 2], s), ints([0, 1, 1, 3], [2, 2])], f: (x, i) => tg.gather(x, i).square() },
    // a plain array of indices
    { make: (s) => [T([3, 2], s)], f: (x) => x.gather([2, 2, 0]).exp() },
  ],
  scatterAdd: [
    { make: (s) => [T([3, 2], s), ints([0, 0, 2])], f: (g, i) => tg.scatterAdd(g, i, 0, 4), gradgrad: true },
    { make: (s) => [T([2, 3], s), ints([1, 0, 1])], f: (g, i) => tg.scatterAdd(g, i, 1, 2).square() },
  ],

  // matrix
  linear: [
    {
      make: (s) => [T([3, 4], s), T([4, 2], s + 1), T([2], s + 2)],
      makeLarge: (s) => [T([16, 12], s), T([12, 8], s + 1), T([8], s + 2)],
      f: (x, w, b) => tg.linear(x, w, b),
      gradgrad: true,
    },
    { make: (s) => [T([3, 4], s), T([4, 2], s + 1)], f: (x, w) => tg.linear(x, w), gradgrad: true },
    // relu: small x·W and a bias at least 1.5 from 0 keep every pre-activation ≥ 0.75 from the kink
    {
      make: (s) => [
        T([3, 2], s, { lo: -0.5, hi: 0.5 }),
        T([2, 3], s + 1, { lo: -0.5, hi: 0.5 }),
        T([3], s + 2, { lo: -2.5, hi: 2.5, avoid: [0], margin: 1.5 }),
      ],
      f: (x, w, b) => tg.linear(x, w, b, { activation: 'relu' }),
      gradgrad: true,
    },
  ],
  matmul: [
    {
      make: (s) => [T([2, 3], s), T([3, 2], s + 1)],
      makeLarge: (s) => [T([8, 16], s), T([16, 12], s + 1)],
      f: (a, b) => tg.matmul(a, b),
      gradgrad: true,
    },
    {
      make: (s) => [T([3, 2], s), T([3, 2], s + 1)],
      f: (a, b) => tg.matmul(a, b, { transposeA: true }),
      gradgrad: true,
    },
    {
      make: (s) => [T([2, 3], s), T([2, 3], s + 1)],
      f: (a, b) => tg.matmul(a, b, { transposeB: true }),
      gradgrad: true,
    },
    // batch dimensions broadcast: [2,2,3] x [3,2] and [2,1,2,3] x [3,3,2]
    { make: (s) => [T([2, 2, 3], s), T([3, 2], s + 1)], f: (a, b) => a.matmul(b), gradgrad: true },
    { make: (s) => [T([2, 1, 2, 2], s), T([3, 2, 1], s + 1)], f: (a, b) => a.matmul(b) },
    // 1-D operands: a row vector on the left, a column vector on the right, both (a scalar)
    { make: (s) => [T([3], s), T([3, 2], s + 1)], f: (a, b) => tg.matmul(a, b), gradgrad: true },
    { make: (s) => [T([2, 3], s), T([3], s + 1)], f: (a, b) => tg.matmul(a, b), gradgrad: true },
    { make: (s) => [T([3], s), T([3], s + 1)], f: (a, b) => tg.matmul(a, b) },
    { make: (s) => [T([2, 2, 3], s), T([3], s + 1)], f: (a, b) => tg.matmul(a, b) },
  ],
  trace: [
    { make: (s) => [T([3, 3], s)], f: (x) => tg.trace(x), gradgrad: true },
    { make: (s) => [T([2, 2, 3], s)], f: (x) => tg.trace(x).square(), gradgrad: true },
  ],

  // nn
  softmax: [
    { make: (s) => [T([2, 3], s)], makeLarge: (s) => [T(LARGE, s)], f: (x) => tg.softmax(x), gradgrad: true },
    { make: (s) => [T([3, 2], s)], f: (x) => x.softmax(0), gradgrad: true },
    // attention's weights: the scale and the causal mask inside the op
    { make: (s) => [T([2, 3, 4], s)], f: (x) => scaledSoftmax(x, 0.7, true), gradgrad: true },
    { make: (s) => [T([2, 5], s)], f: (x) => scaledSoftmax(x, 1.5, false) },
  ],
  logSoftmax: [
    { make: (s) => [T([2, 3], s)], makeLarge: (s) => [T(LARGE, s)], f: (x) => tg.logSoftmax(x), gradgrad: true },
    { make: (s) => [T([3, 2], s)], f: (x) => x.logSoftmax(0), gradgrad: true },
  ],
  softmaxCrossEntropy: [
    // probabilities as labels: both the logits and the targets are differentiated
    {
      make: (s) => [T([2, 3], s), probs([2, 3], s + 1)],
      makeLarge: (s) => [T(LARGE, s), probs(LARGE, s + 1)],
      f: (z, t) => tg.crossEntropy(z, t, { reduction: 'none' }),
      gradgrad: true,
    },
    { make: (s) => [T([2, 2, 3], s), probs([2, 2, 3], s + 1)], f: (z, t) => tg.crossEntropy(z, t), gradgrad: true },
  ],
  sparseSoftmaxCrossEntropy: [
    // class indices as labels (int32, not differentiated): crossEntropy without label smoothing
    {
      make: (s) => [T([3, 4], s), ints([0, 3, 3])],
      makeLarge: (s) => [T([16, 5], s), ints([0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 4, 4, 0, 0, 1, 2])],
      f: (z, y) => tg.crossEntropy(z, y, { reduction: 'none' }),
      gradgrad: true,
    },
    {
      make: (s) => [T([2, 2, 3], s), ints([0, 1, 2, 2], [2, 2])],
      f: (z, y) => tg.crossEntropy(z, y, { reduction: 'sum' }),
      gradgrad: true,
    },
    { make: (s) => [T([5, 3], s), ints([2, 0, 1, 1, 2])], f: (z, y) => tg.crossEntropy(z, y), gradgrad: true },
  ],
  // BatchNorm's training forward: statistics over every axis but the last, weight and bias [C]
  batchNorm: [
    {
      make: (s) => [T([4, 3], s), T([3], s + 1), T([3], s + 2)],
      makeLarge: (s) => [T([2, 3, 3, 4], s), T([4], s + 1), T([4], s + 2)],
      f: (x, w, b) => batchNorm([x, w, b], { eps: 1e-5 }),
      gradgrad: true,
    },
    {
      make: (s) => [T([2, 2, 2], s), T([2], s + 1), T([2], s + 2)],
      f: (x, w, b) => batchNorm([x, w, b], { eps: 0.1 }),
    },
  ],
  // MultiheadAttention's heads from qkv [N, L, 3E] (q, k, v side by side), causal or not
  selfAttention: [
    {
      make: (s) => [T([1, 3, 6], s)],
      makeLarge: (s) => [T([2, 4, 12], s)],
      f: (qkv) => selfAttention(qkv, 1, 0.7, true),
      gradgrad: true,
    },
    { make: (s) => [T([2, 2, 12], s)], f: (qkv) => selfAttention(qkv, 2, 0.5, false) },
  ],
  // LayerNorm's forward: statistics over the last w.rank axes, weight and bias of their shape
  layerNorm: [
    {
      make: (s) => [T([3, 4], s), T([4], s + 1), T([4], s + 2)],
      makeLarge: (s) => [T([2, 3, 8], s), T([8], s + 1), T([8], s + 2)],
      f: (x, w, b) => layerNorm([x, w, b], { eps: 1e-5 }),
      gradgrad: true,
    },
    {
      make: (s) => [T([2, 3, 2], s), T([3, 2], s + 1), T([3, 2], s + 2)],
      f: (x, w, b) => layerNorm([x, w, b], { eps: 0.1 }),
    },
  ],
} satisfies Partial<CaseTable<OpName>>;

/** Public functions composed from the primitives above, checked the same way. */
export const compositeCases: Record<string, OpCase | OpCase[]> = {
  expandDims: [
    { make: (s) => [T([2, 3], s)], f: (x) => x.expandDims(1) },
    { make: (s) => [T([2, 3], s)], f: (x) => tg.expandDims(x, -1).square() },
  ],
  squeeze: [
    { make: (s) => [T([2, 1, 3], s)], f: (x) => x.squeeze().square() },
    { make: (s) => [T([1, 3, 1], s)], f: (x) => tg.squeeze(x, 2).exp() },
  ],
  chunk: [
    several({ make: (s) => [T([5, 2], s)], f: (x) => tg.chunk(x, 3) }),
    several({ make: (s) => [T([2, 7], s)], f: (x) => x.chunk(2, -1).map((p) => p.exp()) }),
  ],
  dot: [
    { make: (s) => [T([4], s), T([4], s + 1)], f: (a, b) => tg.dot(a, b), gradgrad: true },
    { make: (s) => [T([2, 3], s), T([3, 2], s + 1)], f: (a, b) => a.dot(b) },
  ],
  outer: { make: (s) => [T([3], s), T([2], s + 1)], f: (a, b) => tg.outer(a, b), gradgrad: true },
  crossEntropy: [
    {
      make: (s) => [T([3, 4], s), ints([0, 3, 3])],
      makeLarge: (s) => [T([16, 5], s), ints([0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 4, 4, 0, 0, 1, 2])],
      f: (z, y) => tg.crossEntropy(z, y),
      gradgrad: true,
    },
    { make: (s) => [T([3, 4], s), ints([1, 2, 1])], f: (z, y) => tg.crossEntropy(z, y, { reduction: 'sum' }) },
    { make: (s) => [T([3, 4], s), ints([1, 2, 0])], f: (z, y) => tg.crossEntropy(z, y, { reduction: 'none' }) },
    {
      make: (s) => [T([3, 4], s), ints([2, 2, 0])],
      f: (z, y) => tg.crossEntropy(z, y, { labelSmoothing: 0.1 }),
      gradgrad: true,
    },
    {
      make: (s) => [T([2, 3], s), probs([2, 3], s + 1)],
      f: (z, t) => tg.crossEntropy(z, t, { labelSmoothing: 0.2, reduction: 'sum' }),
    },
    { make: (s) => [T([2, 2, 3], s), ints([0, 1, 2, 2], [2, 2])], f: (z, y) => tg.crossEntropy(z, y) },
  ],
  mseLoss: [
    { make: (s) => [T([2, 3], s), T([2, 3], s + 1)], f: (x, t) => tg.mseLoss(x, t), gradgrad: true },
    { make: (s) => [T([2, 3], s), T([2, 3], s + 1)], f: (x, t) => tg.mseLoss(x, t, { reduction: 'sum' }) },
    { make: (s) => [T([2, 3], s), T([2, 3], s + 1)], f: (x, t) => tg.mseLoss(x, t, { reduction: 'none' }) },
  ],
  l1Loss: [
    // x and t are drawn at least 0.2 apart so that |x − t| stays away from its kink
    { make: (s) => [oddGrid([2, 3], s), evenGrid([2, 3], s)], f: (x, t) => tg.l1Loss(x, t) },
    { make: (s) => [oddGrid([2, 3], s), evenGrid([2, 3], s)], f: (x, t) => tg.l1Loss(x, t, { reduction: 'none' }) },
  ],
  chain: {
    // a small network: a tensor used on several paths, broadcasting, a reduction at the end
    make: (s) => [T([3, 4], s), T([4, 2], s + 1), T([2], s + 2)],
    f: (x, w, b) =>
      x
        .matmul(w)
        .add(b)
        .tanh()
        .mul(x.sum({ axis: 1, keepDims: true }))
        .logSumExp({ axis: 0 }),
    gradgrad: true,
  },
  ...scanCompositeCases,
  ...linalgCompositeCases,
  ...indexingCompositeCases,
};

// Other families register their own ops and keep their cases in their own files (imported at
// the top): a new family adds one import and one spread line here.
/** Every registered op's case(s): a registered op without a case fails to compile here. */
export const cases: CaseTable<OpName> = {
  ...coreCases,
  ...elementwiseCases,
  ...formsCases,
  ...nnCases,
  ...scanCases,
  ...linalgCases,
  ...indexingCases,
};

/** Each op's cases as a flat list of [label, case]. */
export function flatCases(table: Record<string, OpCase | OpCase[]>): [string, OpCase][] {
  return Object.entries(table).flatMap(([name, c]) =>
    Array.isArray(c) ? c.map((k, i) => [`${name}#${i}`, k] as [string, OpCase]) : [[name, c] as [string, OpCase]],
  );
}
