// Every registered op, gradchecked on every Node backend: full mode on small inputs, fast mode on
// larger ones, and gradgradcheck where the case asks for it (every elementwise op does). A
// registered op without a case fails here; so does a leak in forward + backward + dispose.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../src/index.js';
import { registry, rulesOf } from '../src/registry.js';
import * as elementwise from '../src/ops/elementwise.js';
import { cases, compositeCases, flatCases, type OpCase } from './op-cases.js';
import { NODE_BACKENDS, assertNoLeak } from './helpers.js';

const all = [...flatCases(cases), ...flatCases(compositeCases)];

const registryTest = suite('op registry');
registryTest('every registered op has a gradcheck case, and every case names a registered op', () => {
  const ops = Object.keys(registry).sort();
  const covered = Object.keys(cases).sort();
  assert.equal(
    ops.filter((k) => !covered.includes(k)),
    [],
    'registered ops without a case',
  );
  assert.equal(
    covered.filter((k) => !ops.includes(k)),
    [],
    'cases for unregistered ops',
  );
  for (const [name, c] of Object.entries(cases))
    assert.ok(!Array.isArray(c) || c.length > 0, `${name} has an empty case list`);
});
registryTest("every op is registered under its own name (tg.linalg's with the namespace in its rule's name)", () => {
  for (const [name, rule] of Object.entries(registry)) {
    const ok = rule.name === name || rule.name === `linalg.${name}`;
    assert.ok(ok, `registry entry '${name}' holds the rule of '${rule.name}'`);
  }
});
registryTest('every elementwise op is checked to second order', () => {
  for (const name of Object.keys(rulesOf(elementwise))) {
    const list = [cases[name as keyof typeof cases]].flat();
    assert.ok(
      list.some((c) => c.gradgrad),
      `${name} has no gradgrad case`,
    );
  }
});
registryTest.run();

function describeReport(r: tg.GradcheckReport): string {
  return `ok=${r.ok} maxAbs=${r.maxAbsError.toExponential(2)} maxRel=${r.maxRelError.toExponential(2)} worst=${JSON.stringify(r.worst)}`;
}

/** Runs one kind of check on fresh inputs and disposes them. */
async function check(c: OpCase, kind: 'full' | 'fast' | 'gradgrad', seed: number): Promise<tg.GradcheckReport> {
  const xs = kind === 'fast' ? (c.makeLarge ?? c.make)(seed) : c.make(seed);
  try {
    const opts = { ...c.tol, seed };
    if (kind === 'gradgrad') return await tg.gradgradcheck(c.f, xs, opts);
    return await tg.gradcheck(c.f, xs, { ...opts, mode: kind });
  } finally {
    tg.dispose(xs);
  }
}

for (const backend of NODE_BACKENDS) {
  const s = suite(`gradcheck every op on ${backend}`);
  s.before(async () => {
    await tg.setBackend(backend);
  });
  for (const [label, c] of all) {
    s(`${label}: full, fast${c.gradgrad ? ', gradgrad' : ''}`, async () => {
      const before = tg.memory().numTensors;
      const full = await check(c, 'full', 1);
      assert.ok(full.ok, `${label} full on ${backend}: ${describeReport(full)}`);
      assert.is(full.mode, 'full');
      const fast = await check(c, 'fast', 2);
      assert.ok(fast.ok, `${label} fast on ${backend}: ${describeReport(fast)}`);
      if (c.gradgrad) {
        const gg = await check(c, 'gradgrad', 3);
        assert.ok(gg.ok, `${label} gradgrad on ${backend}: ${describeReport(gg)}`);
      }
      assert.is(tg.memory().numTensors, before, `${label}: gradcheck leaked tensors`);
    });
  }
  s.run();
}

// ---- memory: forward + backward + dispose leaves nothing behind

/** Marks the float inputs as requiring grad; returns them. */
function leaves(xs: tg.Tensor[]): tg.Tensor[] {
  for (const x of xs) if (x.dtype === 'float32') x.requiresGrad = true;
  return xs;
}
/** Backward from y (seeded with ones when not a scalar), with the seed freed afterwards. */
function backwardFrom(y: tg.Tensor): void {
  if (y.size === 1) return y.backward();
  const seed = tg.onesLike(y);
  y.backward(seed);
  seed.dispose();
}
function disposeGrads(xs: tg.Tensor[]): void {
  for (const x of xs) {
    x.grad?.dispose();
    x.grad = null;
  }
}

