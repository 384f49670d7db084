// The registry of differentiable primitives: every op family's table of rules, linalg's included.
// The gradcheck suite iterates it, so that an op without a gradient check fails it.
import type { OpRule } from './tensor.js';
import { elementwiseRules } from './ops/elementwise.js';
import { reduceRules } from './ops/reduce.js';
import { shapeRules } from './ops/shape.js';
import { matrixRules } from './ops/matrix.js';
import { nnRules } from './ops/nn.js';
import { convRules } from './ops/conv.js';
import { formsRules } from './ops/forms.js';
import { linalgRules } from './linalg/rules.js';

/** Every differentiable primitive, by name. */
export const registry = {
  ...elementwiseRules,
  ...reduceRules,
  ...shapeRules,
  ...matrixRules,
  ...nnRules,
  ...convRules,
  ...formsRules,
  ...linalgRules,
} satisfies Record<string, OpRule<any>>;
export type OpName = keyof typeof registry;
