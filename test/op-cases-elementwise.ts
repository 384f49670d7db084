// Gradient-check cases for the inverse trigonometric and hyperbolic functions, logarithms and
// powers of 2 and 10, the activations silu … mish and hardtanh, rounding, atan2 and clone
// (src/ops/elementwise.ts), merged into `cases` in op-cases.ts. Inputs lie inside each op's
// domain, clear of its kinks and steps by more than gradcheck's stencil (±0.0625 near 0).
import * as tg from '../src/index.js';
import { rng } from '../src/random.js';
import type { CaseTable, OpCase } from './op-cases.js';

interface Draw {
  lo?: number;
  hi?: number;
  /** Points kept at least `margin` away (kinks, steps, the ends of a domain). */
  avoid?: number[];
  margin?: number;
}
function T(shape: number[], seed: number, { lo = -2, hi = 2, avoid = [], margin = 0.15 }: Draw = {}): tg.Tensor {
  const r = rng(seed * 7919 + shape.length * 31 + 7);
  const n = shape.reduce((a, b) => a * b, 1);
  const v = Array.from({ length: n }, () => {
    let x = lo + (hi - lo) * r.uniform();
    for (const k of avoid) if (Math.abs(x - k) < margin) x = k + (x >= k ? margin : -margin);
    return x;
  });
  return tg.tensor(v, { shape });
}

/** Full check on [2, 3], fast on [4, 8], and second order. */
function unaryCase(f: (x: tg.Tensor) => tg.Tensor, d: Draw = {}): OpCase {
  return { make: (s) => [T([2, 3], s, d)], makeLarge: (s) => [T([4, 8], s, d)], f, gradgrad: true };
}
const integers = [-3, -2, -1, 0, 1, 2, 3];
const halves = [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5];

type ElementwiseOp =
  | 'atan'
  | 'asin'
  | 'acos'
  | 'sinh'
  | 'cosh'
  | 'asinh'
  | 'acosh'
  | 'atanh'
  | 'log2'
  | 'log10'
  | 'exp2'
  | 'silu'
  | 'logSigmoid'
  | 'softsign'
  | 'selu'
  | 'mish'
  | 'hardtanh'
  | 'floor'
  | 'ceil'
  | 'round'
  | 'trunc'
  | 'frac'
  | 'atan2'
  | 'clone';

export const elementwiseCases: CaseTable<ElementwiseOp> = {
  atan: unaryCase(tg.atan, { lo: -3, hi: 3 }),
  asin: unaryCase(tg.asin, { lo: -0.8, hi: 0.8 }),
  acos: unaryCase((x) => x.acos(), { lo: -0.8, hi: 0.8 }),
  sinh: unaryCase(tg.sinh),
  cosh: unaryCase(tg.cosh),
  asinh: unaryCase(tg.asinh, { lo: -3, hi: 3 }),
  acosh: unaryCase(tg.acosh, { lo: 1.2, hi: 3 }),
  atanh: unaryCase(tg.atanh, { lo: -0.8, hi: 0.8 }),
  log2: unaryCase(tg.log2, { lo: 0.3, hi: 3 }),
  log10: unaryCase(tg.log10, { lo: 0.3, hi: 3 }),
  exp2: unaryCase(tg.exp2),
  silu: unaryCase(tg.silu, { lo: -3, hi: 3 }),
  logSigmoid: unaryCase(tg.logSigmoid, { lo: -3, hi: 3 }),
  softsign: unaryCase(tg.softsign, { avoid: [0] }),
  selu: unaryCase(tg.selu, { avoid: [0] }),
  mish: unaryCase(tg.mish, { lo: -3, hi: 3 }),
  hardtanh: [
    unaryCase(tg.hardtanh, { avoid: [-1, 1] }),
    unaryCase((x) => x.hardtanh({ min: -0.5, max: 2 }), { avoid: [-0.5] }),
  ],
  floor: unaryCase(tg.floor, { avoid: integers }),
  ceil: unaryCase((x) => x.ceil(), { avoid: integers }),
  round: unaryCase(tg.round, { lo: -2.4, hi: 2.4, avoid: halves }),
  trunc: unaryCase(tg.trunc, { avoid: integers }),
  frac: unaryCase(tg.frac, { avoid: integers }),
  atan2: [
    // y anywhere, x > 0: clear of the cut along x < 0
    {
      make: (s) => [T([2, 3], s), T([2, 3], s + 100, { lo: 0.5, hi: 2 })],
      makeLarge: (s) => [T([4, 8], s), T([4, 8], s + 100, { lo: 0.5, hi: 2 })],
      f: (y, x) => tg.atan2(y, x),
      gradgrad: true,
    },
    // x < 0 with y clear of 0, broadcasting [2, 3] against [3]
    {
      make: (s) => [T([2, 3], s, { avoid: [0], margin: 0.5 }), T([3], s + 100, { lo: -2, hi: -0.5 })],
      f: (y, x) => y.atan2(x),
      gradgrad: true,
    },
    { make: (s) => [T([2, 3], s)], f: (y) => tg.atan2(y, 1.5), gradgrad: true },
    { make: (s) => [T([2, 3], s, { avoid: [0], margin: 0.5 })], f: (x) => tg.atan2(1.5, x), gradgrad: true },
  ],
  clone: unaryCase((x) => x.clone().mul(x)),
};
