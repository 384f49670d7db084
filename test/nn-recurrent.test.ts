// tg.nn's recurrent layers (RNN, GRU, LSTM) and cells: gradchecks through inputs, initial states and
// every parameter; shapes for numLayers, bidirectional, batchFirst and unbatched input; agreement
// between the layers, their cells and the layouts; state dicts and safetensors round trips; init;
// dropout between layers; memory; and the errors. PyTorch's values: test/reference/nn-recurrent.test.ts.
import { test } from 'uvu';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../src/index.js';
import { assertClose, assertNoLeak, assertThrows, NODE_BACKENDS } from './helpers.js';
import { gradcheckRecurrent } from './recurrent-check.js';

const nn = tg.nn;
/**
 * In Node every test runs; in the browser (the webgl page) the gradchecks and the memory test run,
 * while the checks of shapes, layouts, state dicts and errors, which no backend changes, are left
 * to Node for the page's time budget.
 */
const inNode = NODE_BACKENDS.includes('cpu');
const nodeOnly = inNode ? test : test.skip;
const flat = (...ts: tg.Tensor[]) => tg.concat(ts.map((t) => t.reshape([-1])));

for (const backend of NODE_BACKENDS) {
  test(`RNN, GRU and LSTM: gradcheck through input, initial state and every parameter (${backend})`, async () => {
    await tg.setBackend(backend);
    // two layers in Node; one on the webgl page (its time budget), where numLayers adds no new kernel
    const numLayers = inNode ? 2 : 1;
    const x = tg.randn([3, 2, 2], { seed: 1 }); // [T, B, I]
    const h0 = tg.tidy(() => tg.randn([2 * numLayers, 2, 3], { seed: 2 }).mul(0.5)); // [numLayers·2, B, H]
    const c0 = tg.tidy(() => tg.randn([2 * numLayers, 2, 3], { seed: 3 }).mul(0.5));
    const rnn = new nn.RNN(2, 3, { numLayers, bidirectional: true, seed: 1 });
    await gradcheckRecurrent(rnn, (t, h) => flat(...Object.values(rnn.forward(t, h))), [x, h0], 'RNN');
    const gru = new nn.GRU(2, 3, { numLayers, bidirectional: true, seed: 2 });
    await gradcheckRecurrent(gru, (t, h) => flat(...Object.values(gru.forward(t, h))), [x, h0], 'GRU');
    const lstm = new nn.LSTM(2, 3, { numLayers, bidirectional: true, seed: 3 });
    await gradcheckRecurrent(lstm, (t, h, c) => flat(...Object.values(lstm.forward(t, { h, c }))), [x, h0, c0], 'LSTM');
    // batch first, relu, one direction, no state given
    const xb = tg.randn([2, 3, 2], { seed: 4 });
    const relu = new nn.RNN(2, 3, { batchFirst: true, nonlinearity: 'relu', seed: 4 });
    await gradcheckRecurrent(relu, (t) => flat(...Object.values(relu.forward(t))), [xb], 'RNN relu batchFirst', {
      step: 1e-3,
    });
    [rnn, gru, lstm, relu].forEach((m) => m.dispose());
    tg.dispose([x, h0, c0, xb]);
  });

  test(`RNNCell, GRUCell and LSTMCell: gradcheck through input, state and every parameter (${backend})`, async () => {
    await tg.setBackend(backend);
    const x = tg.randn([2, 3], { seed: 5 });
    const h = tg.tidy(() => tg.randn([2, 4], { seed: 6 }).mul(0.5));
    const c = tg.tidy(() => tg.randn([2, 4], { seed: 7 }).mul(0.5));
    const rc = new nn.RNNCell(3, 4, { seed: 1 });
    await gradcheckRecurrent(rc, (t, s) => rc.forward(t, s), [x, h], 'RNNCell');
    const gc = new nn.GRUCell(3, 4, { seed: 2 });
    await gradcheckRecurrent(gc, (t, s) => gc.forward(t, s), [x, h], 'GRUCell');
    const lc = new nn.LSTMCell(3, 4, { seed: 3 });
    await gradcheckRecurrent(
      lc,
      (t, s, k) => flat(...Object.values(lc.forward(t, { h: s, c: k }))),
      [x, h, c],
      'LSTMCell',
    );
    [rc, gc, lc].forEach((m) => m.dispose());
    tg.dispose([x, h, c]);
  });
}

