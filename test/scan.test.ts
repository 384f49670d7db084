// std, all, any and the scans (src/ops/reduce.ts, src/ops/scan.ts) on cpu and wasm: values
// against float64 references written here, their options and dtypes, the gradient of cumprod at
// zeros against the brute-force sum of products, logCumSumExp at large and −∞ values, std's
// gradient at a constant slice, and memory. The gradient checks are in test/op-cases-scan.ts.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../src/index.js';
import { NODE_BACKENDS, assertBackwardLeavesOnlyGrad, assertClose, assertNoLeak } from './helpers.js';

/** Running sums of a row (float64), with TF's exclusive/reverse conventions. */
function scanRow(row: number[], op: (a: number, b: number) => number, id: number, exclusive = false, reverse = false) {
  const r = reverse ? [...row].reverse() : row;
  let acc = id;
  const out = r.map((v) => {
    const before = acc;
    acc = op(acc, v);
    return exclusive ? before : acc;
  });
  return reverse ? out.reverse() : out;
}
/** ∂/∂xₖ Σᵢ gᵢ Π_{j≤i} xⱼ = Σ_{i≥k} gᵢ Π_{j≤i, j≠k} xⱼ, by brute force. */
function cumprodGrad(x: number[], g: number[]): number[] {
  return x.map((_, k) => {
    let s = 0;
    for (let i = k; i < x.length; i++) {
      let p = g[i];
      for (let j = 0; j <= i; j++) if (j !== k) p *= x[j];
      s += p;
    }
    return s;
  });
}
const logAddExp = (a: number, b: number) => {
  const m = Math.max(a, b);
  return m === -Infinity ? -Infinity : m + Math.log(Math.exp(a - m) + Math.exp(b - m));
};
/** A backward from y with seed g; returns x.grad's values and frees everything but x. */
async function gradOf(x: tg.Tensor, f: (x: tg.Tensor) => tg.Tensor, g?: number[]): Promise<number[]> {
  x.requiresGrad = true;
  const y = f(x);
  const seed = g ? tg.tensor(g, { shape: y.shape }) : tg.onesLike(y);
  y.backward(seed);
  const out = Array.from(await x.grad!.data());
  tg.dispose([y, seed, x.grad!]);
  x.grad = null;
  return out;
}

