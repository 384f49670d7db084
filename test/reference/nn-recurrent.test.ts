// tg.nn's recurrent layers against PyTorch: outputs, final states and gradients (inputs and every
// parameter) for fixed weights and inputs, from nn-recurrent.json beside it (written by
// generate_nn_recurrent.py with PyTorch, in tapegrad's layout; torch is not needed here), on cpu and wasm.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../../src/index.js';
import { NODE_BACKENDS } from '../helpers.js';
// reading the cases and reporting the worst errors; checking a layer against them
import { type Nested, readReference, reportWorst, WorstErrors } from './compare.js';
import { loadState, assertLikeTorch, assertGrads, disposeWithGrads } from './compare.js';

interface Case {
  options: { kind: string; inputSize: number; hiddenSize: number } & tg.nn.RNNOptions;
  inputs: Record<string, Nested>;
  params: Record<string, Nested>;
  outputs: Record<string, Nested>;
  R: Record<string, Nested>;
  grads: Record<string, Nested>;
}
const REF = readReference<{ torch: string; cases: Record<string, Case> }>('nn-recurrent.json');
const nn = tg.nn;

/** The case's module, and its forward on the case's inputs as { name: returned tensor }. */
function build(
  c: Case,
  x: Record<string, tg.Tensor>,
): { m: tg.nn.Module<unknown>; run: () => Record<string, tg.Tensor> } {
  const { kind, inputSize: I, hiddenSize: H, ...opts } = c.options;
  const lstmState = x.h0 ? { h: x.h0, c: x.c0 } : undefined;
  switch (kind) {
    case 'RNN':
    case 'GRU': {
      const m = kind === 'RNN' ? new nn.RNN(I, H, opts) : new nn.GRU(I, H, opts);
      return { m, run: () => ({ ...m.forward(x.x, x.h0) }) };
    }
    case 'LSTM': {
      const m = new nn.LSTM(I, H, opts);
      return { m, run: () => ({ ...m.forward(x.x, lstmState) }) };
    }
    case 'RNNCell':
    case 'GRUCell': {
      const m = kind === 'RNNCell' ? new nn.RNNCell(I, H, opts) : new nn.GRUCell(I, H, opts);
      return { m, run: () => ({ h: m.forward(x.x, x.h0) }) };
    }
    case 'LSTMCell': {
      const m = new nn.LSTMCell(I, H, opts);
      return { m, run: () => ({ ...m.forward(x.x, lstmState) }) };
    }
  }
  throw new Error(`unknown kind ${kind}`);
}

/** The largest |tapegrad − PyTorch| per case, printed with TAPEGRAD_REPORT=1. */
const worst = new WorstErrors();

test('the cases cover RNN (tanh, relu), GRU, LSTM with numLayers 2, bidirectional, batchFirst, and the cells', () => {
  const names = Object.keys(REF.cases).join(' | ');
  for (const want of [
    /RNN tanh numLayers 2 bidirectional/,
    /RNN relu numLayers 2 batchFirst/,
    /GRU numLayers 2 bidirectional batchFirst/,
    /LSTM numLayers 2 bidirectional/,
    /LSTM numLayers 2 batchFirst/,
    /RNNCell/,
    /GRUCell/,
    /LSTMCell/,
  ])
    assert.match(names, want);
});

for (const backend of NODE_BACKENDS) {
  test(`recurrent layers give PyTorch ${REF.torch}'s outputs, final states and gradients (${backend})`, async () => {
    await tg.setBackend(backend);
    for (const [name, c] of Object.entries(REF.cases)) {
      const before = tg.memory();
      const x = Object.fromEntries(
        Object.entries(c.inputs).map(([k, v]) => [k, tg.tensor(v as number[], { requiresGrad: true })]),
      );
      const { m, run } = build(c, x);
      loadState(name, m, c.params);
      const Rs = Object.fromEntries(Object.entries(c.R).map(([k, v]) => [k, tg.tensor(v as number[])]));
      tg.tidy(() => {
        const outs = run();
        assert.equal(Object.keys(outs).sort(), Object.keys(c.outputs).sort(), `${name}: what it returns`);
        let loss: tg.Tensor | null = null;
        for (const [k, y] of Object.entries(outs)) {
          assert.equal(y.shape, Rs[k].shape, `${name} ${k} shape`);
          assertLikeTorch(y, c.outputs[k], name, k, worst);
          const term = y.mul(Rs[k]).sum();
          loss = loss ? loss.add(term) : term;
        }
        loss!.backward();
      });
      assertGrads(name, c.grads, x, m, worst);
      m.zeroGrad();
      m.dispose();
      disposeWithGrads(Object.values(x));
      tg.dispose(Object.values(Rs));
      assert.equal(tg.memory(), before, `${name}: leaked`);
    }
  });
}

test.run();
if (process.env.TAPEGRAD_REPORT) reportWorst('tg.nn recurrent layers against PyTorch', worst);