nodeOnly('shapes: numLayers, bidirectional, batchFirst and unbatched input; hN and cN per layer and direction', () => {
  const T = 3;
  const B = 2;
  const I = 2;
  const H = 4;
  for (const [L, bidirectional, batchFirst] of [
    [1, false, false],
    [2, false, true],
    [3, true, false],
    [2, true, true],
  ] as const) {
    const D = bidirectional ? 2 : 1;
    const opts = { numLayers: L, bidirectional, batchFirst, seed: 1 };
    const x = tg.randn(batchFirst ? [B, T, I] : [T, B, I], { seed: 2 });
    const xu = tg.randn([T, I], { seed: 3 });
    const msg = `numLayers ${L}, bidirectional ${bidirectional}, batchFirst ${batchFirst}`;
    for (const m of [new nn.RNN(I, H, opts), new nn.GRU(I, H, opts), new nn.LSTM(I, H, opts)]) {
      tg.tidy(() => {
        const r = m.forward(x) as tg.nn.LSTMOutput;
        assert.equal(r.output.shape, batchFirst ? [B, T, D * H] : [T, B, D * H], `${m.describe()} output, ${msg}`);
        assert.equal(r.hN.shape, [L * D, B, H], `${m.describe()} hN, ${msg}`);
        if (m instanceof nn.LSTM) assert.equal(r.cN.shape, [L * D, B, H], `cN, ${msg}`);
        else assert.is(r.cN, undefined);
        const u = m.forward(xu) as tg.nn.LSTMOutput;
        assert.equal(u.output.shape, [T, D * H], `${m.describe()} unbatched output`);
        assert.equal(u.hN.shape, [L * D, H], `${m.describe()} unbatched hN`);
      });
      m.dispose();
    }
    tg.dispose([x, xu]);
  }
  const cell = new nn.LSTMCell(I, H);
  tg.tidy(() => {
    const s = cell.forward(tg.ones([B, I]));
    assert.equal(
      [s.h.shape, s.c.shape],
      [
        [B, H],
        [B, H],
      ],
    );
    const u = cell.forward(tg.ones([I]));
    assert.equal([u.h.shape, u.c.shape], [[H], [H]]);
  });
  cell.dispose();
});

nodeOnly('the layers agree with their cells step by step, with the layouts, and with the output they return', () => {
  const T = 4;
  const B = 2;
  const x = tg.randn([T, B, 3], { seed: 1 });
  const kinds = [
    [new nn.RNN(3, 5, { nonlinearity: 'relu', seed: 2 }), new nn.RNNCell(3, 5, { nonlinearity: 'relu' })],
    [new nn.GRU(3, 5, { seed: 3 }), new nn.GRUCell(3, 5)],
    [new nn.LSTM(3, 5, { seed: 4 }), new nn.LSTMCell(3, 5)],
  ] as const;
  for (const [layer, cell] of kinds) {
    // the layer's weights, renamed for the cell: weightIh_l0 → weightIh
    const sd = Object.fromEntries(Object.entries(layer.stateDict()).map(([k, v]) => [k.replace('_l0', ''), v]));
    cell.loadStateDict(sd);
    tg.tidy(() => {
      const r = layer.forward(x) as tg.nn.LSTMOutput;
      let s: tg.nn.LSTMState = { h: tg.zeros([B, 5]), c: tg.zeros([B, 5]) };
      for (let t = 0; t < T; t++) {
        const xt = x.slice([t, 0, 0], [1, B, 3]).reshape([B, 3]);
        s = cell instanceof nn.LSTMCell ? cell.forward(xt, s) : { h: cell.forward(xt, s.h), c: s.c };
        assertClose(r.output.slice([t, 0, 0], [1, B, 5]), s.h, { msg: `${layer.describe()} step ${t}` });
      }
      assertClose(r.hN, s.h, { msg: `${layer.describe()} hN` });
      if (layer instanceof nn.LSTM) assertClose(r.cN, s.c, { msg: 'LSTM cN' });
    });
  }
  // batchFirst is a transpose of the same computation; unbatched is a batch of one
  const a = new nn.GRU(3, 5, { numLayers: 2, bidirectional: true, seed: 5 });
  const b = new nn.GRU(3, 5, { numLayers: 2, bidirectional: true, batchFirst: true, seed: 5 });
  tg.tidy(() => {
    const ra = a.forward(x);
    const rb = b.forward(x.transpose([1, 0, 2]));
    assertClose(rb.output.transpose([1, 0, 2]), ra.output, { msg: 'batchFirst output' });
    assertClose(rb.hN, ra.hN, { msg: 'batchFirst hN' });
    const one = x.slice([0, 1, 0], [T, 1, 3]);
    const ru = a.forward(one.reshape([T, 3]));
    const r1 = a.forward(one);
    assertClose(ru.output, r1.output.reshape([T, 10]), { msg: 'unbatched output' });
    assertClose(ru.hN, r1.hN.reshape([4, 5]), { msg: 'unbatched hN' });
    // bidirectional: the last step of the forward half and the first step of the backward half are hN's
    assertClose(ra.output.slice([T - 1, 0, 0], [1, B, 5]), ra.hN.slice([2, 0, 0], [1, B, 5]));
    assertClose(ra.output.slice([0, 0, 5], [1, B, 5]), ra.hN.slice([3, 0, 0], [1, B, 5]));
  });
  for (const [l, c] of kinds) {
    l.dispose();
    c.dispose();
  }
  [a, b].forEach((m) => m.dispose());
  x.dispose();
});

