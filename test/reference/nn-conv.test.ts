// tg.nn's convolution, pooling and resampling layers and crossEntropy's weight, ignoreIndex,
// labelSmoothing and classAxis against PyTorch: outputs and gradients (inputs and every parameter)
// for fixed weights and inputs, from nn-conv.json beside it (written by generate_nn_conv.py with
// PyTorch, in tapegrad's layouts; torch is not needed here), on cpu and wasm.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import * as tg from '../../src/index.js';
import { assertClose, NODE_BACKENDS } from '../helpers.js';

type Nested = number | Nested[];
interface Case {
  inputs: Record<string, { values: Nested; dtype: tg.DType }>;
  params: Record<string, Nested>;
  output: Nested;
  R: Nested;
  grads: Record<string, Nested>;
  /** A layer of tg.nn: its name and constructor arguments (the options last). */
  module?: string;
  args?: unknown[];
  /** Or a loss of tg.nn. */
  loss?: 'crossEntropy';
  opts: Record<string, unknown>;
}
const REF = JSON.parse(readFileSync(new URL('./nn-conv.json', import.meta.url), 'utf8')) as {
  torch: string;
  cases: Record<string, Case>;
};
const nn = tg.nn;
const flat = (v: Nested): number[] => (Array.isArray(v) ? v.flatMap(flat) : [v]);

/** The layers by name, built from a case's constructor arguments and options. */
const LAYERS: Record<string, (args: unknown[], opts: Record<string, unknown>) => tg.nn.Module> = {
  Conv1d: ([i, o, k], opts) => new nn.Conv1d(i as number, o as number, k as number, opts),
  Conv2d: ([i, o, k], opts) => new nn.Conv2d(i as number, o as number, k as [number, number], opts),
  ConvTranspose2d: ([i, o, k], opts) => new nn.ConvTranspose2d(i as number, o as number, k as [number, number], opts),
  MaxPool2d: ([k], opts) => new nn.MaxPool2d(k as number, opts),
  AvgPool2d: ([k], opts) => new nn.AvgPool2d(k as number, opts),
  AdaptiveAvgPool2d: ([size]) => new nn.AdaptiveAvgPool2d(size as [number, number]),
  Upsample: (_args, opts) => new nn.Upsample(opts),
};

function crossEntropy(o: Record<string, unknown>, x: Record<string, tg.Tensor>, hold: tg.Tensor[]): tg.Tensor {
  const weight = o.weight ? tg.tensor(o.weight as number[]) : undefined;
  if (weight) hold.push(weight);
  return nn.crossEntropy(x.x, x.y, {
    weight,
    ignoreIndex: (o.ignoreIndex as number | null) ?? undefined,
    labelSmoothing: o.labelSmoothing as number,
    reduction: o.reduction as tg.nn.Reduction,
    classAxis: (o.classAxis as number | null) ?? undefined,
  });
}

/** The largest |tapegrad − PyTorch| per case and backend, printed with TAPEGRAD_REPORT=1. */
const errors: Record<string, number> = {};
function worst(key: string, t: tg.Tensor, ref: Nested): void {
  const a = t.dataSync();
  const e = flat(ref);
  for (let i = 0; i < e.length; i++) errors[key] = Math.max(errors[key] ?? 0, Math.abs(a[i] - e[i]));
}
test.after(() => {
  if (process.env.TAPEGRAD_REPORT)
    for (const [k, v] of Object.entries(errors)) console.log(`${k}: ${v.toExponential(2)}`);
});

test('every case of nn-conv.json names a layer or loss tapegrad has', () => {
  for (const [name, c] of Object.entries(REF.cases))
    assert.ok((c.module && LAYERS[c.module]) || c.loss === 'crossEntropy', `${name}: unknown ${c.module ?? c.loss}`);
  assert.ok(Object.keys(REF.cases).length >= 30);
});

for (const backend of NODE_BACKENDS) {
  test(`conv, pooling, resampling and crossEntropy give PyTorch ${REF.torch}'s outputs and gradients (${backend})`, async () => {
    await tg.setBackend(backend);
    for (const [name, c] of Object.entries(REF.cases)) {
      const before = tg.memory();
      const x = Object.fromEntries(
        Object.entries(c.inputs).map(([k, v]) => [
          k,
          tg.tensor(v.values as number[], { dtype: v.dtype, requiresGrad: v.dtype === 'float32' }),
        ]),
      );
      const module = c.module ? LAYERS[c.module](c.args!, c.opts) : null;
      if (module) {
        const sd = module.stateDict();
        assert.equal(Object.keys(sd).sort(), Object.keys(c.params).sort(), `${name}: parameters`);
        const load = Object.fromEntries(
          Object.entries(sd).map(([k, t]) => [k, tg.tensor(c.params[k] as number[], { shape: t.shape })]),
        );
        module.loadStateDict(load);
        tg.dispose(Object.values(load));
      }
      const hold: tg.Tensor[] = [];
      const R = tg.tensor(c.R as number[]);
      tg.tidy(() => {
        const y = module ? module.forward(x.x) : crossEntropy(c.opts, x, hold);
        assert.equal(y.shape, tg.tensor(c.output as number[]).shape, `${name}: output shape`);
        worst(`${name} (${backend})`, y, c.output);
        assertClose(y, flat(c.output), { atol: 1e-5, rtol: 1e-4, msg: `${name} output` });
        y.mul(R).sum().backward();
      });
      for (const [k, g] of Object.entries(c.grads)) {
        const t = k.startsWith('input.') ? x[k.slice(6)] : module!.stateDict()[k];
        assert.ok(t?.grad, `${name}: no gradient for ${k}`);
        worst(`${name} (${backend})`, t.grad!, g);
        assertClose(t.grad!, flat(g), { atol: 1e-5, rtol: 1e-4, msg: `${name} d/d${k}` });
      }
      module?.zeroGrad();
      module?.dispose();
      for (const t of Object.values(x)) {
        t.grad?.dispose();
        t.dispose();
      }
      tg.dispose([R, ...hold]);
      assert.equal(tg.memory(), before, `${name}: leaked`);
    }
  });
}

test.run();
