// tapegrad/testing: what the tests, examples, benchmarks and GPU scripts use beyond the public API —
// the seeded generator, the fused GPU kernels called directly (to compare them with their TF.js
// compositions), the switches that turn the fused kernels (and the SIMD Adam, gelu, dense matmul
// and transpose loops, and their helper thread) off, the webgpu dispatch cache's and replay's
// switches and counters, the choice of matmul tiles (timed on the device or set), and the switch
// between the webgpu factorizations' programs.
export { rng, normalSamples, type Random } from './random.js';
export { simulateWorkerFailure } from './backend/wasm-threads.js';
export { adamUpdate, adamUpdateReference, softmaxCrossEntropy, setFusedEnabled } from './backend/fused.js';
import { setFusedEnabled } from './backend/fused.js';
export { setAdamFloat32, setSimdAdam, setSharedAdamStep } from '../kernels/adam-multi-update.js';
import { setAdamFloat32, setSharedAdamStep } from '../kernels/adam-multi-update.js';
export { setGeluFloat32, setSimdGelu } from '../kernels/gelu.js';
export {
  setDenseColumnChunks,
  setDenseMatMul,
  setDenseTransposedA,
  setDenseTransposedB,
} from '../kernels/dense-matmul.js';
import { setDenseColumnChunks, setDenseTransposedA, setDenseTransposedB } from '../kernels/dense-matmul.js';
export { setSimdTranspose, setTransposePlanCache } from '../kernels/wasm-simd-transpose.js';
import { setTransposePlanCache } from '../kernels/wasm-simd-transpose.js';
export { setSimdConv } from '../kernels/wasm-simd-conv.js';
export { setSimdPad } from '../kernels/wasm-simd-pad.js';
export { setWinogradConv, setWinogradFilterGrad } from '../kernels/wasm-simd-winograd.js';
export { setHelperSpin, setHelperThread, setHelperWithdraw } from '../kernels/helper-thread.js';
import { setHelperWithdraw } from '../kernels/helper-thread.js';
export { setChunkSharing } from '../kernels/wasm-simd-module.js';
export { setDirectFusedMatMul, setNarrowLeftInPlace } from './backend/facts.js';
import { setDirectFusedMatMul } from './backend/facts.js';
export { setSimdRelu } from './backend/wasm-relu.js';
export { setSimdMaxPool } from './backend/wasm-max-pool.js';
export { setSharedGrads } from '../kernels/wasm-simd-grads.js';
export { setSharedBatchNorm } from '../kernels/wasm-simd-batch-norm.js';
export { setSharedGradientHandles } from './backward.js';
import { setFlatStepStructure, setLeanStepBookkeeping } from './optim/optimizer.js';
export { setFlatStepStructure, setLeanStepBookkeeping };
export { dispatchCacheStats, setDispatchCacheEnabled } from '../kernels/webgpu-dispatch.js';
export { setWebGPUReplayEnabled, webgpuReplayCounters } from '../kernels/webgpu-replay.js';
export { setCholeskyProductTriangle, setGpuFactorPath, type GpuFactorPath } from '../kernels/common.js';
export {
  MATMUL_TILES,
  matMulSizeClass,
  matMulTileName,
  matMulTiles,
  setMatMulKernelEnabled,
  setMatMulSubgroups,
  setMatMulTile,
  setMatMulTiles,
  type MatMulTile,
  type TiledSizeClass,
} from '../kernels/webgpu-matmul.js';
export {
  MATMUL_CANDIDATES,
  MATMUL_TUNE_SHAPES,
  tuneMatMul,
  webgpuAdapter,
  type MatMulTuneOptions,
  type MatMulTuneResult,
  type MatMulTuning,
} from '../kernels/webgpu-matmul-tune.js';

/** The small steps' levers by name, each a switch (on by default), for benchmarks/small-steps.ts and the tests. */
export const smallStepLevers: Record<string, (on: boolean) => void> = {
  stepBookkeeping: setLeanStepBookkeeping,
  stepStructure: setFlatStepStructure,
  transposePlans: setTransposePlanCache,
  adamSharedStep: setSharedAdamStep,
  transposedLeftInPlace: setDenseTransposedA,
  transposedRightInPlace: setDenseTransposedB,
  helperWithdraw: setHelperWithdraw,
  denseColumnChunks: setDenseColumnChunks,
  directFusedMatMul: setDirectFusedMatMul,
};

/**
 * The small steps' levers that change the arithmetic (on by default), each a switch: their steps
 * differ in the last bits off and on (benchmarks/small-steps.ts times them beside the others).
 */
export const arithmeticLevers: Record<string, (on: boolean) => void> = {
  adamFloat32: setAdamFloat32,
  columnSum: (on) => setFusedEnabled(on, 'columnSum'),
};
