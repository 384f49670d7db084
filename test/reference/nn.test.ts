// tg.nn's layers against PyTorch: outputs and gradients (inputs and every parameter) for fixed
// weights and inputs, from nn.json beside it (written by generate_nn.py with
// PyTorch, in tapegrad's layouts; torch is not needed here), on cpu and wasm.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../../src/index.js';
import { assertClose, NODE_BACKENDS } from '../helpers.js';
// reading the cases and reporting the worst errors; checking a layer against them
import { type LayerCase, type Nested, flat, readReference, reportWorst, WorstErrors } from './compare.js';
import { layerInputs, loadState, assertLikeTorch, assertGrads, disposeWithGrads } from './compare.js';

interface Case extends LayerCase {
  options?: Record<string, unknown>;
  weights?: Nested;
  runningBefore?: Record<string, Nested>;
  running?: Record<string, Nested>;
  eval?: { x: Nested; output: Nested };
}
const REF = readReference<{ torch: string; cases: Record<string, Case> }>('nn.json');
const nn = tg.nn;

/** The losses and distances, by name: the call with the case's options (weights as plain arrays). */
type Opts = Record<string, unknown>;
const weightOf = (o: Opts) => (o.weight ? tg.tensor(o.weight as number[]) : undefined);
const LOSSES: Record<string, (o: Opts, x: Record<string, tg.Tensor>) => tg.Tensor> = {
  nllLoss: (o, x) =>
    nn.nllLoss(x.x, x.y, {
      weight: weightOf(o),
      ignoreIndex: (o.ignoreIndex as number | null) ?? undefined,
      reduction: o.reduction as tg.nn.Reduction,
    }),
  binaryCrossEntropy: (o, x) =>
    nn.binaryCrossEntropy(x.x, x.y, { weight: weightOf(o), reduction: o.reduction as tg.nn.Reduction }),
  klDiv: (o, x) => nn.klDiv(x.x, x.y, { logTarget: o.logTarget as boolean, reduction: o.reduction as 'batchmean' }),
  smoothL1Loss: (o, x) => nn.smoothL1Loss(x.x, x.y, { beta: o.beta as number, reduction: o.reduction as 'sum' }),
  cosineSimilarity: (o, x) => nn.cosineSimilarity(x.x, x.y, { axis: o.axis as number }),
  marginRankingLoss: (o, x) =>
    nn.marginRankingLoss(x.x, x.x2, x.y, { margin: o.margin as number, reduction: o.reduction as 'sum' }),
  tripletMarginLoss: (o, x) =>
    nn.tripletMarginLoss(x.x, x.pos, x.neg, {
      margin: o.margin as number,
      p: o.p as number,
      swap: o.swap as boolean,
      reduction: o.reduction as 'sum',
    }),
};

/** How each case is built and run in tapegrad: the module (if any) and its forward. */
const LAYERS: Record<
  string,
  (
    c: Case,
    x: Record<string, tg.Tensor>,
  ) => { module: tg.nn.Module | null; run: () => tg.Tensor; weights?: () => tg.Tensor }
