// Gradient-check cases for the indexing ops (src/ops/indexing.ts) and einsum (src/ops/einsum.ts),
// merged into `cases` and `compositeCases` in op-cases.ts. Every op here is linear in its float
// operands, so the second-order checks are cheap; squares after some make the check non-trivial
// (a linear map's Jacobian is the same everywhere).
import * as tg from '../src/index.js';
import type * as indexing from '../src/ops/indexing.js';
import type * as einsumOps from '../src/ops/einsum.js';
import type { RulesOf } from '../src/registry.js';
import type { CaseTable, OpCase } from './op-cases.js';

const randn = (shape: number[], seed: number) => tg.randn(shape, { seed });
const ints = (values: number[], shape: number[]) => tg.tensor(values, { dtype: 'int32', shape });

type IndexingOp = keyof RulesOf<typeof indexing> | keyof RulesOf<typeof einsumOps>;

/** An einsum case: operands of the given shapes. */
function einsumCase(equation: string, shapes: number[][], extra: Partial<OpCase> = {}): OpCase {
  return {
    make: (s) => shapes.map((shape, i) => randn(shape, s + i)),
    f: (...xs) => tg.einsum(equation, ...xs),
    ...extra,
  };
}

export const indexingCases: CaseTable<IndexingOp> = {
  flip: [
    { make: (s) => [randn([2, 3], s)], f: (x) => tg.flip(x, 1), gradgrad: true },
    {
      make: (s) => [randn([2, 2, 2], s)],
      makeLarge: (s) => [randn([4, 8, 6], s)],
      f: (x) => tg.flip(x, [0, -1]).mul(x),
      gradgrad: true,
    },
  ],
  roll: [
    { make: (s) => [randn([2, 3], s)], f: (x) => tg.roll(x, [1, -2], [0, 1]), gradgrad: true },
    // without axes: the flattened tensor rolls
    { make: (s) => [randn([2, 3], s)], makeLarge: (s) => [randn([6, 7], s)], f: (x) => x.roll(4).mul(x) },
  ],
  tril: [
    { make: (s) => [randn([3, 3], s)], f: (x) => tg.tril(x), gradgrad: true },
    { make: (s) => [randn([2, 2, 3], s)], f: (x) => x.tril(-1).square() },
  ],
  triu: [
    { make: (s) => [randn([3, 3], s)], f: (x) => tg.triu(x, 1), gradgrad: true },
    { make: (s) => [randn([2, 3, 2], s)], f: (x) => x.triu().square() },
  ],
  diag: [
    { make: (s) => [randn([3], s)], f: (v) => tg.diag(v), gradgrad: true },
    { make: (s) => [randn([2], s)], f: (v) => tg.diag(v, -2).square() },
  ],
  diagonal: [
    { make: (s) => [randn([3, 3], s)], f: (x) => tg.diagonal(x), gradgrad: true },
    {
      make: (s) => [randn([2, 3, 4], s)],
      makeLarge: (s) => [randn([4, 5, 6], s)],
      f: (x) => x.diagonal({ offset: 1, axis1: 0, axis2: 2 }).square(),
    },
    { make: (s) => [randn([3, 2], s)], f: (x) => tg.diagonal(x, { offset: -1 }).mul(3), gradgrad: true },
  ],
  takeAlongAxis: [
    // repeated indices along axis 0: their gradients add up
    {
      make: (s) => [randn([3, 2], s), ints([0, 2, 0, 0, 1, 2, 2, 2], [4, 2])],
      f: (x, i) => tg.takeAlongAxis(x, i, 0),
      gradgrad: true,
    },
    // indices smaller than x on the other axis (as torch.gather allows)
    { make: (s) => [randn([3, 4], s), ints([3, 1, 1, 0], [2, 2])], f: (x, i) => x.takeAlongAxis(i, -1).square() },
  ],
  scatterAlongAxis: [
    {
      make: (s) => [randn([2, 3], s), ints([0, 2, 1, 0], [2, 2]), randn([2, 2], s + 1)],
      f: (x, i, v) => tg.scatterAlongAxis(x, i, v, 1),
      gradgrad: true,
    },
    // 'sum' with repeated indices, and values larger than the indices (only their part is used)
    {
      make: (s) => [randn([3, 2], s), ints([0, 0, 2, 0], [2, 2]), randn([2, 3], s + 1)],
      f: (x, i, v) => tg.scatterAlongAxis(x, i, v, 0, { reduce: 'sum' }).square(),
      gradgrad: true,
    },
  ],
  einsum: [
    einsumCase(
      'ij,jk->ik',
      [
        [2, 3],
        [3, 2],
      ],
      { gradgrad: true },
    ),
    // the trace and the diagonal: repeated letters in one operand
    einsumCase('ii', [[3, 3]], { gradgrad: true }),
    einsumCase(
      'ii,ij->j',
      [
        [2, 2],
        [2, 3],
      ],
      { gradgrad: true },
    ),
    // batched matmul, implicit output
    einsumCase('bij,bjk', [
      [2, 2, 3],
      [2, 3, 2],
    ]),
    // '...' broadcasting: batch [2, 1] against [3]
    einsumCase(
      '...ij,...jk->...ik',
      [
        [2, 1, 1, 2],
        [3, 2, 2],
      ],
      { gradgrad: true },
    ),
    // an outer product, a letter summed in one operand alone, a transpose
    einsumCase('i,j->ij', [[2], [3]]),
    einsumCase('ij,k->jk', [[2, 3], [2]]),
  ],
};

/** Public functions composed from the ops above (swapAxes is a transpose; diag of a matrix is diagonal). */
export const indexingCompositeCases: Record<string, OpCase | OpCase[]> = {
  swapAxes: [
    { make: (s) => [randn([2, 3, 2], s)], f: (x) => tg.swapAxes(x, 0, 2) },
    { make: (s) => [randn([2, 3], s)], f: (x) => x.swapAxes(-1, 0).square() },
  ],
  'diag of a matrix': { make: (s) => [randn([3, 4], s)], f: (x) => tg.diag(x, 1).square() },
  'einsum of three operands': einsumCase('ij,jk,kl->il', [
    [2, 3],
    [3, 2],
    [2, 2],
  ]),
  'einsum with a broadcast letter': einsumCase('ij,jk->ik', [
    [2, 1],
    [3, 2],
  ]),
};
