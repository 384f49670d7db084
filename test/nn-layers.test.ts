// tg.nn's newer layers and Module's walks: gradchecks through every input and parameter, state
// dicts with buffers (round trip, safetensors), memory, train/eval behaviour, and the errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../src/index.js';
import { assertClose, assertNoLeak, assertThrows, gradcheckModule } from './helpers.js';

const nn = tg.nn;

test('Embedding: rows by int32 index of any shape; the padding row gets no gradient; gradcheck through the table', async () => {
  const emb = new nn.Embedding(6, 3, { paddingIdx: 2, seed: 1 });
  assert.equal(Array.from(emb.weight.dataSync()).slice(6, 9), [0, 0, 0], 'the padding row starts at zero');
  const idx = tg.tensor(
    [
      [2, 0, 5],
      [2, 2, 1],
    ],
    { dtype: 'int32' },
  );
  assertNoLeak(() => {
    const y = emb.forward(idx);
    assert.equal(y.shape, [2, 3, 3]);
    y.dispose();
  }, 'forward, then dispose');
  assertNoLeak(() => {
    tg.tidy(() => emb.forward(idx).mul(3).sum().backward());
    const g = emb.weight.grad!.arraySync() as number[][];
    assert.equal(g[2], [0, 0, 0], 'no gradient into the padding row');
    assert.ok(g[0].some((v) => v !== 0) && g[3].every((v) => v === 0));
    emb.zeroGrad();
  }, 'backward');
  const one = emb.forward(tg.tensor(5, { dtype: 'int32' }));
  assert.equal(one.shape, [3]);
  await gradcheckModule(emb, () => emb.forward(idx).square(), [], 'Embedding');
  assertThrows(
    () =>
      emb.forward(
        tg.tensor(
          [
            [0, 1],
            [6, 0],
          ],
          { dtype: 'int32' },
        ),
      ),
    /^Embedding: index 6 at position \[1, 0\] is out of range \[0, 6\) \(layer Embedding\(6, 3, paddingIdx=2\)\)$/,
  );
  assertThrows(
    () => emb.forward(tg.tensor([-1], { dtype: 'int32' })),
    /Embedding: index -1 at position \[0\] is out of range/,
  );
  assertThrows(() => emb.forward(tg.tensor([1, 2])), /^Embedding: indices must be int32, got float32 of shape \[2\]/);
  assertThrows(
    () => new nn.Embedding(4, 2, { paddingIdx: 4 }),
    /Embedding: paddingIdx must be an integer in \[-4, 4\), got 4/,
  );
  assert.is(new nn.Embedding(4, 2, { paddingIdx: -1 }).paddingIdx, 3, 'a negative paddingIdx counts from the end');
  tg.dispose([idx, one]);
  emb.dispose();
});

