// Cases the fuzzer once failed on, kept so that they run on every `npm test` (each was shrunk by
// scripts/fuzz.ts; the comment says what was wrong and where it was fixed).
import type { Case } from './gen.js';

const leaf = (rank: number, ones = 0) => ({ leaf: [rank, ones], reuse: 0 });

export const REGRESSIONS: { what: string; c: Case }[] = [
  // tf.oneHot refuses depth 1, so every LU-based op failed on a 1×1 matrix (src/linalg/common.ts)
  ...(['inv', 'det', 'slogdet', 'solve', 'lu'] as const).map((op) => ({ what: `linalg.${op} of a 1×1 matrix`, c: { base: [1, 1, 1], seed: 0, expr: { op, args: [leaf(0), leaf(0)], p: [0, 0, 0] } } })),
  // the wasm backend's conv2d returned zeros for 'same' padding, stride 2, a [2,1] filter (src/ops/conv.ts)
  { what: "conv2d 'same', stride 2, [2,1] filter on wasm", c: { base: [2, 2, 1], seed: 0, expr: { op: 'conv2d', args: [leaf(3), leaf(0)], p: [35, 46, 45] } } },
];
