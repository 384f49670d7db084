// Edge values on the GPU backends, against PyTorch's (torch 1.13, float32): each test is a value
// one of TF.js's GPU kernels gets wrong and tapegrad's path must get right (src/backend/ says
// how). Runs on webgl, webgpu and half-precision webgl; values are read asynchronously (webgpu's
// dataSync returns zeros in headless Chromium).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../../src/index.js';

const edge = suite('GPU edge values');
const half =
  tg.getBackend() === 'webgl' && (globalThis as { TAPEGRAD_PAGE_LABEL?: string }).TAPEGRAD_PAGE_LABEL === 'webgl-f16';

const values = async (t: tg.Tensor) => Array.from(await t.data());

/**
 * A test of ±∞ values: float32 pages only. Half-float WebGL textures turn ±∞ (and anything beyond
 * ±65504) into NaN at the first GPU op, so there is nothing to fix on the webgl-f16 page.
 */
const withInfinities = (name: string, f: () => Promise<void>) =>
  edge(name, async () => {
    if (!half) await f();
  });

/** Runs `f` and checks that every tensor it made was freed. */
async function leakFree(f: () => Promise<void>): Promise<void> {
  const before = tg.memory().numTensors;
  await f();
  assert.is(tg.memory().numTensors, before, 'tensors leaked');
}

/** got ≈ want: |got − want| ≤ rtol·max(1, |want|), or rtol·|want| when `relative`. */
function close(got: number[], want: number[], rtol: number, what: string, relative = false): void {
  assert.is(got.length, want.length, `${what}: ${got.length} values, ${want.length} wanted`);
  got.forEach((g, i) => {
    const w = want[i];
    const ok =
      Object.is(g, w) ||
      (Number.isFinite(w) && Math.abs(g - w) <= rtol * (relative ? Math.abs(w) : Math.max(1, Math.abs(w))));
    assert.ok(ok, `${what}: [${got}] where PyTorch gives [${want}]`);
  });
}

withInfinities('crossEntropy against a class index, with a non-target logit of −∞: finite loss and gradient', () =>
  leakFree(async () => {
    const z = tg.tensor([[0, -Infinity, 1]], { requiresGrad: true });
    const y = tg.tensor([0], { dtype: 'int32' });
    const loss = tg.crossEntropy(z, y);
    close(await values(loss), [1.3132617], 1e-6, 'loss');
    loss.backward();
    const e = Math.E / (1 + Math.E);
    close(await values(z.grad!), [1 - e - 1, 0, e], 1e-6, 'dlogits');
    tg.dispose([z, z.grad!, y, loss]);
  }),
);

withInfinities('max over a row of −∞ is −∞, min over a row of +∞ is +∞, and beyond ±1e20 they stay exact', () =>
  leakFree(async () => {
    const x = tg.tensor([
      [-Infinity, -Infinity],
      [-1e30, -3e38],
      [-1e20, -2e20],
      [1, -Infinity],
    ]);
    const nx = tg.neg(x);
    const mx = tg.max(x, { axis: 1 });
    const mn = tg.min(nx, { axis: 1 });
    const want = [-Infinity, Math.fround(-1e30), Math.fround(-1e20), 1];
    close(await values(mx), want, 1e-6, 'max');
    close(
      await values(mn),
      want.map((v) => -v),
      1e-6,
      'min',
    );
    const v = tg.tensor([-Infinity, -Infinity, -Infinity]);
    const all = tg.max(v);
    close(await values(all), [-Infinity], 0, 'max of a vector of −∞');
    tg.dispose([x, nx, mx, mn, v, all]);
  }),
);

withInfinities('pow(0, b) is +∞ for b < 0 and exactly 0 for b > 0', () =>
  leakFree(async () => {
    const a = tg.tensor([0, 0, 0, 0, 2, -2, 0, 0]);
    const b = tg.tensor([-1, -0.5, -2, 0, -1, -1, 0.5, 3]);
    const y = tg.pow(a, b);
    const got = await values(y);
    close(got, [Infinity, Infinity, Infinity, 1, 0.5, -0.5, 0, 0], 1e-6, 'pow');
    assert.equal(got.slice(-2), [0, 0], `pow(0, 0.5) and pow(0, 3): [${got.slice(-2)}]`);
    tg.dispose([a, b, y]);
  }),
);

