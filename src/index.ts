// tapegrad's public API, re-exported in one place.
import { initDefaultBackend } from './backend.js';

export { Tensor, type DType, type TensorLike } from './tensor.js';
export { TapegradError } from './errors.js';
export { setBackend, getBackend, listBackends, type BackendName, type BackendInfo } from './backend.js';
export { noGrad, isGradEnabled, gradients, type BackwardOptions, type GradHook } from './tape.js';
export { defineOp, type OpRule, type Op, type Thunk } from './op.js';
export { tensor, scalar, zeros, ones, full, zerosLike, onesLike, eye, randn, rand, arange, linspace, type TensorOptions } from './creation.js';
export { tidy, memory, keep, dispose } from './memory.js';
export { grad, valueAndGrad, vjp, customOp } from './functional.js';
export { jacobian, jvp, hessian, hvp, type JacobianOptions } from './transforms.js';
export { gradcheck, gradgradcheck, type GradcheckReport, type GradcheckOptions } from './gradcheck.js';
export * from './ops/index.js';
export * as linalg from './linalg/index.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export { detectAnomaly, setDetectAnomaly, isAnomalyEnabled } from './anomaly.js';
export { explain, toDot, type Explanation, type ExplainRow } from './explain.js';

// Pick the default backend (wasm in Node) before the first op can run.
await initDefaultBackend();
