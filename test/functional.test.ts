// grad, valueAndGrad, vjp and customOp: argnums, nesting (grad of grad, to third order),
// closed-over parameters (a gradient penalty), and the appendix's worked examples.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../src/index.js';
import { NODE_BACKENDS, assertClose, assertNoLeak } from './helpers.js';

const E3 = Math.exp(3);
const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
const phi = (v: number) => Math.exp((-v * v) / 2) / Math.sqrt(2 * Math.PI);

/** Elementwise ops with their closed-form second derivatives. */
const second: [string, (t: tg.Tensor) => tg.Tensor, (v: number) => number, number[]][] = [
  ['exp', tg.exp, Math.exp, [-1, 0.5, 2]],
  ['tanh', tg.tanh, (v) => -2 * Math.tanh(v) * (1 - Math.tanh(v) ** 2), [-1, 0.5, 2]],
  ['sigmoid', tg.sigmoid, (v) => sigmoid(v) * (1 - sigmoid(v)) * (1 - 2 * sigmoid(v)), [-1, 0.5, 2]],
  ['sin', tg.sin, (v) => -Math.sin(v), [-1, 0.5, 2]],
  ['cos', tg.cos, (v) => -Math.cos(v), [-1, 0.5, 2]],
  ['tan', tg.tan, (v) => 2 * Math.tan(v) * (1 + Math.tan(v) ** 2), [-1, 0.5, 0.9]],
  ['log', tg.log, (v) => -1 / v ** 2, [0.5, 1, 3]],
  ['log1p', tg.log1p, (v) => -1 / (1 + v) ** 2, [-0.5, 1, 3]],
  ['expm1', tg.expm1, Math.exp, [-1, 0.5, 2]],
  ['sqrt', tg.sqrt, (v) => -0.25 * v ** -1.5, [0.5, 1, 3]],
  ['rsqrt', tg.rsqrt, (v) => 0.75 * v ** -2.5, [0.5, 1, 3]],
  ['reciprocal', tg.reciprocal, (v) => 2 / v ** 3, [-2, 0.5, 3]],
  ['square', tg.square, () => 2, [-1, 0.5, 2]],
  ['softplus', tg.softplus, (v) => sigmoid(v) * (1 - sigmoid(v)), [-1, 0.5, 2]],
  ['gelu', tg.gelu, (v) => phi(v) * (2 - v * v), [-1, 0.5, 2]],
  ['erf', tg.erf, (v) => (-4 * v * Math.exp(-v * v)) / Math.sqrt(Math.PI), [-1, 0.5, 2]],
  ['elu', tg.elu, (v) => (v > 0 ? 0 : Math.exp(v)), [-1, -0.5, 2]],
  ['neg', tg.neg, () => 0, [-1, 0.5, 2]],
  ['abs', tg.abs, () => 0, [-1, 0.5, 2]],
  ['relu', tg.relu, () => 0, [-1, 0.5, 2]],
  ['leakyRelu', (t) => tg.leakyRelu(t, 0.2), () => 0, [-1, 0.5, 2]],
  ['clip', (t) => tg.clip(t, -0.5, 0.5), () => 0, [-1, 0.2, 2]],
  ['sign', tg.sign, () => 0, [-1, 0.5, 2]],
  ['pow x^2.5', (t) => t.pow(2.5), (v) => 2.5 * 1.5 * v ** 0.5, [0.5, 1, 3]],
  ['pow 2^x', (t) => tg.pow(2, t), (v) => Math.LN2 ** 2 * 2 ** v, [-1, 0.5, 2]],
  ['div 1/x', (t) => tg.div(1, t), (v) => 2 / v ** 3, [-2, 0.5, 3]],
];

