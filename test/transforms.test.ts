// jacobian, jvp, hessian and hvp (src/transforms.ts): known Jacobians and Hessians, the shape
// conventions, agreement between the transforms, composition with grad, memory, and errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../src/index.js';
import { assertClose, assertNoLeak, assertThrows, NODE_BACKENDS } from './helpers.js';

const randn = (shape: number[], seed: number) => tg.randn(shape, { seed });
/** Plain nested arrays of a tensor, for closed forms computed in JavaScript. */
const arr = (t: tg.Tensor) => t.arraySync() as number[][];
const flat = (t: tg.Tensor) => Array.from(t.dataSync());
/** diag(v) as nested arrays. */
const diag = (v: number[]) => v.map((vi, i) => v.map((_, j) => (i === j ? vi : 0)));
/** M t for M given as nested arrays, t as a flat array. */
const matVec = (M: number[][], t: number[]) => M.map((row) => row.reduce((s, m, j) => s + m * t[j], 0));

// ---- jacobian

for (const backend of NODE_BACKENDS) {
  test(`[${backend}] jacobian of x ↦ Ax is A (m×n), of an elementwise map is diagonal`, async () => {
    await tg.setBackend(backend);
    const A = randn([3, 4], 1);
    const x = randn([4], 2);
    const J = tg.jacobian((v: tg.Tensor) => tg.matmul(A, v))(x);
    assert.equal(J.shape, [3, 4]);
    assertClose(J, A);
    const D = tg.jacobian((v: tg.Tensor) => v.sin())(x);
    assertClose(D, diag(flat(x).map(Math.cos)).flat());
    tg.dispose([A, x, J, D]);
    await tg.setBackend('wasm');
  });

  test(`[${backend}] hessian of Σx³ is diag(6x); hvp is hessian·v`, async () => {
    await tg.setBackend(backend);
    const x = randn([5], 3);
    const v = randn([5], 4);
    const f = (t: tg.Tensor) => t.pow(3).sum();
    const H = tg.hessian(f)(x);
    assert.equal(H.shape, [5, 5]);
    const expected = diag(flat(x).map((xi) => 6 * xi));
    assertClose(H, expected.flat(), { atol: 1e-4 });
    assertClose(tg.hvp(f, x, v), matVec(expected, flat(v)), { atol: 1e-4 });
    tg.dispose([x, v, H]);
    await tg.setBackend('wasm');
  });
}

test('jacobian shapes follow [...out.shape, ...x.shape]', () => {
  const X = randn([2, 3], 5);
  const W = randn([3, 4], 6);
  // Y = XW: ∂Y[i,l]/∂X[j,k] = δᵢⱼ W[k,l]
  const J = tg.jacobian((x: tg.Tensor) => tg.matmul(x, W))(X);
  assert.equal(J.shape, [2, 4, 2, 3]);
  const Wa = arr(W);
  const expected = [0, 1].map((i) =>
    [0, 1, 2, 3].map((l) => [0, 1].map((j) => [0, 1, 2].map((k) => (i === j ? Wa[k][l] : 0)))),
  );
  assertClose(J, expected.flat(3));
  // a row sum: [2] out of [2, 3]
  const S = tg.jacobian((x: tg.Tensor) => x.sum({ axis: 1 }))(X);
  assert.equal(S.shape, [2, 2, 3]);
  assertClose(
    S,
    [
      [
        [1, 1, 1],
        [0, 0, 0],
      ],
      [
        [0, 0, 0],
        [1, 1, 1],
      ],
    ].flat(2),
  );
  // scalar out: the gradient's shape; scalar in: the output's shape
  const G = tg.jacobian((x: tg.Tensor) => x.square().sum())(X);
  assert.equal(G.shape, [2, 3]);
  assertClose(
    G,
    flat(X).map((v) => 2 * v),
  );
  const s = tg.scalar(0.7);
  const C = tg.jacobian((t: tg.Tensor) => tg.stack([t.sin(), t.cos(), t.mul(3)]))(s);
  assert.equal(C.shape, [3]);
  assertClose(C, [Math.cos(0.7), -Math.sin(0.7), 3]);
  tg.dispose([X, W, J, S, G, s, C]);
});

