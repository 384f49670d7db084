// The linear-algebra kernels TF.js lacks, and the one function that registers them.
import * as tf from '@tensorflow/tfjs-core';
import { luConfigs, LINALG_LU } from './lu.js';
import { choleskyConfigs, LINALG_CHOLESKY } from './cholesky.js';
import { triangularSolveConfigs, LINALG_TRIANGULAR_SOLVE, type TriangularSolveAttrs } from './triangular-solve.js';
import { qrConfigs, LINALG_QR } from './qr.js';
import { eighConfigs, LINALG_EIGH } from './eigh.js';
import { svdConfigs, LINALG_SVD } from './svd.js';
import { matrixExpConfigs, LINALG_MATRIX_EXP } from './matrix-exp.js';

export {
  LINALG_LU,
  LINALG_CHOLESKY,
  LINALG_TRIANGULAR_SOLVE,
  LINALG_QR,
  LINALG_EIGH,
  LINALG_SVD,
  LINALG_MATRIX_EXP,
  type TriangularSolveAttrs,
};

let registered = false;

/**
 * Registers LinalgLu, LinalgCholesky, LinalgTriangularSolve, LinalgQr, LinalgEigh, LinalgSvd and
 * LinalgMatrixExp for cpu, wasm, webgl and webgpu (whichever of those backends are loaded later). Idempotent; src/linalg calls it once.
 */
export function registerLinalgKernels(): void {
  if (registered) return;
  registered = true;
  for (const config of [
    ...luConfigs,
    ...choleskyConfigs,
    ...triangularSolveConfigs,
    ...qrConfigs,
    ...eighConfigs,
    ...svdConfigs,
    ...matrixExpConfigs,
  ]) {
    // Another copy of tapegrad in the same process may have registered them first.
    if (!tf.getKernel(config.kernelName, config.backendName)) tf.registerKernel(config);
  }
}
