// sort, topk and median (src/ops/sort.ts) on cpu and wasm: values and indices against PyTorch's
// (ties, NaN, both orders, other axes), where each gradient goes, the lower middle of an even
// count, and memory. The gradient checks are in test/op-cases-scan.ts; PyTorch's values and
// gradients on random inputs in test/reference/ops-scan.test.ts.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../src/index.js';
import { NODE_BACKENDS, assertBackwardLeavesOnlyGrad, assertClose, assertNoLeak } from './helpers.js';

/** x.grad's values after a backward from y seeded with g (ones by default); frees all but x. */
async function gradOf(x: tg.Tensor, f: (x: tg.Tensor) => tg.Tensor, g?: number[]): Promise<number[]> {
  x.requiresGrad = true;
  // in a tidy: what f makes besides its result (sort's indices) is freed too
  tg.tidy(() => {
    const y = f(x);
    y.backward(g ? tg.tensor(g, { shape: y.shape }) : tg.onesLike(y));
  });
  const out = Array.from(await x.grad!.data());
  x.grad!.dispose();
  x.grad = null;
  return out;
}
async function arrays(r: tg.SortResult): Promise<[unknown, unknown]> {
  const out: [unknown, unknown] = [await r.values.array(), await r.indices.array()];
  tg.dispose([r.values, r.indices]);
  return out;
}

