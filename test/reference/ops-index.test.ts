// The indexing ops and einsum against PyTorch: the reference values and gradients in ops-index.json
// beside it (written in float64 by generate_ops_index.py, which needs torch; this suite does not).
// Each case's loss is Σ W∘output for the case's weights W. On cpu and wasm.
import * as assert from 'uvu/assert';
import * as tg from '../../src/index.js';
import { type Encoded, leaves, readReference, relError, compareOnEachBackend, WorstErrors } from './compare.js';

interface Case {
  op: string;
  label: string;
  args: Record<string, unknown>;
  inputs: Record<string, Encoded>;
  indices: Record<string, Encoded>;
  output: Encoded;
  weight?: Encoded;
  grads?: Record<string, Encoded>;
}
const reference = readReference<{ torch: string; cases: Case[] }>('ops-index.json');

type Args = Record<string, never>;
/** Each op called as tapegrad spells it, from the case's float inputs, indices and arguments. */
const OPS: Record<string, (x: Record<string, tg.Tensor>, i: Record<string, tg.Tensor>, a: Args) => tg.Tensor> = {
  flip: ({ x }, _i, a) => tg.flip(x, a.axes),
  roll: ({ x }, _i, a) => tg.roll(x, a.shifts, a.axes),
  tril: ({ x }, _i, a) => tg.tril(x, a.k),
  triu: ({ x }, _i, a) => tg.triu(x, a.k),
  diag: ({ x }, _i, a) => tg.diag(x, a.k),
  diagonal: ({ x }, _i, a) => tg.diagonal(x, a),
  swapAxes: ({ x }, _i, a) => tg.swapAxes(x, a.axis1, a.axis2),
  takeAlongAxis: ({ x }, { indices }, a) => tg.takeAlongAxis(x, indices, a.axis),
  scatterAlongAxis: ({ x, values }, { indices }, a) =>
    tg.scatterAlongAxis(x, indices, values, a.axis, { reduce: a.reduce as 'sum' | 'none' | undefined }),
  oneHot: (_x, { indices }, a) => tg.oneHot(indices, a.depth),
  stopGradient: ({ x }) => x.mul(tg.stopGradient(x)),
  einsum: (x, _i, a) =>
    tg.einsum(
      a.equation,
      ...Object.keys(x)
        .sort()
        .map((k) => x[k]),
    ),
};

/** max |tapegrad − PyTorch| over max(1, max |PyTorch|), float32 against float64. */
const VALUE_TOL = 1e-6;
const GRAD_TOL = 2e-6;
const error = (got: ArrayLike<number>, want: number[]) => relError(got, want, 1);

const worst = new WorstErrors();

compareOnEachBackend('indexing ops and einsum', reference, worst, (c) => {
  const inputs = leaves(c.inputs);
  const indices = Object.fromEntries(
    Object.entries(c.indices).map(([k, v]) => [k, tg.tensor(v.data, { shape: v.shape, dtype: 'int32' })]),
  );
  tg.tidy(() => {
    const out = OPS[c.op](inputs, indices, c.args as Args);
    assert.equal(out.shape, c.output.shape, 'the shape of the output');
    const e = worst.note(c.op, 'values', error(out.dataSync(), c.output.data));
    assert.ok(e < VALUE_TOL, `${c.op} ${c.label}: the output differs from PyTorch by ${e.toExponential(2)}`);
    if (c.weight)
      out
        .mul(tg.tensor(c.weight.data, { shape: c.weight.shape }))
        .sum()
        .backward();
  });
  for (const [k, ref] of Object.entries(c.grads ?? {})) {
    const e = worst.note(c.op, 'gradients', error(inputs[k].grad!.dataSync(), ref.data));
    assert.ok(e < GRAD_TOL, `${c.op} ${c.label}: ∂L/∂${k} differs from PyTorch by ${e.toExponential(2)}`);
  }
  for (const x of Object.values(inputs)) tg.dispose([x.grad!, x].filter(Boolean));
  tg.dispose(Object.values(indices));
});