test('jacobian with several argnums, and of an output that ignores an argument', () => {
  const x = randn([3], 7);
  const y = randn([3], 8);
  const [Jx, Jy] = tg.jacobian((a: tg.Tensor, b: tg.Tensor) => a.mul(b), [0, 1])(x, y);
  assertClose(Jx, diag(flat(y)).flat());
  assertClose(Jy, diag(flat(x)).flat());
  const Z = tg.jacobian((a: tg.Tensor, b: tg.Tensor) => b.exp(), 0)(x, y);
  assert.equal(Z.shape, [3, 3]);
  assertClose(Z, diag([0, 0, 0]).flat());
  // the second argument by index alone
  const Jb = tg.jacobian((a: tg.Tensor, b: tg.Tensor) => a.mul(b).sum(), 1)(x, y);
  assertClose(Jb, x);
  tg.dispose([x, y, Jx, Jy, Z, Jb]);
});

test('jacobian by columns (forward) equals by rows (reverse), for tall Jacobians and nested in grad', () => {
  const W = randn([30, 3], 40);
  const x = randn([3], 41);
  const f = (v: tg.Tensor) => tg.matmul(W, v).tanh().mul(v.sum());
  const rows = tg.jacobian(f, 0, { mode: 'reverse' })(x);
  const cols = tg.jacobian(f, 0, { mode: 'forward' })(x);
  const auto = tg.jacobian(f)(x); // 2(3 + 1) < 30: by columns
  assert.equal(cols.shape, [30, 3]);
  assertClose(cols, rows);
  assertClose(auto, rows);
  // matrix-shaped input and output, two argnums
  const g = (a: tg.Tensor, b: tg.Tensor) => tg.matmul(a, b).sin();
  const A = randn([4, 2], 42),
    B = randn([2, 5], 43);
  const [r1, r2] = tg.jacobian(g, [0, 1], { mode: 'reverse' })(A, B);
  const [c1, c2] = tg.jacobian(g, [0, 1], { mode: 'forward' })(A, B);
  assert.equal(c1.shape, [4, 5, 4, 2]);
  assertClose(c1, r1);
  assertClose(c2, r2);
  // differentiable when nested: ∂/∂x Σ J(x) both ways
  const nested = (mode: 'reverse' | 'forward') => tg.grad((v: tg.Tensor) => tg.jacobian(f, 0, { mode })(v).sum())(x);
  const n1 = nested('reverse'),
    n2 = nested('forward');
  assertClose(n2, n1);
  tg.dispose([W, x, rows, cols, auto, A, B, r1, r2, c1, c2, n1, n2]);
});

test("jacobian's auto mode keeps to rows through a custom op whose adjoint is not recorded", () => {
  // an adjoint computed on raw TF.js values: correct for one reverse sweep, invisible to a second
  const twice = tg.customOp({
    name: 'twiceRaw',
    forward: (v) => tf.mul(v, 2),
    vjp: (g) => [() => new tg.Tensor(tf.mul(g.value, 2))],
  });
  const x = randn([2], 44);
  const f = (v: tg.Tensor) => twice(v).tile([10]);
  const J = tg.jacobian(f)(x);
  assertClose(J, Array.from({ length: 20 }, (_, i) => [i % 2 === 0 ? 2 : 0, i % 2 === 1 ? 2 : 0]).flat());
  tg.dispose([x, J]);
});

// ---- jvp

test('jvp equals jacobian·t, and returns f(x)', () => {
  const A = randn([4, 3], 9);
  const x = randn([3], 10);
  const t = randn([3], 11);
  const f = (v: tg.Tensor) => tg.matmul(A, v).tanh().add(v.sum().square());
  const { out, tangent } = tg.jvp(f, [x], [t]);
  const J = tg.jacobian(f)(x);
  const fx = f(x);
  assertClose(out, fx);
  assertClose(tangent, matVec(arr(J), flat(t)), { atol: 1e-5 });
  assert.is(out.requiresGrad, false);
  tg.dispose([A, x, t, out, tangent, J, fx]);
});

