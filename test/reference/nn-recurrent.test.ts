// tg.nn's recurrent layers against PyTorch: outputs, final states and gradients (inputs and every
// parameter) for fixed weights and inputs, from nn-recurrent.json beside it (written by
// generate_nn_recurrent.py with PyTorch, in tapegrad's layout; torch is not needed here), on cpu and wasm.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import * as tg from '../../src/index.js';
import { assertClose, NODE_BACKENDS } from '../helpers.js';

type Nested = number | Nested[];
interface Case {
  options: { kind: string; inputSize: number; hiddenSize: number } & tg.nn.RNNOptions;
  inputs: Record<string, Nested>;
  params: Record<string, Nested>;
  outputs: Record<string, Nested>;
  R: Record<string, Nested>;
  grads: Record<string, Nested>;
}
const REF = JSON.parse(readFileSync(new URL('./nn-recurrent.json', import.meta.url), 'utf8')) as {
  torch: string;
  cases: Record<string, Case>;
};
const nn = tg.nn;
const flat = (v: Nested): number[] => (Array.isArray(v) ? v.flatMap(flat) : [v]);

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
const errors: Record<string, number> = {};
function worst(name: string, t: tg.Tensor, ref: Nested): void {
  const a = t.dataSync();
  const e = flat(ref);
  for (let i = 0; i < e.length; i++) errors[name] = Math.max(errors[name] ?? 0, Math.abs(a[i] - e[i]));
}
test.after(() => {
  if (process.env.TAPEGRAD_REPORT)
    for (const [k, v] of Object.entries(errors)) console.log(`${k}: ${v.toExponential(2)}`);
});

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
      const sd = m.stateDict();
      assert.equal(Object.keys(sd).sort(), Object.keys(c.params).sort(), `${name}: PyTorch's parameter names`);
      const load = Object.fromEntries(
        Object.entries(sd).map(([k, t]) => [k, tg.tensor(c.params[k] as number[], { shape: t.shape })]),
      );
      m.loadStateDict(load);
      tg.dispose(Object.values(load));
      const Rs = Object.fromEntries(Object.entries(c.R).map(([k, v]) => [k, tg.tensor(v as number[])]));
      tg.tidy(() => {
        const outs = run();
        assert.equal(Object.keys(outs).sort(), Object.keys(c.outputs).sort(), `${name}: what it returns`);
        let loss: tg.Tensor | null = null;
        for (const [k, y] of Object.entries(outs)) {
          assert.equal(y.shape, Rs[k].shape, `${name} ${k} shape`);
          worst(name, y, c.outputs[k]);
          assertClose(y, flat(c.outputs[k]), { atol: 1e-5, rtol: 1e-4, msg: `${name} ${k}` });
          const term = y.mul(Rs[k]).sum();
          loss = loss ? loss.add(term) : term;
        }
        loss!.backward();
      });
      for (const [k, g] of Object.entries(c.grads)) {
        const t = k.startsWith('input.') ? x[k.slice(6)] : m.stateDict()[k];
        assert.ok(t?.grad, `${name}: no gradient for ${k}`);
        worst(name, t.grad!, g);
        assertClose(t.grad!, flat(g), { atol: 1e-5, rtol: 1e-4, msg: `${name} d/d${k}` });
      }
      m.zeroGrad();
      m.dispose();
      for (const t of Object.values(x)) {
        t.grad?.dispose();
        t.dispose();
      }
      tg.dispose(Object.values(Rs));
      assert.equal(tg.memory(), before, `${name}: leaked`);
    }
  });
}

test.run();
