// tg.optim: each optimizer's steps against its formula computed by hand in JavaScript, schedules,
// clipGradNorm, errors, and memory (state kept across tidy, freed by dispose).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../src/index.js';
import { hasFused } from '../src/backend/fused.js';
import { assertClose, assertNoLeak, assertThrows } from './helpers.js';

const optim = tg.optim;
const P0 = [1, -2, 3];
const GRADS = [
  [0.5, -1, 0.25],
  [-0.3, 0.2, 2],
];

/**
 * Runs two steps of `make(p)` with the gradients GRADS (set by hand), each inside a tidy, and
 * returns the parameter's values after each step. Leaves nothing behind.
 */
function twoSteps(make: (p: tg.Tensor) => tg.optim.Optimizer): number[][] {
  const p = tg.tensor(P0, { requiresGrad: true });
  const opt = make(p);
  const out: number[][] = [];
  for (const g of GRADS) {
    tg.tidy(() => {
      opt.zeroGrad();
      p.grad = tg.tensor(g);
      opt.step();
    });
    out.push(Array.from(p.dataSync()));
  }
  opt.zeroGrad();
  opt.dispose();
  p.dispose();
  return out;
}

/** The same two steps in plain JavaScript: `rule(p, g, state, t)` updates p in place. */
function byHand(rule: (p: number[], g: number[], s: Record<string, number[]>, t: number) => void): number[][] {
  const p = [...P0];
  const s: Record<string, number[]> = {};
  return GRADS.map((g, k) => {
    rule(p, g, s, k + 1);
    return [...p];
  });
}

const each = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));

test('SGD: p ← p − lr·g', () => {
  const got = twoSteps((p) => new optim.SGD([p], { lr: 0.1 }));
  const want = byHand((p, g) => p.forEach((_, i) => (p[i] -= 0.1 * g[i])));
  got.forEach((v, k) => assertClose(v, want[k], { msg: `step ${k + 1}` }));
});

test('SGD momentum + weight decay: g ← g + wd·p; v ← μv + g (v₁ = g); p ← p − lr·v', () => {
  const [lr, mu, wd] = [0.1, 0.9, 0.01];
  const got = twoSteps((p) => new optim.SGD([p], { lr, momentum: mu, weightDecay: wd }));
  const want = byHand((p, g0, s) => {
    const g = g0.map((v, i) => v + wd * p[i]);
    s.v = s.v ? s.v.map((v, i) => mu * v + g[i]) : [...g];
    p.forEach((_, i) => (p[i] -= lr * s.v[i]));
  });
  got.forEach((v, k) => assertClose(v, want[k], { msg: `step ${k + 1}` }));
});

test('SGD Nesterov: p ← p − lr·(g + μv)', () => {
  const [lr, mu] = [0.05, 0.8];
  const got = twoSteps((p) => new optim.SGD([p], { lr, momentum: mu, nesterov: true }));
  const want = byHand((p, g, s) => {
    s.v = s.v ? s.v.map((v, i) => mu * v + g[i]) : [...g];
    p.forEach((_, i) => (p[i] -= lr * (g[i] + mu * s.v[i])));
  });
  got.forEach((v, k) => assertClose(v, want[k], { msg: `step ${k + 1}` }));
});

/** Adam by hand (PyTorch's formulation); `decoupled` for AdamW. */
function adamRule(lr: number, b1: number, b2: number, eps: number, wd: number, decoupled: boolean) {
  return (p: number[], g0: number[], s: Record<string, number[]>, t: number) => {
    if (decoupled) p.forEach((_, i) => (p[i] -= lr * wd * p[i]));
    const g = decoupled ? g0 : g0.map((v, i) => v + wd * p[i]);
    s.m = each(3, (i) => b1 * (s.m?.[i] ?? 0) + (1 - b1) * g[i]);
    s.v = each(3, (i) => b2 * (s.v?.[i] ?? 0) + (1 - b2) * g[i] ** 2);
    p.forEach((_, i) => {
      const mHat = s.m[i] / (1 - b1 ** t);
      const vHat = s.v[i] / (1 - b2 ** t);
      p[i] -= (lr * mHat) / (Math.sqrt(vHat) + eps);
    });
  };
}

test('Adam: bias-corrected moments, p ← p − lr·m̂/(√v̂ + ε); L2 weight decay', () => {
  const got = twoSteps((p) => new optim.Adam([p], { lr: 0.01 }));
  const want = byHand(adamRule(0.01, 0.9, 0.999, 1e-8, 0, false));
  got.forEach((v, k) => assertClose(v, want[k], { msg: `step ${k + 1}` }));
  const got2 = twoSteps((p) => new optim.Adam([p], { lr: 0.1, betas: [0.8, 0.9], eps: 1e-3, weightDecay: 0.1 }));
  const want2 = byHand(adamRule(0.1, 0.8, 0.9, 1e-3, 0.1, false));
  got2.forEach((v, k) => assertClose(v, want2[k], { msg: `step ${k + 1} (options)` }));
});

