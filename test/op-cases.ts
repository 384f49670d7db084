// One gradient-check case per differentiable primitive in tg.registry. The table is typed
// Record<OpName, OpCase>, so registering an op without a case here fails to compile; the ops
// suite also compares the keys at run time. Families other than the core keep their cases in
// their own files (op-cases-*.ts), merged below.
import type * as tg from '../src/index.js';
import type { OpName } from '../src/ops/index.js';

export interface OpCase {
  /** Small inputs for the full check (every entry perturbed). `seed` varies the draw. */
  make: (seed: number) => tg.Tensor[];
  /** The function checked; it may return any shape (full mode checks the whole Jacobian). */
  f: (...xs: tg.Tensor[]) => tg.Tensor;
  /** Larger inputs for the fast (random-direction) check. Defaults to `make`. */
  makeLarge?: (seed: number) => tg.Tensor[];
  /** Also run gradgradcheck (every op that is twice differentiable at the inputs drawn). */
  gradgrad?: boolean;
  /** Tolerances when the defaults are too tight for this op in float32 (say why). */
  tol?: { atol?: number; rtol?: number };
}

export type CaseTable<K extends string> = Record<K, OpCase | OpCase[]>;