withInfinities('gelu and its derivative at ±∞ are their limits (PyTorch: NaN, as ∞·0)', () =>
  leakFree(async () => {
    const x = tg.tensor([-Infinity, Infinity, -1e30, 1e30], { requiresGrad: true });
    const y = tg.gelu(x);
    close(await values(y), [-0, Infinity, -0, Math.fround(1e30)], 1e-6, 'gelu', true);
    const total = y.sum();
    total.backward();
    close((await values(x.grad!)).map(Math.abs), [0, 1, 0, 1], 1e-6, "gelu's derivative");
    tg.dispose([x.grad!, x, y, total]);
  }),
);

edge('argmax and argmin without an axis, or over the only axis, are scalars', () =>
  leakFree(async () => {
    const v = tg.tensor([3, 1, 4, 1, 5]);
    const m = tg.tensor([
      [3, 1],
      [4, 1],
    ]);
    const results = [
      tg.argmax(v),
      tg.argmin(v),
      tg.argmax(v, { axis: 0 }),
      tg.argmin(v, { axis: -1 }),
      tg.argmax(m),
      tg.argmin(m),
    ];
    results.forEach((r, i) => assert.equal(r.shape, [], `result ${i}: shape [${r.shape}]`));
    assert.equal(await Promise.all(results.map(async (r) => (await values(r))[0])), [4, 1, 4, 1, 2, 1]);
    const rows = tg.argmax(m, { axis: 1 });
    const kept = tg.argmax(v, { keepDims: true });
    assert.equal(rows.shape, [2]);
    assert.equal(kept.shape, [1]);
    tg.dispose([v, m, rows, kept, ...results]);
  }),
);

edge('expm1 near 0 keeps its relative precision', () =>
  leakFree(async () => {
    // float16 holds |x| < 2⁻¹⁴ only as subnormals, coarser than its 2⁻¹¹ relative rounding
    const xs = [1e-7, -1e-6, 1e-5, 3e-4, -0.01, 0.2, -0.3, 1, -5].filter((v) => !half || Math.abs(v) >= 2 ** -14);
    const x = tg.tensor(xs);
    const y = tg.expm1(x);
    // float16 storage rounds to 2⁻¹¹ relative; float32 allows a few ulps of the GPU's exp
    close(await values(y), xs.map(Math.expm1), half ? 1e-3 : 3e-6, 'expm1 (relative)', true);
    tg.dispose([x, y]);
  }),
);

/** gelu(x) = x Φ(x) in float64 (Python's math.erfc) at the float32 inputs of the test below. */
const GELU: Record<number, number> = {
  [-0.5]: -0.15426876936299344,
  [-3]: -0.004049694094890287,
  [-6]: -5.919525870226207e-9,
  [-10]: -7.619853024160593e-23,
  0.5: 0.34573123063700656,
  3: 2.99595030590511,
  6: 5.999999994080474,
};