for (const backend of NODE_BACKENDS) {
  const s = suite(`std, all, any, cumsum, cumprod, logCumSumExp on ${backend}`);
  s.before(async () => {
    await tg.setBackend(backend);
  });

  s('std: the root of the unbiased variance by default (correction 1), of the population one with 0', async () => {
    const v = [1, 2, 4, 7, 11, 16];
    const mean = v.reduce((a, b) => a + b) / 6;
    const ss = v.reduce((a, b) => a + (b - mean) ** 2, 0);
    const x = tg.tensor(v, { shape: [2, 3] });
    assertClose(tg.std(x), Math.sqrt(ss / 5));
    assertClose(x.std({ correction: 0 }), Math.sqrt(ss / 6));
    // variance keeps its own default, the population's (correction 0)
    assertClose(tg.variance(x), ss / 6);
    const rows = [v.slice(0, 3), v.slice(3)].map((r) => {
      const m = r.reduce((a, b) => a + b) / 3;
      return Math.sqrt(r.reduce((a, b) => a + (b - m) ** 2, 0) / 2);
    });
    const y = tg.std(x, { axis: 1, keepDims: true });
    assert.equal(y.shape, [2, 1]);
    assertClose(y, rows);
    tg.dispose([x, y]);
  });

  s('std: the gradient at a constant slice is 0, not NaN (as PyTorch 1.13), and the others are exact', async () => {
    const x = tg.tensor([
      [2, 2, 2],
      [1, 2, 4],
    ]);
    const g = await gradOf(x, (t) => tg.std(t, { axis: 1 }));
    assert.equal(g.slice(0, 3), [0, 0, 0]);
    const m = 7 / 3;
    const sd = Math.sqrt(((1 - m) ** 2 + (2 - m) ** 2 + (4 - m) ** 2) / 2);
    assertClose(g.slice(3), [(1 - m) / (2 * sd), (2 - m) / (2 * sd), (4 - m) / (2 * sd)]);
    x.dispose();
  });

  s('all and any: bool results over axes, NaN is non-zero, no entries give true and false', async () => {
    const x = tg.tensor([
      [1, 0, 2],
      [3, NaN, -1],
    ]);
    const a = tg.all(x);
    const b = x.any({ axis: 0 });
    const c = tg.all(x, { axis: 1, keepDims: true });
    assert.is(a.dtype, 'bool');
    assert.equal(await a.array(), 0);
    assert.equal(await b.array(), [1, 1, 1]);
    assert.equal(c.shape, [2, 1]);
    assert.equal(await c.array(), [[0], [1]]);
    const e = tg.zeros([0, 3]);
    const ea = tg.all(e, { axis: 0 });
    const en = tg.any(e, { axis: 0 });
    assert.equal(await ea.array(), [1, 1, 1]);
    assert.equal(await en.array(), [0, 0, 0]);
    const i = tg.tensor([0, 0, 5], { dtype: 'int32' });
    const bo = tg.tensor([1, 1], { dtype: 'bool' });
    const ia = tg.any(i);
    const ba = tg.all(bo);
    assert.equal([await ia.array(), await ba.array()], [1, 1]);
    // not differentiable: results never require grad
    const w = tg.ones([2], { requiresGrad: true });
    const wa = tg.all(w);
    assert.is(wa.requiresGrad, false);
    tg.dispose([x, a, b, c, e, ea, en, i, bo, ia, ba, w, wa]);
  });

  s('cumsum: every combination of exclusive and reverse, along each axis; int32, bool and a scalar', async () => {
    const rows = [
      [1, 2, 3, 4],
      [5, -6, 7, 0.5],
    ];
    const x = tg.tensor(rows);
    for (const exclusive of [false, true])
      for (const reverse of [false, true]) {
        const y = tg.cumsum(x, 1, { exclusive, reverse });
        assertClose(
          y,
          rows.flatMap((r) => scanRow(r, (a, b) => a + b, 0, exclusive, reverse)),
        );
        const cols = [0, 1, 2, 3].map((j) => scanRow([rows[0][j], rows[1][j]], (a, b) => a + b, 0, exclusive, reverse));
        const z = x.cumsum(-2, { exclusive, reverse });
        assertClose(
          z,
          [0, 1].flatMap((i) => cols.map((c) => c[i])),
        );
        tg.dispose([y, z]);
      }
    const i = tg.tensor([1, 2, 3], { dtype: 'int32' });
    const b = tg.tensor([1, 0, 1], { dtype: 'bool' });
    const s0 = tg.scalar(2.5);
    const [ci, cb, cs] = [tg.cumsum(i, 0), tg.cumsum(b, 0), tg.cumsum(s0, -1)];
    assert.is(ci.dtype, 'int32');
    assert.equal(await ci.array(), [1, 3, 6]);
    assert.equal([cb.dtype, await cb.array()], ['int32', [1, 1, 2]]);
    assert.equal([cs.shape, await cs.array()], [[], 2.5]);
    tg.dispose([x, i, b, s0, ci, cb, cs]);
  });

  s('cumsum: the gradient of each form is the scan from the other end', async () => {
    const g = [1, 2, 3, 4];
    for (const exclusive of [false, true])
      for (const reverse of [false, true]) {
        const x = tg.tensor([0.5, -1, 2, 3]);
        const got = await gradOf(x, (t) => tg.cumsum(t, 0, { exclusive, reverse }), g);
        assertClose(
          got,
          scanRow(g, (a, b) => a + b, 0, exclusive, !reverse),
        );
        x.dispose();
      }
  });

  s('cumprod: values, and gradients exact at one, two and three zeros (PyTorch: [1, 22, 0, 0, 0])', async () => {
    const x = tg.tensor([2, 0, 3, 0, 5]);
    const y = tg.cumprod(x, 0);
    assertClose(y, [2, 0, 0, 0, 0]);
    assertClose(await gradOf(x, (t) => tg.cumprod(t, 0), [1, 2, 3, 4, 5]), [1, 22, 0, 0, 0]);
    tg.dispose([x, y]);
    const rows = [
      [1.5, -2, 0, 0.5, 3],
      [0, 2, 0.5, -1, 2],
      [2, 0.5, 0, 0, 0],
      [0, 0, 0, 1, 2],
      [0.5, 2, -1, 1.5, 0],
    ];
    const g = [0.3, -1, 2, 0.7, 1.1];
    const t = tg.tensor(rows);
    const got = await gradOf(
      t,
      (u) => tg.cumprod(u, 1),
      rows.flatMap(() => g),
    );
    assertClose(
      got,
      rows.flatMap((r) => cumprodGrad(r, g)),
    );
    assert.ok(got.every(Number.isFinite), 'no NaN or ∞ at the zeros');
    // the same along axis 0 (columns)
    const cols = rows[0].map((_, j) => rows.map((r) => r[j]));
    const gt = tg.tensor(cols);
    const gotCols = await gradOf(
      gt,
      (u) => u.cumprod(0),
      g.flatMap((v) => [v, v, v, v, v]),
    );
    const wantCols = rows[0].map((_, j) => cumprodGrad(rows[j], g));
    assertClose(
      gotCols,
      [0, 1, 2, 3, 4].flatMap((i) => wantCols.map((c) => c[i])),
    );
    tg.dispose([t, gt]);
  });

  s('cumprod: second derivatives through two zeros (the Hessian of Σ gᵢyᵢ against finite differences)', async () => {
    // H[k][m] = Σ_{i ≥ max(k,m)} gᵢ Π_{j≤i, j≠k,m} xⱼ: at x = [2, 0, 3, 0], H[1][3] = g₃·2·3
    const x = tg.tensor([2, 0, 3, 0], { requiresGrad: true });
    const g = [1, 2, 3, 4];
    const seed = tg.tensor(g);
    const H = tg.hessian((u: tg.Tensor) => tg.cumprod(u, 0).mul(seed).sum())(x);
    const h = Array.from(await H.data());
    assertClose(h[1 * 4 + 3], 4 * 2 * 3);
    assertClose(h[3 * 4 + 1], 4 * 2 * 3);
    // H[0][1] = Σ_{i≥1} gᵢ Π_{j≤i, j≠0,1} xⱼ = g₁ + g₂·3 + g₃·3·0
    assertClose(h[0 * 4 + 1], 2 + 3 * 3);
    tg.dispose([x, seed, H]);
  });

  s('logCumSumExp: float64 values at large, far-apart and −∞ entries, without overflow or NaN', async () => {
    const rows = [
      [1000, 1001, -1000, 999],
      [-100, 100, -Infinity, 0],
      [-Infinity, -Infinity, 1, -Infinity],
      [0.5, -0.25, 2, 1],
    ];
    const x = tg.tensor(rows);
    const y = tg.logCumSumExp(x, 1);
    const want = rows.flatMap((r) => scanRow(r, logAddExp, -Infinity));
    const got = Array.from(await y.data());
    assert.equal(
      got.map((v) => v === -Infinity),
      want.map((v) => v === -Infinity),
    );
    assertClose(
      got.map((v) => (v === -Infinity ? 0 : v)),
      want.map((v) => (v === -Infinity ? 0 : v)),
      { rtol: 1e-6 },
    );
    tg.dispose([x, y]);
  });

  s(
    'logCumSumExp: gradients e^(xⱼ − yᵢ) summed, finite at large values, 0 at −∞ (PyTorch: NaN where the prefix is −∞)',
    async () => {
      const rows = [
        [1000, 1001, -1000, 999],
        [-100, 100, -Infinity, 0],
        [-Infinity, -Infinity, 1, -Infinity],
      ];
      const g = [1, -2, 0.5, 3];
      const x = tg.tensor(rows);
      const got = await gradOf(
        x,
        (t) => tg.logCumSumExp(t, 1),
        rows.flatMap(() => g),
      );
      const want = rows.flatMap((r) => {
        const y = scanRow(r, logAddExp, -Infinity);
        return r.map((xj, j) => {
          let s = 0;
          for (let i = j; i < r.length; i++) if (y[i] > -Infinity) s += g[i] * Math.exp(xj - y[i]);
          return s;
        });
      });
      assert.ok(got.every(Number.isFinite), `finite: ${got}`);
      assertClose(got, want, { atol: 1e-5, rtol: 1e-4 });
      x.dispose();
    },
  );

  s('int32 input: std and logCumSumExp compute in float32; cumprod keeps int32', async () => {
    const i = tg.tensor([1, 2, 3], { dtype: 'int32' });
    const [sd, l, p] = [tg.std(i), tg.logCumSumExp(i, 0), tg.cumprod(i, 0)];
    assert.equal([sd.dtype, l.dtype, p.dtype], ['float32', 'float32', 'int32']);
    assertClose(sd, 1);
    assert.equal(await p.array(), [1, 2, 6]);
    tg.dispose([i, sd, l, p]);
  });

  s('memory: forward and backward of every op leave only the gradient, freed by dispose', () => {
    const ops: ((x: tg.Tensor) => tg.Tensor)[] = [
      (x) => tg.std(x, { axis: 1 }),
      (x) => tg.cumsum(x, 0, { exclusive: true, reverse: true }),
      (x) => tg.cumprod(x, 1),
      (x) => tg.logCumSumExp(x, 0),
      (x) => tg.cumprod(tg.logCumSumExp(tg.scalar(0.5).mul(x), 1), 0),
    ];
    const X = [
      [1, 0, 2],
      [0.5, -1, 3],
    ];
    ops.forEach((f, i) => assertBackwardLeavesOnlyGrad(f, X, `op ${i}`));
    assertNoLeak(() => {
      const a = tg.tensor([1, 0]);
      tg.dispose([tg.all(a), tg.any(a, { axis: 0, keepDims: true }), a]);
    }, 'all and any');
  });

  s.run();
}
