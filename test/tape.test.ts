// The tape: accumulation where paths meet, seeds, retainGraph, createGraph (higher order), hooks,
// retainGrad, noGrad, tidy, and long chains; the graph walk they share (walkGraph).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../src/index.js';
import { NODE_BACKENDS, assertClose, assertNoLeak, assertThrows } from './helpers.js';
import { topoOrder, walkGraph } from '../src/tape.js';
import { setSharedGradientHandles } from '../src/testing.js';

const clear = (...xs: tg.Tensor[]) =>
  xs.forEach((x) => {
    x.grad?.dispose();
    x.grad = null;
  });

for (const backend of NODE_BACKENDS) {
  const s = suite(`tape on ${backend}`);
  s.before(async () => {
    await tg.setBackend(backend);
  });

  s('a tensor used on several paths gets the sum of their gradients', () => {
    const x = tg.tensor([0.5, -1, 2], { requiresGrad: true });
    // y = x·x + sin(x) + 3x: dy/dx = 2x + cos x + 3
    tg.tidy(() => x.mul(x).add(x.sin()).add(x.mul(3)).sum().backward());
    assertClose(
      x.grad!,
      [0.5, -1, 2].map((v) => 2 * v + Math.cos(v) + 3),
    );
    // a diamond: a = 2x, b = a², c = a³, loss = Σ(b + c): d/dx = (2a + 3a²)·2
    clear(x);
    tg.tidy(() => {
      const a = x.mul(2);
      a.square().add(a.pow(3)).sum().backward();
    });
    assertClose(
      x.grad!,
      [0.5, -1, 2].map((v) => (2 * (2 * v) + 3 * (2 * v) ** 2) * 2),
      { rtol: 1e-4 },
    );
    tg.dispose([x, x.grad]);
  });

  s('backward with a seed (non-scalar outputs); seeds are not consumed', () => {
    const x = tg.tensor([1, 2, 3], { requiresGrad: true });
    const seed = tg.tensor([1, 0.5, -2]);
    tg.tidy(() => x.square().backward(seed));
    assertClose(x.grad!, [2, 2, -12]);
    assert.not.ok(seed.isDisposed, 'the seed is the caller’s');
    clear(x);
    // a number as the seed of a scalar
    tg.tidy(() => x.sum().backward(3));
    assertClose(x.grad!, [3, 3, 3]);
    clear(x);
    // a leaf as the root: its grad is the seed (a copy of it)
    const s1 = tg.tensor([1, 1, 1]);
    x.backward(s1);
    assertClose(x.grad!, [1, 1, 1]);
    assert.is.not(x.grad, s1);
    x.grad!.dispose();
    assert.not.ok(s1.isDisposed);
    x.grad = null;
    tg.dispose([x, seed, s1]);
  });

  s('gradients accumulate across backward calls (as in PyTorch) and grad is writable', () => {
    const x = tg.tensor([1, 2], { requiresGrad: true });
    for (let i = 0; i < 3; i++) tg.tidy(() => x.mul(2).sum().backward());
    assertClose(x.grad!, [6, 6]);
    clear(x);
    assert.is(x.grad, null);
    tg.tidy(() => x.mul(2).sum().backward());
    assertClose(x.grad!, [2, 2]);
    tg.dispose([x, x.grad]);
  });

  s('retainGraph allows a second backward; without it the second one throws', () => {
    const x = tg.tensor([1, 2], { requiresGrad: true });
    const h = x.exp();
    const y = h.sum();
    y.backward(undefined, { retainGraph: true });
    y.backward();
    assertClose(x.grad!, [2 * Math.E, 2 * Math.exp(2)], { rtol: 1e-5 });
    assertThrows(() => y.backward(), /backward: the graph through 'sum' was freed by an earlier backward\(\)/);
    tg.dispose([x, x.grad, h, y]);
  });

  s('createGraph: the gradient is itself differentiable (second and third derivatives)', () => {
    const x = tg.tensor([0.5, -1, 1.5], { requiresGrad: true });
    const vals = [0.5, -1, 1.5];
    tg.tidy(() => {
      // y = Σ x⁴: g = 4x³, g' = 12x², g'' = 24x
      x.pow(4).sum().backward(undefined, { createGraph: true });
      const g = x.grad!;
      assertClose(
        g,
        vals.map((v) => 4 * v ** 3),
        { rtol: 1e-5 },
      );
      const [h] = tg.gradients(g.sum(), [x], { createGraph: true });
      assertClose(
        h!,
        vals.map((v) => 12 * v ** 2),
        { rtol: 1e-5 },
      );
      const [t] = tg.gradients(h!.sum(), [x]);
      assertClose(
        t!,
        vals.map((v) => 24 * v),
        { rtol: 1e-5 },
      );
    });
    clear(x);
    // exp, tanh, sigmoid: TF.js's own second derivatives of these are wrong (tfjs issue 3252)
    const cases: [string, (t: tg.Tensor) => tg.Tensor, (v: number) => number][] = [
      ['exp', (t) => t.exp(), (v) => Math.exp(v)],
      ['tanh', (t) => t.tanh(), (v) => -2 * Math.tanh(v) * (1 - Math.tanh(v) ** 2)],
      [
        'sigmoid',
        (t) => t.sigmoid(),
        (v) => {
          const s = 1 / (1 + Math.exp(-v));
          return s * (1 - s) * (1 - 2 * s);
        },
      ],
    ];
    for (const [name, f, d2] of cases) {
      tg.tidy(() => {
        const [g] = tg.gradients(f(x).sum(), [x], { createGraph: true });
        const [h] = tg.gradients(g!.sum(), [x]);
        assertClose(h!, vals.map(d2), { rtol: 1e-4, atol: 1e-5, msg: name });
      });
    }
    x.dispose();
  });

  s('createGraph in tape style: x.grad keeps its graph, and a second accumulation does not leak', () => {
    const x = tg.tensor([0.5, 2], { requiresGrad: true });
    assertNoLeak(() => {
      const h = tg.tidy(() => {
        x.pow(3).sum().backward(undefined, { createGraph: true });
        x.pow(3).sum().backward(undefined, { createGraph: true });
        // x.grad = 6x², recorded (its graph lives as long as this tidy): d Σ x.grad / dx = 12x
        return tg.gradients(x.grad!.sum(), [x])[0]!;
      });
      assertClose(x.grad!, [2 * 3 * 0.25, 2 * 3 * 4]);
      assertClose(h, [6, 24]);
      h.dispose();
      clear(x);
    });
    // add's adjoint passes one gradient on to both operands: each leaf still gets its own grad
    const a = tg.tensor([1], { requiresGrad: true });
    const b = tg.tensor([2], { requiresGrad: true });
    tg.tidy(() => a.add(b).sum().backward(undefined, { createGraph: true }));
    assert.is.not(a.grad, b.grad);
    a.grad!.dispose();
    assertClose(b.grad!, [1]);
    tg.dispose([x, a, b, b.grad]);
  });

  s('registerHook: sees the gradient, can replace it, and can be removed', () => {
    const x = tg.tensor([1, 2, 3], { requiresGrad: true });
    const seen: number[][] = [];
    const remove = x.registerHook((g) => {
      seen.push(Array.from(g.dataSync()));
      return g.mul(2);
    });
    tg.tidy(() => x.square().sum().backward());
    assert.equal(seen, [[2, 4, 6]]);
    assertClose(x.grad!, [4, 8, 12]);
    clear(x);
    // without any tidy: what the hook made is freed by the tape
    assertNoLeak(() => {
      const y = x.sum();
      y.backward();
      assertClose(x.grad!, [2, 2, 2]);
      y.dispose();
      clear(x);
    }, 'a hook that makes tensors');
    seen.length = 0;
    remove();
    tg.tidy(() => x.square().sum().backward());
    assertClose(x.grad!, [2, 4, 6]);
    clear(x);
    // a hook on an intermediate changes what flows on; a hook may return a tensor the user keeps
    const keepMe = tg.tensor([1, 1, 1]);
    assertNoLeak(() => {
      tg.tidy(() => {
        const h = x.mul(5);
        h.registerHook(() => keepMe);
        h.sum().backward();
      });
      clear(x);
    });
    assert.not.ok(keepMe.isDisposed, 'a tensor returned by a hook is not disposed by the tape');
    assertThrows(() => tg.tensor([1]).registerHook(() => {}), /registerHook: the tensor does not require grad/);
    const bad = x.mul(1);
    bad.registerHook(() => tg.ones([2]));
    assertThrows(
      () => tg.tidy(() => bad.sum().backward()),
      /registerHook: a hook returned shape \[2\] for a gradient of shape \[3\]/,
    );
    tg.dispose([x, keepMe, bad]);
  });

  s('registerHook: a hook that returns something other than a Tensor or nothing is an error, not ignored', () => {
    const x = tg.tensor([1, 2, 3], { requiresGrad: true });
    const cases: [unknown, RegExp][] = [
      [2, /got number 2/],
      [[1, 2, 3], /got Array/],
      [{ grad: 1 }, /got Object/],
    ];
    for (const [value, detail] of cases) {
      assertNoLeak(() => {
        const h = x.mul(2);
        h.registerHook((() => value) as never);
        assertThrows(
          () => tg.tidy(() => h.sum().backward()),
          new RegExp(`^registerHook: a hook must return a Tensor \\(the new gradient\\) or nothing, ${detail.source}`),
        );
        h.dispose();
      });
      assert.is(x.grad, null);
    }
    x.dispose();
  });

  s('retainGrad keeps .grad on a non-leaf; other non-leaves get none', () => {
    const x = tg.tensor([1, 2], { requiresGrad: true });
    const h = x.mul(3).retainGrad();
    const k = h.exp();
    const y = k.sum();
    y.backward();
    assertClose(h.grad!, [Math.exp(3), Math.exp(6)], { rtol: 1e-5 });
    assert.is(k.grad, null);
    assertClose(x.grad!, [3 * Math.exp(3), 3 * Math.exp(6)], { rtol: 1e-5 });
    tg.dispose([x, x.grad, h, h.grad, k, y]);
  });

  s('a backward that throws, recorded or not, frees every gradient and temporary it had made', () => {
    // failing(x) = x with an adjoint that makes temporaries, then throws (or gives a wrong shape)
    const failing = (how: 'throw' | 'shape') =>
      tg.customOp({
        name: `failing-${how}`,
        forward: (x) => tf.clone(x),
        vjp: (g) => [
          () => {
            const t = g.mul(2).exp();
            if (how === 'throw') throw new tg.TapegradError('failing', 'planted');
            return t.sum();
          },
        ],
      });
    for (const how of ['throw', 'shape'] as const) {
      const op = failing(how);
      for (const createGraph of [false, true]) {
        const before = tg.memory().numTensors;
        tg.tidy(() => {
          const x = tg.tensor([0.5, -1, 2], { requiresGrad: true });
          const w = tg.tensor([1, 2, 3], { requiresGrad: true });
          // gradients already made when the failing adjoint runs: w's (through the product) and the sum's
          const y = op(x.sin()).mul(w.square()).sum().mul(x.sum());
          const forward = tg.memory().numTensors;
          const message =
            how === 'throw' ? /^failing: planted$/ : /^backward: internal: the adjoint of 'failing-shape'/;
          const opts = { createGraph };
          assertThrows(() => y.backward(undefined, opts), message, `${how}, backward, createGraph ${createGraph}`);
          assert.is(tg.memory().numTensors, forward, `${how}, backward, createGraph ${createGraph}: nothing left`);
          assert.is(w.grad, null, 'no .grad from a failed sweep');
          assertThrows(() => tg.gradients(y, [x, w], opts), message, `${how}, gradients, createGraph ${createGraph}`);
          assert.is(tg.memory().numTensors, forward, `${how}, gradients, createGraph ${createGraph}: nothing left`);
        });
        assert.is(tg.memory().numTensors, before);
      }
    }
  });

  s('noGrad: nothing is recorded, and the previous mode comes back', () => {
    const x = tg.tensor([1, 2], { requiresGrad: true });
    assert.ok(tg.isGradEnabled());
    const y = tg.noGrad(() => {
      assert.not.ok(tg.isGradEnabled());
      const inner = tg.noGrad(() => x.mul(2));
      assert.not.ok(tg.isGradEnabled());
      return inner.add(x);
    });
    assert.ok(tg.isGradEnabled());
    assert.not.ok(y.requiresGrad);
    assert.is(y.node, null);
    assertThrows(() => y.sum().backward(), /backward: the tensor does not require grad/);
    assert.throws(
      () =>
        tg.noGrad(() => {
          throw new Error('boom');
        }),
      /boom/,
    );
    assert.ok(tg.isGradEnabled(), 'restored after a throw');
    tg.dispose([x, y]);
  });

  s('tidy frees what fn made except its result (in arrays and objects); leaf grads survive it', () => {
    const x = tg.tensor([1, 2], { requiresGrad: true });
    const before = tg.memory().numTensors;
    const { a, list } = tg.tidy(() => {
      const t = x.mul(x).exp();
      const s1 = t.sum();
      s1.backward();
      return { a: s1, list: [t.neg(), 7, 'text'] };
    });
    assert.is(tg.memory().numTensors, before + 3, 'a, list[0] and x.grad');
    assertClose(x.grad!, [2 * Math.exp(1), 4 * Math.exp(4)], { rtol: 1e-5 });
    assertClose(list[0] as tg.Tensor, [-Math.exp(1), -Math.exp(4)], { rtol: 1e-5 });
    tg.dispose([a, list, x.grad]);
    x.grad = null;
    assert.is(tg.memory().numTensors, before);
    // a result that owns a constant (x.mul(3)) keeps it, and frees it when disposed
    const y = tg.tidy(() => x.mul(3));
    assertClose(y, [3, 6]);
    y.dispose();
    assert.is(tg.memory().numTensors, before);
    assert.throws(() => tg.tidy((async () => x) as any), /tidy: the function must be synchronous/);
    assert.is(tg.memory().numTensors, before);
    x.dispose();
  });

  s('memory() counts tensors and bytes', () => {
    const m0 = tg.memory();
    const t = tg.zeros([10, 10]);
    const m1 = tg.memory();
    assert.is(m1.numTensors - m0.numTensors, 1);
    assert.is(m1.numBytes - m0.numBytes, 400);
    t.dispose();
    assert.equal(tg.memory(), m0);
  });

  s('a long chain (20 000 ops) does not overflow the stack', () => {
    const x = tg.scalar(0.5, { requiresGrad: true });
    tg.tidy(() => {
      let y = x;
      for (let i = 0; i < 20000; i++) y = y.mul(1);
      y.backward();
    });
    assertClose(x.grad!, [1]);
    tg.dispose([x, x.grad]);
  });

  s('gradients(): returns gradients without touching .grad; null where no path; only what is needed runs', () => {
    const x = tg.tensor([1, 2], { requiresGrad: true });
    const w = tg.tensor([3, 4], { requiresGrad: true });
    const unused = tg.tensor([1], { requiresGrad: true });
    tg.tidy(() => {
      const y = x.mul(w).sum();
      const [gx, gu] = tg.gradients(y, [x, unused], { retainGraph: true });
      assertClose(gx!, [3, 4]);
      assert.is(gu, null);
      assert.is(x.grad, null);
      assert.is(w.grad, null);
      // a target that is the output itself gets the seed, as its own tensor
      const seed = tg.tensor(2);
      const [gy] = tg.gradients(y, [y], { seeds: [seed] });
      assert.is.not(gy, seed);
      assertClose(gy!, [2]);
    });
    tg.dispose([x, w, unused]);
  });

  s('a gradient add passes to both operands gives each its own handle: shared values, or cloned', async () => {
    for (const shared of [true, false]) {
      setSharedGradientHandles(shared);
      try {
        const a = tg.tensor([1, 2, 3], { requiresGrad: true });
        const b = tg.tensor([4, 5, 6], { requiresGrad: true });
        const seed = tg.tensor([1, -2, 0.5]);
        assertNoLeak(() => {
          tg.tidy(() => a.add(b).backward(seed));
          assert.is.not(a.grad!.value, b.grad!.value, `${shared}: one tensor for two leaves`);
          assert.is.not(a.grad!.value, seed.value, `${shared}: the seed is the caller's`);
          a.grad!.dispose();
          assertClose(b.grad!, [1, -2, 0.5]);
          b.grad!.dispose();
          assertClose(seed, [1, -2, 0.5]);
          a.grad = b.grad = null;
          // a residual add inside the graph: the sum's gradient flows on to both paths
          tg.tidy(() => a.mul(2).add(a.sin()).mul(b).sum().backward());
          assertClose(
            a.grad!,
            [1, 2, 3].map((v, i) => (2 + Math.cos(v)) * [4, 5, 6][i]),
            { rtol: 1e-5 },
          );
          clear(a, b);
        }, `shared ${shared}`);
        // shared handles copy nothing: no Identity kernel runs
        const info = await tf.profile(() => tg.tidy(() => a.add(b).sum().backward()));
        assert.is(info.kernelNames.includes('Identity'), !shared, `shared ${shared}: ${info.kernelNames.join(' ')}`);
        tg.dispose([a, b, seed, a.grad, b.grad]);
      } finally {
        setSharedGradientHandles(true);
      }
    }
  });
  s.run();
}