edge("elementwise ops near 0, near their domains' ends and for large |x| keep their relative precision", () =>
  leakFree(async () => {
    const softplus = (x: number) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));
    const [lambda, alpha] = [1.0507009873554805, 1.6732632423543772];
    // float16 holds |x| < 2⁻¹⁴ only as subnormals and nothing beyond 65504
    const fits = (v: number) => !half || (Math.abs(v) >= 2 ** -14 && Math.abs(v) < 6e4);
    const signed = (v: number[]) => v.flatMap((x) => [x, -x]).filter(fits);
    // 0.999 in float16 is 0.99902, 1.001 is 1.00098 and 1.1 is 1.0996: acos, atanh, acosh and the
    // logarithms there are too ill-conditioned to judge the op
    const unit = signed([1e-7, 3e-5, 0.01, 0.4, 0.9, ...(half ? [] : [0.999])]);
    const logs = [1e-30, 1e-3, 0.5, ...(half ? [] : [0.9, 1.1]), 3, 1000, 1e30];
    for (const [name, f, ref, xs] of [
      ['log1p', tg.log1p, Math.log1p, [1e-7, -3e-6, 2e-5, 0.1, -0.2, 0.3, -0.9, 5, 1e4].filter(fits)],
      ['atan', tg.atan, Math.atan, signed([1e-7, 3e-5, 0.5, 2, 100, 1e4])],
      ['asin', tg.asin, Math.asin, unit],
      ['acos', tg.acos, Math.acos, unit],
      ['sinh', tg.sinh, Math.sinh, signed([1e-7, 3e-5, 0.01, 0.3, 2, 10, 50, 89])],
      ['cosh', tg.cosh, Math.cosh, signed([1e-7, 0.01, 0.3, 2, 10, 50, 89])],
      ['asinh', tg.asinh, Math.asinh, signed([1e-7, 3e-5, 0.01, 0.3, 2, 100, 1e4, 1e20])],
      ['acosh', tg.acosh, Math.acosh, [...(half ? [] : [1.0000001, 1.000001, 1.001]), 1.5, 10, 1e4, 1e20]],
      ['atanh', tg.atanh, Math.atanh, unit],
      ['logSigmoid', tg.logSigmoid, (x: number) => -softplus(-x), signed([1e-7, 0.5, 3, 10, 20, 50])],
      ['softplus', tg.softplus, softplus, signed([1e-7, 0.5, 3, 10, 13, 20, 50])],
      ['silu', tg.silu, (x: number) => x / (1 + Math.exp(-x)), signed([1e-7, 0.5, 3, 10, 30])],
      ['mish', tg.mish, (x: number) => x * Math.tanh(softplus(x)), signed([1e-7, 1e-3, 0.5, 3, 10, 30])],
      // x Φ(x) from Python's math.erfc: the lower tail, where ½(1 + erf(x/√2)) cancels
      ['gelu', tg.gelu, (x: number) => GELU[x], [-0.5, -3, -6, -10, 0.5, 3, 6]],
      ['log2', tg.log2, Math.log2, logs],
      ['log10', tg.log10, Math.log10, logs],
      ['exp2', tg.exp2, (x: number) => 2 ** x, signed([1e-7, 0.3, 1, 2.5, 10, 100])],
      ['selu', tg.selu, (x: number) => lambda * (x > 0 ? x : alpha * Math.expm1(x)), signed([1e-7, 1e-3, 0.5, 3])],
    ] as const) {
      // float16 holds neither inputs nor answers beyond 65504 or below 2⁻¹⁴
      const kept = (xs as readonly number[]).filter((v) => fits(v) && fits(ref(v)));
      const x = tg.tensor(kept);
      const y = f(x);
      // float16 storage rounds to 2⁻¹¹ relative; float32 allows a few ulps of the GPU's exp and log
      const want = kept.map((v) => ref(Math.fround(v)));
      close(await values(y), want, half ? 2e-3 : 2e-6, `${name} (relative)`, true);
      tg.dispose([x, y]);
    }
    const ys = [1e-7, -3e-6, 0.5, -2, 1, 0, 3, -1e-5].filter(fits);
    const xs = [1, 2, -0.7, -3, 1e-6, 1, -4, -1].slice(0, ys.length);
    const [y, x] = [tg.tensor(ys), tg.tensor(xs)];
    const angle = tg.atan2(y, x);
    const want = ys.map((v, i) => Math.atan2(Math.fround(v), Math.fround(xs[i])));
    close(await values(angle), want, half ? 2e-3 : 2e-6, 'atan2 (relative)', true);
    tg.dispose([y, x, angle]);
    const r = tg.tensor([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 2.7]);
    const rounded = tg.round(r);
    close(await values(rounded), [-2, -2, -0, 0, 2, 2, 3], 0, 'round (halves to even)');
    tg.dispose([r, rounded]);
  }),
);

edge('Adam with small constant gradients moves as in PyTorch (its second moment stays above 0)', () =>
  leakFree(async () => {
    // 1e-5 is below float16's normal range: a gradient that small is not held on the webgl-f16 page
    for (const g of half ? [1e-3] : [1e-3, 1e-5]) {
      const p = tg.tensor([1, -1], { requiresGrad: true });
      const opt = new tg.optim.Adam([p], { lr: 0.05 });
      for (let i = 0; i < 20; i++) {
        p.grad?.dispose();
        p.grad = tg.tensor([g, -g]);
        opt.step();
      }
      // PyTorch: a constant gradient g moves each step by lr·g / (g + ε): 1 − 20·0.05·g / (g + 1e-8)
      const moved = 1 - (20 * 0.05 * g) / (g + 1e-8);
      close(await values(p), [moved, -moved], half ? 1e-2 : 1e-5, `Adam, gradient ${g}`);
      p.grad?.dispose();
      p.grad = null;
      opt.dispose();
      p.dispose();
    }
  }),
);

edge.run();
