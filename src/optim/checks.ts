// The checks of the optimizers' and schedules' number options: each returns the value, or throws a
// TapegradError naming the option and what it got.
import { TapegradError } from '../errors.js';
import { describe } from '../op.js';

/** A positive-or-zero number option, or a clear error. */
export function nonNegative(fn: string, what: string, v: number): number {
  if (!(typeof v === 'number' && v >= 0 && Number.isFinite(v)))
    throw new TapegradError(fn, `${what} must be a non-negative number, got ${v}`);
  return v;
}

/** A positive number option, or a clear error. */
export function positiveNumber(fn: string, what: string, v: number): number {
  if (!(typeof v === 'number' && v > 0 && Number.isFinite(v)))
    throw new TapegradError(fn, `${what} must be a positive number, got ${v}`);
  return v;
}

/** A positive integer option (a number of steps), or a clear error. */
export function positiveInteger(fn: string, what: string, v: number): number {
  if (!(Number.isInteger(v) && v > 0)) throw new TapegradError(fn, `${what} must be a positive integer, got ${v}`);
  return v;
}

/** A pair of betas in [0, 1), or a clear error. */
export function checkBetas(fn: string, betas: unknown): [number, number] {
  if (!Array.isArray(betas) || betas.length !== 2)
    throw new TapegradError(fn, `betas must be a pair of numbers in [0, 1), got ${describe(betas)}`);
  betas.forEach((b, i) => {
    if (!(typeof b === 'number' && b >= 0 && b < 1))
      throw new TapegradError(fn, `betas[${i}] must be in [0, 1), got ${b}`);
  });
  return [betas[0], betas[1]];
}