for (const backend of NODE_BACKENDS) {
  const m = suite(`memory on ${backend}`);
  m.before(async () => {
    await tg.setBackend(backend);
  });

  m('every case in a tidy loop step: only the leaf grads survive, and they are freed by dispose', () => {
    for (const [label, c] of all) {
      assertNoLeak(() => {
        const xs = leaves(c.make(1));
        for (let step = 0; step < 2; step++) tg.tidy(() => backwardFrom(c.f(...xs)));
        assert.ok(
          xs.some((x) => x.grad),
          `${label}: no leaf got a grad`,
        );
        for (const x of xs) assert.ok(!x.grad?.isDisposed, `${label}: a leaf grad did not survive the tidy`);
        disposeGrads(xs);
        tg.dispose(xs);
      }, `${label} on ${backend}`);
    }
  });

  // One public call per line (no intermediates of the user's own): the output and x.grad are
  // all the user holds, so disposing them must free everything, hidden constants included.
  const direct: [string, (x: tg.Tensor, y: tg.Tensor, m: tg.Tensor) => tg.Tensor][] = [
    ['x.mul(3)', (x) => x.mul(3)],
    ['tg.mul(3, x)', (x) => tg.mul(3, x)],
    ['x.add(1)', (x) => x.add(1)],
    ['x.sub(y)', (x, y) => x.sub(y)],
    ['tg.div(1, x)', (x) => tg.div(1, x)],
    ['x.pow(2)', (x) => x.pow(2)],
    ['tg.pow(2, x)', (x) => tg.pow(2, x)],
    ['x.pow(y)', (x, y) => x.abs().add(1).pow(y)],
    ['x.maximum(0.1)', (x) => x.maximum(0.1)],
    ['x.minimum(y)', (x, y) => x.minimum(y)],
    ['where(c, x, 0)', (x) => tg.where(tg.greater(x, 0), x, 0)],
    ['x.exp()', (x) => x.exp()],
    ['x.relu()', (x) => x.relu()],
    ['x.leakyRelu(0.2)', (x) => x.leakyRelu(0.2)],
    ['x.elu()', (x) => x.elu()],
    ['x.gelu()', (x) => x.gelu()],
    ['x.clip(-0.5, 0.5)', (x) => x.clip(-0.5, 0.5)],
    ['x.abs()', (x) => x.abs()],
    ['x.sign()', (x) => x.sign()],
    ['x.sum({axis:0})', (x) => x.sum({ axis: 0 })],
    ['x.mean()', (x) => x.mean()],
    ['x.prod({axis:1})', (x) => x.prod({ axis: 1 })],
    ['x.max()', (x) => x.max()],
    ['x.min({axis:1})', (x) => x.min({ axis: 1 })],
    ['x.logSumExp()', (x) => x.logSumExp()],
    ['x.variance({correction:1})', (x) => x.variance({ correction: 1 })],
    ['x.norm()', (x) => x.norm()],
    ['x.norm({ord:Infinity})', (x) => x.norm({ ord: Infinity })],
    ['x.reshape', (x) => x.reshape([3, 2])],
    ['x.transpose([1,0])', (x) => x.transpose([1, 0])],
    ['x.expandDims(0)', (x) => x.expandDims(0)],
    ['x.expandDims(0).squeeze', (x) => tg.squeeze(x.reshape([1, 2, 3]))],
    ['x.slice', (x) => x.slice([0, 1], [-1, 2])],
    [
      'x.pad',
      (x) =>
        x.pad(
          [
            [1, 1],
            [0, 2],
          ],
          1,
        ),
    ],
    ['x.tile', (x) => x.tile([2, 2])],
    ['x.broadcastTo', (x) => x.broadcastTo([4, 2, 3])],
    ['concat', (x, y) => tg.concat([x, y, x], 1)],
    ['stack', (x, y) => tg.stack([x, y, x])],
    ['gather([1,1,0])', (x) => x.gather([1, 1, 0])],
    [
      'gather 2-D indices',
      (x) =>
        tg.gather(
          x,
          tg.tensor(
            [
              [0, 2],
              [2, 1],
            ],
            { dtype: 'int32' },
          ),
          1,
        ),
    ],
    ['matmul', (x, _y, m) => x.matmul(m)],
    ['matmul transposeA', (x, y) => tg.matmul(x, y, { transposeA: true })],
    ['matmul transposeB', (x, y) => tg.matmul(x, y, { transposeB: true })],
    ['matmul with a 1-D operand', (x) => tg.matmul(x, tg.tensor([1, 2, 3]))],
    ['dot', (x, y) => tg.dot(x.reshape([6]), y.reshape([6]))],
    ['outer', (x, y) => tg.outer(x.reshape([6]), y.reshape([6]))],
    ['trace', (x, _y, m) => tg.trace(m)],
    ['softmax', (x) => x.softmax()],
    ['logSoftmax(0)', (x) => x.logSoftmax(0)],
    ['crossEntropy indices', (x) => tg.crossEntropy(x, tg.tensor([2, 0], { dtype: 'int32' }))],
    [
      'crossEntropy probabilities, smoothing',
      (x, y) => tg.crossEntropy(x, y.softmax(), { labelSmoothing: 0.1, reduction: 'sum' }),
    ],
    ['mseLoss', (x, y) => tg.mseLoss(x, y)],
    ['l1Loss none', (x, y) => tg.l1Loss(x, y, { reduction: 'none' })],
  ];
  m(
    'a single public call: disposing the output and x.grad frees everything (numbers and hidden tensors included)',
    () => {
      for (const [label, f] of direct) {
        const x = tg.tensor(
          [
            [0.3, -1.2, 0.7],
            [1.1, 0.4, -0.6],
          ],
          { requiresGrad: true },
        );
        const y = tg.tensor(
          [
            [0.5, 0.2, -0.4],
            [-1, 0.9, 0.8],
          ],
          { requiresGrad: true },
        );
        const mat = tg.tensor(
          [
            [0.3, -1.2],
            [0.7, 1.1],
            [0.4, -0.6],
          ],
          { requiresGrad: true },
        );
        const before = tg.memory();
        // the function may make constant inputs of its own (index tensors): they are the user's
        // intermediates, so the call runs inside tidy; the output survives it only because it is returned
        const out = tg.tidy(() => {
          const o = f(x, y, mat);
          backwardFrom(o);
          return o;
        });
        out.dispose();
        disposeGrads([x, y, mat]);
        const after = tg.memory();
        assert.is(
          after.numTensors,
          before.numTensors,
          `${label} on ${backend}: ${after.numTensors - before.numTensors} tensors left`,
        );
        assert.is(after.numBytes, before.numBytes, `${label} on ${backend}: bytes left`);
        tg.dispose([x, y, mat]);
      }
    },
  );

  m('without any tidy: numbers as operands and composites leave nothing once output and grads are disposed', () => {
    const x = tg.tensor(
      [
        [0.3, -1.2, 0.7],
        [1.1, 0.4, -0.6],
      ],
      { requiresGrad: true },
    );
    const v = tg.tensor([0.5, -1, 2], { requiresGrad: true });
    const t = tg.tensor([
      [0.2, 0.3, 0.5],
      [1, 0, 0],
    ]);
    const labels = tg.tensor([2, 0], { dtype: 'int32' });
    const m = tg.ones([3, 2], { requiresGrad: true });
    const calls: [string, () => tg.Tensor][] = [
      ['x.mul(3)', () => x.mul(3)],
      ['tg.sub(1, x)', () => tg.sub(1, x)],
      ['x.pow(3)', () => x.pow(3)],
      ['x.maximum(-0.5)', () => x.maximum(-0.5)],
      ['outer', () => tg.outer(v, v)],
      ['dot', () => tg.dot(v, v)],
      ['matmul of two vectors', () => tg.matmul(v, v)],
      ['matmul vector x matrix', () => tg.matmul(v, m)],
      ['gather with an array', () => x.gather([1, 1, 0], 1)],
      ['mseLoss', () => tg.mseLoss(x, t)],
      ['crossEntropy, probabilities, labelSmoothing', () => tg.crossEntropy(x, t, { labelSmoothing: 0.1 })],
      [
        'crossEntropy, class indices, labelSmoothing',
        () => tg.crossEntropy(x, labels, { labelSmoothing: 0.2, reduction: 'sum' }),
      ],
      ['crossEntropy, class indices, none', () => tg.crossEntropy(x, labels, { reduction: 'none' })],
      ['l1Loss', () => tg.l1Loss(x, t)],
      ['norm ord 3', () => x.norm({ ord: 3, axis: 1 })],
      ['variance', () => x.variance({ axis: 0, correction: 1 })],
      [
        'split',
        () => {
          const [a, b, c] = tg.split(x, 3, 1);
          tg.dispose([a, c]);
          return b;
        },
      ],
    ];
    for (const [label, f] of calls) {
      assertNoLeak(() => {
        const y = f();
        backwardFrom(y);
        y.dispose();
        disposeGrads([x, v, m]);
      }, `${label} on ${backend}`);
    }
    // the same, with the output disposed before backward ever runs (no graph is kept alive)
    for (const [label, f] of calls) assertNoLeak(() => f().dispose(), `${label} (no backward) on ${backend}`);
    tg.dispose([x, v, t, m, labels]);
  });

  m('grad, valueAndGrad, vjp and gradcheck calls leave nothing behind', async () => {
    const x = tg.tensor([0.3, -1.2, 0.7]);
    const w = tg.tensor([0.5, 0.2, -0.4], { requiresGrad: true });
    const f = (a: tg.Tensor) => a.mul(3).exp().sum();
    const g = (a: tg.Tensor, b: tg.Tensor) => a.mul(b).tanh().sum();
    assertNoLeak(() => tg.grad(f)(x).dispose(), 'grad');
    assertNoLeak(() => tg.grad(f)(w).dispose(), 'grad of an argument that requires grad');
    assertNoLeak(() => tg.dispose(tg.grad(g, [0, 1])(x, w)), 'grad with argnums');
    assertNoLeak(() => tg.dispose(tg.valueAndGrad(g, [0, 1])(x, w)), 'valueAndGrad');
    assertNoLeak(
      () =>
        tg
          .grad((a: tg.Tensor) => tg.grad(f)(a).sum())(x)
          .dispose(),
      'grad(grad(f))',
    );
    assertNoLeak(() => {
      const r = tg.vjp((a: tg.Tensor) => a.sin().mul(2), x);
      const ct = tg.tensor([1, 2, 3]);
      tg.dispose(r.vjp(ct));
      tg.dispose(r.vjp(ct));
      ct.dispose();
      r.dispose();
    }, 'vjp');
    // a gradient penalty: the inner gradient stays differentiable w.r.t. the closed-over w
    assertNoLeak(() => {
      tg.tidy(() => {
        const gp = tg.grad((a: tg.Tensor) => a.mul(w).tanh().sum())(x);
        gp.square().sum().backward();
      });
      w.grad!.dispose();
      w.grad = null;
    }, 'gradient penalty in a tidy');
    const before = tg.memory().numTensors;
    await tg.gradcheck(g, [x, w]);
    await tg.gradcheck(g, [x, w], { mode: 'fast' });
    await tg.gradgradcheck(g, [x, w]);
    assert.is(tg.memory().numTensors, before, 'gradcheck leaked');
    tg.dispose([x, w]);
  });
  m.run();
}