test('BatchNorm: batch statistics in train(), running ones in eval(); buffers in the state dict, not in parameters()', async () => {
  const bn = new nn.BatchNorm2d(3);
  assert.equal(
    bn.namedParameters().map(([n]) => n),
    ['weight', 'bias'],
  );
  assert.equal(
    bn.namedBuffers().map(([n, b]) => `${n}:${b.shape}`),
    ['runningMean:3', 'runningVar:3', 'numBatchesTracked:'],
  );
  assert.equal(Object.keys(bn.stateDict()), ['weight', 'bias', 'runningMean', 'runningVar', 'numBatchesTracked']);
  const x = tg.randn([4, 2, 2, 3], { seed: 1, mean: 2, std: 3 });
  assertNoLeak(() => bn.forward(x).dispose(), 'train forward');
  // normalised per channel: mean 0, variance 1 (biased)
  const y = bn.forward(x);
  const v = y.arraySync() as number[][][][];
  for (let c = 0; c < 3; c++) {
    const col = v.flat(2).map((r) => r[c]);
    const mu = col.reduce((a, b) => a + b) / col.length;
    assert.ok(Math.abs(mu) < 1e-5, `channel ${c} mean ${mu}`);
    assertClose(col.reduce((a, b) => a + (b - mu) ** 2, 0) / col.length, 1, { atol: 1e-3 });
  }
  y.dispose();
  assert.is(bn.numBatchesTracked!.item(), 2, 'two batches seen');
  bn.eval();
  const ye = bn.forward(x);
  const rm = Array.from(bn.runningMean!.dataSync());
  const rv = Array.from(bn.runningVar!.dataSync());
  const xv = x.arraySync() as number[][][][];
  assertClose(
    ye,
    xv.flat(3).map((e, i) => (e - rm[i % 3]) / Math.sqrt(rv[i % 3] + 1e-5)),
    { atol: 1e-5 },
  );
  assert.is(bn.numBatchesTracked!.item(), 2, 'eval() does not track');
  ye.dispose();
  bn.train();
  await gradcheckModule(bn, (t) => bn.forward(t).square(), [tg.randn([3, 2, 2, 3], { seed: 2 })], 'BatchNorm2d train');
  bn.eval();
  await gradcheckModule(bn, (t) => bn.forward(t).square(), [tg.randn([3, 2, 2, 3], { seed: 2 })], 'BatchNorm2d eval');
  // trackRunningStats false: batch statistics always, no buffers
  const plain = new nn.BatchNorm1d(2, { trackRunningStats: false, affine: false });
  assert.equal(plain.buffers(), []);
  assert.equal(plain.parameters(), []);
  plain.eval();
  assertClose(
    plain.forward(
      tg.tensor([
        [1, 2],
        [3, 6],
      ]),
    ),
    [-1, -1, 1, 1],
    { atol: 1e-4 },
  );
  assertThrows(
    () => new nn.BatchNorm1d(3).forward(tg.ones([1, 3])),
    /^BatchNorm1d: expected more than 1 value per channel when training, got input of shape \[1,3\]: the variance of one value is undefined; call eval\(\) to use the running statistics$/,
  );
  assertThrows(
    () => bn.forward(tg.ones([2, 3])),
    /^BatchNorm2d: expected input of shape \[N, H, W, 3\] \(NHWC\), got \[2,3\] \(layer BatchNorm2d\(3\)\)$/,
  );
  assertThrows(
    () => new nn.BatchNorm1d(4).forward(tg.ones([2, 3])),
    /^BatchNorm1d: expected input of shape \[N, 4\] or \[N, L, 4\], got \[2,3\]/,
  );
  assertThrows(() => new nn.BatchNorm1d(4, { momentum: 2 }), /BatchNorm1d: momentum must be in \[0, 1\] or null/);
  const evalOne = new nn.BatchNorm1d(3).eval();
  evalOne.forward(tg.ones([1, 3])).dispose();
  x.dispose();
  [bn, plain, evalOne].forEach((m) => m.dispose());
});

test('state dicts carry buffers: loadStateDict and save/load round trip; dispose frees buffers', async () => {
  const make = () =>
    new nn.Sequential(
      new nn.Linear(3, 4, { seed: 1 }),
      new nn.BatchNorm1d(4),
      new nn.ReLU(),
      new nn.Linear(4, 2, { seed: 2 }),
    );
  const a = make();
  const x = tg.randn([5, 3], { seed: 3 });
  for (let i = 0; i < 3; i++) a.forward(x).dispose();
  a.eval();
  const ya = a.forward(x);
  const b = make().eval();
  assert.not.equal(Array.from(b.forward(x).dataSync()), Array.from(ya.dataSync()));
  b.fromBytes(a.toBytes());
  assertClose(b.forward(x), ya);
  assert.equal(Object.keys(b.stateDict()), [
    '0.weight',
    '0.bias',
    '1.weight',
    '1.bias',
    '1.runningMean',
    '1.runningVar',
    '1.numBatchesTracked',
    '3.weight',
    '3.bias',
  ]);
  const c = make();
  c.loadStateDict(a.stateDict());
  assert.is((c.layers[1] as tg.nn.BatchNorm1d).numBatchesTracked!.item(), 3);
  const before = tg.memory().numTensors;
  c.dispose();
  assert.is(tg.memory().numTensors, before - 9, 'six parameters and three buffers freed');
  [a, b].forEach((m) => m.dispose());
  tg.dispose([x, ya]);
});