test('jvp with two primals sums J₁t₁ + J₂t₂; numbers are primals too', () => {
  const x = randn([2, 3], 12);
  const y = randn([3], 13);
  const tx = randn([2, 3], 14);
  const ty = randn([3], 15);
  // f(x, y) = (x ∘ y).sum(axis 1): J_x t_x = Σₖ t_x[i,k] y[k], J_y t_y = Σₖ x[i,k] t_y[k]
  const { tangent } = tg.jvp((a: tg.Tensor, b: tg.Tensor) => a.mul(b).sum({ axis: 1 }), [x, y], [tx, ty]);
  const X = arr(x),
    Y = flat(y),
    TX = arr(tx),
    TY = flat(ty);
  assertClose(
    tangent,
    [0, 1].map((i) => [0, 1, 2].reduce((s, k) => s + TX[i][k] * Y[k] + X[i][k] * TY[k], 0)),
  );
  const s = tg.jvp((a: tg.Tensor) => a.mul(a).mul(a), [2], [0.5]);
  assertClose(s.tangent, 3 * 4 * 0.5);
  tg.dispose([x, y, tx, ty, tangent, s.out, s.tangent]);
});

test('jvp of the identity and of a constant; results are independent of the arguments', () => {
  const x = randn([3], 16);
  const t = randn([3], 17);
  const id = tg.jvp((v: tg.Tensor) => v, [x], [t]);
  assertClose(id.tangent, t);
  id.out.dispose();
  id.tangent.dispose();
  assert.is(x.isDisposed, false, 'disposing the output must not free the primal');
  assert.is(t.isDisposed, false, 'disposing the tangent must not free the given tangent');
  const c = tg.jvp((v: tg.Tensor) => tg.ones([2]), [x], [t]);
  assertClose(c.tangent, [0, 0]);
  tg.dispose([x, t, c.out, c.tangent]);
});

// ---- hessian, hvp

test('hessian of log-sum-exp is diag(p) − ppᵀ', () => {
  const x = randn([4], 18);
  const H = tg.hessian((v: tg.Tensor) => v.logSumExp())(x);
  const e = flat(x).map(Math.exp);
  const z = e.reduce((a, b) => a + b, 0);
  const p = e.map((v) => v / z);
  assertClose(
    H,
    p.flatMap((pi, i) => p.map((pj, j) => (i === j ? pi : 0) - pi * pj)),
    { atol: 1e-5 },
  );
  tg.dispose([x, H]);
});

test('hessian of a quadratic form is A + Aᵀ; of a function of a matrix, [...X.shape, ...X.shape]', () => {
  const A = randn([3, 3], 19);
  const x = randn([3], 20);
  const H = tg.hessian((v: tg.Tensor) => tg.quadForm(v, A))(x);
  const Aa = arr(A);
  assertClose(
    H,
    Aa.flatMap((row, i) => row.map((a, j) => a + Aa[j][i])),
    { atol: 1e-5 },
  );
  const X = randn([2, 2], 21);
  const HX = tg.hessian((m: tg.Tensor) => m.square().sum())(X);
  assert.equal(HX.shape, [2, 2, 2, 2]);
  assertClose(HX.reshape([4, 4]), diag([2, 2, 2, 2]).flat());
  tg.dispose([A, x, H, X, HX]);
});

test('hvp equals hessian·v for a non-quadratic function, with respect to the second argument too', () => {
  const x = randn([4], 22);
  const v = randn([4], 23);
  const f = (t: tg.Tensor) => t.tanh().mul(t.sum()).sum();
  const H = tg.hessian(f)(x);
  const hv = tg.hvp(f, x, v);
  assertClose(hv, matVec(arr(H), flat(v)), { atol: 1e-5 });
  const W = randn([4, 4], 24);
  const g = (w: tg.Tensor, t: tg.Tensor) => tg.quadForm(t, w).sin();
  const H2 = tg.hessian(g, 1)(W, x);
  const H2direct = tg.hessian((t: tg.Tensor) => g(W, t))(x);
  assertClose(H2, H2direct);
  tg.dispose([x, v, H, hv, W, H2, H2direct]);
});

