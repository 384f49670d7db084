// The functional transforms and the nn/optim modules on the page's backend, reading values only
// with `await data()` so that they run on webgpu too (whose synchronous read fails in headless
// Chromium). The Node suites of these modules also run in the browser, on webgl (run.ts).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../../src/index.js';
import { assertClose } from '../helpers.js';

const t = suite('transforms and nn (asynchronous reads)');
const read = async (x: tg.Tensor) => Array.from(await x.data());

t('grad, valueAndGrad and vjp of a matrix function', async () => {
  const before = tg.memory().numTensors;
  const A = tg.tensor([
    [1, 2],
    [3, 4],
    [5, 6],
  ]);
  const x = tg.tensor([0.5, -1]);
  const f = (v: tg.Tensor) => tg.matmul(A, v).tanh().sum();
  const Ax = [1 * 0.5 - 2, 3 * 0.5 - 4, 5 * 0.5 - 6];
  // ∂/∂x Σ tanh(Ax) = Aᵀ (1 − tanh²(Ax))
  const s = Ax.map((y) => 1 - Math.tanh(y) ** 2);
  const expected = [s[0] + 3 * s[1] + 5 * s[2], 2 * s[0] + 4 * s[1] + 6 * s[2]];
  const g = tg.grad(f)(x);
  assertClose(await read(g), expected, { atol: 1e-4, rtol: 1e-3 });
  const { value, grad } = tg.valueAndGrad(f)(x);
  assertClose(
    await read(value),
    Ax.map(Math.tanh).reduce((a, b) => a + b),
    { atol: 1e-4, rtol: 1e-3 },
  );
  assertClose(await read(grad), expected, { atol: 1e-4, rtol: 1e-3 });
  const { out, vjp, dispose } = tg.vjp((v: tg.Tensor) => tg.matmul(A, v), x);
  const [dx] = vjp(tg.tensor([1, 0, -1]));
  assertClose(await read(dx), [1 - 5, 2 - 6]);
  tg.dispose([g, value, grad, out, dx, A, x]);
  dispose();
  assert.ok(tg.memory().numTensors <= before + 1, `leaked ${tg.memory().numTensors - before}`); // the cotangent above
});

t('jvp, jacobian, hessian and hvp have their closed forms', async () => {
  const x = tg.tensor([0.3, -0.7, 1.1]);
  const v = tg.tensor([1, 2, -1]);
  const J = tg.jacobian((u: tg.Tensor) => u.sin())(x);
  const xs = await read(x);
  assertClose(
    await read(J),
    xs.flatMap((xi, i) => xs.map((_, j) => (i === j ? Math.cos(xi) : 0))),
    { atol: 1e-3 },
  );
  const { tangent } = tg.jvp((u: tg.Tensor) => u.mul(u), [x], [v]);
  assertClose(
    await read(tangent),
    xs.map((xi, i) => 2 * xi * [1, 2, -1][i]),
  );
  const cube = (u: tg.Tensor) => u.pow(3).sum();
  const H = tg.hessian(cube)(x);
  assertClose(
    await read(H),
    xs.flatMap((xi, i) => xs.map((_, j) => (i === j ? 6 * xi : 0))),
    { atol: 1e-3 },
  );
  assertClose(
    await read(tg.hvp(cube, x, v)),
    xs.map((xi, i) => 6 * xi * [1, 2, -1][i]),
    { atol: 1e-3 },
  );
  tg.dispose([x, v, J, tangent, H]);
});

t('an MLP trained with Adam fits a small classification problem', async () => {
  const before = tg.memory().numTensors;
  const net = new tg.nn.MLP([2, 16, 3], { activation: 'relu', seed: 1 });
  const opt = new tg.optim.Adam(net.parameters(), { lr: 0.05 });
  // Three clusters around the corners of a triangle.
  const centers = [
    [0, 1],
    [-1, -1],
    [1, -1],
  ];
  const pts: number[] = [];
  const labels: number[] = [];
  for (let i = 0; i < 30; i++) {
    const c = i % 3;
    pts.push(centers[c][0] + 0.2 * Math.sin(7 * i), centers[c][1] + 0.2 * Math.cos(5 * i));
    labels.push(c);
  }
  const x = tg.tensor(pts, { shape: [30, 2] });
  const y = tg.tensor(labels, { dtype: 'int32' });
  const losses: number[] = [];
  for (let step = 0; step < 40; step++) {
    const loss = tg.tidy(() => {
      const l = tg.crossEntropy(net.forward(x), y);
      opt.zeroGrad();
      l.backward();
      opt.step();
      return l;
    });
    if (step % 10 === 0 || step === 39) losses.push((await loss.data())[0]);
    loss.dispose();
  }
  assert.ok(losses[losses.length - 1] < 0.25 * losses[0], `loss ${losses.map((l) => l.toFixed(3)).join(' → ')}`);
  opt.zeroGrad();
  opt.dispose();
  net.dispose();
  tg.dispose([x, y]);
  assert.is(tg.memory().numTensors, before, 'tensors leaked');
});

t.run();
