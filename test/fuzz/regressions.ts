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
  // wasm's GatherV2 of an empty x gave a wrong shape ([1,1,0,2] for [0,2] by [0]), so gather's
  // adjoint refused the gradient, and the variance of a [0,3,3] over axis 1 trapped the wasm module (an
  // integer division by zero in its reductions): wasm kernels given empty inputs now run on cpu
  // (src/backend/wasm-unwritten-output.ts, goesToCpu); both found by the empty-axis fuzzer
  {
    what: 'the variance of a transposed [3,3,0] over its axis 1, on wasm',
    c: {
      base: [0, 3, 3],
      seed: 440121,
      expr: { op: 'variance', args: [{ leaf: [3, 0], reuse: 0, view: 1 }, leaf(0)], p: [25, 151, 2] },
    },
  },
  {
    what: 'gather from an empty [0,2] along its axis of length 2, on wasm',
    c: { base: [1, 0, 2], seed: 0, expr: { op: 'gather', args: [leaf(2), leaf(0)], p: [1, 0, 0] } },
  },
  // gradcheck's fast mode compared an input with no entries against the NaN of its stencil where f
  // is the mean of nothing (src/gradcheck.ts); found by the empty-axis fuzzer
  {
    what: 'gradcheck of the mean of an empty vector',
    c: { base: [1, 1, 0], seed: 0, expr: { op: 'mean', args: [leaf(1), leaf(0)], p: [0, 0, 0] } },
  },
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
