// std, the scans and sorting on the GPU backends (webgl, webgpu in headless Chromium), against
// PyTorch's values (torch 1.13): sort and topk are stable over many ties (TF.js's GPU TopK is a
// bitonic sort), NaN and ±∞ sort where tapegrad says, every cumsum form, cumprod's gradient at
// zeros, logCumSumExp at large and −∞ values, all/any of nothing. Values are read asynchronously
// (webgpu's dataSync returns zeros in headless Chromium). test/scan.test.ts and test/sort.test.ts
// check the same on cpu and wasm.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../../src/index.js';

const s = suite(`std, scans and sorting (${tg.getBackend()})`);
const values = async (t: tg.Tensor) => Array.from(await t.data());

/** Runs `f` and checks that every tensor it made was freed. */
async function leakFree(f: () => Promise<void>): Promise<void> {
  const before = tg.memory().numTensors;
  await f();
  assert.is(tg.memory().numTensors, before, 'tensors leaked');
}
function close(got: number[], want: number[], what: string, tol = 1e-5): void {
  assert.is(got.length, want.length, what);
  got.forEach((g, i) => {
    const w = want[i];
    const ok = Object.is(g, w) || Math.abs(g - w) <= tol * Math.max(1, Math.abs(w));
    assert.ok(ok, `${what}: [${got}] where [${want}] is wanted`);
  });
}
/** x.grad after a backward from f(x) seeded with g; everything else freed. */
async function gradOf(x: tg.Tensor, f: (x: tg.Tensor) => tg.Tensor, g: number[]): Promise<number[]> {
  x.requiresGrad = true;
  // in a tidy: what f makes besides its result (sort's indices) is freed too
  tg.tidy(() => {
    const y = f(x);
    y.backward(tg.tensor(g, { shape: y.shape }));
  });
  const out = Array.from(await x.grad!.data());
  x.grad!.dispose();
  x.grad = null;
  return out;
}

s('sort and topk: stable (ties in index order) over 257 entries with many ties, both orders', () =>
  leakFree(async () => {
    const n = 257;
    const v = Array.from({ length: n }, (_, i) => (i * 7) % 5);
    const x = tg.tensor(v);
    const want = [...v.keys()].sort((a, b) => v[a] - v[b] || a - b);
    const wantDesc = [...v.keys()].sort((a, b) => v[b] - v[a] || a - b);
    const up = tg.sort(x);
    const down = tg.sort(x, { descending: true });
    const top = tg.topk(x, 60);
    assert.equal(await values(up.indices), want);
    assert.equal(await values(down.indices), wantDesc);
    assert.equal(await values(top.indices), wantDesc.slice(0, 60));
    tg.dispose([x, up.values, up.indices, down.values, down.indices, top.values, top.indices]);
  }),
);

s('sort: NaN last ascending (as +∞, tied with it by position), −∞ first; along axis 0', () =>
  leakFree(async () => {
    const x = tg.tensor([3, NaN, -Infinity, Infinity, 1, 3]);
    const r = tg.sort(x);
    assert.equal((await values(r.indices)).slice(0, 4), [2, 4, 0, 5]);
    assert.equal((await values(r.values)).slice(0, 4), [-Infinity, 1, 3, 3]);
    const m = tg.tensor([
      [3, 1],
      [1, 2],
      [2, 0],
    ]);
    const c = tg.sort(m, { axis: 0, descending: true });
    assert.equal(await values(c.values), [3, 2, 2, 1, 1, 0]);
    assert.equal(await values(c.indices), [0, 1, 2, 0, 1, 2]);
    tg.dispose([x, r.values, r.indices, m, c.values, c.indices]);
  }),
);

s("sort, topk and median gradients reach the entries picked (median: PyTorch's among ties)", () =>
  leakFree(async () => {
    const x = tg.tensor([
      [0.5, 2, -1],
      [3, -2, 1],
    ]);
    assert.equal(await gradOf(x, (t) => tg.sort(t).values, [1, 2, 3, 10, 20, 30]), [2, 3, 1, 30, 10, 20]);
    assert.equal(await gradOf(x, (t) => tg.topk(t, 1).values, [1, 10]), [0, 1, 0, 10, 0, 0]);
    const ties = tg.tensor([
      [1, 1, 1, 1],
      [2, 2, 5, 5],
      [5, 5, 2, 2],
      [4, 1, 4, 1],
    ]);
    const g = await gradOf(ties, (t) => tg.median(t, { axis: 1 }), [1, 1, 1, 1]);
    assert.equal(g, [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1]);
    tg.dispose([x, ties]);
  }),
);

