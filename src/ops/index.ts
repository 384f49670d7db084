// Every op, and the registry of differentiable primitives: a table the gradcheck suite iterates,
// so that an op without a gradient check fails it.
import type { OpRule } from '../op.js';
import { elementwiseRules } from './elementwise.js';
import { reduceRules } from './reduce.js';
import { shapeRules } from './shape.js';
import { matrixRules } from './matrix.js';
import { nnRules } from './nn.js';
import { convRules } from './conv.js';
import { formsRules } from './forms.js';
import { linalgRules } from '../linalg/rules.js';

export * from './elementwise.js';
export * from './reduce.js';
export * from './shape.js';
export * from './matrix.js';
export * from './nn.js';
export { conv2d, maxPool2d, avgPool2d, type Conv2dOptions, type Pool2dOptions } from './conv.js';
export * from './forms.js';
export { zerosLike, onesLike, toTensor } from '../creation.js';

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
