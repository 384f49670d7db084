// Adjoints at the points finite differences cannot check: zeros in prod, ties in max/min and
// maximum, the norm at 0, pow at base 0, repeated gather indices; and variance's correction.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../src/index.js';
import { NODE_BACKENDS, assertClose, assertNoLeak } from './helpers.js';

/** d Σf(x) / dx for a leaf x made from `values`, with everything freed. */
function gradOf(values: number[] | number[][], f: (x: tg.Tensor) => tg.Tensor): number[] {
  const x = tg.tensor(values, { requiresGrad: true });
  tg.tidy(() => {
    const y = f(x);
    (y.size === 1 ? y : y.sum()).backward();
  });
  const g = Array.from(x.grad!.dataSync());
  tg.dispose([x, x.grad]);
  return g;
}

for (const backend of NODE_BACKENDS) {
  const s = suite(`special points on ${backend}`);
  s.before(async () => {
    await tg.setBackend(backend);
  });

  s('prod with zeros: the gradient at a zero is the product of the others; two zeros give 0', () => {
    assertClose(
      gradOf([2, 0, 3], (x) => x.prod()),
      [0, 6, 0],
    );
    assertClose(
      gradOf([0, 0, 3], (x) => x.prod()),
      [0, 0, 0],
    );
    assertClose(
      gradOf([2, -1, 3], (x) => x.prod()),
      [-3, 6, -2],
    );
    // per row, with keepDims
    assertClose(
      gradOf(
        [
          [2, 0, 3],
          [1, 2, 4],
          [0, 5, 0],
        ],
        (x) => x.prod({ axis: 1, keepDims: true }),
      ),
      [0, 6, 0, 8, 4, 2, 0, 0, 0],
    );
    assertClose(
      gradOf(
        [
          [0, 2],
          [3, 4],
        ],
        (x) => x.prod({ axis: 0 }),
      ),
      [3, 4, 0, 2],
    );
    // second order through zeros: Σᵢ ∂Π/∂xᵢ differentiated again is Σᵢ≠ⱼ Π of the rest
    // at (2, 0, 3): row sums of the Hessian [[0,3,0],[3,0,2],[0,2,0]] → [3, 5, 2]
    const x = tg.tensor([2, 0, 3]);
    const h = tg.grad((t: tg.Tensor) =>
      tg
        .grad((u: tg.Tensor) => u.prod())(t)
        .sum(),
    )(x);
    assertClose(h, [3, 5, 2]);
    // two zeros (0, 0, 3): only the pair of zeros has a non-zero mixed derivative, 3
    const y = tg.tensor([0, 0, 3]);
    const k = tg.grad((t: tg.Tensor) =>
      tg
        .grad((u: tg.Tensor) => u.prod())(t)
        .sum(),
    )(y);
    assertClose(k, [3, 3, 0]);
    tg.dispose([x, h, y, k]);
  });

  s('max/min ties split the gradient evenly; maximum/minimum ties give each operand half', () => {
    assertClose(
      gradOf([1, 3, 3], (x) => x.max()),
      [0, 0.5, 0.5],
    );
    assertClose(
      gradOf([2, 2, 2, 2], (x) => x.min()),
      [0.25, 0.25, 0.25, 0.25],
    );
    assertClose(
      gradOf(
        [
          [1, 5, 5],
          [4, 4, 0],
        ],
        (x) => x.max({ axis: 1 }),
      ),
      [0, 0.5, 0.5, 0.5, 0.5, 0],
    );
    assertClose(
      gradOf([1, 2, 3], (x) => tg.maximum(x, 2)),
      [0, 0.5, 1],
    );
    assertClose(
      gradOf([1, 2, 3], (x) => tg.minimum(x, 2)),
      [1, 0.5, 0],
    );
    // both operands the same tensor: each half comes back to it, summing to 1
    assertClose(
      gradOf([1, -2], (x) => tg.maximum(x, x)),
      [1, 1],
    );
    assertClose(
      gradOf([-1, 2, -2], (x) => x.norm({ ord: Infinity })),
      [0, 0.5, -0.5],
    );
  });

  s('norm at zero has gradient 0 (no NaN), for every ord; elsewhere x/‖x‖', () => {
    assertClose(
      gradOf([0, 0, 0], (x) => x.norm()),
      [0, 0, 0],
    );
    assertClose(
      gradOf([0, 0, 0], (x) => x.norm({ ord: 3 })),
      [0, 0, 0],
    );
    assertClose(
      gradOf(
        [
          [0, 0],
          [3, 4],
        ],
        (x) => x.norm({ axis: 1 }),
      ),
      [0, 0, 0.6, 0.8],
    );
    assertClose(
      gradOf([3, -4], (x) => x.norm({ ord: 1 })),
      [1, -1],
    );
    // second order at a nonzero point: ∇² ‖x‖ = (I − x̂x̂ᵀ)/‖x‖, summed over rows
    const x = tg.tensor([3, 4]);
    const h = tg.grad((t: tg.Tensor) =>
      tg
        .grad((u: tg.Tensor) => u.norm())(t)
        .sum(),
    )(x);
    assertClose(h, [(1 - 0.36 - 0.48) / 5, (1 - 0.48 - 0.64) / 5], { atol: 1e-6 });
    tg.dispose([x, h]);
  });

  s('pow with a tensor exponent: d/dz xᶻ = xᶻ ln x; at base 0 it is 0, not NaN', () => {
    const a = tg.tensor([0, 2, 0.5], { requiresGrad: true });
    const b = tg.tensor([2, 1.5, -1], { requiresGrad: true });
    tg.tidy(() => a.pow(b).sum().backward());
    assertClose(a.grad!, [0, 1.5 * Math.sqrt(2), -1 * 0.5 ** -2], { rtol: 1e-5 });
    assertClose(b.grad!, [0, 2 ** 1.5 * Math.LN2, 0.5 ** -1 * Math.log(0.5)], { rtol: 1e-5 });
    assert.ok(Array.from(b.grad!.dataSync()).every(Number.isFinite));
    tg.dispose([a, b, a.grad, b.grad]);
  });

  s('gather: repeated indices accumulate, along any axis and with 2-D indices', () => {
    assertClose(
      gradOf([1, 2, 3, 4], (x) => x.gather([0, 0, 3, 0])),
      [3, 0, 0, 1],
    );
    assertClose(
      gradOf(
        [
          [1, 2, 3],
          [4, 5, 6],
        ],
        (x) => x.gather([2, 2], 1),
      ),
      [0, 0, 2, 0, 0, 2],
    );
    const idx = tg.tensor(
      [
        [1, 1],
        [0, 1],
      ],
      { dtype: 'int32' },
    );
    assertClose(
      gradOf(
        [
          [1, 2],
          [3, 4],
        ],
        (x) => tg.gather(x, idx).mul(tg.tensor([1, 10])),
      ),
      [1, 10, 3, 30],
    );
    idx.dispose();
  });

  s("variance's correction: 0 (population, default) and 1 (unbiased), value and gradient", () => {
    const v = [1, 2, 3, 4];
    const x = tg.tensor(v);
    const pop = x.variance();
    const unb = x.variance({ correction: 1 });
    assertClose(pop, [1.25]);
    assertClose(unb, [5 / 3], { rtol: 1e-6 });
    tg.dispose([x, pop, unb]);
    // d var / dxᵢ = 2(xᵢ − x̄)/(n − correction)
    assertClose(
      gradOf(v, (t) => t.variance()),
      v.map((a) => (2 * (a - 2.5)) / 4),
    );
    assertClose(
      gradOf(v, (t) => t.variance({ correction: 1 })),
      v.map((a) => (2 * (a - 2.5)) / 3),
    );
    assertClose(
      gradOf(
        [
          [1, 3],
          [2, 6],
        ],
        (t) => t.variance({ axis: 0, correction: 1 }),
      ),
      [-1, -3, 1, 3],
    );
  });

  s('shares are cloned where one gradient feeds several inputs (x + x, a tensor used twice in one op)', () => {
    assertClose(
      gradOf([1, 2], (x) => x.add(x)),
      [2, 2],
    );
    assertClose(
      gradOf([1, 2], (x) => x.sub(x)),
      [0, 0],
    );
    assertClose(
      gradOf([1, 2], (x) => x.mul(x)),
      [2, 4],
    );
    assertClose(
      gradOf([1, 2], (x) => tg.concat([x, x, x])),
      [3, 3],
    );
    assertClose(
      gradOf([1, 2], (x) => tg.stack([x, x])),
      [2, 2],
    );
    assertClose(
      gradOf([1, 2], (x) => tg.where(tg.tensor([true, false], { dtype: 'bool' }), x, x)),
      [1, 1],
    );
    // and nothing leaks when the same tensor is both operands
    const x = tg.tensor([1, 2], { requiresGrad: true });
    assertNoLeak(() => {
      const y = x.add(x);
      const seed = tg.ones([2]);
      y.backward(seed);
      tg.dispose([y, seed, x.grad]);
      x.grad = null;
    });
    x.dispose();
  });

  s('owned constants: the result frees them once; a graph that still needs them keeps them', () => {
    const x = tg.tensor([1, 2], { requiresGrad: true });
    assertNoLeak(() => {
      // no graph: the constant goes at once
      const c = tg.noGrad(() => x.mul(3));
      assert.is(c.owned.length, 0);
      c.dispose();
      // a graph: the constant lives with y, and y.dispose() (twice) frees it once
      const y = x.mul(3);
      assert.is(y.owned.length, 1);
      const z = y.exp();
      const l = z.sum();
      l.backward();
      assertClose(x.grad!, [3 * Math.exp(3), 3 * Math.exp(6)], { rtol: 1e-5 });
      tg.dispose([y, z, l, x.grad]);
      y.dispose();
      x.grad = null;
    });
    x.dispose();
  });
  s.run();
}
