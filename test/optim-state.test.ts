// tg.optim beyond single steps: parameter groups with their own options, addParamGroup, state
// dicts that resume a run exactly (every optimizer, L-BFGS and ReduceLROnPlateau included), the
// memory they hold, and the errors for bad groups, bad state and a missing closure.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../src/index.js';
import { NODE_BACKENDS, assertClose, assertNoLeak, assertThrows } from './helpers.js';

const optim = tg.optim;
const values = (t: tg.Tensor) => Array.from(t.dataSync());

/** A small least-squares problem: loss(w) = mean((x·w − y)²) + ‖w‖⁴/100 (not quadratic, for L-BFGS). */
function problem() {
  const x = tg.randn([6, 3], { seed: 1 });
  const y = tg.randn([6], { seed: 2 });
  const loss = (ps: tg.Tensor[]) =>
    tg.add(tg.nn.mseLoss(tg.add(tg.matmul(x, ps[0]), ps[1]), y), tg.mul(ps[0].square().sum().square(), 0.01));
  return { loss, free: () => tg.dispose([x, y]) };
}
const fresh = () => [tg.tensor([0.5, -0.3, 0.2], { requiresGrad: true }), tg.tensor([0.1], { requiresGrad: true })];

type Make = (ps: tg.Tensor[]) => tg.optim.Optimizer;
function stepN(opt: tg.optim.Optimizer, ps: tg.Tensor[], loss: (ps: tg.Tensor[]) => tg.Tensor, n: number): void {
  for (let i = 0; i < n; i++) {
    const closure = () =>
      tg.tidy(() => {
        opt.zeroGrad();
        const l = loss(ps);
        l.backward();
        return l;
      });
    if (opt instanceof optim.LBFGS) opt.step(closure);
    else {
      closure().dispose();
      opt.step();
    }
  }
  opt.zeroGrad();
}

const MAKERS: Record<string, Make> = {
  SGD: (ps) => new optim.SGD(ps, { lr: 0.05, momentum: 0.9, dampening: 0.1 }),
  Adam: (ps) => new optim.Adam(ps, { lr: 0.05, amsgrad: true }),
  AdamW: (ps) => new optim.AdamW([{ params: [ps[0]] }, { params: [ps[1]], weightDecay: 0 }], { lr: 0.05 }),
  RMSprop: (ps) => new optim.RMSprop(ps, { lr: 0.01, centered: true, momentum: 0.5 }),
  Adagrad: (ps) => new optim.Adagrad(ps, { lr: 0.1, lrDecay: 0.01 }),
  Adamax: (ps) => new optim.Adamax(ps),
  NAdam: (ps) => new optim.NAdam(ps, { lr: 0.05 }),
  RAdam: (ps) => new optim.RAdam(ps, { lr: 0.05 }),
  'SGD with a schedule': (ps) => new optim.SGD(ps, { lr: new optim.OneCycleLR(0.1, { totalSteps: 10 }) }),
  LBFGS: (ps) => new optim.LBFGS(ps, { maxIter: 3, historySize: 2 }),
  'LBFGS strong Wolfe': (ps) => new optim.LBFGS(ps, { maxIter: 3, lineSearchFn: 'strongWolfe' }),
};

test('stateDict / loadStateDict: 5 steps, save, a new optimizer loads and takes 5 more = 10 steps straight', () => {
  const { loss, free } = problem();
  for (const [name, make] of Object.entries(MAKERS)) {
    const straight = fresh();
    const a = make(straight);
    stepN(a, straight, loss, 10);
    const resumed = fresh();
    const b = make(resumed);
    stepN(b, resumed, loss, 5);
    const before = tg.memory();
    const sd = b.stateDict();
    const saved = Object.values(sd.state).flatMap((s) => Object.values(s.tensors));
    assert.is(tg.memory().numTensors, before.numTensors + saved.length, `${name}: the state dict's tensors are copies`);
    // a new optimizer over copies of the parameters (as after loading a checkpoint)
    const copies = resumed.map((p) => tg.tensor(values(p), { requiresGrad: true }));
    const c = make(copies);
    c.loadStateDict({ ...sd, groups: JSON.parse(JSON.stringify(sd.groups)) }); // options survive JSON
    tg.dispose(saved);
    assert.is(c.stepCount, 5, name);
    stepN(c, copies, loss, 5);
    copies.forEach((p, i) => assertClose(p, straight[i], { atol: 1e-6, rtol: 1e-5, msg: `${name} parameter ${i}` }));
    [a, b, c].forEach((o) => o.dispose());
    tg.dispose([...straight, ...resumed, ...copies]);
  }
  free();
});

