// tg.linalg: the linear algebra TF.js lacks (inv, det, slogdet, solve, cholesky, triangularSolve,
// lu, qr, eigh, svd, svdvals, pinv, lstsq, matrixNorm, matrixExp, matrixPower), batched over leading
// axes, each with its adjoint. The factorizations run as custom TF.js
// kernels (kernels/), registered here, once, when this module is first imported.
import { registerLinalgKernels } from '../../kernels/index.js';
registerLinalgKernels();

export { inv } from './inv.js';
export { det, slogdet } from './det.js';
export { solve } from './solve.js';
export { cholesky, type CholeskyOptions } from './cholesky.js';
export { triangularSolve, type TriangularSolveOptions } from './triangular.js';
export { lu, type LUResult } from './lu.js';
export { qr, type QRResult } from './qr.js';
export { eigh, type EighResult } from './eigh.js';
export { svd, svdvals, type SVDResult } from './svd.js';
export { pinv, lstsq, type PinvOptions } from './pinv.js';
export { matrixNorm, matrixExp, matrixPower, type MatrixNormOrder } from './matrix-functions.js';
