// tapegrad's public API, re-exported in one place. The entry points (index.ts for Node, browser.ts
// for bundlers) add the start of the default backend; this module starts nothing.
export { Tensor, type DType, type TensorLike, type NestedArray } from './tensor.js';
export { TapegradError } from './errors.js';
export { resultType, promoteTypes } from './dtypes.js';
export { getBackend, listBackends, type BackendName, type BackendInfo } from './backend/index.js';
export { ready, setBackend } from './start.js';
export { setThreads, getThreads } from './backend/wasm-threads.js';
export { noGrad, isGradEnabled } from './tape.js';
export { gradients, type BackwardOptions } from './backward.js';
export type { GradHook } from './tensor.js';
export {
  defineOp,
  type OpRule,
  type Op,
  type MultiOutputRule,
  type MultiOutputOp,
  type Thunk,
} from './op.js';
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
export {
  grad,
  valueAndGrad,
  vjp,
  customOp,
  type CustomOpSpec,
  type CustomMultiOutputOpSpec,
} from './functional.js';
export { jacobian, jvp, hessian, hvp, type JacobianOptions } from './transforms.js';
export { compile, type Compiled } from './compile.js';
export { gradcheck, gradgradcheck, type GradcheckReport, type GradcheckOptions } from './gradcheck.js';
// ops: the free functions, listed by family in ops/index.ts (chainable methods on Tensor for the
// common ones); `registry` lists every differentiable primitive with its rule
export * from './ops/index.js';
export { registry, type OpName } from './registry.js';
export * as linalg from './linalg/index.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export * as data from './data/index.js';
export { detectAnomaly, setDetectAnomaly, isAnomalyEnabled } from './anomaly.js';
export { explain, toDot, type Explanation, type ExplainRow } from './explain.js';