// ---- composition

test('jacobian(grad(f)) is hessian(f)', () => {
  const x = randn([3], 25);
  const f = (t: tg.Tensor) => t.sin().mul(t.square()).sum();
  const H1 = tg.jacobian(tg.grad(f))(x);
  const H2 = tg.hessian(f)(x);
  assertClose(H1, H2);
  // closed form: d²/dx² (x² sin x) = 2 sin x + 4x cos x − x² sin x, on the diagonal
  assertClose(H2, diag(flat(x).map((a) => 2 * Math.sin(a) + 4 * a * Math.cos(a) - a * a * Math.sin(a))).flat(), {
    atol: 1e-5,
  });
  tg.dispose([x, H1, H2]);
});

test('grad of a function that calls jvp, hvp or jacobian', () => {
  const x = randn([3], 26);
  const t = randn([3], 27);
  // Σ (J t) for f = sin: Σ cos(x)∘t, whose gradient is −sin(x)∘t
  const g1 = tg.grad((v: tg.Tensor) => tg.jvp((u: tg.Tensor) => u.sin(), [v], [t]).tangent.sum())(x);
  assertClose(
    g1,
    flat(x).map((a, i) => -Math.sin(a) * flat(t)[i]),
    { atol: 1e-5 },
  );
  // Σ (H t) for f = Σ x⁴/12: H = diag(x²), so the gradient of Σ x²∘t is 2x∘t
  const g2 = tg.grad((v: tg.Tensor) => tg.hvp((u: tg.Tensor) => u.pow(4).sum().div(12), v, t).sum())(x);
  assertClose(
    g2,
    flat(x).map((a, i) => 2 * a * flat(t)[i]),
    { atol: 1e-5 },
  );
  // Σ J for f = x²: Σ diag(2x), whose gradient is 2
  const g3 = tg.grad((v: tg.Tensor) =>
    tg
      .jacobian((u: tg.Tensor) => u.square())(v)
      .sum(),
  )(x);
  assertClose(g3, [2, 2, 2]);
  // the tangent is differentiated too: ∂/∂t Σ (cos(x)∘t) = cos(x)
  const g4 = tg.grad((s: tg.Tensor) => tg.jvp((u: tg.Tensor) => u.sin(), [x], [s]).tangent.sum())(t);
  assertClose(g4, flat(x).map(Math.cos));
  tg.dispose([x, t, g1, g2, g3, g4]);
});

test('a closed-over parameter stays differentiable through jacobian', () => {
  const W = randn([2, 3], 28);
  const x = randn([3], 29);
  // J(W) = W for x ↦ Wx, so ∂ Σ J² / ∂W = 2W
  const g = tg.grad((w: tg.Tensor) =>
    tg
      .jacobian((v: tg.Tensor) => tg.matmul(w, v))(x)
      .square()
      .sum(),
  )(W);
  assertClose(
    g,
    flat(W).map((a) => 2 * a),
  );
  tg.dispose([W, x, g]);
});

// ---- memory

