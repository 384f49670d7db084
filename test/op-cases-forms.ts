// Gradient-check cases for the appendix's forms (src/ops/forms.ts), merged into `cases` in
// op-cases.ts: unbatched, batched, and batch dimensions that broadcast against each other.
import * as tg from '../src/index.js';
import type * as forms from '../src/ops/forms.js';
import type { RulesOf } from '../src/registry.js';
import type { CaseTable } from './op-cases.js';

const randn = (shape: number[], seed: number) => tg.randn(shape, { seed });

export const formsCases: CaseTable<keyof RulesOf<typeof forms>> = {
  quadForm: [
    { make: (s) => [randn([4], s), randn([4, 4], s + 1)], f: (x, A) => tg.quadForm(x, A), gradgrad: true },
    // x batch [2] against A batch [3, 1]: output [3, 2]; gradients summed back over the broadcast
    { make: (s) => [randn([2, 3], s), randn([3, 1, 3, 3], s + 1)], f: (x, A) => tg.quadForm(x, A), gradgrad: true },
    {
      make: (s) => [randn([3], s), randn([2, 3, 3], s + 1)],
      f: (x, A) => tg.quadForm(x, A),
      makeLarge: (s) => [randn([8, 32], s), randn([8, 32, 32], s + 1)],
    },
  ],
  bilinear: [
    {
      make: (s) => [randn([3], s), randn([3, 4], s + 1), randn([4], s + 2)],
      f: (y, A, x) => tg.bilinear(y, A, x),
      gradgrad: true,
    },
    // y batch [2, 1], A batch [3], x unbatched: output [2, 3]
    {
      make: (s) => [randn([2, 1, 2], s), randn([3, 2, 3], s + 1), randn([3], s + 2)],
      f: (y, A, x) => tg.bilinear(y, A, x),
      gradgrad: true,
    },
    {
      make: (s) => [randn([2, 3], s), randn([3, 2], s + 1), randn([2, 2], s + 2)],
      f: (y, A, x) => tg.bilinear(y, A, x),
      makeLarge: (s) => [randn([4, 24], s), randn([24, 40], s + 1), randn([4, 40], s + 2)],
    },
  ],
};
