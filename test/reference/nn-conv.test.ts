// tg.nn's convolution, pooling and resampling layers and crossEntropy's weight, ignoreIndex,
// labelSmoothing and classAxis against PyTorch: outputs and gradients (inputs and every parameter)
// for fixed weights and inputs, from nn-conv.json beside it (written by generate_nn_conv.py with
// PyTorch, in tapegrad's layouts; torch is not needed here), on cpu and wasm.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../../src/index.js';
import { NODE_BACKENDS } from '../helpers.js';
// reading the cases and reporting the worst errors; checking a layer against them
import { type LayerCase, readReference, reportWorst, WorstErrors } from './compare.js';
import { layerInputs, loadState, assertLikeTorch, assertGrads, disposeWithGrads } from './compare.js';

interface Case extends LayerCase {
  /** A layer of tg.nn: its name and constructor arguments (the options last). */
  module?: string;
  args?: unknown[];
  /** Or a loss of tg.nn. */
  loss?: 'crossEntropy';
  opts: Record<string, unknown>;
}
const REF = readReference<{ torch: string; cases: Record<string, Case> }>('nn-conv.json');
const nn = tg.nn;

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
const worst = new WorstErrors();

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
      const x = layerInputs(c.inputs);
      const module = c.module ? LAYERS[c.module](c.args!, c.opts) : null;
      if (module) loadState(name, module, c.params);
      const hold: tg.Tensor[] = [];
      const R = tg.tensor(c.R as number[]);
      const key = `${name} (${backend})`;
      tg.tidy(() => {
        const y = module ? module.forward(x.x) : crossEntropy(c.opts, x, hold);
        assert.equal(y.shape, tg.tensor(c.output as number[]).shape, `${name}: output shape`);
        assertLikeTorch(y, c.output, key, 'output', worst);
        y.mul(R).sum().backward();
      });
      assertGrads(key, c.grads, x, module, worst);
      module?.zeroGrad();
      module?.dispose();
      disposeWithGrads(Object.values(x));
      tg.dispose([R, ...hold]);
      assert.equal(tg.memory(), before, `${name}: leaked`);
    }
  });
}

test.run();
if (process.env.TAPEGRAD_REPORT) reportWorst('tg.nn convolution and pooling against PyTorch', worst);
