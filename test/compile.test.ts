// tg.compile: a trace replayed gives the values eager execution gives, bit for bit, for every op
// in the registry and its gradient, on cpu and wasm; it traces again when shapes change or a
// captured tensor changes shape, reads captured tensors afresh, refuses what it cannot replay
// with a clear error, and leaks nothing over 10,000 compiled steps.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../src/index.js';
import { cases, flatCases, type OpCase } from './op-cases.js';
import { NODE_BACKENDS, assertThrows } from './helpers.js';

/** The op's values and the gradient of their sum with respect to every float32 input. */
function valueAndGrads(c: OpCase) {
  return (...xs: tg.Tensor[]): (tg.Tensor | null)[] => {
    const floats = xs.map((x, i) => (x.dtype === 'float32' ? i : -1)).filter((i) => i >= 0);
    const y = c.f(...xs);
    const gs = floats.length ? (tg.grad((...zs: tg.Tensor[]) => c.f(...zs).sum(), floats)(...xs) as tg.Tensor[]) : [];
    return [y, ...gs];
  };
}

const bits = async (ts: (tg.Tensor | null)[]) =>
  Promise.all(ts.map(async (t) => (t ? { shape: t.shape, values: Array.from(await t.data()) } : null)));

/** Equal values, NaN equal to NaN, −0 apart from 0. */
function sameValues(got: unknown, want: unknown, what: string): void {
  const g = JSON.stringify(got, (_k, v) => (typeof v === 'number' ? (Object.is(v, -0) ? '-0' : String(v)) : v));
  const w = JSON.stringify(want, (_k, v) => (typeof v === 'number' ? (Object.is(v, -0) ? '-0' : String(v)) : v));
  if (g !== w) assert.unreachable(`${what}: compiled ${g.slice(0, 300)} vs eager ${w.slice(0, 300)}`);
}

// Ops whose adjoint or forward reads values in JavaScript (a pivot, a sort, a count): compile
// refuses them at the trace, with the reason.
const READS_VALUES = /reads tensor values/;

for (const backend of NODE_BACKENDS) {
  test(`[${backend}] every op of the registry and its gradient: compiled = eager, bit for bit`, async () => {
    await tg.setBackend(backend);
    const before = tg.memory();
    const refused: string[] = [];
    for (const [name, c] of flatCases(cases)) {
      const f = valueAndGrads(c);
      const compiled = tg.compile(f);
      const xs = c.make(1);
      const eager = tg.tidy(() => f(...xs).filter((t): t is tg.Tensor => t !== null));
      const want = await bits(eager);
      tg.dispose(eager);
      let traced: (tg.Tensor | null)[];
      try {
        traced = compiled(...xs);
      } catch (e) {
        assert.instance(e, tg.TapegradError, `${name}: ${(e as Error).message}`);
        assert.match((e as Error).message, /^compile: /, name);
        assert.match((e as Error).message, READS_VALUES, `${name}: ${(e as Error).message}`);
        refused.push(name);
        tg.dispose(xs);
        compiled.dispose();
        continue;
      }
      const replayed = compiled(...xs);
      sameValues(await bits(traced.filter((t) => t !== null)), want, `${name} (the trace)`);
      sameValues(await bits(replayed.filter((t) => t !== null)), want, `${name} (a replay)`);
      assert.is(compiled.traces, 1, `${name}: traced once`);
      // other values of the same shapes: the replay follows them
      const ys = c.make(2);
      const eager2 = tg.tidy(() => f(...ys).filter((t): t is tg.Tensor => t !== null));
      const want2 = await bits(eager2);
      const again = compiled(...ys);
      sameValues(await bits(again.filter((t) => t !== null)), want2, `${name} (a replay on other values)`);
      assert.is(compiled.traces, 1, `${name}: still traced once`);
      tg.dispose([...xs, ...ys, ...eager2]);
      tg.dispose([...traced, ...replayed, ...again].filter((t): t is tg.Tensor => t !== null));
      compiled.dispose();
    }
    assert.equal(tg.memory(), before, 'tensors leaked');
    // the refusals are the exception: most ops replay
    assert.ok(refused.length < flatCases(cases).length / 4, `refused: ${refused.join(', ')}`);
  });
}