test('GroupNorm and RMSNorm: gradcheck through inputs and parameters; shape errors name the layer', async () => {
  const gn = new nn.GroupNorm(2, 4);
  tg.dispose([gn.weight!.grad]);
  const x = tg.randn([2, 3, 4], { seed: 4 });
  // per sample and group, the normalised values have mean 0
  const y = gn.forward(x).arraySync() as number[][][];
  const g0 = y[0].flatMap((r) => r.slice(0, 2));
  assert.ok(Math.abs(g0.reduce((a, b) => a + b) / g0.length) < 1e-5);
  await gradcheckModule(gn, (t) => gn.forward(t).mul(tg.randn([2, 3, 4], { seed: 5 })), [x], 'GroupNorm');
  const rms = new nn.RMSNorm([3, 4]);
  await gradcheckModule(rms, (t) => rms.forward(t).mul(tg.randn([2, 3, 4], { seed: 6 })), [x], 'RMSNorm');
  assertNoLeak(() => {
    gn.forward(x).dispose();
    rms.forward(x).dispose();
  });
  assertThrows(() => new nn.GroupNorm(3, 4), /GroupNorm: numChannels 4 must be divisible by numGroups 3/);
  assertThrows(
    () => gn.forward(tg.ones([2, 3])),
    /^GroupNorm: expected input of shape \[N, \.\.\., 4\] \(channels last\), got \[2,3\] \(layer GroupNorm\(2, 4\)\)$/,
  );
  assertThrows(
    () => rms.forward(tg.ones([2, 4])),
    /^RMSNorm: expected input of shape \[\.\.\., 3, 4\], got \[2,4\] \(layer RMSNorm\(\[3,4\]\)\)$/,
  );
  x.dispose();
  [gn, rms].forEach((m) => m.dispose());
});

test('attention: scaledDotProductAttention gradchecks through q, k, v; masks; bad shapes', async () => {
  const q = tg.randn([2, 3, 4], { seed: 1 });
  const k = tg.randn([2, 5, 4], { seed: 2 });
  const v = tg.randn([2, 5, 2], { seed: 3 });
  const mask = tg.tensor([[true, false, true, true, false]], { dtype: 'bool' });
  const r = await tg.gradcheck(
    (a: tg.Tensor, b: tg.Tensor, c: tg.Tensor) => nn.scaledDotProductAttention(a, b, c, { mask }),
    [q, k, v],
  );
  assert.ok(r.ok, JSON.stringify(r.worst));
  assertNoLeak(() => nn.scaledDotProductAttention(q, k, v, { mask }).dispose(), 'forward with a mask');
  // a masked key gets no weight: changing its value changes nothing
  const v2 = tg.tensor((v.arraySync() as number[][][]).map((b) => b.map((row, j) => (j === 1 ? [99, 99] : row))));
  assertClose(nn.scaledDotProductAttention(q, k, v2, { mask }), nn.scaledDotProductAttention(q, k, v, { mask }));
  assertThrows(
    () => nn.scaledDotProductAttention(q, tg.ones([2, 5, 3]), v),
    /^scaledDotProductAttention: expected query \[\.\.\., L, E\], key \[\.\.\., S, E\] and value \[\.\.\., S, Ev\] of one rank, got \[2,3,4\], \[2,5,3\] and \[2,5,2\]$/,
  );
  assertThrows(
    () => nn.scaledDotProductAttention(q, k, v, { mask: tg.ones([4, 5]) }),
    /the mask of shape \[4,5\] does not broadcast to the scores' \[\.\.\., 3, 5\]/,
  );
  assertThrows(
    () => nn.scaledDotProductAttention(q, k, v, { mask, isCausal: true }),
    /give a mask or isCausal, not both/,
  );
  assertThrows(() => nn.scaledDotProductAttention(q, k, v, { dropout: 1 }), /dropout must be in \[0, 1\)/);
  tg.dispose([q, k, v, v2, mask]);
});