test('AdamW: decoupled decay p ← p − lr·wd·p, then Adam (default wd 0.01)', () => {
  const got = twoSteps((p) => new optim.AdamW([p], { lr: 0.1 }));
  const want = byHand(adamRule(0.1, 0.9, 0.999, 1e-8, 0.01, true));
  got.forEach((v, k) => assertClose(v, want[k], { msg: `step ${k + 1}` }));
  const notAdam = byHand(adamRule(0.1, 0.9, 0.999, 1e-8, 0.01, false));
  assert.ok(Math.abs(got[1][2] - notAdam[1][2]) > 1e-4, 'decoupled decay differs from L2');
});

test('RMSprop: s ← αs + (1−α)g², p ← p − lr·g/(√s + ε); with momentum', () => {
  const [lr, a, eps] = [0.01, 0.99, 1e-8];
  const got = twoSteps((p) => new optim.RMSprop([p], { lr }));
  const want = byHand((p, g, s) => {
    s.s = each(3, (i) => a * (s.s?.[i] ?? 0) + (1 - a) * g[i] ** 2);
    p.forEach((_, i) => (p[i] -= (lr * g[i]) / (Math.sqrt(s.s[i]) + eps)));
  });
  got.forEach((v, k) => assertClose(v, want[k], { msg: `step ${k + 1}` }));
  const mu = 0.5;
  const gotM = twoSteps((p) => new optim.RMSprop([p], { lr, momentum: mu, weightDecay: 0.1 }));
  const wantM = byHand((p, g0, s) => {
    const g = g0.map((v, i) => v + 0.1 * p[i]);
    s.s = each(3, (i) => a * (s.s?.[i] ?? 0) + (1 - a) * g[i] ** 2);
    s.b = each(3, (i) => mu * (s.b?.[i] ?? 0) + g[i] / (Math.sqrt(s.s[i]) + eps));
    p.forEach((_, i) => (p[i] -= lr * s.b[i]));
  });
  gotM.forEach((v, k) => assertClose(v, wantM[k], { msg: `momentum step ${k + 1}` }));
});

test('parameters without a grad are left alone; stepCount counts steps', () => {
  const a = tg.tensor([1, 2], { requiresGrad: true });
  const b = tg.tensor([3], { requiresGrad: true });
  const opt = new optim.SGD([a, b], { lr: 1 });
  a.grad = tg.tensor([1, 1]);
  opt.step();
  assertClose(a, [0, 1]);
  assertClose(b, [3]);
  assert.is(opt.stepCount, 1);
  opt.zeroGrad();
  assert.is(a.grad, null);
  [a, b].forEach((t) => t.dispose());
});

test('Adam: a step where no parameter has a gradient changes nothing; each parameter counts its own steps', () => {
  const a = tg.tensor([1, 2], { requiresGrad: true });
  const b = tg.tensor([3], { requiresGrad: true });
  const opt = new optim.Adam([a, b], { lr: 0.1 });
  opt.step(); // no gradients yet
  assert.is(opt.stepCount, 0, 'a step without gradients does not count');
  a.grad = tg.tensor([1, 1]);
  opt.step();
  assertClose(a, [0.9, 1.9], { msg: 'first step: bias-corrected, lr·sign(g)' });
  opt.zeroGrad();
  b.grad = tg.tensor([1]);
  opt.step();
  // b's first step: bias correction at t = 1 (lr·sign(g)); at t = 2 it would not be exactly 0.1
  assertClose(b, [2.9], { msg: "b's own first step" });
  assert.is(opt.stepCount, 2);
  opt.zeroGrad();
  opt.dispose();
  [a, b].forEach((t) => t.dispose());
});

// ---- memory

test('state outlives tidy and dispose() frees it; steps leak nothing', () => {
  const p = tg.tensor([1, 2, 3], { requiresGrad: true });
  const before = tg.memory();
  const opt = new optim.Adam([p], { lr: 0.1 });
  const step = () =>
    tg.tidy(() => {
      opt.zeroGrad();
      p.mul(p).sum().backward();
      opt.step();
    });
  step();
  const afterOne = tg.memory().numTensors;
  // the grad, m and v; on webgl and webgpu the fused update keeps m and v packed in one tensor
  assert.is(afterOne, before.numTensors + (hasFused('adamUpdate') ? 2 : 3), 'the grad and the moments');
  assertNoLeak(() => {
    for (let i = 0; i < 5; i++) step();
  }, 'five more steps');
  opt.zeroGrad();
  opt.dispose();
  assert.equal(tg.memory(), before, 'dispose frees m and v');
  assertThrows(() => opt.step(), /Adam\.step: the optimizer has been disposed/);
  p.dispose();
});

// ---- schedules

