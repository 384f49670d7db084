// End to end: small nets learn (XOR, a spiral), and a long training loop inside tg.tidy keeps
// tg.memory() constant — with a planted leak showing that the check can fail.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../src/index.js';
import { spawnSync } from 'node:child_process';
import { NODE_BACKENDS } from './helpers.js';
import { finiteLoss } from '../examples/lib/train.js';

/** Class predictions (argmax of the logits) without recording. */
function argmax(net: tg.nn.Module, x: tg.Tensor): number[] {
  const logits = tg.tidy(() => tg.noGrad(() => net.forward(x)));
  const [n, c] = logits.shape;
  const v = logits.dataSync();
  logits.dispose();
  return Array.from({ length: n }, (_, i) => {
    let best = 0;
    for (let k = 1; k < c; k++) if (v[i * c + k] > v[i * c + best]) best = k;
    return best;
  });
}

for (const backend of NODE_BACKENDS) {
  test(`an MLP learns XOR with SGD + momentum (${backend})`, async () => {
    await tg.setBackend(backend);
    const x = tg.tensor([
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
    ]);
    const y = tg.tensor([[0], [1], [1], [0]]);
    const net = new tg.nn.MLP([2, 8, 1], { activation: 'tanh', seed: 3 });
    const opt = new tg.optim.SGD(net.parameters(), { lr: 0.5, momentum: 0.9 });
    let loss = Infinity;
    for (let step = 0; step < 300; step++) {
      const l = tg.tidy(() => {
        const out = tg.nn.binaryCrossEntropyWithLogits(net.forward(x), y);
        opt.zeroGrad();
        out.backward();
        opt.step();
        return out;
      });
      if (step === 299) loss = l.item();
      l.dispose();
    }
    const p = tg.tidy(() => tg.noGrad(() => net.forward(x).sigmoid()));
    const probs = Array.from(p.dataSync());
    assert.ok(loss < 0.05, `final loss ${loss}`);
    assert.equal(
      probs.map((v) => (v > 0.5 ? 1 : 0)),
      [0, 1, 1, 0],
      `probabilities ${probs}`,
    );
    [x, y, p].forEach((t) => t.dispose());
    net.dispose();
    opt.dispose();
    await tg.setBackend('wasm');
  });
}

test('an MLP separates a two-arm spiral to ≥ 97% with Adam', () => {
  const pts: number[][] = [];
  const labels: number[] = [];
  for (let k = 0; k < 2; k++) {
    for (let i = 0; i < 60; i++) {
      const r = 0.1 + (0.9 * i) / 59;
      const t = 1.25 * Math.PI * r * 2 + k * Math.PI;
      pts.push([r * Math.cos(t), r * Math.sin(t)]);
      labels.push(k);
    }
  }
  const x = tg.tensor(pts);
  const y = tg.tensor(labels, { dtype: 'int32' });
  const net = new tg.nn.MLP([2, 32, 32, 2], { seed: 2 });
  const opt = new tg.optim.Adam(net.parameters(), { lr: 0.02 });
  for (let step = 0; step < 300; step++) {
    tg.tidy(() => {
      const l = tg.nn.crossEntropy(net.forward(x), y);
      opt.zeroGrad();
      l.backward();
      opt.step();
    });
  }
  const pred = argmax(net, x);
  const acc = pred.filter((p, i) => p === labels[i]).length / labels.length;
  assert.ok(acc >= 0.97, `accuracy ${acc}`);
  [x, y].forEach((t) => t.dispose());
  net.dispose();
  opt.dispose();
});

/**
 * Trains `steps` steps of an MLP with Adam, each step in a tg.tidy, and returns how much
 * tg.memory() grew between step 1 (after the optimizer made its state) and the last step.
 * `leak` plants a leak: a tensor kept every step and never freed.
 */
function memoryGrowth(steps: number, leak = false): { numTensors: number; numBytes: number } {
  const x = tg.randn([32, 8], { seed: 1 });
  const y = tg.tensor(
    Array.from({ length: 32 }, (_, i) => i % 3),
    { dtype: 'int32' },
  );
  const net = new tg.nn.Sequential(
    new tg.nn.Linear(8, 16, { seed: 1 }),
    new tg.nn.LayerNorm(16),
    new tg.nn.GELU(),
    new tg.nn.Dropout(0.1, { seed: 1 }),
    new tg.nn.Linear(16, 3, { seed: 2 }),
  );
  const opt = new tg.optim.AdamW(net.parameters(), {
    lr: new tg.optim.LinearWarmup(new tg.optim.CosineAnnealing(0.01, { tMax: steps }), { warmupSteps: 10 }),
  });
  const planted: tg.Tensor[] = [];
  const step = () =>
    tg.tidy(() => {
      const loss = tg.nn.crossEntropy(net.forward(x), y, { labelSmoothing: 0.1 });
      opt.zeroGrad();
      loss.backward();
      tg.optim.clipGradNorm(net.parameters(), 1);
      opt.step();
      if (leak) planted.push(tg.keep(loss.detach()));
    });
  step();
  const start = tg.memory();
  for (let i = 1; i < steps; i++) step();
  const end = tg.memory();
  planted.forEach((t) => t.dispose());
  net.dispose();
  opt.dispose();
  [x, y].forEach((t) => t.dispose());
  return { numTensors: end.numTensors - start.numTensors, numBytes: end.numBytes - start.numBytes };
}

test('a 200-step training loop inside tg.tidy keeps numTensors and numBytes constant', () => {
  const before = tg.memory();
  assert.equal(memoryGrowth(200), { numTensors: 0, numBytes: 0 });
  assert.equal(tg.memory(), before, 'and everything is freed at the end');
});

test('the memory check catches a planted leak', () => {
  const growth = memoryGrowth(20, true);
  assert.is(growth.numTensors, 19);
  assert.is(growth.numBytes, 19 * 4);
});

test('the examples stop on a non-finite loss, naming the step', () => {
  const nan = tg.tensor([NaN]);
  assert.throws(() => finiteLoss(nan, 7), /training diverged: the loss is NaN at step 7/);
  const ok = tg.scalar(0.25);
  assert.is(finiteLoss(ok, 1), 0.25);
  [nan, ok].forEach((t) => t.dispose());
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'examples/spirals.ts', '--quick', '--lr', '1e30'], {
    encoding: 'utf8',
  });
  assert.is(r.status, 1, r.stderr);
  assert.match(r.stderr, /✗ training diverged: the loss is (NaN|Infinity|-Infinity) at step \d+/);
});

test.run();
