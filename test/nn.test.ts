// tg.nn: modules (shapes, parameters, train/eval), state dicts and files, init statistics,
// losses against their formulas, and the errors for bad input.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tg from '../src/index.js';
import { assertClose, assertNoLeak, assertThrows } from './helpers.js';

const nn = tg.nn;
const values = (t: tg.Tensor) => Array.from(t.dataSync());

// ---- Module basics

test('Linear: y = xW + b with W [in, out]; shapes, parameters, names', () => {
  const lin = new nn.Linear(3, 2, { seed: 1 });
  assert.equal(lin.weight.shape, [3, 2]);
  assert.equal(lin.bias!.shape, [2]);
  assert.equal(
    lin.namedParameters().map(([n]) => n),
    ['weight', 'bias'],
  );
  assert.ok(lin.parameters().every((p) => p.requiresGrad && p.isLeaf));
  const x = tg.tensor([
    [1, 2, 3],
    [0, -1, 0.5],
  ]);
  const y = lin.forward(x);
  const W = lin.weight.arraySync() as number[][];
  const b = values(lin.bias!);
  const expected = (x.arraySync() as number[][]).map((row) =>
    [0, 1].map((j) => row.reduce((s, v, i) => s + v * W[i][j], b[j])),
  );
  assertClose(y, expected.flat());
  // batched leading axes
  const y3 = lin.forward(tg.ones([4, 5, 3]));
  assert.equal(y3.shape, [4, 5, 2]);
  [x, y, y3].forEach((t) => t.dispose());
  lin.dispose();
});

test('Linear init: PyTorch default U(±1/√in), seeded and reproducible; bias: false', () => {
  const a = new nn.Linear(100, 50, { seed: 3 });
  const b = new nn.Linear(100, 50, { seed: 3 });
  const w = values(a.weight);
  assert.ok(w.every((v) => Math.abs(v) <= 0.1 + 1e-7));
  assert.equal(w, values(b.weight));
  const c = new nn.Linear(4, 2, { bias: false });
  assert.is(c.bias, null);
  assert.equal(
    c.namedParameters().map(([n]) => n),
    ['weight'],
  );
  [a, b, c].forEach((m) => m.dispose());
});

test('Sequential and MLP: dotted names, forward shapes, toString', () => {
  const net = new nn.MLP([2, 8, 8, 3], { activation: 'tanh', seed: 1 });
  assert.equal(
    net.namedParameters().map(([n, p]) => `${n}:${p.shape}`),
    ['0.weight:2,8', '0.bias:8', '2.weight:8,8', '2.bias:8', '4.weight:8,3', '4.bias:3'],
  );
  assert.is(net.layers.length, 5);
  assert.instance(net.layers[1], nn.Tanh);
  const y = net.forward(tg.ones([5, 2]));
  assert.equal(y.shape, [5, 3]);
  assert.match(net.toString(), /Linear\(2→8\)/);
  y.dispose();
  net.dispose();
  const nested = new nn.Sequential(new nn.Sequential(new nn.Linear(2, 2)), new nn.ReLU(), new nn.Linear(2, 1));
  assert.equal(
    nested.namedParameters().map(([n]) => n),
    ['0.0.weight', '0.0.bias', '2.weight', '2.bias'],
  );
  nested.dispose();
});

test('MLP activations each run, and an unknown one is an error', () => {
  for (const activation of ['relu', 'tanh', 'gelu', 'sigmoid', 'leakyRelu', 'silu', 'mish', 'elu'] as const) {
    const net = new nn.MLP([3, 4, 2], { activation, seed: 2 });
    assertNoLeak(() => {
      tg.tidy(() =>
        net
          .forward(tg.ones([2, 3]))
          .sum()
          .backward(),
      );
      assert.ok(
        net.parameters().every((p) => p.grad !== null),
        activation,
      );
      net.zeroGrad();
    }, activation);
    net.dispose();
  }
  assertThrows(() => new nn.MLP([2, 3], { activation: 'swish' as 'relu' }), /MLP: unknown activation 'swish'/);
  assertThrows(() => new nn.MLP([2]), /MLP: sizes must list/);
});