nodeOnly("parameters: PyTorch's names and order, [in, out] layout, U(−1/√H, 1/√H) init, seeded, no bias", () => {
  const lstm = new nn.LSTM(3, 4, { numLayers: 2, bidirectional: true, seed: 9 });
  const names = ['weightIh', 'weightHh', 'biasIh', 'biasHh'];
  assert.equal(
    lstm.namedParameters().map(([n]) => n),
    ['_l0', '_l0_reverse', '_l1', '_l1_reverse'].flatMap((s) => names.map((n) => n + s)),
  );
  const sd = lstm.stateDict();
  assert.equal(sd.weightIh_l0.shape, [3, 16]);
  assert.equal(sd.weightIh_l1_reverse.shape, [8, 16]);
  assert.equal(sd.weightHh_l1.shape, [4, 16]);
  assert.equal(sd.biasHh_l0_reverse.shape, [16]);
  assert.equal(lstm.allWeights.length, 4);
  assert.is(lstm.allWeights[1][0], sd.weightIh_l0_reverse);
  const values = lstm.parameters().flatMap((p) => Array.from(p.dataSync()));
  assert.ok(values.every((v) => Math.abs(v) <= 0.5) && Math.max(...values) > 0.45 && Math.min(...values) < -0.45);
  const twin = new nn.LSTM(3, 4, { numLayers: 2, bidirectional: true, seed: 9 });
  assertClose(twin.stateDict().weightHh_l1, sd.weightHh_l1, { atol: 0, rtol: 0, msg: 'seeded' });
  assert.not.equal(Array.from(sd.weightIh_l0.dataSync()), Array.from(sd.weightIh_l0_reverse.dataSync()));
  const noBias = new nn.GRUCell(2, 3, { bias: false });
  assert.equal(Object.keys(noBias.stateDict()), ['weightIh', 'weightHh']);
  assert.equal(noBias.weightHh.shape, [3, 9]);
  assert.is(noBias.biasIh, null);
  assert.match(lstm.describe(), /^LSTM\(3→4, numLayers=2, bidirectional\)$/);
  [lstm, twin, noBias].forEach((m) => m.dispose());
});

nodeOnly('stateDict, loadStateDict, toBytes/fromBytes and save/load round trips give the same outputs', async () => {
  const x = tg.randn([3, 2, 2], { seed: 1 });
  const make = (seed: number) => [
    new nn.RNN(2, 3, { numLayers: 2, seed }),
    new nn.GRU(2, 3, { bidirectional: true, seed }),
    new nn.LSTM(2, 3, { numLayers: 2, bidirectional: true, seed }),
    new nn.LSTMCell(2, 3, { seed }),
  ];
  const out = (m: tg.nn.Module<unknown>) =>
    tg.tidy(() => {
      if (m instanceof nn.LSTMCell) return flat(...Object.values(m.forward(x.reshape([6, 2])))).arraySync() as number[];
      return flat(...Object.values((m as tg.nn.LSTM).forward(x))).arraySync() as number[];
    });
  const [a, b, c, d] = [make(1), make(2), make(3), make(4)];
  for (let i = 0; i < a.length; i++) {
    const want = out(a[i]);
    assert.not.equal(out(b[i]), want);
    b[i].loadStateDict(a[i].stateDict());
    assertClose(out(b[i]), want, { atol: 0, rtol: 0, msg: `${a[i].describe()} loadStateDict` });
    c[i].fromBytes(a[i].toBytes());
    assertClose(out(c[i]), want, { atol: 0, rtol: 0, msg: `${a[i].describe()} fromBytes` });
  }
  // a state dict of another architecture lists every mismatch
  assertThrows(
    () => a[2].loadStateDict(a[1].stateDict()),
    /LSTM\(2→3, numLayers=2, bidirectional\)\.loadStateDict: missing 'weightIh_l1'.*'weightIh_l0' has shape \[2,9\]/,
  );
  try {
    // through a file (Node only: in a browser this part is reported as skipped)
    for (let i = 0; i < a.length; i++) {
      const path = join(tmpdir(), `tapegrad-recurrent-${process.pid}-${i}.safetensors`);
      await a[i].save(path);
      await d[i].load(path);
      rmSync(path);
      assertClose(out(d[i]), out(a[i]), { atol: 0, rtol: 0, msg: `${a[i].describe()} save/load` });
    }
  } finally {
    for (const m of [...a, ...b, ...c, ...d]) m.dispose();
    x.dispose();
  }
});