// argmax and argmin: integer indices, outside the tape (PyTorch's and JAX's conventions)
const arg = suite('argmax, argmin');
arg('along an axis, over the flattened tensor, with keepDims; the first of ties', async () => {
  for (const backend of NODE_BACKENDS) {
    await tg.setBackend(backend);
    const x = tg.tensor(
      [
        [1, 5, 3],
        [7, 2, 7],
      ],
      { requiresGrad: true },
    );
    const cases: [tg.Tensor, number[], number[]][] = [
      [tg.argmax(x, { axis: 1 }), [2], [1, 0]],
      [tg.argmin(x, { axis: 0 }), [3], [0, 1, 0]],
      [tg.argmax(x), [], [3]],
      [x.argmin(), [], [0]],
      [tg.argmax(x, { axis: -1, keepDims: true }), [2, 1], [1, 0]],
      [tg.argmax(x, { keepDims: true }), [1, 1], [3]],
    ];
    for (const [i, shape, values] of cases) {
      assert.equal(i.shape, shape, backend);
      assert.is(i.dtype, 'int32');
      assert.is(i.requiresGrad, false);
      assert.equal(Array.from(i.dataSync()), values, backend);
    }
    tg.dispose([x, ...cases.map((c) => c[0])]);
  }
});
arg.run();

