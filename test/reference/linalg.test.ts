// tg.linalg against PyTorch: the reference values and gradients in linalg.json beside it (written
// in float64 by generate_linalg.py, which needs torch; this suite does not).
// Each case's loss Σ W∘output uses outputs that no sign choice of eigenvectors or singular vectors
// changes, so tapegrad and LAPACK's conventions need not agree. On cpu and wasm.
import * as assert from 'uvu/assert';
import * as tg from '../../src/index.js';
import { type Encoded, leaves, readReference, relError, compareOnEachBackend, WorstErrors } from './compare.js';

interface Case {
  op: string;
  label: string;
  inputs: Record<string, Encoded>;
  outputs: Record<string, Encoded>;
  weights: Record<string, Encoded>;
  grads: Record<string, Encoded>;
}
const reference = readReference<{ torch: string; cases: Case[] }>('linalg.json');

/** X·diag(1, 2, …)·Yᵀ, as the generator computes it. */
const weighted = (x: tg.Tensor, yt: tg.Tensor) => x.mul(tg.arange(1, x.shape[x.rank - 1] + 1)).matmul(yt);

/** The outputs of each op, named as in the JSON. */
const OPS: Record<string, (x: Record<string, tg.Tensor>) => Record<string, tg.Tensor>> = {
  qr: ({ A }) => ({ ...tg.linalg.qr(A) }),
  eigh: ({ A }) => {
    const { values, vectors } = tg.linalg.eigh(A);
    return { values, projection: weighted(vectors, tg.matrixTranspose(vectors)) };
  },
  svd: ({ A }) => {
    const { U, S, Vh } = tg.linalg.svd(A);
    return { S, product: weighted(U, Vh) };
  },
  svdvals: ({ A }) => ({ S: tg.linalg.svdvals(A) }),
  pinv: ({ A }) => ({ P: tg.linalg.pinv(A) }),
  'pinv.rtol=0.01': ({ A }) => ({ P: tg.linalg.pinv(A, { rtol: 0.01 }) }),
  'pinv.atol=0.5': ({ A }) => ({ P: tg.linalg.pinv(A, { atol: 0.5 }) }),
  'pinv.hermitian': ({ A }) => ({ P: tg.linalg.pinv(A, { hermitian: true }) }),
  'pinv.hermitian,rtol=0.1': ({ A }) => ({ P: tg.linalg.pinv(A, { hermitian: true, rtol: 0.1 }) }),
  // tolerance tensors: made in the caller's tidy, freed with the loss's intermediates
  'pinv.atol=[2.5,0.5]': ({ A }) => ({ P: tg.linalg.pinv(A, { atol: tg.tensor([2.5, 0.5]) }) }),
  'pinv.atol=-1,rtol=[0.01,0.3]': ({ A }) => ({ P: tg.linalg.pinv(A, { atol: -1, rtol: tg.tensor([0.01, 0.3]) }) }),
  'pinv.hermitian,rtol=[[0.1],[0.5]]': ({ A }) => ({
    P: tg.linalg.pinv(A, { hermitian: true, rtol: tg.tensor([[0.1], [0.5]]) }),
  }),
  'pinv.atol=-1': ({ A }) => ({ P: tg.linalg.pinv(A, { atol: -1 }) }),
  'pinv.rtol=-0.5': ({ A }) => ({ P: tg.linalg.pinv(A, { rtol: -0.5 }) }),
  lstsq: ({ A, B }) => ({ X: tg.linalg.lstsq(A, B) }),
  'matrixNorm.fro': ({ A }) => ({ norm: tg.linalg.matrixNorm(A, 'fro') }),
  'matrixNorm.nuc': ({ A }) => ({ norm: tg.linalg.matrixNorm(A, 'nuc') }),
  'matrixNorm.2': ({ A }) => ({ norm: tg.linalg.matrixNorm(A, 2) }),
  matrixExp: ({ A }) => ({ E: tg.linalg.matrixExp(A) }),
  'matrixPower.3': ({ A }) => ({ P: tg.linalg.matrixPower(A, 3) }),
  'matrixPower.-2': ({ A }) => ({ P: tg.linalg.matrixPower(A, -2) }),
};

/**
 * max |tapegrad − PyTorch| over max |PyTorch|, per array, float32 against float64: a few ulps for most,
 * more for the exponential (squared up to 3 times) and for gradients, which pass through
 * 1/(σ_j² − σ_k²), R⁻¹ or a second exponential.
 */
const VALUE_REL = 1e-5;
const GRAD_REL = 2e-5;

const worst = new WorstErrors();

compareOnEachBackend('tg.linalg', reference, worst, (c) => {
  const inputs = leaves(c.inputs);
  // the loss's intermediates (X·diag·Yᵀ, the factors not in the loss) are freed by the tidy
  tg.tidy(() => {
    const outputs = OPS[c.op](inputs);
    for (const [k, ref] of Object.entries(c.outputs)) {
      assert.equal(outputs[k].shape, ref.shape, `${k}'s shape`);
      const e = worst.note(c.op, 'values', relError(outputs[k].dataSync(), ref.data));
      assert.ok(e < VALUE_REL, `${c.op} ${c.label}: ${k} differs from PyTorch by ${e.toExponential(2)} (relative)`);
    }
    const terms = Object.entries(c.weights).map(([k, v]) =>
      outputs[k].mul(tg.tensor(v.data, { shape: v.shape })).sum(),
    );
    terms.reduce((a, b) => a.add(b)).backward();
  });
  for (const [k, ref] of Object.entries(c.grads)) {
    const e = worst.note(c.op, 'gradients', relError(inputs[k].grad!.dataSync(), ref.data));
    assert.ok(e < GRAD_REL, `${c.op} ${c.label}: ∂L/∂${k} differs from PyTorch by ${e.toExponential(2)} (relative)`);
  }
  for (const x of Object.values(inputs)) tg.dispose([x.grad!, x]);
});