test('a change of shape traces again; a captured weight is read afresh at every call', async () => {
  await tg.setBackend('wasm');
  const W = tg.tensor([1, 2, 3, 4], { shape: [2, 2] });
  const f = tg.compile((x: tg.Tensor) => x.matmul(W).relu().sum());
  const a = f(tg.ones([3, 2]));
  assert.is(f.traces, 1);
  assert.is(a.item(), 3 * (4 + 6));
  const b = f(tg.ones([5, 2]));
  assert.is(f.traces, 2);
  assert.is(b.item(), 5 * (4 + 6));
  // an optimizer replaces a weight's value: the replay reads the new one
  W.value.dispose();
  W.value = tg.tensor([1, 0, 0, 1], { shape: [2, 2] }).value;
  const c = f(tg.ones([3, 2]));
  assert.is(f.traces, 2);
  assert.is(c.item(), 6);
  tg.dispose([a, b, c, W]);
  f.dispose();
});

test('a call with another number of arguments than the trace, or fewer than fn takes, is refused by name', async () => {
  await tg.setBackend('wasm');
  const a = tg.tensor([1, 2]);
  const b = tg.tensor([3, 4]);
  const c = tg.ones([2, 3]);
  const f = tg.compile((x: tg.Tensor, y: tg.Tensor) => x.add(y));
  const call = f as unknown as (...args: tg.Tensor[]) => tg.Tensor;
  assertThrows(() => call(a), /^compile: the function takes 2 arguments, called with 1 \(float32\[2\]\)$/);
  assert.is(f.traces, 0);
  const before = tg.memory().numTensors;
  const r = f(a, b);
  assert.is(f.traces, 1);
  assertThrows(
    () => call(a, b, c),
    new RegExp(
      String.raw`^compile: traced with 2 arguments \(float32\[2\], float32\[2\]\), called with 3 ` +
        String.raw`\(float32\[2\], float32\[2\], float32\[2,3\]\); compile a function for each number of arguments$`,
    ),
  );
  // a variadic function: its first call fixes the number, and an argument it would not see is refused too
  const g = tg.compile((...xs: tg.Tensor[]) => tg.stack(xs).sum());
  const s = g(a, b);
  assertThrows(() => g(a, b, a), /^compile: traced with 2 arguments .* called with 3 /);
  assertThrows(() => g(a), /^compile: traced with 2 arguments .* called with 1 \(float32\[2\]\)/);
  const t = g(b, a);
  assert.is(t.item(), 10);
  assert.is(f.traces + g.traces, 2, 'a refused call traces nothing');
  tg.dispose([r, s, t]);
  assert.is(tg.memory().numTensors, before, 'a refused call leaves nothing behind');
  f.dispose();
  g.dispose();
  tg.dispose([a, b, c]);
});

test('class indices an op checks are checked again at every replay: out of the traced range, traced again', async () => {
  await tg.setBackend('wasm');
  const z = tg.tensor([0.1, 0.5, -0.2, 0.3, 0.2, 0.1], { shape: [2, 3] });
  const f = tg.compile((logits: tg.Tensor, y: tg.Tensor) => tg.crossEntropy(logits, y));
  const labels = (a: number, b: number) => tg.tensor([a, b], { dtype: 'int32' });
  const eager = (a: number, b: number) => tg.tidy(() => tg.crossEntropy(z, labels(a, b)).item());
  const y1 = labels(0, 2);
  const y2 = labels(1, 1);
  const y3 = labels(2, 2);
  assert.is(f(z, y1).item(), eager(0, 2));
  assert.is(f(z, y2).item(), eager(1, 1));
  assert.is(f.traces, 1, 'labels within the traced range [0, 2] replay');
  const bad = labels(0, 3);
  assert.throws(() => f(z, bad), /crossEntropy: class index 3 at position 1 is out of range \[0, 3\)/);
  assert.is(f(z, y3).item(), eager(2, 2));
  tg.dispose([z, y1, y2, y3, bad]);
  f.dispose();
});