for (const backend of NODE_BACKENDS) {
  const s = suite(`functional on ${backend}`);
  s.before(async () => {
    await tg.setBackend(backend);
  });

  s('grad with argnums as a number or an array; numbers as arguments', () => {
    const f = (x: tg.Tensor, y: tg.Tensor) => x.mul(y).add(x.square()).sum();
    const x = tg.tensor([1, 2]);
    const y = tg.tensor([3, -1]);
    assertNoLeak(() => {
      const gx = tg.grad(f)(x, y);
      assertClose(gx, [3 + 2, -1 + 4]);
      const gy = tg.grad(f, 1)(x, y);
      assertClose(gy, [1, 2]);
      const [a, b] = tg.grad(f, [0, 1])(x, y);
      assertClose(a, gx);
      assertClose(b, gy);
      tg.dispose([gx, gy, a, b]);
      // scalars as plain numbers: d/dt (t³) = 3t²
      const g = tg.grad((t: tg.Tensor) => t.pow(3))(2 as unknown as tg.Tensor);
      assertClose(g, [12]);
      g.dispose();
    });
    assert.is(x.grad, null, 'grad() does not touch .grad');
    tg.dispose([x, y]);
  });

  s('valueAndGrad returns the value and grad shaped as grad() returns it', () => {
    const f = (x: tg.Tensor, y: tg.Tensor) => x.mul(y).sum();
    const x = tg.tensor([1, 2]);
    const y = tg.tensor([3, 4]);
    assertNoLeak(() => {
      const one = tg.valueAndGrad(f)(x, y);
      assert.is(one.value.item(), 11);
      assertClose(one.grad, [3, 4]);
      const two = tg.valueAndGrad(f, [0, 1])(x, y);
      assert.ok(Array.isArray(two.grad));
      assertClose(two.grad[1], [1, 2]);
      // f returning its own argument: the value is a copy (disposing it leaves x alone)
      const five = tg.tensor(5);
      const id = tg.valueAndGrad((t: tg.Tensor) => t)(five);
      assert.is(id.value.item(), 5);
      assertClose(id.grad, [1]);
      id.value.dispose();
      assert.not.ok(five.isDisposed);
      tg.dispose([one, two, id, five]);
    });
    assert.not.ok(x.isDisposed);
    tg.dispose([x, y]);
  });

  s('vjp: the output and a pullback that can be called many times', () => {
    const x = tg.tensor([0.5, 1, 2]);
    assertNoLeak(() => {
      const r = tg.vjp((t: tg.Tensor, w: tg.Tensor) => t.sin().mul(w), x, 3);
      assertClose(
        r.out,
        [0.5, 1, 2].map((v) => 3 * Math.sin(v)),
        { rtol: 1e-5 },
      );
      const ct1 = tg.tensor([1, 0, 0]);
      const ct2 = tg.tensor([1, 2, 3]);
      const [a, w1] = r.vjp(ct1);
      const [b, w2] = r.vjp(ct2);
      assertClose(a, [3 * Math.cos(0.5), 0, 0], { rtol: 1e-5 });
      assertClose(
        b,
        [1, 2, 3].map((c, i) => c * 3 * Math.cos([0.5, 1, 2][i])),
        { rtol: 1e-5 },
      );
      assertClose(w1, [Math.sin(0.5)], { rtol: 1e-5 });
      assertClose(w2, [Math.sin(0.5) + 2 * Math.sin(1) + 3 * Math.sin(2)], { rtol: 1e-5 });
      assert.not.ok(ct1.isDisposed, 'the cotangent is the caller’s');
      tg.dispose([a, b, w1, w2, ct1, ct2]);
      r.dispose();
    });
    assert.not.ok(x.isDisposed);
    x.dispose();
  });

  s('grad(grad(f)): second derivatives of every elementwise op against closed forms', () => {
    for (const [name, f, d2, at] of second) {
      const x = tg.tensor(at);
      assertNoLeak(() => {
        const h = tg.grad((t: tg.Tensor) =>
          tg
            .grad((u: tg.Tensor) => f(u).sum())(t)
            .sum(),
        )(x);
        assertClose(h, at.map(d2), { rtol: 2e-4, atol: 2e-5, msg: name });
        h.dispose();
      }, name);
      x.dispose();
    }
  });

  s("grad(grad(f)) where f's output is read by its own adjoint (exp, logSumExp at the root)", () => {
    const x = tg.scalar(0.5);
    const v = tg.tensor([0.5, -1, 2]);
    assertNoLeak(() => {
      const h = tg.grad((t: tg.Tensor) => tg.grad((u: tg.Tensor) => u.exp())(t))(x);
      assertClose(h, [Math.exp(0.5)], { rtol: 1e-6 });
      // ∂²/∂x² of logΣeˣ, summed over columns: softmax's Jacobian diag(p) − ppᵀ has zero row sums
      const g2 = tg.grad((t: tg.Tensor) =>
        tg
          .grad((u: tg.Tensor) => u.logSumExp())(t)
          .mul(tg.tensor([1, 0, 0]))
          .sum(),
      )(v);
      const e = [0.5, -1, 2].map(Math.exp);
      const p = e.map((a) => a / e.reduce((s1, b) => s1 + b, 0));
      assertClose(g2, [p[0] - p[0] * p[0], -p[0] * p[1], -p[0] * p[2]], { rtol: 1e-4, atol: 1e-6 });
      tg.dispose([h, g2]);
    });
    tg.dispose([x, v]);
  });

  s('third derivatives: grad(grad(grad(f)))', () => {
    const x = tg.tensor([-1, 0.5, 2]);
    const d3 = (f: (t: tg.Tensor) => tg.Tensor) => {
      const g1 = (t: tg.Tensor) =>
        tg
          .grad((u: tg.Tensor) => f(u).sum())(t)
          .sum();
      const g2 = (t: tg.Tensor) => tg.grad(g1)(t).sum();
      return tg.grad(g2)(x);
    };
    const t = Math.tanh;
    const expected: [string, (t: tg.Tensor) => tg.Tensor, (v: number) => number][] = [
      ['sin', tg.sin, (v) => -Math.cos(v)],
      ['exp', tg.exp, Math.exp],
      ['x⁴', (u) => u.pow(4), (v) => 24 * v],
      ['tanh', tg.tanh, (v) => -2 * (1 - t(v) ** 2) * (1 - 3 * t(v) ** 2)],
      [
        'sigmoid',
        tg.sigmoid,
        (v) => {
          const s1 = sigmoid(v);
          return s1 * (1 - s1) * (1 - 6 * s1 + 6 * s1 * s1);
        },
      ],
    ];
    for (const [name, f, want] of expected) {
      assertNoLeak(() => {
        const g = d3(f);
        assertClose(g, [-1, 0.5, 2].map(want), { rtol: 1e-3, atol: 1e-4, msg: name });
        g.dispose();
      }, name);
    }
    x.dispose();
  });

  s('customOp: used in grad, in backward, in gradcheck, and differentiated twice', async () => {
    // cube(x) = x³ with its adjoint 3x²·g written in tapegrad ops, so it has a second derivative
    const cube = tg.customOp({
      name: 'cube',
      forward: (x) => tf.pow(x, 3),
      vjp: (g, [x]) => [() => g.mul(x.square()).mul(3)],
    });
    const x = tg.tensor([0.5, -1, 2]);
    const g = tg.grad((t: tg.Tensor) => cube(t).sum())(x);
    assertClose(g, [0.75, 3, 12]);
    const h = tg.grad((t: tg.Tensor) =>
      tg
        .grad((u: tg.Tensor) => cube(u).sum())(t)
        .sum(),
    )(x);
    assertClose(h, [3, -6, 12]);
    const r = await tg.gradcheck(cube, [x]);
    assert.ok(r.ok, JSON.stringify(r.worst));
    assert.ok((await tg.gradgradcheck(cube, [x])).ok);
    const xr = tg.tensor([2], { requiresGrad: true });
    tg.tidy(() => cube(xr).backward());
    assertClose(xr.grad!, [12]);
    tg.dispose([x, g, h, xr, xr.grad]);
  });

  // polar(x, y) = [r, θ] = [√(x² + y²), atan2(y, x)]: x̄ = r̄·x/r − θ̄·y/r², ȳ = r̄·y/r + θ̄·x/r²
  const polarSpec = (name: string, thetaSign = 1, seen: (tg.Tensor | null)[][] = []) => ({
    name,
    outputs: 'several' as const,
    forward: (x: tf.Tensor, y: tf.Tensor) => [tf.sqrt(tf.add(tf.square(x), tf.square(y))), tf.atan2(y, x)],
    vjp: (gs: (tg.Tensor | null)[], [x, y]: tg.Tensor[], [r]: tg.Tensor[]) => {
      seen.push(gs);
      const [gr, gt] = gs as tg.Tensor[];
      const r2 = r.square();
      return [
        () => gr.mul(x).div(r).sub(gt.mul(y).div(r2).mul(thetaSign)),
        () => gr.mul(y).div(r).add(gt.mul(x).div(r2).mul(thetaSign)),
      ];
    },
  });

  s('customOp with several outputs: one node, every cotangent (zeros where unused), gradcheck, twice', async () => {
    const seen: (tg.Tensor | null)[][] = [];
    const polar = tg.customOp(polarSpec('polar', 1, seen));
    const x = tg.tensor([0.5, -1, 2]);
    const y = tg.tensor([1.5, 0.7, -0.4]);
    // every output from one node, named by index in explain
    const xv = tg.tensor([0.5, -1, 2], { requiresGrad: true });
    const [r, theta] = polar(xv, y);
    assert.ok(r.node !== null && r.node === theta.node, 'one node for both outputs');
    const loss = r.sum().add(theta.sum());
    const table = tg.explain(loss).table;
    assert.ok(table.includes('polar[0]') && table.includes('polar[1]'), table);
    tg.dispose([r, theta, loss, xv]);
    // r alone: θ's cotangent arrives as zeros of its shape
    seen.length = 0;
    assertNoLeak(() => {
      const g = tg.grad((t: tg.Tensor) => polar(t, y)[0].sum())(x);
      const xs = [0.5, -1, 2];
      const ys = [1.5, 0.7, -0.4];
      assertClose(
        g,
        xs.map((a, i) => a / Math.hypot(a, ys[i])),
      );
      g.dispose();
    });
    assert.is(seen.length, 1);
    assert.ok(seen[0][1] instanceof tg.Tensor && seen[0][1].shape.join() === '3', 'zeros for the unused θ');
    // gradcheck through both outputs, each alone, and twice
    for (const f of [
      (a: tg.Tensor, b: tg.Tensor) => polar(a, b),
      (a: tg.Tensor, b: tg.Tensor) => polar(a, b)[0],
      (a: tg.Tensor, b: tg.Tensor) => polar(a, b)[1],
    ]) {
      const r1 = await tg.gradcheck(f, [x, y]);
      assert.ok(r1.ok, JSON.stringify(r1.worst));
      const r2 = await tg.gradgradcheck(f, [x, y]);
      assert.ok(r2.ok, JSON.stringify(r2.worst));
    }
    // a wrong vjp (θ's term with the wrong sign) fails the check, through θ and through both
    const wrong = tg.customOp(polarSpec('polarWrong', -1));
    assert.not.ok((await tg.gradcheck((a, b) => wrong(a, b), [x, y])).ok, 'the planted vjp passed');
    assert.not.ok((await tg.gradcheck((a, b) => wrong(a, b)[1], [x, y])).ok, 'the planted vjp passed through θ');
    assert.ok((await tg.gradcheck((a, b) => wrong(a, b)[0], [x, y])).ok, 'r alone does not read θ̄');
    tg.dispose([x, y]);
  });

  s('customOp with several outputs: materializeGrads false gives null; backward, memory and bad specs', () => {
    const seen: (tg.Tensor | null)[][] = [];
    const spec = polarSpec('polarNull');
    const polar = tg.customOp({
      ...spec,
      materializeGrads: false,
      vjp: (gs, xs, outs) => {
        seen.push([...gs]);
        return spec.vjp(
          gs.map((g, k) => g ?? tg.zerosLike(outs[k])),
          xs,
          outs,
        );
      },
    });
    const x = tg.tensor([0.5, -1, 2], { requiresGrad: true });
    const y = tg.tensor([1.5, 0.7, -0.4], { requiresGrad: true });
    assertNoLeak(() => {
      const [r, theta] = polar(x, y);
      tg.tidy(() => theta.sum().backward());
      // θ alone: x̄ = −y/r², ȳ = x/r²
      assertClose(x.grad!, [-1.5 / 2.5, -0.7 / 1.49, 0.4 / 4.16], { rtol: 1e-5 });
      assertClose(y.grad!, [0.5 / 2.5, -1 / 1.49, 2 / 4.16], { rtol: 1e-5 });
      tg.dispose([r, theta, x.grad, y.grad]);
      x.grad = y.grad = null;
    });
    assert.is(seen[0][0], null, 'r got no gradient: null with materializeGrads false');
    assert.ok(seen[0][1] instanceof tg.Tensor);
    // no backward, no grad, and a recorded backward: nothing left behind
    assertNoLeak(() => tg.dispose(polar(x, y)));
    assertNoLeak(() => tg.dispose(tg.noGrad(() => polar(x, y))));
    assertNoLeak(() =>
      tg
        .grad((a: tg.Tensor) =>
          tg
            .grad((b: tg.Tensor) => polar(b, y)[1].sum())(a)
            .sum(),
        )(x)
        .dispose(),
    );
    const throwsLike = (fn: () => unknown, pattern: RegExp) => {
      assert.throws(fn, (e: Error) => e instanceof tg.TapegradError && pattern.test(e.message));
    };
    throwsLike(
      () => tg.customOp({ ...spec, name: 'one', forward: (a: tf.Tensor) => tf.neg(a) } as never)(x, y),
      /^one: the op's forward must return an array of tf\.Tensors/,
    );
    throwsLike(
      () =>
        tg.customOp({ name: 'pair', forward: (a: tf.Tensor) => [a.clone(), a.clone()], vjp: () => [null] } as never)(x),
      /^pair: the forward returned an array of 2; declare \{ outputs: 'several' \}/,
    );
    throwsLike(
      () => tg.customOp({ ...spec, name: 'none', forward: () => [] })(x, y),
      /^none: the forward returned no outputs/,
    );
    throwsLike(
      () => tg.customOp({ ...spec, outputs: 'many' } as never),
      /outputs must be 'one' or 'several', got string many/,
    );
    throwsLike(
      () => tg.customOp({ ...spec, materializeGrads: 'yes' } as never),
      /materializeGrads must be true or false/,
    );
    throwsLike(
      () => tg.customOp({ ...spec, materialiseGrads: false } as never),
      /^customOp: unknown option 'materialiseGrads'; the options are name, outputs, forward, vjp, materializeGrads/,
    );
    tg.dispose([x, y]);
  });

  s('closed-over parameters: a gradient penalty, backward()-ed w.r.t. the parameter', () => {
    // L(w) = ‖∂/∂x Σ tanh(w∘x)‖² = Σ (w(1 − tanh²(wx)))²
    // dL/dw = Σ 2 a · (1 − t² − 2 w x t (1 − t²)), with t = tanh(wx), a = w(1 − t²)
    const x = tg.tensor([0.3, -1.2, 0.7]);
    const w = tg.tensor([0.5, 2, -0.4], { requiresGrad: true });
    assertNoLeak(() => {
      tg.tidy(() => {
        const gx = tg.grad((a: tg.Tensor) => a.mul(w).tanh().sum())(x);
        gx.square().sum().backward();
      });
      const xs = [0.3, -1.2, 0.7];
      const expected = [0.5, 2, -0.4].map((wi, i) => {
        const t = Math.tanh(wi * xs[i]);
        const a = wi * (1 - t * t);
        return 2 * a * (1 - t * t - 2 * wi * xs[i] * t * (1 - t * t));
      });
      assertClose(w.grad!, expected, { rtol: 1e-4 });
      w.grad!.dispose();
      w.grad = null;
    });
    // the same through valueAndGrad, with the parameter itself as an argument that requires grad
    assertNoLeak(() => {
      const { value, grad } = tg.valueAndGrad((v: tg.Tensor) => v.square().sum())(w);
      assert.ok(grad.requiresGrad, 'the gradient of an argument that requires grad stays differentiable');
      const gg = tg.tidy(() => tg.gradients(grad.sum(), [w])[0]!);
      assertClose(gg, [2, 2, 2]);
      tg.dispose([value, grad, gg]);
    });
    tg.dispose([x, w]);
  });

  s('grad inside noGrad gives plain gradients that do not record', () => {
    const w = tg.tensor([1, 2], { requiresGrad: true });
    const g = tg.noGrad(() => tg.grad((v: tg.Tensor) => v.square().sum())(w));
    assertClose(g, [2, 4]);
    assert.not.ok(g.requiresGrad);
    tg.dispose([w, g]);
  });

  s("the appendix's worked example f(x,y,z) = x² + y² + eᶻ + xᶻ + xyz at (1,2,3), tape and functional style", () => {
    const f = (x: tg.Tensor, y: tg.Tensor, z: tg.Tensor) =>
      x.square().add(y.square()).add(z.exp()).add(x.pow(z)).add(x.mul(y).mul(z));
    // tape style
    const x = tg.scalar(1, { requiresGrad: true });
    const y = tg.scalar(2, { requiresGrad: true });
    const z = tg.scalar(3, { requiresGrad: true });
    const value = tg.tidy(() => {
      const out = f(x, y, z);
      out.backward();
      return out.detach();
    });
    assertClose(value, [32.0855369], { rtol: 1e-7, atol: 1e-5 });
    assertClose(x.grad!, [11]);
    assertClose(y.grad!, [7]);
    assertClose(z.grad!, [E3 + 2], { rtol: 1e-6 });
    // functional style
    const r = tg.valueAndGrad(f, [0, 1, 2])(tg.scalar(1), tg.scalar(2), tg.scalar(3));
    assertClose(r.value, [32.0855369], { rtol: 1e-7, atol: 1e-5 });
    assertClose(r.grad[0], [11]);
    assertClose(r.grad[1], [7]);
    assertClose(r.grad[2], [E3 + 2], { rtol: 1e-6 });
    tg.dispose([x, y, z, x.grad, y.grad, z.grad, value, r]);
  });

  s('the gradient field of sin(xy) on a grid is (y cos xy, x cos xy), tape and functional style', () => {
    const n = 9;
    const g = Array.from({ length: n }, (_, i) => -2 + (4 * i) / (n - 1));
    const X = tg.tensor(
      g.flatMap((a) => g.map(() => a)),
      { shape: [n, n] },
    );
    const Y = tg.tensor(
      g.flatMap(() => g),
      { shape: [n, n] },
    );
    const expectX = g.flatMap((a) => g.map((b) => b * Math.cos(a * b)));
    const expectY = g.flatMap((a) => g.map((b) => a * Math.cos(a * b)));
    // functional: Σ sin(xy) separates into one term per grid point, so its gradient is the field
    const [dx, dy] = tg.grad((x: tg.Tensor, y: tg.Tensor) => x.mul(y).sin().sum(), [0, 1])(X, Y);
    assertClose(dx, expectX, { atol: 1e-5 });
    assertClose(dy, expectY, { atol: 1e-5 });
    // tape
    X.requiresGrad = true;
    Y.requiresGrad = true;
    tg.tidy(() => X.mul(Y).sin().sum().backward());
    assertClose(X.grad!, expectX, { atol: 1e-5 });
    assertClose(Y.grad!, expectY, { atol: 1e-5 });
    tg.dispose([X, Y, X.grad, Y.grad, dx, dy]);
  });
  s.run();
}

const aliases = suite('vjp aliases');
aliases('a backward through vjp().out leaves nothing behind once disposed', () => {
  const x = tg.tensor([0.5, 1]);
  assertNoLeak(() => {
    const r = tg.vjp((t: tg.Tensor) => t.exp(), x);
    tg.tidy(() => r.out.sum().backward());
    r.dispose();
  });
  assert.is(x.grad, null, 'the caller’s tensor got no .grad (it did not require grad)');
  x.dispose();
});
aliases.run();