test('toBytes / fromBytes: every optimizer resumes through the bytes as through stateDict, bit for bit', () => {
  const { loss, free } = problem();
  for (const [name, make] of Object.entries(MAKERS)) {
    const resumed = fresh();
    const b = make(resumed);
    stepN(b, resumed, loss, 5);
    const sd = b.stateDict();
    const before = tg.memory().numTensors;
    const bytes = b.toBytes();
    assert.is(tg.memory().numTensors, before, `${name}: toBytes leaves nothing behind`);
    const [viaDict, viaBytes] = [0, 1].map(() => resumed.map((p) => tg.tensor(values(p), { requiresGrad: true })));
    const [c, d] = [make(viaDict), make(viaBytes)];
    c.loadStateDict(sd);
    d.fromBytes(bytes);
    assert.equal(d.stateDict().groups, c.stateDict().groups, `${name}: the groups`);
    stepN(c, viaDict, loss, 5);
    stepN(d, viaBytes, loss, 5);
    viaBytes.forEach((p, i) => assert.equal(values(p), values(viaDict[i]), `${name} parameter ${i}`));
    tg.dispose(Object.values(sd.state).map((s) => s.tensors));
    [b, c, d].forEach((o) => o.dispose());
    tg.dispose([...resumed, ...viaDict, ...viaBytes]);
  }
  // L-BFGS keeps NaN (no loss yet) and history in float64, which the bytes carry exactly
  const ps = fresh();
  const lbfgs = new optim.LBFGS(ps, { maxIter: 2, historySize: 3 });
  stepN(lbfgs, ps, loss, 2);
  const copy = new optim.LBFGS(ps, { maxIter: 2, historySize: 3 });
  copy.fromBytes(lbfgs.toBytes());
  const [x, y] = [lbfgs.stateDict(), copy.stateDict()];
  assert.equal(y.lbfgs, x.lbfgs);
  // −0 too (JSON writes it as 0): a padding row's zero gradient keeps its sign in the direction
  const signed = { ...x, lbfgs: { ...x.lbfgs, d: (x.lbfgs.d as number[]).map((v, i) => (i === 0 ? -0 : v)) } };
  lbfgs.loadStateDict(signed);
  copy.fromBytes(lbfgs.toBytes());
  const z = copy.stateDict();
  assert.ok(Object.is((z.lbfgs.d as number[])[0], -0), 'the sign of a zero');
  tg.dispose([...Object.values(x.state), ...Object.values(y.state), ...Object.values(z.state)].map((s) => s.tensors));
  [lbfgs, copy].forEach((o) => o.dispose());
  tg.dispose(ps);
  free();
});

const nodeOnly = NODE_BACKENDS.includes('cpu') ? test : test.skip;
nodeOnly("an optimizer's save and load: a file (Node)", async () => {
  const { loss, free } = problem();
  const ps = fresh();
  const { mkdtemp, rm } = await import('node:fs/promises');
  const dir = await mkdtemp(`${(await import('node:os')).tmpdir()}/tapegrad-`);
  const adam = new optim.Adam(ps, { lr: 0.01, amsgrad: true });
  stepN(adam, ps, loss, 3);
  await adam.save(`${dir}/adam.safetensors`);
  const again = new optim.Adam(ps, { lr: 0.5 });
  await again.load(`${dir}/adam.safetensors`);
  assert.is(again.stepCount, 3);
  assert.equal(again.paramGroups[0].lr, 0.01);
  assert.equal(again.paramGroups[0].amsgrad, true);
  await rm(dir, { recursive: true });
  [adam, again].forEach((o) => o.dispose());
  tg.dispose(ps);
  free();
});

