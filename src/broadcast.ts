// NumPy broadcasting: the shape two operands broadcast to, and the sum that undoes it in backward.
import { TapegradError, fmtShape } from './errors.js';
import type { Tensor } from './tensor.js';
import { sum, reshape } from './ops/index.js';

/** The broadcast shape of several shapes, or an error naming the op and the shapes. */
export function broadcastShapes(fn: string, ...shapes: readonly number[][]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const k = s[s.length - rank + i] ?? 1;
      if (k === 1) continue;
      if (d !== 1 && d !== k) {
        throw new TapegradError(fn, `shapes ${shapes.map(fmtShape).join(' and ')} cannot be broadcast together`);
      }
      d = k;
    }
    out.push(d);
  }
  return out;
}

/** Sums g (of a broadcast shape) back to `shape`: over the leading axes it gained and the axes where shape has 1. */
export function unbroadcast(g: Tensor, shape: readonly number[]): Tensor {
  if (g.shape.join() === shape.join()) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  g.shape.forEach((d, i) => {
    if (i < lead || (shape[i - lead] === 1 && d !== 1)) axes.push(i);
  });
  const summed = axes.length ? sum(g, { axis: axes, keepDims: true }) : g;
  return reshape(summed, [...shape]);
}