test('forward and backward through a module leak nothing; disposing the output frees the intermediates', () => {
  const net = new nn.MLP([4, 8, 3], { seed: 1 });
  const x = tg.randn([6, 4], { seed: 2 });
  assertNoLeak(() => {
    const y = net.forward(x);
    y.dispose();
  }, 'forward, then dispose');
  assertNoLeak(() => {
    tg.tidy(() => net.forward(x).square().mean().backward());
    net.zeroGrad();
  }, 'backward in a tidy, then zeroGrad');
  x.dispose();
  net.dispose();
});

test('zeroGrad sets every grad to null and frees it', () => {
  const net = new nn.MLP([2, 3, 1], { seed: 1 });
  const before = tg.memory().numTensors;
  tg.tidy(() =>
    net
      .forward(tg.ones([2, 2]))
      .sum()
      .backward(),
  );
  assert.is(tg.memory().numTensors, before + 4, 'one grad per parameter');
  net.zeroGrad();
  assert.ok(net.parameters().every((p) => p.grad === null));
  assert.is(tg.memory().numTensors, before);
  net.dispose();
});

test('parameters outlive tidy; dispose() frees them all', () => {
  const before = tg.memory().numTensors;
  const net = tg.tidy(() => new nn.MLP([3, 5, 2]));
  assert.is(tg.memory().numTensors, before + 4);
  assert.ok(net.parameters().every((p) => !p.isDisposed));
  net.dispose();
  assert.is(tg.memory().numTensors, before);
});

test('train() / eval() set training on the module and every child', () => {
  const drop = new nn.Dropout(0.5);
  const net = new nn.Sequential(new nn.Linear(2, 2), new nn.Sequential(drop));
  assert.ok(net.training && drop.training);
  assert.is(net.eval(), net);
  assert.ok(!net.training && !drop.training);
  net.train();
  assert.ok(drop.training);
  net.dispose();
});

// ---- state dicts and files

test('stateDict / loadStateDict round trip copies values (not references)', () => {
  const a = new nn.MLP([3, 4, 2], { seed: 1 });
  const b = new nn.MLP([3, 4, 2], { seed: 9 });
  const x = tg.randn([2, 3], { seed: 4 });
  const ya = a.forward(x);
  assert.not.equal(values(b.forward(x)), values(ya));
  const before = tg.memory().numTensors;
  b.loadStateDict(a.stateDict());
  assert.is(tg.memory().numTensors, before, 'old values freed, new ones kept');
  assertClose(b.forward(x), ya);
  a.dispose(); // b's parameters are copies: still alive
  assert.ok(b.parameters().every((p) => !p.isDisposed));
  b.dispose();
  x.dispose();
});

test('loadStateDict names every missing, unexpected and mis-shaped entry, and changes nothing', () => {
  const net = new nn.MLP([3, 4, 2], { seed: 1 });
  const w = values(net.layers[0] instanceof nn.Linear ? (net.layers[0] as tg.nn.Linear).weight : net.parameters()[0]);
  const other = new nn.MLP([3, 5, 2]);
  const sd = { ...other.stateDict() } as Record<string, tg.Tensor>;
  delete sd['2.bias'];
  sd['9.weight'] = other.parameters()[0];
  assertThrows(
    () => net.loadStateDict(sd),
    /missing '2\.bias'; unexpected '9\.weight'; '0\.weight' has shape \[3,5\], expected \[3,4\]; '0\.bias' has shape \[5\], expected \[4\]; '2\.weight' has shape \[5,2\], expected \[4,2\]/,
  );
  assert.equal(values(net.parameters()[0]), w, 'nothing was loaded');
  assertThrows(() => net.loadStateDict(null as unknown as tg.nn.StateDict), /loadStateDict: expected an object/);
  net.dispose();
  other.dispose();
});

