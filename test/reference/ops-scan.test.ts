// std, cumsum, cumprod, logCumSumExp, all, any, median, sort and topk against PyTorch: the values,
// indices, gradients of L = Σ W∘values and a few Hessians in ops-scan.json beside it (written in
// float64 by generate_ops_scan.py, which needs torch; this suite does not). On cpu and wasm.
import * as assert from 'uvu/assert';
import * as tg from '../../src/index.js';
import { type Encoded as EncodedOf, readReference, relError, compareOnEachBackend, WorstErrors } from './compare.js';

/** JSON has no literal for the non-finite numbers: the generator writes them as strings. */
type Num = number | 'NaN' | 'Infinity' | '-Infinity';
type Encoded = EncodedOf<Num>;
interface Options {
  axis?: number;
  keepDims?: boolean;
  correction?: number;
  exclusive?: boolean;
  reverse?: boolean;
  descending?: boolean;
  largest?: boolean;
  k?: number;
}
interface Case {
  op: string;
  label: string;
  options: Options;
  x: Encoded;
  outputs: Record<string, Encoded>;
  weights?: Encoded;
  grad?: Encoded;
  hessian?: Encoded;
}
const reference = readReference<{ torch: string; cases: Case[] }>('ops-scan.json');
const decode = (e: Encoded) => e.data.map(Number);

/** Each op's outputs, named as in the JSON: `values` (differentiable), `indices`, `bools`. */
const OPS: Record<string, (x: tg.Tensor, o: Options) => Record<string, tg.Tensor>> = {
  std: (x, o) => ({ values: tg.std(x, o) }),
  cumsum: (x, { axis, ...o }) => ({ values: tg.cumsum(x, axis!, o) }),
  cumprod: (x, o) => ({ values: tg.cumprod(x, o.axis!) }),
  logCumSumExp: (x, o) => ({ values: tg.logCumSumExp(x, o.axis!) }),
  all: (x, o) => ({ bools: tg.all(x, o) }),
  any: (x, o) => ({ bools: tg.any(x, o) }),
  median: (x, o) => ({ values: tg.median(x, o) }),
  sort: (x, o) => ({ ...tg.sort(x, o) }),
  topk: (x, { k, ...o }) => ({ ...tg.topk(x, k!, o) }),
};

/**
 * max |tapegrad − PyTorch| over max |PyTorch| per array (float32 against float64), the non-finite
 * entries required at the same places with the same values.
 */
const VALUE_REL = 1e-5;
const GRAD_REL = 2e-5;
/**
 * A gradient through e^(x − y) also inherits the rounding of x and y to float32, ε·max|x|
 * (PyTorch's own float32 gradient of logcumsumexp at values near 1000 is 2.9e-5 off).
 */
const gradTolerance = (x: number[]) => GRAD_REL + 2 ** -23 * Math.max(0, ...x.filter(Number.isFinite).map(Math.abs));
const HESSIAN_REL = 1e-4;
const worst = new WorstErrors();

compareOnEachBackend('std, scans and sorting', reference, worst, async (c) => {
  const x = tg.tensor(decode(c.x), { shape: c.x.shape, requiresGrad: !!c.grad });
  const W = c.weights && tg.tensor(decode(c.weights), { shape: c.weights.shape });
  const loss = (u: tg.Tensor) => OPS[c.op](u, c.options).values.mul(W!).sum();
  tg.tidy(() => {
    const out = OPS[c.op](x, c.options);
    for (const [k, ref] of Object.entries(c.outputs)) {
      assert.equal(out[k].shape, ref.shape, `${k}'s shape`);
      const got = Array.from(out[k].dataSync());
      if (k === 'values') {
        const e = worst.note(c.op, 'values', relError(got, decode(ref)));
        assert.ok(e < VALUE_REL, `${k} differs from PyTorch by ${e.toExponential(2)} (relative): ${got}`);
      } else assert.equal(got, decode(ref), `${k} as PyTorch's`);
    }
    if (c.grad) loss(x).backward();
  });
  if (c.grad) {
    const e = worst.note(c.op, 'gradients', relError(await x.grad!.data(), decode(c.grad)));
    assert.ok(e < gradTolerance(decode(c.x)), `∂L/∂x differs from PyTorch by ${e.toExponential(2)} (relative)`);
    x.grad!.dispose();
  }
  if (c.hessian) {
    const H = tg.hessian(loss)(x);
    const e = worst.note(c.op, 'Hessians', relError(await H.data(), decode(c.hessian)));
    assert.ok(e < HESSIAN_REL, `the Hessian of L differs from PyTorch's by ${e.toExponential(2)} (relative)`);
    H.dispose();
  }
  tg.dispose([x, ...(W ? [W] : [])]);
});
