// Gradient-check cases for the convolution and pooling ops (src/ops/conv.ts), merged into `cases`
// in op-cases.ts. Images are NHWC, filters [kh, kw, Cin, Cout].
import * as tg from '../src/index.js';
import { conv2dWithBias, convInternals } from '../src/ops/conv.js';
import type * as conv from '../src/ops/conv.js';
import type { RulesOf } from '../src/registry.js';
import type { CaseTable } from './op-cases.js';

const randn = (shape: number[], seed: number) => tg.randn(shape, { seed });

/**
 * A tensor whose n entries are a grid in (−1, 1), 2/n apart, shuffled by `seed`: no two entries
 * tie, so every pooling window has one clear maximum (test/nn-conv.test.ts uses it too).
 */
export function shuffledGrid(shape: number[], seed: number): tg.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = Array.from({ length: n }, (_, i) => ((2 * i + 1) / n - 1) * 0.999);
  let s = seed * 2654435761 + 1;
  for (let i = n - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [v[i], v[j]] = [v[j], v[i]];
  }
  return tg.tensor(v, { shape });
}

/**
 * Images whose entries are a shuffled grid in (−1, 1), 2/n apart: every pooling window has one
 * clear maximum, and for n < 32 entries gradcheck's steps (2⁻⁵ for |x| ≤ 1, so at most 2⁻⁴ < 2/n)
 * never reach a tie, so no argmax moves.
 */
function distinct(shape: number[], seed: number): tg.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n >= 32) throw new Error(`distinct: ${n} entries are too many for gradcheck's steps`);
  return shuffledGrid(shape, seed);
}

export const nnCases: CaseTable<keyof RulesOf<typeof conv>> = {
  conv2d: [
    { make: (s) => [randn([2, 5, 4, 2], s), randn([3, 2, 2, 3], s + 1)], f: (x, w) => tg.conv2d(x, w), gradgrad: true },
    {
      make: (s) => [randn([1, 5, 6, 2], s), randn([3, 3, 2, 2], s + 1)],
      f: (x, w) => tg.conv2d(x, w, { stride: 2, padding: 'same' }),
      gradgrad: true,
    },
    { make: (s) => [randn([1, 4, 4, 1], s), randn([3, 3, 1, 2], s + 1)], f: (x, w) => tg.conv2d(x, w, { padding: 1 }) },
    {
      // two groups, each a dilated 2×2 filter (a 3×3 window) over its own channel
      make: (s) => [randn([1, 4, 4, 2], s), randn([2, 2, 1, 2], s + 1)],
      f: (x, w) => tg.conv2d(x, w, { groups: 2, dilation: 2, stride: [1, 2], padding: 1 }),
      gradgrad: true,
    },
  ],
  conv2dWithBias: [
    {
      make: (s) => [randn([1, 5, 4, 2], s), randn([3, 2, 2, 3], s + 1), randn([3], s + 2)],
      f: (x, w, b) => conv2dWithBias(x, w, b, { padding: 'same' }),
      gradgrad: true,
    },
    {
      // dilated: conv2d, then add
      make: (s) => [randn([1, 5, 5, 1], s), randn([2, 2, 1, 2], s + 1), randn([2], s + 2)],
      f: (x, w, b) => conv2dWithBias(x, w, b, { dilation: 2, stride: 2 }),
    },
  ],
  conv2dBackpropInput: {
    // dy has the conv output's shape for x [2, 5, 4, 2] and a 3×2 filter, stride 1, 'valid'
    make: (s) => [randn([2, 3, 3, 3], s), randn([3, 2, 2, 3], s + 1)],
    f: (dy, w) => convInternals.conv2dBackpropInput(dy, w, [2, 5, 4, 2]),
    gradgrad: true,
  },
  conv2dBackpropFilter: {
    // x [1, 5, 6, 2] with a 3×3 filter, stride 2, 'same': dy is [1, 3, 3, 2]
    make: (s) => [randn([1, 5, 6, 2], s), randn([1, 3, 3, 2], s + 1)],
    f: (x, dy) => convInternals.conv2dBackpropFilter(x, dy, [3, 3, 2, 2], { stride: 2, padding: 'same' }),
    gradgrad: true,
  },
  maxPool2d: [
    { make: (s) => [distinct([1, 4, 4, 1], s)], f: (x) => tg.maxPool2d(x, { kernelSize: 2 }), gradgrad: true },
    {
      make: (s) => [distinct([2, 3, 2, 2], s)],
      f: (x) => tg.maxPool2d(x, { kernelSize: 2, stride: 1 }),
      gradgrad: true,
    },
    {
      make: (s) => [distinct([1, 5, 5, 1], s)],
      f: (x) => tg.maxPool2d(x, { kernelSize: 3, stride: 2 }),
      gradgrad: true,
    },
    {
      make: (s) => [distinct([1, 4, 5, 1], s)],
      f: (x) => tg.maxPool2d(x, { kernelSize: 3, stride: 2, padding: 'same' }),
      gradgrad: true,
    },
    {
      // 12 entries 1/6 apart: far enough for float16's steps too
      make: (s) => [distinct([1, 4, 3, 1], s)],
      f: (x) => tg.maxPool2d(x, { kernelSize: 2, stride: 2, padding: 1, ceilMode: true }),
    },
  ],
  avgPool2d: [
    { make: (s) => [randn([2, 4, 4, 2], s)], f: (x) => tg.avgPool2d(x, { kernelSize: 2 }), gradgrad: true },
    { make: (s) => [randn([2, 5, 5, 2], s)], f: (x) => tg.avgPool2d(x, { kernelSize: 3, stride: 2 }), gradgrad: true },
    {
      make: (s) => [randn([1, 5, 4, 2], s)],
      f: (x) => tg.avgPool2d(x, { kernelSize: 3, stride: 2, padding: 'same' }),
      gradgrad: true,
    },
    {
      make: (s) => [randn([1, 5, 4, 2], s)],
      f: (x) => tg.avgPool2d(x, { kernelSize: 3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false }),
    },
  ],
  avgPool2dBackprop: {
    make: (s) => [randn([1, 2, 2, 2], s), randn([1, 4, 4, 2], s + 1)],
    f: (dy, x) => convInternals.avgPool2dBackprop(dy, x, { kernelSize: 2 }),
    gradgrad: true,
  },
};