test('the transforms leave nothing behind', () => {
  const A = randn([3, 3], 30);
  const x = randn([3], 31);
  const v = randn([3], 32);
  const f = (t: tg.Tensor) => tg.quadForm(t.tanh(), A);
  assertNoLeak(
    () =>
      tg
        .jacobian((t: tg.Tensor) => tg.matmul(A, t).exp())(x)
        .dispose(),
    'jacobian',
  );
  assertNoLeak(
    () => tg.dispose(tg.jacobian((a: tg.Tensor, b: tg.Tensor) => a.mul(b).add(2), [0, 1])(x, v)),
    'jacobian, argnums',
  );
  assertNoLeak(() => tg.dispose(tg.jvp((t: tg.Tensor) => tg.matmul(A, t).mul(3), [x], [v])), 'jvp');
  assertNoLeak(() => tg.dispose(tg.jvp((t: tg.Tensor) => t.mul(2), [1.5], [1])), 'jvp of numbers');
  assertNoLeak(() => tg.hessian(f)(x).dispose(), 'hessian');
  assertNoLeak(() => tg.hvp(f, x, v).dispose(), 'hvp');
  assertNoLeak(() => tg.jacobian(tg.grad(f))(x).dispose(), 'jacobian(grad)');
  assertNoLeak(
    () =>
      tg
        .jacobian((t: tg.Tensor) => t.tile([4]).sin(), 0, { mode: 'forward' })(x)
        .dispose(),
    'jacobian by columns',
  );
  assertNoLeak(
    () =>
      tg
        .grad((t: tg.Tensor) =>
          tg
            .jacobian((u: tg.Tensor) => u.tile([4]).sin(), 0, { mode: 'forward' })(t)
            .sum(),
        )(x)
        .dispose(),
    'grad(jacobian by columns)',
  );
  assertNoLeak(
    () =>
      tg
        .grad((t: tg.Tensor) => tg.hvp(f, t, v).sum())(x)
        .dispose(),
    'grad(hvp)',
  );
  assertNoLeak(
    () =>
      tg
        .grad((t: tg.Tensor) => tg.jvp(f, [t], [v]).tangent)(x)
        .dispose(),
    'grad(jvp)',
  );
  assertNoLeak(() => {
    try {
      tg.jacobian((t: tg.Tensor) => t.mul(2).sum().item() as unknown as tg.Tensor)(x);
    } catch {
      // the error is tested below; only memory matters here
    }
  }, 'a failing f');
  tg.dispose([A, x, v]);
});

test('arguments that require grad: results stay differentiable and own their graph', () => {
  const w = tg.randn([3], { seed: 45, requiresGrad: true });
  const t = randn([3], 46);
  const f = (v: tg.Tensor) => v.sin().mul(v.sum());
  assertNoLeak(() => {
    const J = tg.jacobian(f)(w);
    assert.ok(J.requiresGrad, 'the Jacobian of a tracked argument is differentiable');
    tg.tidy(() => tg.trace(J).backward()); // ∂ tr J / ∂w, through the recorded sweeps
    J.dispose();
    w.grad!.dispose();
    w.grad = null;
  }, 'jacobian of a tracked argument, then backward');
  assertNoLeak(() => tg.dispose(tg.jvp(f, [w], [t])), 'jvp of a tracked argument');
  assertNoLeak(() => tg.hvp((v: tg.Tensor) => f(v).sum(), w, t).dispose(), 'hvp of a tracked argument');
  assertNoLeak(() => tg.jacobian(f, 0, { mode: 'forward' })(w).dispose(), 'jacobian by columns of a tracked argument');
  // closed form: ∂ tr J/∂w for J = diag(cos v)·s + sin(v)1ᵀ, s = Σv: tr J = s Σcos v + Σ sin v
  const gTr = tg.grad((v: tg.Tensor) => tg.trace(tg.jacobian(f)(v)))(w);
  const wv = flat(w);
  const s = wv.reduce((a, b) => a + b, 0);
  const sc = wv.reduce((a, b) => a + Math.cos(b), 0);
  assertClose(
    gTr,
    wv.map((v) => sc - s * Math.sin(v) + Math.cos(v)),
    { atol: 1e-5 },
  );
  tg.dispose([w, t, gTr]);
});

