// Cases the fuzzer once failed on, kept so that they run on every `npm test` (each was shrunk by
// scripts/fuzz.ts; the comment says what was wrong and where it was fixed).
import type { Case } from './gen.js';

const leaf = (rank: number, ones = 0) => ({ leaf: [rank, ones], reuse: 0 });

export const REGRESSIONS: { what: string; c: Case }[] = [
  // tf.oneHot refuses depth 1, so every LU-based op failed on a 1×1 matrix (src/linalg/common.ts)
  ...(['inv', 'det', 'slogdet', 'solve', 'lu'] as const).map((op) => ({
    what: `linalg.${op} of a 1×1 matrix`,
    c: { base: [1, 1, 1], seed: 0, expr: { op, args: [leaf(0), leaf(0)], p: [0, 0, 0] } },
  })),
  // the wasm backend's conv2d returned zeros for 'same' padding, stride 2, a [2,1] filter (src/ops/conv.ts)
  {
    what: "conv2d 'same', stride 2, [2,1] filter on wasm",
    c: { base: [2, 2, 1], seed: 0, expr: { op: 'conv2d', args: [leaf(3), leaf(0)], p: [35, 46, 45] } },
  },
  // second order of tile after a 1×1 avgPool2d on wasm: tile's adjoint adds at rank 8, which wasm's
  // XNNPACK refuses, leaving the output unwritten (3.6e−41 for 1; src/backend/wasm-unwritten-output.ts)
  {
    what: 'second order of dot(tile(avgPool2d(x0)), x1) on wasm',
    c: {
      base: [1, 1, 1],
      seed: 0,
      order: 2,
      expr: {
        op: 'dot',
        p: [0, 0, 0],
        args: [
          { op: 'tile', p: [0, 0, 0], args: [{ op: 'avgPool2d', p: [0, 0, 0], args: [leaf(0), leaf(0)] }, leaf(0)] },
          leaf(0),
        ],
      },
    },
  },
];