test('what cannot be replayed is refused at the trace, saying why', async () => {
  await tg.setBackend('wasm');
  const x = tg.tensor([1, 2, 3]);
  const w = tg.tensor([1, 2, 3], { requiresGrad: true });
  const cases: [string, (x: tg.Tensor) => tg.Tensor, RegExp][] = [
    ['a read', (v) => (v.sum().item() > 0 ? v.mul(2) : v), /fn reads tensor values/],
    ['a random draw', (v) => v.add(tg.randn([3], { seed: 1 })), /fn draws random numbers \(randomNormal.*frozen/],
    [
      'a new .value',
      (v) => {
        const l = v.mul(w).sum();
        w.value = tg.add(w, 1).value;
        return l;
      },
      /fn replaced the values of a tensor it reads other than by an optimizer step/,
    ],
    [
      "an optimizer whose update cannot replay (a user's own, with update but no rule)",
      (v) => {
        const opt = new SignSGD([w]);
        const l = v.mul(w).sum();
        l.backward();
        opt.step();
        opt.dispose();
        return l;
      },
      /fn steps SignSGD, whose update compile cannot replay \(an optimizer replays when it defines rule\(\), .*\): step outside fn/,
    ],
  ];
  for (const [what, fn, want] of cases) {
    const value = w.value;
    const before = tg.memory();
    const f = tg.compile(fn);
    assert.throws(
      () => f(x),
      (e: Error) => e instanceof tg.TapegradError && want.test(e.message),
      what,
    );
    f.dispose();
    w.grad?.dispose();
    w.grad = null;
    // (an optimizer's step freed the old value: the new one stays)
    if (w.value !== value && !value.isDisposed) {
      w.value.dispose();
      w.value = value;
    }
    assert.equal(tg.memory(), before, `${what}: leaked`);
  }
  assert.throws(() => tg.compile(3 as never), /compile: expected a function/);
  assert.throws(() => tg.compile((async () => x) as never), /compile: .*async/);
  const g = tg.compile(() => 3 as never);
  assert.throws(() => g(), /compile: fn must return a Tensor or an array of Tensors, got number/);
  const h = tg.compile((v: tg.Tensor) => v.neg());
  h.dispose();
  assert.throws(() => h(x), /compile: the compiled function has been disposed/);
  tg.dispose([x, w]);
});

/** A user's own optimizer, written as the per-parameter update alone: p ← p − lr·sign(g). */
class SignSGD extends tg.optim.Optimizer {
  constructor(params: tg.Tensor[]) {
    super('SignSGD', params, { lr: 0.1 });
  }
  protected resolveOptions(_fn: string, o: Partial<tg.optim.OptimizerOptions>): tg.optim.OptimizerOptions {
    return { lr: o.lr ?? 0.1 };
  }
  protected override update(p: tf.Tensor, g: tf.Tensor, _state: Record<string, tf.Tensor>, lr: number) {
    return { param: tf.sub(p, tf.mul(tf.sign(g), lr)), state: {} };
  }
}

/**
 * A user's own optimizer written as a rule, which compile replays: Lion (Chen et al.),
 * c = β₁m + (1−β₁)g,  p ← p − lr·(sign(c) + wd·p),  m ← β₂m + (1−β₂)g.
 */
type LionOptions = tg.optim.OptimizerOptions & { betas: [number, number] };
class Lion extends tg.optim.Optimizer<LionOptions> {
  protected resolveOptions(_fn: string, o: Partial<LionOptions>): LionOptions {
    return { lr: o.lr ?? 1e-4, weightDecay: o.weightDecay ?? 0, betas: o.betas ?? [0.9, 0.99] };
  }
  protected override rule(
    { param: p, grad: g, state, group }: tg.optim.StepItem<LionOptions>,
    [lr]: (number | tf.Tensor)[],
  ) {
    const [b1, b2] = group.betas;
    const m0 = state.m ?? tf.zerosLike(p);
    const c = tf.add(tf.mul(m0, b1), tf.mul(g, 1 - b1));
    const decayed = group.weightDecay ? tf.add(tf.sign(c), tf.mul(p, group.weightDecay)) : tf.sign(c);
    const m = tf.add(tf.mul(m0, b2), tf.mul(g, 1 - b2));
    return { param: tf.sub(p, tf.mul(decayed, lr)), state: { m } };
  }
}

/** A model, its optimizer and data: the same each time it is made. */
function trainingSetup(optimizer: string, batch = 16) {
  const net = new tg.nn.MLP([4, 8, 3], { activation: 'relu', seed: 1 });
  const params = net.parameters();
  const optimizers: Record<string, () => tg.optim.Optimizer<any>> = {
    SGD: () => new tg.optim.SGD(params, { lr: 0.05 }),
    'SGD momentum, Nesterov, weight decay': () =>
      new tg.optim.SGD(params, { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-3 }),
    Adam: () => new tg.optim.Adam(params, { lr: 1e-2 }),
    'Adam, weight decay, a cosine schedule': () =>
      new tg.optim.Adam(params, { lr: new tg.optim.CosineAnnealing(1e-2, { tMax: 40 }), weightDecay: 1e-2 }),
    AdamW: () => new tg.optim.AdamW(params, { lr: 1e-2 }),
    'AdamW, two groups': () =>
      new tg.optim.AdamW(
        [
          { params: params.slice(0, 2), lr: 1e-2 },
          { params: params.slice(2), lr: 3e-3, betas: [0.8, 0.99] },
        ],
        { lr: 1e-2 },
      ),
    'Adam, amsgrad': () => new tg.optim.Adam(params, { lr: 1e-2, amsgrad: true }),
    'AdamW, gradients clipped': () => new tg.optim.AdamW(params, { lr: 1e-2 }),
    'RMSprop, centred, momentum': () =>
      new tg.optim.RMSprop(params, { lr: 1e-2, centered: true, momentum: 0.5, weightDecay: 1e-3 }),
    'Adagrad, lr decay, a step schedule': () =>
      new tg.optim.Adagrad(params, { lr: new tg.optim.StepLR(0.1, { stepSize: 10 }), lrDecay: 0.01 }),
    Adamax: () => new tg.optim.Adamax(params),
    NAdam: () => new tg.optim.NAdam(params, { weightDecay: 1e-3 }),
    // rectified from step 6 on: the trace of steps 2–5 is made again
    RAdam: () => new tg.optim.RAdam(params, { lr: 1e-2 }),
    "Lion, a user's rule, a warmup schedule": () =>
      new Lion('Lion', params, { lr: new tg.optim.LinearWarmup(1e-3, { warmupSteps: 5 }), weightDecay: 0.1 }),
  };
  const opt = optimizers[optimizer]();
  const X = tg.randn([batch, 4], { seed: 2 });
  const y = tg.tensor(
    Array.from({ length: batch }, (_, i) => i % 3),
    { dtype: 'int32' },
  );
  const step = (x = X, labels = y) => {
    const l = tg.crossEntropy(net.forward(x), labels);
    opt.zeroGrad();
    l.backward();
    if (optimizer.includes('clipped')) tg.optim.clipGradNorm(params, 0.5).dispose();
    opt.step();
    return l;
  };
  const dispose = () => {
    opt.zeroGrad();
    opt.dispose();
    net.dispose();
    tg.dispose([X, y]);
  };
  return { net, params, opt, X, y, step, dispose };
}

const OPTIMIZERS = [
  'SGD',
  'SGD momentum, Nesterov, weight decay',
  'Adam',
  'Adam, weight decay, a cosine schedule',
  'AdamW',
  'AdamW, two groups',
  'Adam, amsgrad',
  'AdamW, gradients clipped',
  'RMSprop, centred, momentum',
  'Adagrad, lr decay, a step schedule',
  'Adamax',
  'NAdam',
  'RAdam',
  "Lion, a user's rule, a warmup schedule",
];

/** Parameters, gradients and optimizer state, as numbers. */
async function trainingState(s: ReturnType<typeof trainingSetup>) {
  const sd = s.opt.stateDict();
  const state = await Promise.all(
    Object.entries(sd.state).map(async ([i, e]) => ({
      i,
      step: e.step,
      tensors: await Promise.all(Object.entries(e.tensors).map(async ([k, v]) => [k, Array.from(await v.data())])),
    })),
  );
  for (const e of Object.values(sd.state)) tg.dispose(Object.values(e.tensors));
  return {
    stepCount: sd.stepCount,
    params: await bits(s.params),
    grads: await bits(s.params.map((p) => p.grad)),
    state,
  };
}

for (const backend of NODE_BACKENDS) {
  test(`[${backend}] a whole training step compiled (forward, zeroGrad, backward, optimizer step) = eager, bit for bit over 40 steps`, async () => {
    await tg.setBackend(backend);
    for (const name of OPTIMIZERS) {
      const start = tg.memory();
      const eager = trainingSetup(name);
      const compiled = trainingSetup(name);
      const step = tg.compile(() => compiled.step());
      for (let i = 0; i < 40; i++) {
        const a = tg.tidy(() => eager.step());
        const b = step();
        sameValues(await bits([b]), await bits([a]), `${name}: the loss at step ${i}`);
        tg.dispose([a, b]);
        if (i === 2) sameValues(await trainingState(compiled), await trainingState(eager), `${name} after step ${i}`);
      }
      sameValues(await trainingState(compiled), await trainingState(eager), `${name} after 40 steps`);
      // the first step makes the optimizer's state and the gradients: the second is traced again
      // (and RAdam's sixth, its first rectified one)
      assert.is(step.traces, name === 'RAdam' ? 3 : 2, `${name}: traces`);
      assert.is(compiled.opt.stepCount, 40);
      step.dispose();
      eager.dispose();
      compiled.dispose();
      assert.equal(tg.memory(), start, `${name}: tensors leaked`);
    }
  });
}

test('a compiled step traces again on a new batch shape or new options, and follows schedules and lr changes', async () => {
  await tg.setBackend('wasm');
  const eager = trainingSetup('AdamW');
  const compiled = trainingSetup('AdamW');
  const step = tg.compile((x: tg.Tensor, y: tg.Tensor) => compiled.step(x, y));
  const X8 = tg.randn([8, 4], { seed: 5 });
  const y8 = tg.tensor([0, 1, 2, 0, 1, 2, 0, 1], { dtype: 'int32' });
  const run = async (x: tg.Tensor, y: tg.Tensor, what: string) => {
    const a = tg.tidy(() => eager.step(x, y));
    const b = step(x, y);
    sameValues(await bits([b]), await bits([a]), what);
    tg.dispose([a, b]);
  };
  for (let i = 0; i < 3; i++) await run(eager.X, eager.y, `batch 16, step ${i}`);
  assert.is(step.traces, 2);
  for (let i = 0; i < 3; i++) await run(X8, y8, `batch 8, step ${i}`);
  assert.is(step.traces, 3, 'a new batch shape: traced once more');
  // a new learning rate is a number of the step: replayed with it
  for (const o of [eager.opt, compiled.opt]) o.paramGroups[0].lr = 5e-3;
  await run(X8, y8, 'a new lr');
  assert.is(step.traces, 3, 'a new lr replays');
  // new betas: the kernels' options: traced again
  for (const o of [eager.opt, compiled.opt]) (o.paramGroups[0] as tg.optim.AdamOptions).betas = [0.5, 0.9];
  await run(X8, y8, 'new betas');
  await run(X8, y8, 'new betas, replayed');
  assert.is(step.traces, 4, 'new betas: traced again');
  sameValues(await trainingState(compiled), await trainingState(eager), 'the end');
  step.dispose();
  eager.dispose();
  compiled.dispose();
  tg.dispose([X8, y8]);
});

test('a compiled step that adds into .grad (no zeroGrad inside) replays the sum', async () => {
  await tg.setBackend('wasm');
  const w = tg.tensor([1, 2, 3], { requiresGrad: true });
  const v = tg.tensor([4, 5, 6], { requiresGrad: true });
  const x = tg.tensor([0.5, -1, 2]);
  const f = tg.compile((x: tg.Tensor) => {
    const l = x.mul(w).mul(v).sum();
    l.backward();
    return l;
  });
  for (let i = 0; i < 4; i++) f(x).dispose();
  assert.is(f.traces, 2, 'without a .grad, then with one');
  assert.equal(Array.from(await w.grad!.data()), [8, -20, 48]);
  assert.equal(Array.from(await v.grad!.data()), [2, -8, 24]);
  f.dispose();
  tg.dispose([w, v, x, w.grad!, v.grad!]);
});

test('a compiled step that calls zeroGrad before its forward pass replays from its second call', async () => {
  await tg.setBackend('wasm');
  const make = () => {
    const net = new tg.nn.Linear(3, 2, { seed: 4 });
    const opt = new tg.optim.Adam(net.parameters(), { lr: 1e-2 });
    const x = tg.tensor([
      [1, -2, 0.5],
      [0.25, 3, -1],
    ]);
    const step = () => {
      opt.zeroGrad();
      const l = net.forward(x).square().mean();
      l.backward();
      opt.step();
      return l;
    };
    return { net, opt, x, step };
  };
  const eager = make();
  const compiled = make();
  const step = tg.compile(compiled.step);
  for (let i = 0; i < 6; i++) {
    const a = tg.tidy(eager.step);
    const b = step();
    sameValues(await bits([b]), await bits([a]), `step ${i}`);
    tg.dispose([a, b]);
  }
  assert.is(step.traces, 2, 'the first call finds no .grad, every later one finds one');
  sameValues(await bits(compiled.net.parameters()), await bits(eager.net.parameters()), 'the weights');
  step.dispose();
  for (const s of [eager, compiled]) {
    s.opt.zeroGrad();
    s.opt.dispose();
    s.net.dispose();
    s.x.dispose();
  }
});

test('a result fn passes through (an argument, a weight) is a copy at the trace as at a replay', async () => {
  await tg.setBackend('wasm');
  const before = tg.memory();
  const w = tg.tensor([1, 2]);
  const f = tg.compile((x: tg.Tensor) => [x, w, x.add(w)]);
  const x = tg.tensor([3, 4]);
  for (let i = 0; i < 2; i++) {
    const out = f(x);
    tg.dispose(out);
    assert.equal(Array.from(await x.data()), [3, 4], `call ${i}: the argument survives its result's dispose`);
    assert.equal(Array.from(await w.data()), [1, 2], `call ${i}: the weight survives its result's dispose`);
  }
  f.dispose();
  tg.dispose([x, w]);
  assert.equal(tg.memory(), before);
});

test('a recurrent training step (unbind and split nodes, several outputs each) replays as the eager step', async () => {
  await tg.setBackend('wasm');
  const before = tg.memory();
  const make = () => {
    const lstm = new tg.nn.LSTM(3, 4, { seed: 11 });
    const opt = new tg.optim.Adam(lstm.parameters(), { lr: 0.01 });
    const step = (x: tg.Tensor) => {
      opt.zeroGrad();
      const { output, hN, cN } = lstm.forward(x);
      const loss = output.square().mean();
      loss.backward();
      opt.step();
      tg.dispose([output, hN, cN]);
      return loss;
    };
    return { lstm, opt, step };
  };
  const x = tg.randn([6, 2, 3], { seed: 12 });
  const eager = make();
  const compiled = make();
  const step = tg.compile((t: tg.Tensor) => compiled.step(t));
  for (let i = 0; i < 4; i++) {
    const want = tg.tidy(() => eager.step(x));
    const got = step(x);
    assert.equal(Array.from(await got.data()), Array.from(await want.data()), `loss at step ${i}`);
    tg.dispose([want, got]);
  }
  assert.ok(step.traces <= 2, `traced ${step.traces} times`);
  const params = (m: tg.nn.LSTM) => Promise.all(m.parameters().map(async (p) => Array.from(await p.data())));
  assert.equal(await params(compiled.lstm), await params(eager.lstm), 'the parameters after four steps');
  step.dispose();
  for (const s of [eager, compiled]) {
    s.opt.dispose();
    s.lstm.dispose();
  }
  x.dispose();
  assert.equal(tg.memory(), before);
});

/** The loss a step returns, as a number (the step's tensor freed). */
const lossOf = (l: tg.Tensor) => {
  const v = l.item();
  l.dispose();
  return v;
};

/** Runs `step` (already warmed up) 10,000 times: the last loss; tg.memory() must end where it began. */
function tenThousandSteps(step: () => tg.Tensor): number {
  const before = tg.memory();
  let last = 0;
  for (let i = 0; i < 10_000; i++) {
    const l = step();
    if (i === 9_999) last = l.item();
    l.dispose();
  }
  assert.equal(tg.memory(), before, 'memory after 10,000 steps');
  return last;
}

test('10,000 compiled training steps, optimizer step included, leak nothing', async () => {
  await tg.setBackend('wasm');
  const s = trainingSetup('Adam');
  const step = tg.compile(() => s.step());
  const l0 = lossOf(step());
  step().dispose();
  const last = tenThousandSteps(step);
  assert.is(step.traces, 2);
  assert.is(s.opt.stepCount, 10_002);
  assert.ok(last < l0 / 2, `the loss fell: ${l0} → ${last}`);
  step.dispose();
  s.dispose();
});

test('10,000 compiled training steps leak nothing and match eager steps', async () => {
  await tg.setBackend('wasm');
  const net = new tg.nn.MLP([4, 8, 3], { activation: 'relu', seed: 1 });
  const params = net.parameters();
  const opt = new tg.optim.Adam(params, { lr: 1e-2 });
  const X = tg.randn([16, 4], { seed: 2 });
  const y = tg.tensor(
    Array.from({ length: 16 }, (_, i) => i % 3),
    { dtype: 'int32' },
  );
  const loss = () => tg.crossEntropy(net.forward(X), y);
  const lossAndGrads = tg.compile(() => {
    const l = loss();
    return [l, ...tg.gradients(l, params)];
  });
  const step = () => {
    const [l, ...gs] = lossAndGrads();
    params.forEach((p, i) => {
      p.grad?.dispose();
      p.grad = gs[i];
    });
    opt.step();
    return l!;
  };
  const l0 = lossOf(step());
  const last = tenThousandSteps(step);
  assert.is(lossAndGrads.traces, 1);
  assert.ok(last < l0 / 2, `the loss fell: ${l0} → ${last}`);
  opt.zeroGrad();
  opt.dispose();
  net.dispose();
  lossAndGrads.dispose();
  tg.dispose([X, y]);
});

test.run();