s('cumsum: every form along both axes', () =>
  leakFree(async () => {
    const x = tg.tensor([
      [1, 2, 3, 4],
      [5, -6, 7, 0.5],
    ]);
    const want: Record<string, number[]> = {
      '1,false,false': [1, 3, 6, 10, 5, -1, 6, 6.5],
      '1,true,false': [0, 1, 3, 6, 0, 5, -1, 6],
      '1,false,true': [10, 9, 7, 4, 6.5, 1.5, 7.5, 0.5],
      '1,true,true': [9, 7, 4, 0, 1.5, 7.5, 0.5, 0],
      '0,false,false': [1, 2, 3, 4, 6, -4, 10, 4.5],
      '0,true,false': [0, 0, 0, 0, 1, 2, 3, 4],
      '0,false,true': [6, -4, 10, 4.5, 5, -6, 7, 0.5],
      '0,true,true': [5, -6, 7, 0.5, 0, 0, 0, 0],
    };
    for (const [key, w] of Object.entries(want)) {
      const [axis, exclusive, reverse] = key.split(',');
      const y = tg.cumsum(x, Number(axis), { exclusive: exclusive === 'true', reverse: reverse === 'true' });
      close(await values(y), w, `cumsum ${key}`);
      y.dispose();
    }
    x.dispose();
  }),
);

s('cumprod: values and the gradient at zeros (PyTorch: [1, 22, 0, 0, 0])', () =>
  leakFree(async () => {
    const x = tg.tensor([2, 0, 3, 0, 5]);
    const y = tg.cumprod(x, 0);
    close(await values(y), [2, 0, 0, 0, 0], 'cumprod');
    close(await gradOf(x, (t) => tg.cumprod(t, 0), [1, 2, 3, 4, 5]), [1, 22, 0, 0, 0], 'its gradient');
    tg.dispose([x, y]);
  }),
);

s('logCumSumExp: large, far-apart and −∞ values (PyTorch float64), gradients finite', () =>
  leakFree(async () => {
    const x = tg.tensor([
      [1000, 1001, -1000, 999],
      [-Infinity, 0, -Infinity, 1],
    ]);
    const y = tg.logCumSumExp(x, 1);
    const l1001 = 1001 + Math.log1p(Math.exp(-1));
    const want = [1000, l1001, l1001, l1001 + Math.log1p(Math.exp(999 - l1001)), -Infinity, 0, 0, Math.log1p(Math.E)];
    close(await values(y), want, 'logCumSumExp', 1e-4);
    const g = await gradOf(x, (t) => tg.logCumSumExp(t, 1), [1, 1, 1, 1, 1, 1, 1, 1]);
    assert.ok(g.every(Number.isFinite), `gradients ${g}`);
    tg.dispose([x, y]);
  }),
);

s('std (correction 1, and 0 at a constant row with gradient 0); all and any of nothing', () =>
  leakFree(async () => {
    const x = tg.tensor([
      [2, 2, 2],
      [1, 2, 4],
    ]);
    const sd = tg.std(x, { axis: 1 });
    close(await values(sd), [0, Math.sqrt(7 / 3)], 'std', 1e-3);
    const g = await gradOf(x, (t) => tg.std(t, { axis: 1 }), [1, 1]);
    assert.equal(g.slice(0, 3), [0, 0, 0]);
    const e = tg.zeros([0, 2]);
    const [a, o] = [tg.all(e, { axis: 0 }), tg.any(e, { axis: 0 })];
    assert.equal(
      [await values(a), await values(o)],
      [
        [1, 1],
        [0, 0],
      ],
    );
    const n = tg.tensor([0, NaN]);
    const an = tg.any(n);
    assert.equal(await values(an), [1]);
    tg.dispose([x, sd, e, a, o, n, an]);
  }),
);

s.run();
