// triangularSolve(T, B): X = op(T)⁻¹·B for triangular T [..., n, n], op(T) = T or Tᵀ; batch axes broadcast.
import { defineOp, type Op } from '../op.js';
import type { Tensor } from '../tensor.js';
import { neg } from '../ops/elementwise.js';
import { mm } from '../ops/matrix.js';
import { unbroadcast } from '../ops/shape.js';
import { triangularSolveKernel, squareMatrix, rightHandSide, triangle, onColumns } from './common.js';
import type { TriangularSolveAttrs } from '../../kernels/index.js';
import { checkOptions } from '../errors.js';

const triangularSolveOp: Op<TriangularSolveAttrs> = defineOp<TriangularSolveAttrs>({
  name: 'linalg.triangularSolve',
  forward: ([t, b], attrs) => triangularSolveKernel(t, b, attrs),
  // X = op(T)⁻¹B: B̄ = op(T)⁻ᵀG; T̄ = −tri(B̄Xᵀ), or −tri(XB̄ᵀ) when op(T) = Tᵀ (only T's triangle is read)
  vjp: (g, [t, b], x, attrs) => {
    let bBar: Tensor | undefined;
    const getBBar = () => (bBar ??= triangularSolveOp([t, g], { ...attrs, transpose: !attrs.transpose }));
    const kind = attrs.lower
      ? attrs.unitDiagonal
        ? 'strictLower'
        : 'lower'
      : attrs.unitDiagonal
        ? 'strictUpper'
        : 'upper';
    return [
      () =>
        unbroadcast(
          neg(triangle(attrs.transpose ? mm(x, getBBar(), false, true) : mm(getBBar(), x, false, true), kind)),
          t.shape,
        ),
      () => unbroadcast(getBBar(), b.shape),
    ];
  },
});

/** Options of triangularSolve: lower or upper triangle, transposed, unit diagonal. */
export interface TriangularSolveOptions {
  /** T is lower triangular (default); else upper. The other triangle is never read. */
  lower?: boolean;
  /** Solve Tᵀ·X = B instead of T·X = B. */
  transpose?: boolean;
  /** Take T's diagonal to be all ones (it is not read), as for the L of a packed LU. */
  unitDiagonal?: boolean;
}

/**
 * X with op(T)·X = B, where T [..., n, n] is triangular and op(T) is T, or Tᵀ with `transpose`.
 * B is [..., n, k] (batch axes broadcast against T's) or a vector [n]. A zero on T's diagonal gives
 * Inf/NaN, as LAPACK's trsm does.
 * PyTorch `torch.linalg.solve_triangular`, JAX `jax.scipy.linalg.solve_triangular`.
 */
export function triangularSolve(t: Tensor, b: Tensor, opts: TriangularSolveOptions = {}): Tensor {
  checkOptions('linalg.triangularSolve', opts, ['lower', 'transpose', 'unitDiagonal']);
  const T = squareMatrix('linalg.triangularSolve', t, 'the triangular matrix');
  const B = rightHandSide('linalg.triangularSolve', T, b);
  const attrs = {
    lower: opts.lower ?? true,
    transpose: opts.transpose ?? false,
    unitDiagonal: opts.unitDiagonal ?? false,
  };
  return onColumns(B, (b2) => triangularSolveOp([T, b2], attrs));
}

export const triangularSolveRule = triangularSolveOp.rule;