// split, chunk and unbind: the parts PyTorch gives (torch.chunk's sizes, torch.unbind's slices)
const partsTest = suite('split, chunk, unbind');
partsTest(
  "chunk's parts are ⌈n / chunks⌉ long, the last shorter, fewer when they run out (torch.chunk's)",
  async () => {
    for (const backend of NODE_BACKENDS) {
      await tg.setBackend(backend);
      const lengths = (n: number, chunks: number) => {
        const ps = tg.chunk(tg.zeros([n, 2]), chunks);
        const out = ps.map((p) => p.shape[0]);
        tg.dispose(ps);
        return out;
      };
      // torch.chunk(torch.zeros(n, 2), chunks) in PyTorch 1.13
      assert.equal(lengths(5, 3), [2, 2, 1], backend);
      assert.equal(lengths(6, 4), [2, 2, 2], backend);
      assert.equal(lengths(2, 3), [1, 1], backend);
      assert.equal(lengths(0, 3), [0, 0, 0], backend);
      const x = tg.tensor([
        [1, 2, 3],
        [4, 5, 6],
      ]);
      const cols = x.unbind(1);
      assert.equal(
        cols.map((c) => Array.from(c.dataSync())),
        [
          [1, 4],
          [2, 5],
          [3, 6],
        ],
      );
      const [a, b] = tg.split(x, [1, 2], -1);
      assert.equal(Array.from(b.dataSync()), [2, 3, 5, 6]);
      assert.equal(tg.unbind(tg.zeros([0, 3])), []);
      tg.dispose([x, ...cols, a, b]);
    }
  },
);
partsTest.run();