test('MultiheadAttention and TransformerEncoderLayer: gradcheck through inputs and parameters; no leak; errors', async () => {
  const mha = new nn.MultiheadAttention(4, 2, { seed: 1 });
  const x = tg.randn([2, 3, 4], { seed: 2 });
  const kpm = tg.tensor(
    [
      [false, false, true],
      [false, false, false],
    ],
    { dtype: 'bool' },
  );
  await gradcheckModule(
    mha,
    (t) => mha.forward(t, t, t, { keyPaddingMask: kpm, isCausal: true }),
    [x],
    'MultiheadAttention',
  );
  assertNoLeak(() => {
    mha.forward(x).dispose();
    const { output, weights } = mha.attend(x, x, x, { averageAttnWeights: false });
    assert.equal(weights.shape, [2, 2, 3, 3]);
    tg.dispose([output, weights]);
    tg.tidy(() => mha.forward(x).sum().backward());
    mha.zeroGrad();
  }, 'MultiheadAttention');
  assertThrows(
    () => mha.forward(tg.ones([2, 3, 5])),
    /^MultiheadAttention: expected the query of shape \[N, L, 4\] \(batch first\), got \[2,3,5\] \(layer MultiheadAttention\(4, heads=2\)\)$/,
  );
  assertThrows(
    () => mha.forward(x, x, x, { keyPaddingMask: tg.ones([2, 4], { dtype: 'bool' }) }),
    /keyPaddingMask must be \[N, S\] = \[2, 3\], got \[2,4\]/,
  );
  assertThrows(() => new nn.MultiheadAttention(5, 2), /MultiheadAttention: embedDim 5 must be divisible by numHeads 2/);
  const enc = new nn.TransformerEncoderLayer(4, 2, {
    dimFeedforward: 6,
    dropout: 0,
    seed: 3,
    normFirst: true,
    activation: 'gelu',
  });
  await gradcheckModule(enc, (t) => enc.forward(t), [x], 'TransformerEncoderLayer');
  assertNoLeak(() => {
    enc.forward(x, { isCausal: true }).dispose();
    tg.tidy(() => enc.forward(x).sum().backward());
    enc.zeroGrad();
  }, 'TransformerEncoderLayer');
  // dropout acts in train() only
  const dropping = new nn.TransformerEncoderLayer(4, 2, { dimFeedforward: 6, dropout: 0.5, seed: 4 });
  const a = dropping.forward(x);
  dropping.eval();
  const b1 = dropping.forward(x);
  const b2 = dropping.forward(x);
  assertClose(b1, b2);
  assert.not.equal(Array.from(a.dataSync()), Array.from(b1.dataSync()));
  assertThrows(
    () => enc.forward(tg.ones([3, 4])),
    /^TransformerEncoderLayer: expected input of shape \[N, L, 4\] \(batch first\), got \[3,4\]/,
  );
  assertThrows(
    () => new nn.TransformerEncoderLayer(4, 2, { activation: 'swish' as never }),
    /activation must be 'relu' or 'gelu'/,
  );
  tg.dispose([x, kpm, a, b1, b2]);
  [mha, enc, dropping].forEach((m) => m.dispose());
});

test('Module walks: children, modules, apply, requiresGrad_, numParameters, summary', () => {
  const net = new nn.Sequential(
    new nn.Linear(2, 3),
    new nn.Sequential(new nn.BatchNorm1d(3), new nn.ReLU()),
    new nn.Linear(3, 1),
  );
  assert.equal(
    net.children().map((m) => m.describe()),
    ['Linear(2→3)', 'Sequential', 'Linear(3→1)'],
  );
  assert.equal(
    net.namedChildren().map(([n]) => n),
    ['0', '1', '2'],
  );
  assert.equal(net.modules().length, 6);
  const seen: string[] = [];
  assert.is(
    net.apply((m) => seen.push(m.describe())),
    net,
  );
  assert.equal(
    seen,
    ['Linear(2→3)', 'BatchNorm1d(3)', 'ReLU', 'Sequential', 'Linear(3→1)', 'Sequential'],
    'children first, as PyTorch',
  );
  assert.is(net.numParameters(), 9 + 6 + 4);
  (net.layers[0] as tg.nn.Linear).requiresGrad_(false);
  assert.is(net.numParameters({ trainableOnly: true }), 10);
  assert.ok(!(net.layers[0] as tg.nn.Linear).weight.requiresGrad);
  const s = net.summary();
  assert.match(s, /^name +module +parameters +count$/m);
  assert.match(s, /^0 +Linear\(2→3\) +weight \[2,3\] \(frozen\), bias \[3\] \(frozen\) +9$/m);
  assert.match(s, /^1\.0 +BatchNorm1d\(3\) +weight \[3\], bias \[3\] +6$/m);
  assert.match(s, /^19 parameters \(10 trainable, 9 frozen\), 7 buffer entries$/m);
  net.requiresGrad_();
  assert.is(net.numParameters({ trainableOnly: true }), 19);
  assertThrows(() => net.apply(3 as never), /Sequential\.apply: expected a function/);
  net.dispose();
});

