// Tensor and the creation functions: construction, dtypes and shapes, reading values, detach,
// dispose, and the chainable methods.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../src/index.js';
import { NODE_BACKENDS, assertClose, assertNoLeak, assertThrows } from './helpers.js';

for (const backend of NODE_BACKENDS) {
  const s = suite(`tensor on ${backend}`);
  s.before(async () => {
    await tg.setBackend(backend);
  });

  s('tensor() of a Float64Array or another numeric typed array converts it to the dtype', () => {
    assertNoLeak(() => {
      const a = tg.tensor(new Float64Array([1.5, 2, 3]));
      assert.is(a.dtype, 'float32');
      assert.equal(Array.from(a.dataSync()), [1.5, 2, 3]);
      const b = tg.tensor(new Int16Array([1, -2, 3, 4]), { dtype: 'int32', shape: [2, 2] });
      assert.equal(b.arraySync(), [
        [1, -2],
        [3, 4],
      ]);
      tg.dispose([a, b]);
      assertThrows(() => tg.tensor(new BigInt64Array(2) as never), /^tensor: cannot make a tensor of a BigInt64Array/);
    });
  });
  s('.grad accepts only a float32 Tensor of the shape of its tensor, or null', () => {
    const x = tg.ones([2], { requiresGrad: true });
    assertThrows(() => ((x as { grad: unknown }).grad = 3), /^grad: must be a Tensor or null, got number 3/);
    const wrong = tg.ones([3]);
    assertThrows(() => (x.grad = wrong), /^grad: must be float32 with the tensor's shape \[2\], got float32 \[3\]/);
    assert.is(x.grad, null);
    const g = tg.ones([2]);
    x.grad = g;
    assert.is(x.grad, g);
    x.grad = null;
    tg.dispose([x, wrong, g]);
  });
  s('tensor() from nested arrays, typed arrays, numbers; dtype and shape options', () => {
    const a = tg.tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assert.equal(a.shape, [2, 3]);
    assert.is(a.dtype, 'float32');
    assert.is(a.size, 6);
    assert.is(a.rank, 2);
    assert.equal(a.arraySync(), [
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const b = tg.tensor([1, 2, 3, 4, 5, 6], { shape: [3, 2] });
    assert.equal(b.arraySync(), [
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    const i = tg.tensor([0, 2], { dtype: 'int32' });
    assert.is(i.dtype, 'int32');
    assert.instance(i.dataSync(), Int32Array);
    const m = tg.tensor([true, false, true], { dtype: 'bool' });
    assert.is(m.dtype, 'bool');
    assert.equal(Array.from(m.dataSync()), [1, 0, 1]);
    const t = tg.tensor(new Float32Array([1, 2, 3, 4]), { shape: [2, 2] });
    assert.equal(t.arraySync(), [
      [1, 2],
      [3, 4],
    ]);
    const n = tg.tensor(7);
    assert.equal(n.shape, []);
    assert.is(n.item(), 7);
    const r = tg.tensor([[1, 2]], { requiresGrad: true });
    assert.ok(r.requiresGrad && r.isLeaf && r.grad === null);
    const e = tg.tensor([]);
    assert.equal(e.shape, [0]);
    tg.dispose([a, b, i, m, t, n, r, e]);
  });

  s('scalar, zeros, ones, full, eye, zerosLike, onesLike', () => {
    const s0 = tg.scalar(2.5, { requiresGrad: true });
    assert.equal(s0.shape, []);
    assert.ok(s0.requiresGrad);
    assert.is(s0.item(), 2.5);
    const z = tg.zeros([2, 3]);
    assert.equal(Array.from(z.dataSync()), [0, 0, 0, 0, 0, 0]);
    const o = tg.ones([3], { dtype: 'int32' });
    assert.is(o.dtype, 'int32');
    assert.equal(Array.from(o.dataSync()), [1, 1, 1]);
    const f = tg.full([2], 4);
    assert.equal(Array.from(f.dataSync()), [4, 4]);
    const I = tg.eye(3);
    assert.equal(I.arraySync(), [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ]);
    const R = tg.eye(2, 3);
    assert.equal(R.arraySync(), [
      [1, 0, 0],
      [0, 1, 0],
    ]);
    const zl = tg.zerosLike(I);
    const ol = tg.onesLike(R);
    assert.equal(zl.shape, [3, 3]);
    assert.equal(Array.from(ol.dataSync()), [1, 1, 1, 1, 1, 1]);
    tg.dispose([s0, z, o, f, I, R, zl, ol]);
  });

  s('randn is reproducible with a seed and roughly standard normal; rand is uniform in [low, high)', () => {
    const a = tg.randn([2000], { seed: 7 });
    const b = tg.randn([2000], { seed: 7 });
    const c = tg.randn([2000], { seed: 8 });
    assert.equal(Array.from(a.dataSync()), Array.from(b.dataSync()));
    assert.not.equal(Array.from(a.dataSync()), Array.from(c.dataSync()));
    const mean = a.mean().item();
    const std = Math.sqrt(a.variance().item());
    assert.ok(Math.abs(mean) < 0.1, `mean ${mean}`);
    assert.ok(Math.abs(std - 1) < 0.1, `std ${std}`);
    const u = tg.rand([2000], { seed: 3, low: -2, high: 3 });
    const v = u.dataSync();
    assert.ok(v.every((x) => x >= -2 && x < 3));
    assert.ok(Math.abs(u.mean().item() - 0.5) < 0.15);
    const u2 = tg.rand([2000], { seed: 3, low: -2, high: 3 });
    assert.equal(Array.from(u2.dataSync()), Array.from(v));
    const n = tg.randn([3, 4], { seed: 1, mean: 10, std: 0.01, requiresGrad: true });
    assert.ok(n.requiresGrad);
    assert.ok(n.dataSync().every((x) => Math.abs(x - 10) < 0.1));
    tg.dispose([a, b, c, u, u2, n]);
  });

  s('arange and linspace', () => {
    const a = tg.arange(5);
    assert.equal(Array.from(a.dataSync()), [0, 1, 2, 3, 4]);
    const b = tg.arange(1, 2, 0.25);
    assertClose(b, [1, 1.25, 1.5, 1.75]);
    const c = tg.arange(5, 0, -2, { dtype: 'int32' });
    assert.is(c.dtype, 'int32');
    assert.equal(Array.from(c.dataSync()), [5, 3, 1]);
    const l = tg.linspace(0, 1, 5);
    assertClose(l, [0, 0.25, 0.5, 0.75, 1]);
    const one = tg.linspace(2, 3, 1);
    assertClose(one, [2]);
    assertThrows(() => tg.arange(0, 1, 0), /arange: step must not be 0/);
    assertThrows(() => tg.linspace(0, 1, 0), /linspace: n must be a positive integer, got 0/);
    tg.dispose([a, b, c, l, one]);
  });

  s('reading values: data, dataSync, array, arraySync, item', async () => {
    const x = tg.tensor([
      [1.5, -2],
      [3, 4],
    ]);
    assert.equal(Array.from(await x.data()), [1.5, -2, 3, 4]);
    assert.equal(await x.array(), [
      [1.5, -2],
      [3, 4],
    ]);
    assert.equal(Array.from(x.dataSync()), [1.5, -2, 3, 4]);
    assert.is(x.sum().item(), 6.5);
    assertThrows(() => x.item(), /item: needs a tensor with one element, got shape \[2,2\]/);
    assert.match(String(x), /^tensor\(\[\[1\.5,-2\],\[3,4\]\]\)$/);
    const r = tg.tensor([1], { requiresGrad: true });
    assert.match(String(r), /requiresGrad=true/);
    const y = r.exp();
    assert.match(String(y), /gradFn=exp/);
    tg.dispose([x, r, y]);
  });

  s("toArray and toArraySync: nested arrays as PyTorch's tolist, a number for 0-d, booleans for bool", async () => {
    const x = tg.tensor([
      [1.5, -2, 0],
      [3, 4, 5],
    ]);
    assert.equal(await x.toArray(), [
      [1.5, -2, 0],
      [3, 4, 5],
    ]);
    assert.equal(x.toArraySync(), await x.toArray());
    const b = tg.tensor([true, false, true], { dtype: 'bool' });
    assert.equal(await b.toArray(), [true, false, true]);
    const i = tg.tensor([[7], [-1]], { dtype: 'int32' });
    assert.equal(await i.toArray(), [[7], [-1]]);
    const s0 = tg.scalar(2.5);
    assert.is(await s0.toArray(), 2.5);
    const e = tg.zeros([2, 0, 3]);
    assert.equal(await e.toArray(), [[], []]);
    const g = tg.tensor([1]);
    g.dispose();
    await g.toArray().then(
      () => assert.unreachable('a disposed tensor was read'),
      (err: Error) => assert.match(err.message, /^toArray: the tensor \(shape \[1\]\) has been disposed/),
    );
    tg.dispose([x, b, i, s0, e]);
  });

  s('x.T reverses every axis and x.mT swaps the last two, on the tape; mT refuses rank < 2', () => {
    assertNoLeak(() => {
      tg.tidy(() => {
        const x = tg.tensor(
          [...Array(24).keys()].map((v) => v / 10),
          { shape: [2, 3, 4], requiresGrad: true },
        );
        assert.equal(x.T.shape, [4, 3, 2]);
        assert.equal(x.mT.shape, [2, 4, 3]);
        assertClose(x.T, tg.transpose(x, [2, 1, 0]));
        assertClose(x.mT, tg.transpose(x, [0, 2, 1]));
        const m = tg.tensor([
          [1, 2],
          [3, 4],
        ]);
        assert.equal(m.T.arraySync(), [
          [1, 3],
          [2, 4],
        ]);
        assert.equal(tg.tensor([1, 2]).T.arraySync(), [1, 2]);
        // both are differentiable: d sum(xᵀ ⊙ w) / dx = wᵀ
        const w = tg.randn([4, 3, 2], { seed: 1 });
        const [dx] = tg.grad((t: tg.Tensor) => t.T.mul(w).sum(), [0])(x);
        assertClose(dx, w.T);
        assertThrows(() => tg.tensor([1, 2]).mT, /matrixTranspose: needs rank ≥ 2, got shape \[2\]/);
      });
    });
  });

  s('comparison, cast and clone methods match the free functions; clone stays on the tape', () => {
    assertNoLeak(() => {
      tg.tidy(() => {
        const x = tg.tensor([1, 2, 3]);
        const y = tg.tensor([3, 2, 1]);
        for (const k of ['equal', 'notEqual', 'greater', 'greaterEqual', 'less', 'lessEqual'] as const) {
          assert.equal(x[k](y).arraySync(), tg[k](x, y).arraySync(), k);
          assert.equal(x[k](2).arraySync(), tg[k](x, 2).arraySync(), `${k} with a number`);
        }
        assert.equal(x.greater(y).arraySync(), [0, 0, 1]);
        assert.is(x.equal(y).dtype, 'bool');
        const c = x.cast('int32');
        assert.is(c.dtype, 'int32');
        assert.equal(x.div(2).cast('int32').arraySync(), [0, 1, 1]);
        const p = tg.tensor([0.5, -1], { requiresGrad: true });
        const q = p.clone();
        assert.ok(q.requiresGrad && q.value !== p.value, 'a new tensor on the tape');
        const [dp] = tg.grad((t: tg.Tensor) => t.clone().square().sum(), [0])(p);
        assertClose(dp, [1, -2]);
        assert.equal(tg.tensor([1, 2], { dtype: 'int32' }).clone().arraySync(), [1, 2]);
      });
    });
  });

  s('methods of the elementwise ops atan … frac, atan2 and hardtanh match the free functions', () => {
    assertNoLeak(() => {
      tg.tidy(() => {
        const x = tg.tensor([0.3, -0.6, 0.45]);
        const names = [
          'atan',
          'asin',
          'acos',
          'sinh',
          'cosh',
          'asinh',
          'atanh',
          'exp2',
          'silu',
          'logSigmoid',
          'softsign',
          'selu',
          'mish',
          'floor',
          'ceil',
          'round',
          'trunc',
          'frac',
          'hardtanh',
        ] as const;
        for (const k of names) assertClose(x[k](), tg[k](x), { msg: k });
        const big = x.add(2);
        for (const k of ['acosh', 'log2', 'log10'] as const) assertClose(big[k](), tg[k](big), { msg: k });
        assertClose(x.hardtanh({ min: -0.5, max: 0.4 }), [0.3, -0.5, 0.4]);
        assertClose(x.atan2(big), tg.atan2(x, big));
        assertClose(x.atan2(1), x.atan());
      });
    });
  });

  s('detach: same values, a new leaf without grad and without a graph; disposing one leaves the other', () => {
    const x = tg.tensor([1, 2, 3], { requiresGrad: true });
    const y = x.mul(2);
    const d = y.detach();
    assert.ok(d.isLeaf);
    assert.not.ok(d.requiresGrad);
    assert.equal(Array.from(d.dataSync()), [2, 4, 6]);
    // a detached factor is a constant: d(x · detach(x))/dx = detach(x)
    const z = x.mul(x.detach()).sum();
    z.backward();
    assertClose(x.grad!, [1, 2, 3]);
    y.dispose();
    assert.equal(Array.from(d.dataSync()), [2, 4, 6], 'the detached copy outlives the original');
    tg.dispose([x, x.grad, d, z]);
  });

  s('toString spells out NaN and ±Infinity (JSON would write null)', () => {
    assertNoLeak(() => {
      const x = tg.tensor([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1.5]);
      assert.is(x.toString(), 'tensor([NaN,Infinity,-Infinity,1.5])');
      const empty = tg.zeros([0]);
      const m = tg.mean(empty);
      assert.is(m.toString(), 'tensor(NaN)');
      tg.dispose([x, empty, m]);
    });
  });
  s('dispose: frees the memory, is safe to call twice, and isDisposed says so', () => {
    assertNoLeak(() => {
      const x = tg.tensor([1, 2]);
      x.dispose();
      x.dispose();
      assert.ok(x.isDisposed);
      assert.match(String(x), /disposed/);
    });
  });

  s('requiresGrad: only float32 tensors; a non-leaf cannot be switched off', () => {
    assertThrows(
      () => tg.tensor([1, 2], { dtype: 'int32', requiresGrad: true }),
      /^tensor: only float32 tensors can require grad; this one is int32/,
    );
    const x = tg.tensor([1], { requiresGrad: true });
    const y = x.exp();
    assert.ok(y.requiresGrad);
    assert.not.ok(y.isLeaf);
    assertThrows(
      () => (y.requiresGrad = false),
      /requiresGrad: a non-leaf tensor always requires grad; use detach\(\)/,
    );
    x.requiresGrad = false;
    const z = x.exp();
    assert.not.ok(z.requiresGrad);
    tg.dispose([x, y, z]);
  });

  s('chainable methods match the free functions', () => {
    const x = tg.tensor([
      [0.5, -1],
      [2, 0.25],
    ]);
    const w = tg.tensor([
      [1, 2],
      [3, 4],
    ]);
    const pairs: [tg.Tensor, tg.Tensor][] = [
      [x.exp().sum(), tg.sum(tg.exp(x))],
      [x.matmul(w), tg.matmul(x, w)],
      [x.add(1).mul(2).sub(w).div(3), tg.div(tg.sub(tg.mul(tg.add(x, 1), 2), w), 3)],
      [x.abs().sqrt().log1p(), tg.log1p(tg.sqrt(tg.abs(x)))],
      [x.softmax(0), tg.softmax(x, 0)],
      [x.mean({ axis: 1, keepDims: true }), tg.mean(x, { axis: 1, keepDims: true })],
      [x.transpose().reshape([4]), tg.reshape(tg.transpose(x), [4])],
      [x.max({ axis: 0 }), tg.max(x, { axis: 0 })],
      [x.norm({ ord: 1 }), tg.norm(x, { ord: 1 })],
      [x.clip(-0.5, 0.5), tg.clip(x, -0.5, 0.5)],
      [x.pow(2), tg.square(x)],
      [x.slice([1, 0], [1, -1]), tg.tensor([[2, 0.25]])],
      [
        x.gather([1, 1]),
        tg.tensor([
          [2, 0.25],
          [2, 0.25],
        ]),
      ],
    ];
    for (const [a, b] of pairs) {
      assertClose(a, b);
      tg.dispose([a, b]);
    }
    tg.dispose([x, w]);
  });
  s.run();
}