test('under noGrad the transforms still differentiate f; their results are plain', () => {
  const x = randn([3], 47);
  const t = randn([3], 48);
  const [J, jv, H, hv] = tg.noGrad(() => [
    tg.jacobian((v: tg.Tensor) => v.square())(x),
    tg.jvp((v: tg.Tensor) => v.square(), [x], [t]).tangent,
    tg.hessian((v: tg.Tensor) => v.pow(3).sum())(x),
    tg.hvp((v: tg.Tensor) => v.pow(3).sum(), x, t),
  ]);
  assertClose(J, diag(flat(x).map((a) => 2 * a)).flat());
  assertClose(
    jv,
    flat(x).map((a, i) => 2 * a * flat(t)[i]),
  );
  assertClose(H, diag(flat(x).map((a) => 6 * a)).flat(), { atol: 1e-5 });
  assertClose(
    hv,
    flat(x).map((a, i) => 6 * a * flat(t)[i]),
    { atol: 1e-5 },
  );
  for (const r of [J, jv, H, hv]) assert.is(r.requiresGrad, false);
  tg.dispose([x, t, J, jv, H, hv]);
});

// ---- errors

test('bad arguments get errors that name the transform and the shapes', () => {
  const x = randn([3], 33);
  const f = (t: tg.Tensor) => t.sum();
  assertThrows(
    () => tg.jacobian(42 as never),
    /^jacobian: the first argument must be a function, got number 42/,
    'non-function',
  );
  assertThrows(
    () => tg.jvp(null as never, [x], [x]),
    /^jvp: the first argument must be a function/,
    'jvp non-function',
  );
  assertThrows(
    () => tg.hessian('f' as never),
    /^hessian: the first argument must be a function/,
    'hessian non-function',
  );
  assertThrows(() => tg.hvp({} as never, x, x), /^hvp: the first argument must be a function/, 'hvp non-function');
  assertThrows(
    () => (tg.jacobian((a: tg.Tensor, b: tg.Tensor) => a.add(b)) as (...xs: tg.Tensor[]) => tg.Tensor)(x),
    /^jacobian: the function takes 2 arguments, got 1/,
    'arity',
  );
  assertThrows(
    () => tg.jacobian(f, 0, { mode: 'sideways' as never }),
    /^jacobian: mode must be 'reverse', 'forward' or 'auto', got "sideways"/,
    'mode',
  );
  assertThrows(() => tg.jacobian(f, 1)(x), /^jacobian: argnums 1 out of range for 1 arguments/, 'argnums');
  assertThrows(() => tg.hessian(f, 2)(x), /^hessian: argnums 2 out of range/, 'hessian argnums');
  assertThrows(
    () => tg.jvp(f, [x], [tg.zeros([2, 3])]),
    /^jvp: tangent 0 has shape \[2,3\] but primal 0 has shape \[3\]/,
    'tangent shape',
  );
  assertThrows(() => tg.jvp(f, [x], []), /^jvp: got 1 primals but 0 tangents/, 'tangent count');
  assertThrows(() => tg.jvp(f, x as never, [x]), /^jvp: primals must be an array/, 'primals not an array');
  assertThrows(
    () => tg.jvp((a: tg.Tensor, b: tg.Tensor) => a.add(b), [x], [x]),
    /^jvp: the function takes 2 arguments, got 1/,
    'jvp arity',
  );
  assertThrows(
    () => (tg.jacobian(() => [1, 2] as never) as (...xs: tg.Tensor[]) => tg.Tensor)(x),
    /^jacobian: the function must return a Tensor, got an array/,
    'non-Tensor',
  );
  assertThrows(
    () => tg.jvp(() => 3 as never, [x], [x]),
    /^jvp: the function must return a Tensor, got number 3/,
    'jvp non-Tensor',
  );
  assertThrows(
    () => tg.hessian((t: tg.Tensor) => t.mul(2))(x),
    /^hessian: the function must return a scalar, got shape \[3\]/,
    'hessian non-scalar',
  );
  assertThrows(
    () => tg.hvp((t: tg.Tensor) => t.mul(2), x, x),
    /^hvp: the function must return a scalar, got shape \[3\]/,
    'hvp non-scalar',
  );
  assertThrows(() => tg.hvp(f, x, tg.zeros([4])), /^hvp: v has shape \[4\] but x has shape \[3\]/, 'hvp v shape');
  assertThrows(() => tg.hvp(f, [1, 2] as never, x), /^hvp: x must be a Tensor or a number, got an array/, 'hvp x');
  x.dispose();
});

test.run();
