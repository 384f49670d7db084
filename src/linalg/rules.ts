// The differentiable linear-algebra primitives, merged into tg.registry by registry.ts.
import { invRule } from './inv.js';
import { detRule, slogdetRule } from './det.js';
import { solveRule } from './solve.js';
import { choleskyRule } from './cholesky.js';
import { triangularSolveRule } from './triangular.js';
import { luRule } from './lu.js';

export const linalgRules = {
  inv: invRule,
  det: detRule,
  slogdet: slogdetRule,
  solve: solveRule,
  cholesky: choleskyRule,
  triangularSolve: triangularSolveRule,
  lu: luRule,
};