> = {
  'Embedding paddingIdx': (c, x) => {
    const m = new nn.Embedding(10, 4, { paddingIdx: c.options!.paddingIdx as number });
    return { module: m, run: () => m.forward(x.x) };
  },
  'BatchNorm1d [N, C]': (_c, x) => batchNorm(new nn.BatchNorm1d(3), x),
  'BatchNorm1d [N, L, C]': (_c, x) => batchNorm(new nn.BatchNorm1d(3), x),
  'BatchNorm2d NHWC': (_c, x) => batchNorm(new nn.BatchNorm2d(3), x),
  'BatchNorm2d momentum null': (_c, x) => batchNorm(new nn.BatchNorm2d(3, { momentum: null }), x),
  GroupNorm: (_c, x) => {
    const m = new nn.GroupNorm(2, 4);
    return { module: m, run: () => m.forward(x.x) };
  },
  RMSNorm: (_c, x) => {
    const m = new nn.RMSNorm(4);
    return { module: m, run: () => m.forward(x.x) };
  },
  scaledDotProductAttention: (_c, x) => ({ module: null, run: () => nn.scaledDotProductAttention(x.q, x.k, x.v) }),
  'scaledDotProductAttention bool mask': (_c, x) => ({
    module: null,
    run: () => nn.scaledDotProductAttention(x.q, x.k, x.v, { mask: x.mask }),
  }),
  'scaledDotProductAttention float mask': (_c, x) => ({
    module: null,
    run: () => nn.scaledDotProductAttention(x.q, x.k, x.v, { mask: x.mask }),
  }),
  'scaledDotProductAttention causal': (_c, x) => ({
    module: null,
    run: () => nn.scaledDotProductAttention(x.q, x.k, x.v, { isCausal: true }),
  }),
  MultiheadAttention: (_c, x) => mha(x),
  'MultiheadAttention masks': (_c, x) => mha(x),
  'MultiheadAttention float mask': (_c, x) => mha(x),
  'TransformerEncoderLayer post-norm relu': (c, x) => encoder(c, x),
  'TransformerEncoderLayer pre-norm gelu padding': (c, x) => encoder(c, x),
  ...Object.fromEntries(
    Object.keys(REF.cases).flatMap((name) => (LOSSES[name.split(' ')[0]] ? [[name, loss(name)]] : [])),
  ),
};
function loss(name: string) {
  return (c: Case, x: Record<string, tg.Tensor>) => ({
    module: null,
    run: () => LOSSES[name.split(' ')[0]](c.options!, x),
  });
}
function batchNorm(m: tg.nn.BatchNorm1d | tg.nn.BatchNorm2d, x: Record<string, tg.Tensor>) {
  return { module: m, run: () => m.forward(x.x) };
}
function mha(x: Record<string, tg.Tensor>) {
  const m = new nn.MultiheadAttention(8, 2);
  const opts = { keyPaddingMask: x.keyPaddingMask, attnMask: x.attnMask };
  return {
    module: m,
    run: () => m.forward(x.query, x.key, x.value, opts),
    weights: () => {
      const { output, weights } = m.attend(x.query, x.key, x.value, opts);
      output.dispose();
      return weights;
    },
  };
}
function encoder(c: Case, x: Record<string, tg.Tensor>) {
  const m = new nn.TransformerEncoderLayer(8, 2, {
    dimFeedforward: 16,
    dropout: 0,
    normFirst: c.options!.normFirst as boolean,
    activation: c.options!.activation as 'relu',
  });
  return { module: m, run: () => m.forward(x.x, { srcKeyPaddingMask: x.srcKeyPaddingMask }) };
}

/** The largest |tapegrad − PyTorch| per case, printed with TAPEGRAD_REPORT=1. */
const worst = new WorstErrors();

test('every case of nn.json has a tapegrad counterpart', () => {
  assert.equal(Object.keys(REF.cases).sort(), Object.keys(LAYERS).sort());
});

for (const backend of NODE_BACKENDS) {
  test(`layers give PyTorch ${REF.torch}'s outputs and gradients (${backend})`, async () => {
    await tg.setBackend(backend);
    for (const [name, c] of Object.entries(REF.cases)) {
      const before = tg.memory();
      const x = layerInputs(c.inputs);
      const { module, run, weights } = LAYERS[name](c, x);
      if (module) loadState(name, module, { ...c.params, ...c.runningBefore });
      const R = tg.tensor(c.R as number[]);
      tg.tidy(() => {
        const y = run();
        assertLikeTorch(y, c.output, name, 'output', worst);
        y.mul(R).sum().backward();
      });
      assertGrads(name, c.grads, x, module, worst);
      if (weights) {
        const w = weights();
        assertClose(w, flat(c.weights!), { atol: 1e-6, rtol: 1e-4, msg: `${name} attention weights` });
        w.dispose();
      }
      if (c.running) {
        const sd = module!.stateDict();
        for (const [k, v] of Object.entries(c.running))
          assertClose(sd[k], flat(v), { atol: 1e-6, rtol: 1e-5, msg: `${name} ${k}` });
        module!.eval();
        const x2 = tg.tensor(c.eval!.x as number[]);
        const y2 = module!.forward(x2);
        assertClose(y2, flat(c.eval!.output), { atol: 1e-5, rtol: 1e-4, msg: `${name} in eval()` });
        tg.dispose([x2, y2]);
      }
      module?.zeroGrad();
      module?.dispose();
      disposeWithGrads(Object.values(x));
      R.dispose();
      assert.equal(tg.memory(), before, `${name}: leaked`);
    }
  });
}

test.run();
if (process.env.TAPEGRAD_REPORT) reportWorst('tg.nn against PyTorch', worst);