test('save / load round trip through a .safetensors file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tapegrad-nn-'));
  try {
    const path = join(dir, 'net.safetensors');
    const a = new nn.Sequential(
      new nn.Linear(3, 4, { seed: 1 }),
      new nn.LayerNorm(4),
      new nn.ReLU(),
      new nn.Linear(4, 2, { seed: 2 }),
    );
    await a.save(path);
    // the header is the documented safetensors JSON
    const bytes = readFileSync(path);
    const n = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
    assert.equal(header['0.weight'], { dtype: 'F32', shape: [3, 4], data_offsets: [0, 48] });
    assert.is((8 + n) % 8, 0, 'the body starts 8-byte aligned');
    const b = new nn.Sequential(
      new nn.Linear(3, 4, { seed: 7 }),
      new nn.LayerNorm(4),
      new nn.ReLU(),
      new nn.Linear(4, 2, { seed: 8 }),
    );
    const before = tg.memory().numTensors;
    await b.load(path);
    assert.is(tg.memory().numTensors, before);
    for (const [[na, pa], [nb, pb]] of a.namedParameters().map((e, i) => [e, b.namedParameters()[i]])) {
      assert.is(na, nb);
      assert.equal(values(pb), values(pa), na);
    }
    // a file for another architecture is refused with loadStateDict's message
    const c = new nn.Linear(3, 5);
    await c.load(path).then(
      () => assert.unreachable('load should fail'),
      (e) => assert.match((e as Error).message, /missing 'weight', 'bias'; unexpected '0\.weight'/),
    );
    [a, b, c].forEach((m) => m.dispose());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('fromBytes refuses bytes that are not safetensors', () => {
  const lin = new nn.Linear(2, 2);
  assertThrows(() => lin.fromBytes(new Uint8Array([1, 2, 3])), /fromBytes: not a safetensors file/);
  const bad = new Uint8Array(16);
  new DataView(bad.buffer).setBigUint64(0, 1000n, true);
  assertThrows(() => lin.fromBytes(bad), /header length 1000 exceeds/);
  lin.dispose();
});

// ---- layers

test('Dropout: seeded masks, scaling by 1/(1−p), identity in eval', () => {
  const x = tg.ones([1000]);
  const d1 = new nn.Dropout(0.3, { seed: 5 });
  const d2 = new nn.Dropout(0.3, { seed: 5 });
  const a = values(d1.forward(x));
  assert.equal(values(d2.forward(x)), a, 'same seed, same mask');
  assert.not.equal(values(d1.forward(x)), a, 'the next call draws a new mask');
  const kept = a.filter((v) => v !== 0);
  assert.ok(kept.every((v) => Math.abs(v - 1 / 0.7) < 1e-6));
  assert.ok(Math.abs(kept.length / 1000 - 0.7) < 0.06, `kept ${kept.length}`);
  d1.eval();
  assert.is(d1.forward(x), x, 'eval: the identity');
  assertNoLeak(() => d2.forward(x).dispose(), 'the mask is freed with the output');
  assertNoLeak(() => tg.tidy(() => void d2.forward(x)), 'and by tidy');
  // the gradient flows through the mask
  const xr = tg.ones([10], { requiresGrad: true });
  const y = d2.forward(xr);
  y.sum().backward();
  assert.equal(values(xr.grad!), values(y));
  assertThrows(() => new nn.Dropout(1), /Dropout: p must be in \[0, 1\)/);
});

test('LayerNorm normalises the last axes, then scales and shifts', () => {
  const ln = new nn.LayerNorm(4);
  const x = tg.tensor([
    [1, 2, 3, 4],
    [2, 2, 2, 10],
  ]);
  const y = ln.forward(x);
  const rows = x.arraySync() as number[][];
  const expected = rows.flatMap((r) => {
    const mu = r.reduce((a, b) => a + b) / 4;
    const v = r.reduce((a, b) => a + (b - mu) ** 2, 0) / 4;
    return r.map((e) => (e - mu) / Math.sqrt(v + 1e-5));
  });
  assertClose(y, expected, { atol: 1e-5 });
  assert.equal(
    ln.namedParameters().map(([n, p]) => `${n}:${p.shape}`),
    ['weight:4', 'bias:4'],
  );
  assertThrows(() => ln.forward(tg.ones([2, 3])), /LayerNorm: expected input of shape \[\.\.\., 4\], got \[2,3\]/);
  const report = tg.gradcheck((t: tg.Tensor) => ln.forward(t), [tg.randn([2, 4], { seed: 1 })]);
  return report.then((r) => assert.ok(r.ok, JSON.stringify(r.worst)));
});

test('activation modules match their ops', () => {
  const x = tg.tensor([-2, -0.5, 0, 0.5, 2]);
  assertClose(new nn.ReLU().forward(x), [0, 0, 0, 0.5, 2]);
  assertClose(new nn.Tanh().forward(x), values(x).map(Math.tanh));
  assertClose(
    new nn.Sigmoid().forward(x),
    values(x).map((v) => 1 / (1 + Math.exp(-v))),
  );
  assertClose(new nn.LeakyReLU(0.1).forward(x), [-0.2, -0.05, 0, 0.5, 2]);
  assertClose(new nn.GELU().forward(x), [-0.0455003, -0.1542688, 0, 0.3457312, 1.9544997], { atol: 1e-5 });
  const s = new nn.Softmax().forward(tg.tensor([[1, 2, 3]]));
  const e = [1, 2, 3].map(Math.exp);
  assertClose(
    s,
    e.map((v) => v / (e[0] + e[1] + e[2])),
  );
});

test('pools and Conv2d take the window either way: a size (positional) or an options object', () => {
  const x = tg.tensor(
    Array.from({ length: 16 }, (_, i) => i),
    { shape: [1, 4, 4, 1] },
  );
  assertNoLeak(() => {
    for (const y of [
      tg.maxPool2d(x, 2),
      tg.maxPool2d(x, [2, 2]),
      tg.maxPool2d(x, { kernelSize: 2 }),
      new nn.MaxPool2d(2).forward(x),
      new nn.MaxPool2d({ kernelSize: 2 }).forward(x),
    ]) {
      assertClose(y, [5, 7, 13, 15]);
      y.dispose();
    }
    for (const y of [
      tg.avgPool2d(x, 3, { stride: 2, padding: 'same' }),
      new nn.AvgPool2d(3, { stride: 2, padding: 'same' }).forward(x),
      new nn.AvgPool2d({ kernelSize: 3, stride: 2, padding: 'same' }).forward(x),
    ]) {
      assertClose(y, [5, 6.5, 11, 12.5]);
      y.dispose();
    }
  });
  const a = new nn.Conv2d(1, 2, 3, { padding: 'same', seed: 1 });
  const b = new nn.Conv2d(1, 2, { kernelSize: 3, padding: 'same', seed: 1 });
  assert.equal(b.kernelSize, [3, 3]);
  const [ya, yb] = [a.forward(x), b.forward(x)];
  assert.equal(yb.shape, [1, 4, 4, 2]);
  assertClose(yb, ya);
  assertThrows(
    () => new nn.MaxPool2d('big' as never),
    /^MaxPool2d: kernelSize is required: a size \(2 or \[2, 3\]\) or \{ kernelSize, stride, padding \}, got "big"/,
  );
  assertThrows(() => new nn.MaxPool2d(2.5), /^MaxPool2d: kernelSize must be an integer ≥ 1/);
  assertThrows(() => tg.avgPool2d(x, 2, { stride: 0 }), /^avgPool2d: stride must be an integer ≥ 1/);
  tg.dispose([x, ya, yb]);
  a.dispose();
  b.dispose();
});

test('Conv2d, pools and Flatten: NHWC shapes, a small convnet trains a step', () => {
  const net = new nn.Sequential(
    new nn.Conv2d(1, 4, 3, { padding: 'same', seed: 1 }),
    new nn.ReLU(),
    new nn.MaxPool2d({ kernelSize: 2 }),
    new nn.Conv2d(4, 6, 3, { seed: 2 }),
    new nn.AvgPool2d({ kernelSize: 2 }),
    new nn.Flatten(),
    new nn.Linear(6, 2, { seed: 3 }),
  );
  assert.equal((net.layers[0] as tg.nn.Conv2d).weight.shape, [3, 3, 1, 4]);
  const x = tg.randn([2, 8, 8, 1], { seed: 4 });
  assertNoLeak(() => {
    tg.tidy(() => {
      const y = net.forward(x);
      assert.equal(y.shape, [2, 2]);
      tg.nn.crossEntropy(y, tg.tensor([0, 1], { dtype: 'int32' })).backward();
    });
    assert.ok(net.parameters().every((p) => p.grad && p.grad.shape.join() === p.shape.join()));
    net.zeroGrad();
  });
  assertThrows(
    () => net.forward(tg.ones([2, 8, 8, 3])),
    /^Conv2d: expected input of shape \[N, H, W, 1\] \(NHWC\), got \[2,8,8,3\] \(layer Conv2d\(1→4, 3×3\)\)$/,
  );
  x.dispose();
  net.dispose();
});

test('conv2d matches a direct sum; the ops check their arguments', () => {
  const x = tg.randn([1, 4, 5, 2], { seed: 1 });
  const w = tg.randn([2, 3, 2, 3], { seed: 2 });
  const y = tg.conv2d(x, w, { stride: [2, 1] });
  assert.equal(y.shape, [1, 2, 3, 3]);
  const X = x.arraySync() as number[][][][];
  const Wt = w.arraySync() as number[][][][];
  const expected: number[] = [];
  for (let i = 0; i < 2; i++)
    for (let j = 0; j < 3; j++)
      for (let o = 0; o < 3; o++) {
        let s = 0;
        for (let a = 0; a < 2; a++)
          for (let b = 0; b < 3; b++) for (let c = 0; c < 2; c++) s += X[0][2 * i + a][j + b][c] * Wt[a][b][c][o];
        expected.push(s);
      }
  assertClose(y, expected, { atol: 1e-4 });
  assertThrows(() => tg.conv2d(x, tg.ones([3, 3, 4, 1])), /conv2d: the input has 2 channels but the filter expects 4/);
  assertThrows(() => tg.conv2d(tg.ones([4, 4, 2]), w), /conv2d: the input must be NHWC/);
  assertThrows(() => tg.conv2d(x, tg.ones([5, 5, 2, 1])), /conv2d: a 5×5 window does not fit in a 4×5 image/);
  assertThrows(() => tg.maxPool2d(x, { kernelSize: 0 }), /maxPool2d: kernelSize must be an integer ≥ 1/);
  assertThrows(
    () => tg.avgPool2d(x, { kernelSize: 2, padding: 'full' as 'same' }),
    /avgPool2d: padding must be 'valid' or 'same'/,
  );
  [x, w, y].forEach((t) => t.dispose());
});

test('pooling values: max and mean per window; same-padding averages real entries only', () => {
  const x = tg.tensor(
    Array.from({ length: 16 }, (_, i) => i),
    { shape: [1, 4, 4, 1] },
  );
  assertClose(tg.maxPool2d(x, { kernelSize: 2 }), [5, 7, 13, 15]);
  assertClose(tg.avgPool2d(x, { kernelSize: 2 }), [2.5, 4.5, 10.5, 12.5]);
  // 3×3 windows, stride 2, 'same' on 4×4: pads one row/column after; the corner window holds 4 entries
  assertClose(tg.avgPool2d(x, { kernelSize: 3, stride: 2, padding: 'same' }), [5, 6.5, 11, 12.5]);
});

test('Linear names itself and both shapes for input of the wrong width', () => {
  const lin = new nn.Linear(3, 2);
  assertThrows(
    () => lin.forward(tg.ones([5, 4])),
    /^Linear: expected input of shape \[\.\.\., 3\], got \[5,4\] \(layer Linear\(3→2\)\)$/,
  );
  assertThrows(() => lin.forward([1, 2, 3] as unknown as tg.Tensor), /Linear: the input must be a tapegrad Tensor/);
  assertThrows(() => new nn.Linear(0, 2), /Linear: inFeatures must be a positive integer, got 0/);
  const net = new nn.MLP([3, 4, 2]);
  assertThrows(
    () => net.forward(tg.ones([2, 5])),
    /Linear: expected input of shape \[\.\.\., 3\], got \[2,5\] \(layer Linear\(3→4\)\)/,
  );
  lin.dispose();
  net.dispose();
});

// ---- init

test('init: Glorot and He statistics match their formulas; seeded', () => {
  const stats = (t: tg.Tensor) => {
    const v = values(t);
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
    return { mean, std, max: Math.max(...v.map(Math.abs)) };
  };
  const shape = [400, 200];
  const cases: [string, tg.Tensor, number, number | null][] = [
    ['glorotUniform', nn.init.glorotUniform(shape, { seed: 1 }), Math.sqrt(2 / 600), Math.sqrt(6 / 600)],
    ['glorotNormal', nn.init.glorotNormal(shape, { seed: 1 }), Math.sqrt(2 / 600), null],
    ['heUniform', nn.init.heUniform(shape, { seed: 1 }), Math.sqrt(2 / 400), Math.sqrt(6 / 400)],
    ['heNormal', nn.init.heNormal(shape, { seed: 1 }), Math.sqrt(2 / 400), null],
  ];
  for (const [name, t, std, limit] of cases) {
    const s = stats(t);
    assert.ok(Math.abs(s.mean) < 0.05 * std, `${name} mean ${s.mean}`);
    assert.ok(Math.abs(s.std / std - 1) < 0.02, `${name} std ${s.std} vs ${std}`);
    if (limit !== null) assert.ok(s.max <= limit + 1e-7 && s.max > 0.99 * limit, `${name} range ${s.max} vs ${limit}`);
    t.dispose();
  }
  // conv fans: [kh, kw, in, out] → fanIn = in·kh·kw
  assert.equal(nn.init.fans([3, 3, 16, 32]), { fanIn: 144, fanOut: 288 });
  const a = nn.init.heNormal([3, 3], { seed: 7 });
  const b = nn.init.heNormal([3, 3], { seed: 7 });
  assert.equal(values(a), values(b));
  [a, b].forEach((t) => t.dispose());
  assertThrows(() => nn.init.glorotUniform([5]), /init: fans need a weight of rank ≥ 2/);
  const lin = new nn.Linear(64, 32, { init: 'heNormal', seed: 1 });
  assert.ok(Math.abs(stats(lin.weight).std / Math.sqrt(2 / 64) - 1) < 0.1);
  assert.equal(values(lin.bias!), new Array(32).fill(0), 'with an explicit init the bias starts at zero');
  lin.dispose();
});

// ---- losses

test('huberLoss: ½d² inside δ, δ(|d| − ½δ) outside; gradient clip(d, −δ, δ)', async () => {
  const x = tg.tensor([0.5, -0.2, 3, -4], { requiresGrad: true });
  const t = tg.zeros([4]);
  const l = nn.huberLoss(x, t, { reduction: 'none' });
  assertClose(l, [0.125, 0.02, 2.5, 3.5]);
  nn.huberLoss(x, t).backward();
  assertClose(x.grad!, [0.5 / 4, -0.2 / 4, 1 / 4, -1 / 4]);
  assertClose(nn.huberLoss(x, t, { delta: 2, reduction: 'sum' }), 0.125 + 0.02 + 4 + 6);
  const r = await tg.gradcheck(
    (a: tg.Tensor, b: tg.Tensor) => nn.huberLoss(a, b, { delta: 0.7 }),
    [tg.tensor([0.1, 1.5, -2, 0.4]), tg.tensor([0.3, 0, 0, -0.1])],
  );
  assert.ok(r.ok, JSON.stringify(r.worst));
  assertThrows(() => nn.huberLoss(x, t, { delta: 0 }), /huberLoss: delta must be positive/);
  assertThrows(() => nn.huberLoss(x, tg.zeros([3])), /huberLoss: input \[4\] and target \[3\] differ in shape/);
});

test('binaryCrossEntropyWithLogits: the formula, stable for large logits, exact gradient at 0', async () => {
  const z = tg.tensor([0, 2, -3, 100, -100], { requiresGrad: true });
  const t = tg.tensor([1, 0, 0.3, 1, 0]);
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  const zs = values(z);
  const ts = values(t);
  const expected = zs.map((v, i) =>
    Math.abs(v) > 50 ? 0 : -(ts[i] * Math.log(sig(v)) + (1 - ts[i]) * Math.log(1 - sig(v))),
  );
  assertClose(nn.binaryCrossEntropyWithLogits(z, t, { reduction: 'none' }), expected, { atol: 1e-6 });
  nn.binaryCrossEntropyWithLogits(z, t).backward();
  assertClose(
    z.grad!,
    zs.map((v, i) => (sig(v) - ts[i]) / 5),
    { atol: 1e-7 },
  );
  const r = await tg.gradcheck(
    (a: tg.Tensor, b: tg.Tensor) => nn.binaryCrossEntropyWithLogits(a, b),
    [tg.tensor([0.3, -1.2, 2]), tg.tensor([0.2, 1, 0])],
  );
  assert.ok(r.ok, JSON.stringify(r.worst));
  assertThrows(
    () => nn.binaryCrossEntropyWithLogits(z, tg.tensor([1, 0, 1, 1, 0], { dtype: 'int32' })),
    /binaryCrossEntropyWithLogits: targets must be float32/,
  );
});

test('tg.nn re-exports the op losses; crossEntropy checks its labels', () => {
  assert.is(nn.crossEntropy, tg.crossEntropy);
  assert.is(nn.mseLoss, tg.mseLoss);
  assert.is(nn.l1Loss, tg.l1Loss);
  const z = tg.zeros([2, 3]);
  assertThrows(
    () => nn.crossEntropy(z, tg.tensor([0, 3], { dtype: 'int32' })),
    /crossEntropy: class index 3 at position 1 is out of range \[0, 3\)/,
  );
  assertThrows(
    () => nn.crossEntropy(z, tg.tensor([0, 1])),
    /crossEntropy: class-index labels must be int32, got float32/,
  );
});

test.run();