test("fromBytes refuses another optimizer's bytes, a module's, and entries of no parameter; nothing is left behind", () => {
  const { loss, free } = problem();
  const ps = fresh();
  const adam = new optim.Adam(ps, { lr: 0.1 });
  stepN(adam, ps, loss, 1);
  const sgd = new optim.SGD(ps, { lr: 0.1, momentum: 0.9 });
  const lin = new tg.nn.Linear(2, 2);
  const before = tg.memory().numTensors;
  assertThrows(() => sgd.fromBytes(adam.toBytes()), /^SGD\.fromBytes: the file holds the state of Adam, not of SGD$/);
  assertThrows(() => sgd.fromBytes(lin.toBytes()), /^SGD\.fromBytes: the file holds no optimizer's state/);
  assertThrows(() => sgd.fromBytes(new Uint8Array(3)), /^SGD\.fromBytes: not a safetensors file/);
  const stray = tg.nn.encodeSafetensors([['state.7.v', tg.ones([3])]], {
    optimizer: 'SGD',
    stateDict: JSON.stringify({ stepCount: 1, groups: [], state: {} }),
  });
  assertThrows(
    () => sgd.fromBytes(stray),
    /^SGD\.fromBytes: the file's entry 'state\.7\.v' belongs to no parameter's state$/,
  );
  const notJson = tg.nn.encodeSafetensors([], { optimizer: 'SGD', stateDict: '{' });
  assertThrows(() => sgd.fromBytes(notJson), /^SGD\.fromBytes: the file's stateDict metadata is not JSON$/);
  assert.is(tg.memory().numTensors, before + 1, 'only the ones() of the stray file');
  adam.dispose();
  sgd.dispose();
  assertThrows(() => sgd.toBytes(), /^SGD\.toBytes: the optimizer has been disposed$/);
  lin.dispose();
  tg.dispose(ps);
  free();
});

test("Adam's state in each backend's form (m and v apart, packed, webgl's bias-corrected pair) resumes the same", () => {
  const { loss, free } = problem();
  const ps = fresh();
  const adam = new optim.Adam(ps, { lr: 0.05 });
  stepN(adam, ps, loss, 3);
  const sd = adam.stateDict();
  const [beta1, beta2] = [0.9, 0.999];
  const forms = Object.values(sd.state).map(({ tensors }) => {
    const [m, v] = tensors.moments ? tg.unbind(tensors.moments) : [tensors.m, tensors.v];
    const corrected = tg.stack([m.div(1 - beta1 ** 3), v.div(1 - beta2 ** 3).sqrt()]);
    return { apart: { m, v }, packed: { moments: tg.stack([m, v]) }, corrected: { corrected } };
  });
  const results: Record<string, number[][]> = {};
  for (const form of ['apart', 'packed', 'corrected'] as const) {
    const copies = ps.map((p) => tg.tensor(values(p), { requiresGrad: true }));
    const opt = new optim.Adam(copies, { lr: 0.05 });
    const state = Object.fromEntries(forms.map((f, i) => [i, { step: 3, scalars: {}, tensors: f[form] }]));
    opt.loadStateDict({ ...sd, state });
    stepN(opt, copies, loss, 4);
    results[form] = copies.map(values);
    opt.dispose();
    tg.dispose(copies);
  }
  stepN(adam, ps, loss, 4);
  for (const form of ['apart', 'packed', 'corrected'])
    results[form].forEach((r, i) =>
      assertClose(tg.tensor(r), ps[i], { atol: 1e-6, rtol: 1e-5, msg: `${form}, parameter ${i}` }),
    );
  tg.dispose(forms.flatMap((f) => [f.apart.m, f.apart.v, f.packed.moments, f.corrected.corrected]));
  tg.dispose(Object.values(sd.state).map((s) => s.tensors));
  adam.dispose();
  tg.dispose(ps);
  free();
});

test('stateDict, loadStateDict and dispose leak nothing; loading replaces the old state', () => {
  const { loss, free } = problem();
  const ps = fresh();
  const opt = new optim.Adam(ps, { lr: 0.1 });
  stepN(opt, ps, loss, 2);
  assertNoLeak(() => {
    const sd = opt.stateDict();
    opt.loadStateDict(sd);
    tg.dispose(Object.values(sd.state).map((s) => s.tensors));
  }, 'save and load');
  assert.equal(opt.stateDict().groups[0].options, {
    lr: 0.1,
    betas: [0.9, 0.999],
    eps: 1e-8,
    weightDecay: 0,
    amsgrad: false,
  });
  const held = Object.values(opt.stateDict().state).flatMap((st) => Object.values(st.tensors));
  tg.dispose(held);
  const before = tg.memory();
  opt.dispose();
  // m and v of two parameters (on webgl and webgpu the fused update packs each pair in one tensor)
  assert.is(tg.memory().numTensors, before.numTensors - held.length, 'the moments are freed');
  assert.ok(held.length === 4 || held.length === 2);
  tg.dispose(ps);
  free();
});

test("parameter groups: each group its own options, the rest from the optimizer's; addParamGroup", () => {
  const a = tg.tensor([1, 2], { requiresGrad: true });
  const b = tg.tensor([3], { requiresGrad: true });
  const c = tg.tensor([4], { requiresGrad: true });
  const opt = new optim.SGD([{ params: [a] }, { params: [b], lr: 0.5, weightDecay: 0.1 }], { lr: 0.1 });
  assert.equal(
    opt.paramGroups.map((g) => [g.lr, g.weightDecay, g.momentum]),
    [
      [0.1, 0, 0],
      [0.5, 0.1, 0],
    ],
  );
  opt.addParamGroup({ params: [c], momentum: 0.9 });
  assert.equal(opt.params, [a, b, c]);
  for (const p of [a, b, c]) p.grad = tg.ones(p.shape);
  opt.step();
  assertClose(a, [0.9, 1.9]);
  assertClose(b, [3 - 0.5 * (1 + 0.1 * 3)]);
  assertClose(c, [3.9]);
  // options may change between steps (as PyTorch's param_groups)
  opt.paramGroups[0].lr = 1;
  opt.step();
  assertClose(a, [-0.1, 0.9]);
  opt.zeroGrad();
  opt.dispose();
  tg.dispose([a, b, c]);
});

test('bad groups are refused: a parameter twice (also across groups), no params, a negative lr, an unknown option', () => {
  const w = tg.tensor([1], { requiresGrad: true });
  const v = tg.tensor([2], { requiresGrad: true });
  assertThrows(
    () => new optim.SGD([{ params: [w] }, { params: [v, w] }], { lr: 0.1 }),
    /^SGD: a parameter is listed twice \(parameter 1 of group 1, shape \[1\]\)$/,
  );
  assertThrows(
    () => new optim.Adam([{ params: [w] }, { params: [] }], { lr: 0.1 }),
    /^Adam: parameter group 1 needs params: a non-empty array of Tensors$/,
  );
  assertThrows(
    () => new optim.Adam([{ params: [w] }, {} as never], { lr: 0.1 }),
    /Adam: parameter group 1 needs params/,
  );
  assertThrows(
    () => new optim.SGD([{ params: [w], lr: -0.1 }], { lr: 0.1 }),
    /^SGD: lr must be a non-negative number or a schedule, got -0\.1$/,
  );
  assertThrows(
    () => new optim.SGD([w], { lr: 0.1, momentun: 0.9 } as never),
    /^SGD: unknown option 'momentun'; the options are lr, momentum, dampening, weightDecay, nesterov$/,
  );
  assertThrows(
    () => new optim.RMSprop([{ params: [w], beta: 1 } as never], { lr: 0.1 }),
    /RMSprop: unknown option 'beta' in group 0; the options are lr, alpha,/,
  );
  // every unknown name at once, each with its likely meaning, through the shared checkOptions
  assertThrows(
    () => new optim.Adam([{ params: [w] }, { params: [v], weight_decay: 0.1, foo: 2 } as never], { lr: 0.1 }),
    /^Adam: unknown options 'weight_decay' \(did you mean 'weightDecay'\?\), 'foo' in group 1; the options are lr, /,
  );
  assertThrows(
    () => new optim.SGD([w], { lr: 0.1, Momentum: 0.9, dampning: 0 } as never),
    /^SGD: unknown options 'Momentum' \(did you mean 'momentum'\?\), 'dampning'; the options are /,
  );
  const opt = new optim.SGD([w], { lr: 0.1 });
  assertThrows(
    () => opt.addParamGroup({ params: [w] }),
    /^SGD\.addParamGroup: a parameter is listed twice \(parameter 0 of group 1, shape \[1\]\)$/,
  );
  assertThrows(
    () => opt.addParamGroup({ params: [v], momentum: -1 }),
    /SGD\.addParamGroup: momentum must be a non-negative number, got -1/,
  );
  assert.is(opt.paramGroups.length, 1, 'a refused group is not added');
  assertThrows(
    () => new optim.SGD([w], { lr: 0.1, nesterov: true, momentum: 0.9, dampening: 0.5 }),
    /SGD: nesterov needs a momentum > 0 and zero dampening/,
  );
  assertThrows(
    () => new optim.Adam([w], { lr: 0.1, betas: [0.9] as never }),
    /Adam: betas must be a pair of numbers in \[0, 1\)/,
  );
  opt.dispose();
  tg.dispose([w, v]);
});

test('loadStateDict checks everything first and says what differs; nothing changes on a mismatch', () => {
  const { loss, free } = problem();
  const ps = fresh();
  const opt = new optim.Adam(ps, { lr: 0.1 });
  stepN(opt, ps, loss, 1);
  const sd = opt.stateDict();
  const sgd = new optim.SGD(ps, { lr: 0.1, momentum: 0.9 });
  stepN(sgd, ps, loss, 1);
  const sgdState = sgd.stateDict();
  const other = new optim.SGD([tg.tensor([1, 2], { requiresGrad: true })], { lr: 0.1, momentum: 0.9 });
  assertThrows(
    () => other.loadStateDict(sgdState),
    /^SGD\.loadStateDict: group 0 has 2 parameters, expected 1; parameter 0's 'v' has shape \[3\], expected \[2\]; state for parameter 1, which does not exist$/,
  );
  assertThrows(
    () => other.loadStateDict({ stepCount: 1 } as never),
    /SGD\.loadStateDict: expected what stateDict\(\) returns/,
  );
  tg.dispose(Object.values(sgdState.state).map((st) => st.tensors));
  sgd.dispose();
  const bad = { ...sd, groups: [{ params: [0, 1], options: { ...sd.groups[0].options, eps: -1 } }] };
  const before = opt.stateDict();
  assertThrows(() => opt.loadStateDict(bad), /Adam\.loadStateDict: eps must be a non-negative number, got -1/);
  assert.equal(opt.paramGroups[0].eps, 1e-8, 'nothing changed');
  tg.dispose([Object.values(sd.state).map((s) => s.tensors), Object.values(before.state).map((s) => s.tensors)]);
  tg.dispose(other.params);
  [opt, other].forEach((o) => o.dispose());
  tg.dispose(ps);
  free();
});

test('LBFGS: minimises a smooth function to its minimum; step needs a closure; one group only', () => {
  // Rosenbrock: minimum at (1, 1)
  const xy = tg.tensor([-1.5, 2], { requiresGrad: true });
  const rosen = () => {
    const [x, y] = [xy.slice([0], [1]), xy.slice([1], [1])];
    return tg.add(tg.mul(tg.sub(y, x.square()).square(), 100), tg.sub(1, x).square()).sum();
  };
  const opt = new optim.LBFGS([xy], { lineSearchFn: 'strongWolfe', maxIter: 100 });
  const closure = () =>
    tg.tidy(() => {
      opt.zeroGrad();
      const l = rosen();
      l.backward();
      return l;
    });
  assertNoLeak(() => {
    for (let i = 0; i < 3; i++) opt.step(closure);
    opt.zeroGrad();
  }, 'L-BFGS steps');
  assertClose(xy, [1, 1], { atol: 1e-3 });
  assertThrows(
    () => opt.step(),
    /^LBFGS\.step: needs a closure that zeroes the grads, computes the loss, calls backward\(\) and returns the loss$/,
  );
  assertThrows(
    () => opt.step((() => 'loss') as never),
    /LBFGS\.step: the closure must return the loss \(a Tensor or a number\)/,
  );
  assertThrows(
    () => opt.addParamGroup({ params: [tg.ones([1], { requiresGrad: true })] }),
    /LBFGS\.addParamGroup: LBFGS takes one parameter group/,
  );
  const w = tg.tensor([1], { requiresGrad: true });
  assertThrows(
    () => new optim.LBFGS([{ params: [xy] }, { params: [w] }] as never),
    /LBFGS: takes one parameter group, got 2/,
  );
  assertThrows(
    () => new optim.LBFGS([xy], { lineSearchFn: 'armijo' as never }),
    /LBFGS: lineSearchFn must be 'strongWolfe' or null/,
  );
  assertThrows(
    () => opt.loadStateDict({ ...opt.stateDict(), lbfgs: undefined } as never),
    /LBFGS\.loadStateDict: expected what LBFGS\.stateDict\(\) returns/,
  );
  opt.zeroGrad();
  opt.dispose();
  tg.dispose([xy, w]);
});

test('ReduceLROnPlateau: an optimizer follows it; its stateDict resumes it', () => {
  const s = new optim.ReduceLROnPlateau(1, { patience: 1, factor: 0.5 });
  const p = tg.tensor([0], { requiresGrad: true });
  const opt = new optim.SGD([p], { lr: s });
  for (const m of [3, 2, 2, 2]) s.step(m);
  assert.is(opt.lr, 0.5);
  const copy = new optim.ReduceLROnPlateau(1, { patience: 1, factor: 0.5 });
  copy.loadStateDict(JSON.parse(JSON.stringify({ ...s.stateDict(), best: 2 })));
  assert.equal([s.step(2), s.step(2)], [copy.step(2), copy.step(2)]);
  assert.equal(s.stateDict(), copy.stateDict());
  // before its first metric, best is ±Infinity, which JSON writes as null: it still loads
  for (const mode of ['min', 'max'] as const) {
    const [fresh, loaded] = [0, 1].map(() => new optim.ReduceLROnPlateau(1, { mode, patience: 0 }));
    loaded.loadStateDict(JSON.parse(JSON.stringify(fresh.stateDict())));
    assert.equal(loaded.stateDict(), fresh.stateDict(), mode);
    assert.equal([loaded.step(1), loaded.step(1)], [fresh.step(1), fresh.step(1)], mode);
  }
  assertThrows(() => s.step(NaN), /ReduceLROnPlateau\.step: the metric must be a number/);
  assertThrows(
    () => s.step(tg.ones([2])),
    /ReduceLROnPlateau\.step: the metric must be a number or a one-element Tensor, got shape \[2\]/,
  );
  assertThrows(
    () => new optim.ReduceLROnPlateau(0.1, { factor: 1.5 }),
    /ReduceLROnPlateau: factor must be in \[0, 1\)/,
  );
  assertThrows(
    () => copy.loadStateDict({ lr: 1 } as never),
    /ReduceLROnPlateau\.loadStateDict: expected what stateDict\(\) returns/,
  );
  opt.dispose();
  p.dispose();
});

test('schedules refuse bad options; OneCycleLR refuses steps beyond its cycle', () => {
  assertThrows(
    () => new optim.ExponentialLR(0.1, { gamma: 0 }),
    /^ExponentialLR: gamma must be a positive number, got 0$/,
  );
  assertThrows(
    () => new optim.MultiStepLR(0.1, { milestones: [2, -1] }),
    /MultiStepLR: milestones must be an array of non-negative integers/,
  );
  assertThrows(() => new optim.OneCycleLR(0.1, { totalSteps: 0 }), /OneCycleLR: totalSteps must be a positive integer/);
  assertThrows(
    () => new optim.OneCycleLR(0.1, { totalSteps: 10, annealStrategy: 'exp' as never }),
    /annealStrategy must be 'cos' or 'linear'/,
  );
  assertThrows(
    () => new optim.OneCycleLR(0.1, { totalSteps: 10 }).at(10),
    /^OneCycleLR: step 10 is beyond the cycle's 10 steps \(totalSteps\)$/,
  );
  assertThrows(
    () => new optim.SequentialLR([0.1, 0.2], { milestones: [] }),
    /SequentialLR: needs 1 milestone for 2 schedules, got \[\]/,
  );
  assertThrows(
    () => new optim.SequentialLR([0.1, 0.2, 0.3], { milestones: [5, 5] }),
    /SequentialLR: milestones must be increasing positive integers/,
  );
  // an optimizer stepping past the cycle says so, naming the step (a step without gradients is not counted)
  const p = tg.tensor([0], { requiresGrad: true });
  p.grad = tg.ones([1]);
  const opt = new optim.SGD([p], { lr: new optim.OneCycleLR(0.1, { totalSteps: 1 }) });
  opt.step();
  assertThrows(() => opt.step(), /OneCycleLR: step 1 is beyond the cycle's 1 steps/);
  opt.dispose();
  p.dispose();
});

test.run();