nodeOnly('dropout acts between layers in train() only, seeded; eval() is deterministic', () => {
  const x = tg.randn([4, 2, 3], { seed: 1 });
  const m = new nn.LSTM(3, 5, { numLayers: 2, dropout: 0.5, seed: 2 });
  const plain = new nn.LSTM(3, 5, { numLayers: 2, seed: 2 });
  const read = (r: tg.nn.LSTMOutput) => {
    const v = Array.from(r.output.dataSync());
    tg.dispose([r.output, r.hN, r.cN]);
    return v;
  };
  const trained = read(m.forward(x));
  const want = read(plain.forward(x));
  assert.not.equal(trained, want);
  m.eval();
  assertClose(read(m.forward(x)), want, { atol: 0, rtol: 0, msg: 'eval: no dropout' });
  // one layer: nothing between layers to drop
  const single = new nn.GRU(3, 5, { dropout: 0.5, seed: 3 });
  const singlePlain = new nn.GRU(3, 5, { seed: 3 });
  tg.tidy(() => assertClose(single.forward(x).output, singlePlain.forward(x).output, { atol: 0, rtol: 0 }));
  [m, plain, single, singlePlain].forEach((n) => n.dispose());
  x.dispose();
});

test('memory: forward + backward + dispose returns tg.memory() to its start (no grad, eval, dropout too)', () => {
  const x = tg.randn([3, 2, 2], { seed: 1, requiresGrad: true });
  const h0 = tg.randn([2, 2, 3], { seed: 2, requiresGrad: true });
  const layers = [
    new nn.RNN(2, 3, { bidirectional: true }),
    new nn.GRU(2, 3, { bidirectional: true, batchFirst: true }),
    new nn.LSTM(2, 3, { numLayers: 2, dropout: 0.3 }),
  ];
  for (const m of layers) {
    assertNoLeak(() => {
      const state = m instanceof nn.LSTM ? { h: h0, c: h0 } : m instanceof nn.GRU ? undefined : h0;
      const r = (m as tg.nn.LSTM).forward(x, state as tg.nn.LSTMState);
      tg.tidy(() => r.output.square().sum().add(r.hN.sum()).backward());
      tg.dispose([r.output, r.hN, r.cN ?? r.hN]);
      m.zeroGrad();
      x.grad?.dispose();
      h0.grad?.dispose();
      x.grad = null;
      h0.grad = null;
      const quiet = tg.noGrad(() => m.forward(x));
      tg.dispose(Object.values(quiet));
      m.eval();
      tg.dispose(Object.values(m.forward(x)));
      m.train();
    }, m.describe());
  }
  const cells = [new nn.RNNCell(2, 3), new nn.GRUCell(2, 3), new nn.LSTMCell(2, 3)];
  const xt = tg.randn([2, 2], { seed: 3, requiresGrad: true });
  for (const m of cells) {
    assertNoLeak(() => {
      const out = m instanceof nn.LSTMCell ? Object.values(m.forward(xt)) : [(m as tg.nn.GRUCell).forward(xt)];
      tg.tidy(() => out.reduce((s, t) => s.add(t.sum()), tg.scalar(0)).backward());
      tg.dispose(out);
      m.zeroGrad();
      xt.grad?.dispose();
      xt.grad = null;
    }, m.describe());
  }
  [...layers, ...cells].forEach((m) => m.dispose());
  tg.dispose([x, h0, xt]);
});

