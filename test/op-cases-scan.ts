// Gradient-check cases for std (src/ops/reduce.ts), the scans (src/ops/scan.ts) and sort
// (src/ops/sort.ts), merged into `cases` in op-cases.ts; topk and median, composed from sort, go
// to `compositeCases`. Inputs are small (every backend pays a dispatch round per entry in full
// mode). Sorted values are drawn distinct, so that no finite-difference step reorders them.
import * as tg from '../src/index.js';
import type * as scan from '../src/ops/scan.js';
import type * as sorting from '../src/ops/sort.js';
import type { RulesOf } from '../src/registry.js';
import { rng } from '../src/random.js';
import type { CaseTable, OpCase } from './op-cases.js';

const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
/** Uniform values in [lo, hi), seeded. */
function T(shape: number[], seed: number, { lo = -2, hi = 2 } = {}): tg.Tensor {
  const r = rng(seed * 7919 + sizeOf(shape));
  return tg.tensor(
    Array.from({ length: sizeOf(shape) }, () => lo + (hi - lo) * r.uniform()),
    { shape },
  );
}
/** Distinct values at least `gap` apart, shuffled: no finite-difference step reorders them. */
function distinct(shape: number[], seed: number, gap = 0.35): tg.Tensor {
  const r = rng(seed * 104729 + sizeOf(shape));
  const v = Array.from({ length: sizeOf(shape) }, (_, i) => -1.5 + i * gap + 0.02 * r.uniform());
  for (let i = v.length - 1; i > 0; i--) {
    const j = Math.floor(r.uniform() * (i + 1));
    [v[i], v[j]] = [v[j], v[i]];
  }
  return tg.tensor(v, { shape });
}
/** Magnitudes in [0.4, 1.5] with random signs (cumprod without zeros). */
function awayFromZero(shape: number[], seed: number): tg.Tensor {
  const r = rng(seed * 31 + sizeOf(shape));
  return tg.tensor(
    Array.from({ length: sizeOf(shape) }, () => (r.uniform() < 0.5 ? -1 : 1) * (0.4 + 1.1 * r.uniform())),
    { shape },
  );
}
const m = (rows: number[][]) => tg.tensor(rows);

export const scanCases: CaseTable<keyof RulesOf<typeof scan> | keyof RulesOf<typeof sorting> | 'std'> = {
  std: [
    { make: (s) => [T([2, 3], s)], makeLarge: (s) => [T([8, 16], s)], f: (x) => tg.std(x), gradgrad: true },
    { make: (s) => [T([2, 3], s)], f: (x) => x.std({ axis: 1 }), gradgrad: true },
    {
      make: (s) => [T([2, 3, 2], s)],
      f: (x) => tg.std(x, { axis: [0, -1], keepDims: true, correction: 0 }),
      gradgrad: true,
    },
  ],
  cumsum: [
    { make: (s) => [T([2, 3], s)], makeLarge: (s) => [T([8, 16], s)], f: (x) => tg.cumsum(x, 1), gradgrad: true },
    { make: (s) => [T([3, 2], s)], f: (x) => x.cumsum(0, { exclusive: true }).square(), gradgrad: true },
    { make: (s) => [T([2, 3], s)], f: (x) => tg.cumsum(x, -1, { reverse: true }).square() },
    { make: (s) => [T([2, 3], s)], f: (x) => tg.cumsum(x, 1, { exclusive: true, reverse: true }).square() },
  ],
  cumprod: [
    { make: (s) => [awayFromZero([2, 3], s)], f: (x) => tg.cumprod(x, 1), gradgrad: true },
    { make: (s) => [awayFromZero([3, 2], s)], makeLarge: (s) => [awayFromZero([6, 4], s)], f: (x) => x.cumprod(0) },
    // exact zeros: one, two, three in a slice and a leading one; second derivatives through them too
    {
      make: () => [
        m([
          [2, 0, 1.5, -1],
          [0.5, 0, -2, 0],
          [0, 1.5, 0, 0],
          [0, 0.5, 1.25, 2],
        ]),
      ],
      f: (x) => tg.cumprod(x, 1),
      gradgrad: true,
    },
    {
      make: () => [
        m([
          [0, 1.5],
          [2, 0],
          [-1, 0],
        ]),
      ],
      f: (x) => tg.cumprod(x, 0),
      gradgrad: true,
    },
  ],
  logCumSumExp: [
    { make: (s) => [T([2, 3], s)], makeLarge: (s) => [T([8, 16], s)], f: (x) => tg.logCumSumExp(x, 1), gradgrad: true },
    { make: (s) => [T([3, 2], s)], f: (x) => x.logCumSumExp(0).square(), gradgrad: true },
    // values far apart (what a shift by the maximum would underflow)
    { make: (s) => [T([2, 4], s, { lo: -12, hi: 12 })], f: (x) => tg.logCumSumExp(x, 1), gradgrad: true },
  ],
  sort: [
    { make: (s) => [distinct([2, 3], s)], f: (x) => tg.sort(x).values, gradgrad: true },
    { make: (s) => [distinct([3, 2], s)], f: (x) => x.sort({ axis: 0, descending: true }).values.square() },
    {
      make: (s) => [distinct([2, 2, 3], s)],
      makeLarge: (s) => [distinct([4, 2, 8], s, 0.1)],
      f: (x) => tg.sort(x, { axis: 1 }).values.mul(tg.tensor([1, 2], { shape: [2, 1] })),
    },
  ],
};

/** Public functions composed from sort (merged into compositeCases). */
export const scanCompositeCases: Record<string, OpCase | OpCase[]> = {
  topk: [
    { make: (s) => [distinct([2, 4], s)], f: (x) => tg.topk(x, 2).values, gradgrad: true },
    { make: (s) => [distinct([4, 2], s)], f: (x) => x.topk(3, { axis: 0, largest: false }).values.square() },
  ],
  median: [
    { make: (s) => [distinct([2, 3], s)], f: (x) => tg.median(x, { axis: 1 }), gradgrad: true },
    { make: (s) => [distinct([2, 4], s)], f: (x) => x.median() },
    { make: (s) => [distinct([4, 2], s)], f: (x) => tg.median(x, { axis: 0, keepDims: true }).square() },
  ],
};
