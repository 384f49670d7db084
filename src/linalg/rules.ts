// The differentiable linear-algebra primitives, merged into tg.registry by registry.ts.
import { invRule } from './inv.js';
import { detRule, slogdetRule } from './det.js';
import { solveRule } from './solve.js';
import { choleskyRule } from './cholesky.js';
import { triangularSolveRule } from './triangular.js';
import { luRule } from './lu.js';
import { qrRule } from './qr.js';
import { eighRule } from './eigh.js';
import { svdRule } from './svd.js';
import { pinvRule } from './pinv.js';
import { matrixExpRule } from './matrix-functions.js';

export const linalgRules = {
  inv: invRule,
  det: detRule,
  slogdet: slogdetRule,
  solve: solveRule,
  cholesky: choleskyRule,
  triangularSolve: triangularSolveRule,
  lu: luRule,
  qr: qrRule,
  eigh: eighRule,
  svd: svdRule,
  pinv: pinvRule,
  matrixExp: matrixExpRule,
};