nodeOnly('bad input names the layer and the expected shape; bad states and options are refused', () => {
  const rnn = new nn.RNN(3, 4, { numLayers: 2 });
  const gru = new nn.GRU(3, 4, { batchFirst: true, bidirectional: true });
  const lstm = new nn.LSTM(3, 4);
  const x = tg.ones([5, 2, 3]);
  assertThrows(
    () => rnn.forward(tg.ones([5, 2, 2])),
    /^RNN: expected input of shape \[T, B, 3\] or \[T, 3\] \(unbatched\), got \[5,2,2\] \(layer RNN\(3→4, n/,
    'width',
  );
  assertThrows(
    () => gru.forward(tg.ones([3])),
    /^GRU: expected input of shape \[B, T, 3\] or \[T, 3\] \(unbatched\), got \[3\]/,
    'rank',
  );
  assertThrows(
    () => rnn.forward(x, tg.zeros([1, 2, 4])),
    /^RNN: expected the initial state h0 of shape \[2,2,4\], got \[1,2,4\] \(layer RNN\(3→4, numLayers=2\)\)$/,
  );
  assertThrows(
    () => gru.forward(x, tg.zeros([2, 2, 4])),
    /^GRU: expected the initial state h0 of shape \[2,5,4\], got \[2,2,4\]/,
    'batch first: B is the first axis of x, the second of h0',
  );
  assertThrows(
    () => lstm.forward(x, { h: tg.zeros([1, 2, 4]), c: tg.zeros([1, 2, 5]) }),
    /^LSTM: expected the initial state c of shape \[1,2,4\], got \[1,2,5\]/,
  );
  assertThrows(
    () => lstm.forward(x, tg.zeros([1, 2, 4]) as never),
    /^LSTM: the initial state must be an object \{ h, c \}/,
  );
  assertThrows(() => lstm.forward(tg.ones([5, 0, 3])), /^LSTM: needs at least one time step and one sequence/);
  assertThrows(
    () => new nn.LSTMCell(3, 4).forward(tg.ones([2, 4])),
    /^LSTMCell: expected input of shape \[B, 3\] or \[3\] \(unbatched\), got \[2,4\] \(layer LSTMCell\(3→4\)\)$/,
  );
  assertThrows(
    () => new nn.GRUCell(3, 4).forward(tg.ones([2, 3]), tg.ones([4])),
    /^GRUCell: expected the state h of shape \[2,4\], got \[4\]/,
  );
  assertThrows(
    () => new nn.RNN(3, 4, { nonlinearity: 'sigmoid' as never }),
    /^RNN: nonlinearity must be 'tanh' or 'relu'/,
  );
  assertThrows(() => new nn.GRU(3, 4, { dropout: -0.1 }), /^GRU: dropout must be in \[0, 1\)/);
  assertThrows(() => new nn.LSTM(3, 0), /^LSTM: hiddenSize must be a positive integer, got 0/);
  [rnn, gru, lstm].forEach((m) => m.dispose());
  x.dispose();
});

/** The entries every kernel of `fn` writes (TF.js's profile of it): what a backward sweep allocates. */
async function entriesWritten(fn: () => void): Promise<number> {
  const info = await tf.profile(fn);
  return info.kernels.reduce((n, k) => n + k.outputShapes.reduce((m, s) => m + s.reduce((a, d) => a * d, 1), 0), 0);
}

nodeOnly('RNN, GRU, LSTM: the backward sweep writes O(T) entries (twice the steps, twice the entries)', async () => {
  await tg.setBackend('cpu');
  const before = tg.memory().numTensors;
  const layers = [new nn.RNN(3, 4, { seed: 7 }), new nn.GRU(3, 4, { seed: 8 }), new nn.LSTM(3, 4, { seed: 9 })];
  for (const layer of layers) {
    const backwardEntries = async (T: number) => {
      const x = tg.randn([T, 1, 3], { seed: T });
      const { output, hN, cN } = layer.forward(x) as tg.nn.LSTMOutput;
      const loss = output.sum();
      const n = await entriesWritten(() => loss.backward());
      tg.dispose([x, output, hN, cN, loss]);
      layer.zeroGrad();
      return n;
    };
    // a step that took its input rows by slicing [T·B, G·H] would pad each gradient back to that
    // size: T² entries, and a ratio near 4
    const ratio = (await backwardEntries(128)) / (await backwardEntries(64));
    assert.ok(ratio < 2.3, `${layer.constructor.name}: 128 steps write ${ratio.toFixed(2)}× the entries of 64`);
  }
  layers.forEach((m) => m.dispose());
  assert.is(tg.memory().numTensors, before, 'nothing left behind');
});

test.run();
