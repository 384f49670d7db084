// tapegrad's public API, re-exported in one place. The entry points (index.ts for Node, browser.ts
// for bundlers) add the start of the default backend; this module starts nothing.
export { Tensor, type DType, type TensorLike } from './tensor.js';
export { TapegradError } from './errors.js';
export { getBackend, listBackends, type BackendName, type BackendInfo } from './backend/index.js';
export { ready, setBackend } from './start.js';
export { noGrad, isGradEnabled } from './tape.js';
export { gradients, type BackwardOptions } from './backward.js';
export type { GradHook } from './tensor.js';
export { defineOp, type OpRule, type Op, type Thunk } from './op.js';
export {
  tensor,
  scalar,
  zeros,
  ones,
  full,
  zerosLike,
  onesLike,
  eye,
  randn,
  rand,
  arange,
  linspace,
  type TensorOptions,
} from './creation.js';
export { tidy, memory, keep, dispose } from './memory.js';
export { grad, valueAndGrad, vjp, customOp } from './functional.js';
export { jacobian, jvp, hessian, hvp, type JacobianOptions } from './transforms.js';
export { gradcheck, gradgradcheck, type GradcheckReport, type GradcheckOptions } from './gradcheck.js';
// ops: free functions (chainable methods on Tensor for the common ones); `registry` lists every
// differentiable primitive with its rule
export {
  neg,
  abs,
  sign,
  exp,
  log,
  log1p,
  expm1,
  sqrt,
  rsqrt,
  square,
  reciprocal,
  sin,
  cos,
  tan,
  tanh,
  sigmoid,
  relu,
  leakyRelu,
  elu,
  softplus,
  erf,
  gelu,
  clip,
  add,
  sub,
  mul,
  div,
  pow,
  maximum,
  minimum,
  where,
  greater,
  greaterEqual,
  less,
  lessEqual,
  equal,
  notEqual,
  logicalAnd,
  logicalOr,
  logicalNot,
  cast,
  isFinite,
  sum,
  mean,
  prod,
  max,
  min,
  logSumExp,
  variance,
  norm,
  argmax,
  argmin,
  type ReduceOptions,
  type ArgOptions,
  reshape,
  expandDims,
  squeeze,
  transpose,
  broadcastTo,
  tile,
  slice,
  pad,
  concat,
  stack,
  split,
  gather,
  scatterAdd,
  matmul,
  linear,
  matrixTranspose,
  dot,
  outer,
  trace,
  quadForm,
  bilinear,
  softmax,
  logSoftmax,
  crossEntropy,
  mseLoss,
  l1Loss,
  type Reduction,
  type CrossEntropyOptions,
  conv2d,
  maxPool2d,
  avgPool2d,
  type Conv2dOptions,
  type Pool2dOptions,
} from './ops/index.js';
export { registry, type OpName } from './registry.js';
export * as linalg from './linalg/index.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export * as data from './data/index.js';
export { detectAnomaly, setDetectAnomaly, isAnomalyEnabled } from './anomaly.js';
export { explain, toDot, type Explanation, type ExplainRow } from './explain.js';