/**
 * Each activation layer with its values at x: no parameters, its formula (freeing all it made), and
 * its gradient (full gradcheck of f(x)·x).
 */
async function checkActivations(cases: [tg.nn.Module, number[]][], x: tg.Tensor): Promise<void> {
  for (const [m, want] of cases) {
    const name = m.constructor.name;
    assert.equal(m.parameters().length, 0, `${name} has no parameters`);
    assertNoLeak(() => tg.tidy(() => assertClose(m.forward(x), want, { msg: name })), name);
    const r = await tg.gradcheck((t: tg.Tensor) => m.forward(t).mul(t), [x], { mode: 'full' });
    assert.ok(r.ok, `${name}: ${JSON.stringify(r.worst)}`);
  }
}

test('LogSoftmax, ELU, Softplus and Identity: their formulas, no parameters, gradients, no leak', async () => {
  const x = tg.tensor([
    [-2, -0.5, 0.3],
    [0.5, 2, -1],
  ]);
  const rows = [
    [-2, -0.5, 0.3],
    [0.5, 2, -1],
  ];
  const lse = rows.map((r) => Math.log(r.reduce((a, v) => a + Math.exp(v), 0)));
  const cases: [tg.nn.Module, number[]][] = [
    [new nn.LogSoftmax(), rows.flatMap((r, i) => r.map((v) => v - lse[i]))],
    [new nn.ELU(), rows.flat().map((v) => (v > 0 ? v : Math.exp(v) - 1))],
    [new nn.Softplus(), rows.flat().map((v) => Math.log1p(Math.exp(v)))],
    [new nn.Identity(), rows.flat()],
  ];
  await checkActivations(cases, x);
  const l0 = new nn.LogSoftmax(0).forward(x);
  assertClose(l0.exp().sum({ axis: 0 }), [1, 1, 1]);
  assertThrows(() => new nn.LogSoftmax(2).forward(x), /logSoftmax: axis 2 is out of range/);
  assertThrows(() => new nn.Identity().forward('x' as never), /Identity: /);
  tg.dispose([x, l0]);
});

test('SiLU, Mish, Hardtanh, LogSigmoid, Softsign, SELU: formulas, no parameters, gradients, no leak', async () => {
  const rows = [
    [-2, -0.5, 0.3],
    [0.5, 2, -1.3],
  ];
  const x = tg.tensor(rows);
  const softplus = (v: number) => Math.log1p(Math.exp(v));
  const [lambda, alpha] = [1.0507009873554805, 1.6732632423543772];
  const cases: [tg.nn.Module, number[]][] = [
    [new nn.SiLU(), rows.flat().map((v) => v / (1 + Math.exp(-v)))],
    [new nn.Mish(), rows.flat().map((v) => v * Math.tanh(softplus(v)))],
    [new nn.Hardtanh(), rows.flat().map((v) => Math.min(1, Math.max(-1, v)))],
    [new nn.Hardtanh({ min: -0.2, max: 1.5 }), rows.flat().map((v) => Math.min(1.5, Math.max(-0.2, v)))],
    [new nn.LogSigmoid(), rows.flat().map((v) => -softplus(-v))],
    [new nn.Softsign(), rows.flat().map((v) => v / (1 + Math.abs(v)))],
    [new nn.SELU(), rows.flat().map((v) => lambda * (v > 0 ? v : alpha * Math.expm1(v)))],
  ];
  await checkActivations(cases, x);
  assertThrows(() => new nn.Hardtanh({ min: 2, max: 1 }), /Hardtanh: min \(2\) must be a number not above max \(1\)/);
  tg.dispose(x);
});

test.run();
