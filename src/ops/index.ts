// Every op family's free functions, in one place, and the chainable methods they install on Tensor.
import './methods.js';

export * from './elementwise.js';
export * from './reduce.js';
export * from './scan.js';
export * from './sort.js';
export * from './shape.js';
export * from './matrix.js';
export * from './nn.js';
export {
  conv2d,
  maxPool2d,
  avgPool2d,
  type Conv2dOptions,
  type Pool2dOptions,
  conv1d,
  convTranspose2d,
  adaptiveAvgPool2d,
  interpolate,
  type Conv1dOptions,
  type ConvTranspose2dOptions,
  type InterpolateOptions,
} from './conv.js';
export * from './forms.js';
export * from './indexing.js';
export * from './einsum.js';
export { zerosLike, onesLike, toTensor } from '../creation.js';