// ---- ops with several outputs (split, unbind): one node, one adjoint call for all the outputs
/** Counts the calls of an op's adjoint while fn runs. */
function countAdjointCalls(rule: { vjp: (...a: never[]) => unknown }, fn: () => void): number {
  const vjp = rule.vjp;
  let calls = 0;
  rule.vjp = (...a: never[]) => {
    calls++;
    return vjp(...a);
  };
  try {
    fn();
  } finally {
    rule.vjp = vjp;
  }
  return calls;
}

for (const backend of NODE_BACKENDS) {
  const s = suite(`several outputs on ${backend}`);
  s.before(async () => {
    await tg.setBackend(backend);
  });

  s("the outputs share one node, whose adjoint runs once with every output's gradient", () => {
    const x = tg.tensor(
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      { requiresGrad: true },
    );
    assertNoLeak(() => {
      const calls = countAdjointCalls(tg.unbind.rule, () =>
        tg.tidy(() => {
          const rows = tg.unbind(x, 1);
          assert.is(rows.length, 3);
          assert.ok(rows.every((r) => r.node === rows[0].node));
          assert.equal(rows[0].node!.outputs, rows);
          // row 1 reaches no output: its part of the gradient is 0
          rows[0].mul(2).add(rows[2].square()).sum().backward();
        }),
      );
      assert.is(calls, 1);
      assertClose(x.grad!, [2, 0, 6, 2, 0, 12]);
      tg.dispose([x.grad]);
      x.grad = null;
    });
    x.dispose();
  });

  s('gradients() of several outputs of one node, and one of them as a target', () => {
    const x = tg.tensor([0.5, -1, 2, 3], { requiresGrad: true });
    assertNoLeak(() =>
      tg.tidy(() => {
        const [a, b] = tg.split(x, 2);
        const [ga, gb] = tg.gradients([a, b], [x, b], {
          seeds: [tg.tensor([1, 2]), tg.tensor([3, 4])],
          retainGraph: true,
        });
        assertClose(ga!, [1, 2, 3, 4]);
        assertClose(gb!, [3, 4]);
        // a part whose gradient is asked for without reaching the root
        const [none] = tg.gradients(a.sum(), [b]);
        assert.is(none, null);
      }),
    );
    x.dispose();
  });

  s('hooks and retainGrad on a part; retainGraph for a second backward, refused without it', () => {
    const x = tg.tensor([1, 2, 3, 4, 5, 6], { requiresGrad: true });
    assertNoLeak(() => {
      tg.tidy(() => {
        const [a, b, c] = tg.chunk(x, 3);
        b.registerHook((g) => g.mul(10));
        c.retainGrad();
        const loss = a.sum().add(b.sum()).add(c.square().sum());
        loss.backward(undefined, { retainGraph: true });
        assertClose(x.grad!, [1, 1, 10, 10, 10, 12]);
        assertClose(c.grad!, [10, 12]);
        loss.backward();
        assertClose(x.grad!, [2, 2, 20, 20, 20, 24]);
        assertThrows(() => loss.backward(), /^backward: the graph through '.*' was freed by an earlier backward\(\)/);
        tg.dispose([x.grad, c.grad]);
        x.grad = null;
      });
    });
    x.dispose();
  });

  s('a part disposed before backward is not needed by the adjoint; the graph is freed with the parts', () => {
    const x = tg.tensor(
      [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
      { requiresGrad: true },
    );
    assertNoLeak(() => {
      const [a, b, c] = tg.unbind(x);
      tg.dispose([a, c]);
      const b3 = b.mul(3);
      const y = b3.sum();
      y.backward();
      assertClose(x.grad!, [0, 0, 3, 3, 0, 0]);
      tg.dispose([y, b3, b, x.grad]);
      x.grad = null;
    });
    x.dispose();
  });

  s('createGraph through unbind: the adjoint (a stack) is recorded and differentiable again', () => {
    const x = tg.tensor(
      [
        [1, 2],
        [3, 4],
      ],
      { requiresGrad: true },
    );
    assertNoLeak(() =>
      tg.tidy(() => {
        // y = Σ x₀ⱼ³ + Σ x₁ⱼ²: ∂y/∂x = [3x₀², 2x₁], and the gradient of Σ ∂y/∂x is [6x₀, 2]
        const [r0, r1] = tg.unbind(x);
        const [g] = tg.gradients(r0.pow(3).sum().add(r1.square().sum()), [x], { createGraph: true });
        assertClose(g!, [3, 12, 6, 8]);
        const [gg] = tg.gradients(g!.sum(), [x]);
        assertClose(gg!, [6, 12, 2, 2]);
      }),
    );
    x.dispose();
  });

  s('anomaly detection names the op and the output whose gradient held a NaN', () => {
    const x = tg.tensor([1, 2, 3, 4], { requiresGrad: true });
    assertNoLeak(() =>
      tg.detectAnomaly(() =>
        tg.tidy(() => {
          const [a, b] = tg.split(x, 2);
          assertThrows(
            () => tg.gradients([a, b], [x], { seeds: [tg.tensor([1, 1]), tg.tensor([Number.NaN, 1])] }),
            /^split: anomaly in the backward pass: .*the incoming gradient of output 1 \[2\] already held NaN \(1 of 2/,
          );
        }),
      ),
    );
    x.dispose();
  });
  s.run();
}

// ---- the graph walk that backward, explain and the function transforms share
const walk = suite('walkGraph');
walk('every tensor once, inputs before outputs; follow prunes; enter sees each before its inputs', () => {
  const x = tg.tensor([1, 2], { requiresGrad: true });
  const c = tg.tensor([3, 4]);
  tg.tidy(() => {
    const a = x.mul(c);
    const b = a.sin();
    const y = a.add(b).sum(); // a is reached on two paths
    const order = walkGraph([y]);
    assert.equal(new Set(order).size, order.length, 'each tensor once');
    assert.equal(
      order.length,
      6,
      `x, c, a, b, the add and y: ${order.map((t) => t.node?.rule.name ?? 'leaf').join(' ')}`,
    );
    assert.ok(order.indexOf(x) < order.indexOf(a) && order.indexOf(a) < order.indexOf(b));
    assert.is(order[order.length - 1], y);
    const entered: tg.Tensor[] = [];
    const tracked = walkGraph([y], { follow: (t) => t.requiresGrad, enter: (t) => entered.push(t) });
    assert.not.ok(tracked.includes(c), 'follow: c does not require grad');
    assert.is(entered[0], y, 'enter: the root first');
    assert.equal(new Set(entered), new Set(tracked));
    assert.equal(
      topoOrder([y]),
      tracked.filter((t) => t.node),
      "backward's order: the recorded tensors of the walk",
    );
  });
  tg.dispose([x, c]);
  assert.ok(x.isDisposed);
});
walk('a chain of 20,000 ops is walked without a recursion limit', () => {
  const x = tg.tensor(1, { requiresGrad: true });
  tg.tidy(() => {
    let y = x;
    for (let i = 0; i < 20000; i++) y = y.mul(1);
    assert.is(walkGraph([y]).length, 20000 + 1 + 20000, 'every product, x, and the constant 1 of each');
  });
  x.dispose();
});
walk.run();