test('StepLR, CosineAnnealing, LinearWarmup, and composing them', () => {
  const s = new optim.StepLR(0.1, { stepSize: 3, gamma: 0.5 });
  assert.equal(
    [0, 2, 3, 5, 6].map((t) => s.at(t)),
    [0.1, 0.1, 0.05, 0.05, 0.025],
  );
  const c = new optim.CosineAnnealing(1, { tMax: 10, etaMin: 0.1 });
  assertClose(
    [0, 5, 10, 20].map((t) => c.at(t)),
    [1, 0.55, 0.1, 0.1],
  );
  const w = new optim.LinearWarmup(0.4, { warmupSteps: 4 });
  assertClose(
    [0, 1, 3, 4, 9].map((t) => w.at(t)),
    [0.1, 0.2, 0.4, 0.4, 0.4],
  );
  const w0 = new optim.LinearWarmup(1, { warmupSteps: 4, startFactor: 0.2 });
  assertClose(
    [0, 2, 4].map((t) => w0.at(t)),
    [0.2, 0.6, 1],
  );
  const both = new optim.LinearWarmup(new optim.CosineAnnealing(1, { tMax: 10 }), { warmupSteps: 2 });
  assertClose(
    [0, 1, 5].map((t) => both.at(t)),
    [0.5 * 1, Math.cos((Math.PI * 1) / 10) / 2 + 0.5, 0.5],
  );
  assertThrows(() => new optim.StepLR(0.1, { stepSize: 0 }), /StepLR: stepSize must be a positive integer/);
});

test('an optimizer follows its schedule: lr at step t', () => {
  const p = tg.tensor([0], { requiresGrad: true });
  const opt = new optim.SGD([p], { lr: new optim.StepLR(1, { stepSize: 1, gamma: 0.5 }) });
  const seen: number[] = [];
  for (let i = 0; i < 3; i++) {
    seen.push(opt.lr);
    p.grad = tg.tensor([1]);
    opt.step();
    p.grad.dispose();
  }
  assert.equal(seen, [1, 0.5, 0.25]);
  assertClose(p, [-1.75]);
  p.dispose();
});

// ---- clipGradNorm

test('clipGradNorm scales all grads to the max norm and returns the total norm', () => {
  const a = tg.tensor([3, 0], { requiresGrad: true });
  const b = tg.tensor([0], { requiresGrad: true });
  a.grad = tg.keep(tg.tensor([3, 0]));
  b.grad = tg.keep(tg.tensor([4]));
  const before = tg.memory().numTensors;
  const norm = optim.clipGradNorm([a, b], 1);
  assert.is(tg.memory().numTensors, before + 1, 'only the returned norm is new');
  assertClose(norm, 5);
  assertClose(a.grad!, [0.6, 0], { atol: 1e-6 });
  assertClose(b.grad!, [0.8], { atol: 1e-6 });
  norm.dispose();
  // below the limit: unchanged
  const n2 = optim.clipGradNorm([a, b], 10);
  assertClose(n2, 1, { atol: 1e-6 });
  assertClose(a.grad!, [0.6, 0], { atol: 1e-6 });
  n2.dispose();
  assertThrows(() => optim.clipGradNorm([a], 0), /clipGradNorm: maxNorm must be positive/);
  [a, b].forEach((t) => {
    t.grad!.dispose();
    t.dispose();
  });
});

// ---- errors

test('an optimizer refuses tensors that do not require grad, non-leaves and bad options', () => {
  const frozen = tg.tensor([1, 2]);
  assertThrows(() => new optim.SGD([frozen], { lr: 0.1 }), /SGD: parameter 0 \(shape \[2\]\) does not require grad/);
  const w = tg.tensor([1], { requiresGrad: true });
  const y = w.mul(2);
  assertThrows(() => new optim.Adam([w, y], { lr: 0.1 }), /Adam: parameter 1 \(shape \[1\]\) is not a leaf/);
  assertThrows(() => new optim.Adam([], { lr: 0.1 }), /Adam: needs a non-empty array of parameters/);
  assertThrows(() => new optim.SGD([w, w], { lr: 0.1 }), /SGD: a parameter is listed twice/);
  assertThrows(() => new optim.SGD([w], { lr: -1 }), /SGD: lr must be a non-negative number or a schedule/);
  assertThrows(() => new optim.SGD([w], { lr: 0.1, nesterov: true }), /SGD: nesterov needs a momentum > 0/);
  assertThrows(() => new optim.RMSprop([w], { lr: 0.1, alpha: -0.5 }), /RMSprop: alpha must be a non-negative number/);
  assertThrows(
    () => new optim.SGD([[1, 2]] as unknown as tg.Tensor[], { lr: 0.1 }),
    /SGD: parameter 0 must be a Tensor, got an array/,
  );
  /** An optimizer of one's own that forgot its rule. */
  class Ruleless extends optim.Optimizer {
    constructor(params: tg.Tensor[]) {
      super('Ruleless', params, { lr: 0.1 });
    }
    protected resolveOptions(_fn: string, o: Partial<tg.optim.OptimizerOptions>) {
      return { lr: o.lr ?? 0.1 };
    }
  }
  const ruleless = new Ruleless([w]);
  w.grad = tg.ones([1]);
  assertThrows(
    () => ruleless.step(),
    /Ruleless.step: the optimizer defines no update rule: give it rule\(item, numbers\)/,
  );
  [frozen, w, y, w.grad].forEach((t) => t.dispose());
  w.grad = null;
});

test.run();