for (const backend of NODE_BACKENDS) {
  const s = suite(`sort, topk, median on ${backend}`);
  s.before(async () => {
    await tg.setBackend(backend);
  });

  s('sort: stable in both orders, as PyTorch (ties keep their order); indices int32', async () => {
    const x = tg.tensor([3, 1, 3, 2, 1, 3]);
    const up = tg.sort(x);
    assert.is(up.indices.dtype, 'int32');
    assert.equal(await arrays(up), [
      [1, 1, 2, 3, 3, 3],
      [1, 4, 3, 0, 2, 5],
    ]);
    assert.equal(await arrays(x.sort({ descending: true })), [
      [3, 3, 3, 2, 1, 1],
      [0, 2, 5, 3, 1, 4],
    ]);
    x.dispose();
  });

  s('sort: along axis 0 and a middle axis, and of a scalar', async () => {
    const x = tg.tensor([
      [3, 1],
      [1, 2],
      [2, 0],
    ]);
    assert.equal(await arrays(tg.sort(x, { axis: 0 })), [
      [
        [1, 0],
        [2, 1],
        [3, 2],
      ],
      [
        [1, 2],
        [2, 0],
        [0, 1],
      ],
    ]);
    const x3 = tg.tensor([5, 4, 3, 2, 1, 0, 6, 7], { shape: [2, 2, 2] });
    assert.equal(await arrays(tg.sort(x3, { axis: 1, descending: true })), [
      [
        [
          [5, 4],
          [3, 2],
        ],
        [
          [6, 7],
          [1, 0],
        ],
      ],
      [
        [
          [0, 0],
          [1, 1],
        ],
        [
          [1, 1],
          [0, 0],
        ],
      ],
    ]);
    const sc = tg.scalar(2);
    assert.equal(await arrays(tg.sort(sc)), [2, 0]);
    tg.dispose([x, x3, sc]);
  });

  s('sort: NaN goes last ascending and first descending (as +∞; PyTorch: after +∞)', async () => {
    const x = tg.tensor([3, NaN, 3, Infinity, 1, 3]);
    const [v, i] = await arrays(tg.sort(x));
    assert.equal((v as number[]).slice(0, 4), [1, 3, 3, 3]);
    assert.equal((i as number[]).slice(0, 4), [4, 0, 2, 5]);
    assert.equal((i as number[]).slice(4).sort(), [1, 3]);
    const [vd] = await arrays(tg.sort(x, { descending: true }));
    assert.equal((vd as number[]).slice(2), [3, 3, 3, 1]);
    x.dispose();
  });

  s('sort: the gradient of the values goes back to the entry each came from', async () => {
    const x = tg.tensor([
      [0.5, 2, -1],
      [3, -2, 1],
    ]);
    // sorted: [-1, 0.5, 2] from [2, 0, 1] and [-2, 1, 3] from [1, 2, 0] (3-cycles: σ⁻¹ ≠ σ); seed g
    const got = await gradOf(x, (t) => tg.sort(t).values, [1, 2, 3, 10, 20, 30]);
    assert.equal(got, [2, 3, 1, 30, 10, 20]);
    const gotDesc = await gradOf(x, (t) => tg.sort(t, { axis: 0, descending: true }).values, [1, 2, 3, 10, 20, 30]);
    assert.equal(gotDesc, [10, 2, 30, 1, 20, 3]);
    x.dispose();
  });

  s('topk: the k largest (or smallest) in order, ties in index order (PyTorch leaves them unspecified)', async () => {
    const x = tg.tensor([3, 1, 3, 2, 1, 3]);
    assert.equal(await arrays(tg.topk(x, 4)), [
      [3, 3, 3, 2],
      [0, 2, 5, 3],
    ]);
    assert.equal(await arrays(x.topk(4, { largest: false })), [
      [1, 1, 2, 3],
      [1, 4, 3, 0],
    ]);
    const none = tg.topk(x, 0);
    assert.equal(none.values.shape, [0]);
    tg.dispose([none.values, none.indices]);
    const m = tg.tensor([
      [1, 5],
      [4, 2],
      [3, 6],
    ]);
    assert.equal(await arrays(tg.topk(m, 2, { axis: 0 })), [
      [
        [4, 6],
        [3, 5],
      ],
      [
        [1, 2],
        [2, 0],
      ],
    ]);
    tg.dispose([x, m]);
  });

  s('topk: the gradient reaches the selected entries only', async () => {
    const x = tg.tensor([0.5, 4, -1, 3, 2]);
    assert.equal(await gradOf(x, (t) => tg.topk(t, 2).values, [1, 10]), [0, 1, 0, 10, 0]);
    assert.equal(await gradOf(x, (t) => tg.topk(t, 2, { largest: false }).values, [1, 10]), [10, 0, 1, 0, 0]);
    x.dispose();
  });

  s('median: the lower middle of an even count, over an axis or every entry, keepDims', async () => {
    const x = tg.tensor([
      [3, 1, 4, 2],
      [9, 7, 8, 6],
    ]);
    const [a, b, c, d] = [
      tg.median(x),
      x.median({ axis: 1 }),
      tg.median(x, { axis: 0, keepDims: true }),
      tg.median(x, { keepDims: true }),
    ];
    assert.equal(await a.array(), 4);
    assert.equal(await b.array(), [2, 7]);
    assert.equal([c.shape, await c.array()], [[1, 4], [[3, 1, 4, 2]]]);
    assert.equal([d.shape, await d.array()], [[1, 1], [[4]]]);
    const odd = tg.tensor([5, -1, 2]);
    const m = tg.median(odd);
    assert.equal(await m.array(), 2);
    tg.dispose([x, a, b, c, d, odd, m]);
  });

  s("median: the gradient goes to the selected entry, among ties the one PyTorch's median(dim) returns", async () => {
    // PyTorch 1.13: median(dim=1).indices = [1, 1, 3, 3] for these rows
    const x = tg.tensor([
      [1, 1, 1, 1],
      [2, 2, 5, 5],
      [5, 5, 2, 2],
      [4, 1, 4, 1],
    ]);
    const got = await gradOf(x, (t) => tg.median(t, { axis: 1 }));
    assert.equal(got, [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1]);
    // without an axis: one entry (PyTorch's median() shares it among the ties: 0.5 each here)
    const y = tg.tensor([3, 1, 3, 2, 1, 3, 1, 2]);
    const all = await gradOf(y, (t) => tg.median(t));
    assert.equal(
      all.reduce((p, q) => p + q),
      1,
    );
    assert.equal(all.filter((v) => v === 1).length, 1);
    tg.dispose([x, y]);
  });

  s('median: NaN in a slice gives NaN there (as PyTorch); int32 stays int32', async () => {
    const x = tg.tensor([
      [1, NaN, 3],
      [4, 5, 6],
    ]);
    const m = tg.median(x, { axis: 1 });
    assertClose(m, [NaN, 5]);
    const i = tg.tensor([4, 1, 3], { dtype: 'int32' });
    const mi = tg.median(i);
    assert.equal([mi.dtype, await mi.array()], ['int32', 3]);
    tg.dispose([x, m, i, mi]);
  });

  s(
    "empty tensors: sort, topk and median of no rows give empty results (wasm's TopK of nothing divides by zero)",
    async () => {
      const e = tg.zeros([0, 3], { requiresGrad: true });
      const e2 = tg.zeros([2, 0]);
      const a = tg.sort(e, { axis: 0 });
      const b = tg.topk(e2, 0);
      const c = tg.median(e, { axis: 1, keepDims: true });
      assert.equal(
        [a.values.shape, b.values.shape, b.indices.shape, c.shape],
        [
          [0, 3],
          [2, 0],
          [2, 0],
          [0, 1],
        ],
      );
      assert.equal(await a.values.data(), new Float32Array(0));
      tg.tidy(() => tg.sort(e, { axis: 0 }).values.sum().backward());
      assert.equal(e.grad!.shape, [0, 3]);
      tg.dispose([e, e.grad!, e2, a.values, a.indices, b.values, b.indices, c]);
    },
  );

  s('memory: forward and backward leave only the gradient; results without a graph hold nothing', () => {
    const fs: ((x: tg.Tensor) => tg.Tensor)[] = [
      (x) => tg.sort(x, { axis: 0 }).values,
      (x) => tg.topk(x, 2).values,
      (x) => tg.median(x),
      (x) => tg.median(x, { axis: 1, keepDims: true }),
    ];
    const X = [
      [1, 0, 2],
      [0.5, -1, 3],
    ];
    fs.forEach((f, i) => assertBackwardLeavesOnlyGrad(f, X, `op ${i}`));
    assertNoLeak(() => {
      const x = tg.tensor(X, { requiresGrad: true });
      const plain = tg.noGrad(() => tg.sort(x));
      const sc = tg.scalar(1);
      const top = tg.topk(sc, 1);
      const med = tg.noGrad(() => tg.median(x, { axis: 0 }));
      tg.dispose([plain.values, plain.indices, sc, top.values, top.indices, med, x]);
    }, 'without a graph');
  });

  s.run();
}
