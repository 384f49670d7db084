// The indexing ops and einsum beyond their gradient checks (test/op-cases-indexing.ts) and PyTorch's
// values (test/reference/ops-index.test.ts): what carries no gradient (stopGradient, oneHot), what
// is refused (indices written twice), einsum's equations and its forward's cost, empty tensors,
// and memory after single public calls. On cpu and wasm.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../src/index.js';
import { NODE_BACKENDS, assertClose, assertNoLeak, assertThrows } from './helpers.js';

const ints = (values: number[], shape?: number[]) => tg.tensor(values, { dtype: 'int32', shape });

for (const backend of NODE_BACKENDS) {
  const s = suite(`indexing ops and einsum on ${backend}`);
  s.before(async () => {
    await tg.setBackend(backend);
  });

  s('stopGradient passes values and no gradient, as detach does', () => {
    assertNoLeak(() => {
      const x = tg.tensor([1, 2, 3], { requiresGrad: true });
      const y = tg.tidy(() => {
        const out = x.square().mul(tg.stopGradient(x.exp()));
        out.sum().backward();
        return out;
      });
      // d/dx (x² · c) with c held: 2x·eˣ
      assertClose(
        x.grad!,
        [1, 2, 3].map((v) => 2 * v * Math.exp(v)),
      );
      assertClose(
        y,
        [1, 2, 3].map((v) => v * v * Math.exp(v)),
      );
      const cut = tg.stopGradient(x);
      assert.not.ok(cut.requiresGrad);
      assert.is(cut.node, null);
      tg.dispose([x.grad!, x, y, cut]);
    });
  });

  s('oneHot gives int32 rows (PyTorch gives integers), depth 1 included', () => {
    assertNoLeak(() => {
      const idx = ints([2, 0, 1, 1], [2, 2]);
      const h = tg.oneHot(idx, 3);
      assert.is(h.dtype, 'int32');
      assert.equal(h.shape, [2, 2, 3]);
      assert.equal(Array.from(h.dataSync()), [0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 1, 0]);
      const one = tg.oneHot([0, 0], 1);
      assert.equal(Array.from(one.dataSync()), [1, 1]);
      tg.dispose([idx, h, one]);
    });
  });

  s("scatterAlongAxis 'none' refuses a place written twice; 'sum' adds them", () => {
    const x = tg.zeros([2, 3]);
    const v = tg.tensor([
      [1, 2],
      [3, 4],
    ]);
    const idx = ints([0, 0, 2, 1], [2, 2]);
    assertThrows(
      () => tg.scatterAlongAxis(x, idx, v, 1),
      /scatterAlongAxis: indices at positions \[0,0\] and \[0,1\] both write \[0,0\] of x/,
    );
    const summed = tg.scatterAlongAxis(x, idx, v, 1, { reduce: 'sum' });
    assert.equal(summed.arraySync(), [
      [3, 0, 0],
      [0, 4, 3],
    ]);
    // on another line the same index is a different place
    const rows = tg.scatterAlongAxis(x, ints([1, 1], [2, 1]), tg.tensor([[5], [6]]), 1);
    assert.equal(rows.arraySync(), [
      [0, 5, 0],
      [0, 6, 0],
    ]);
    tg.dispose([x, v, idx, summed, rows]);
  });

  s("scatterAlongAxis 'none': x gets no gradient where it was overwritten, values the gathered one", () => {
    const x = tg.tensor([1, 2, 3], { requiresGrad: true });
    const v = tg.tensor([10, 20], { requiresGrad: true });
    tg.tidy(() =>
      tg
        .scatterAlongAxis(x, ints([2, 0]), v, 0)
        .mul(tg.tensor([1, 2, 3]))
        .sum()
        .backward(),
    );
    assert.equal(Array.from(x.grad!.dataSync()), [0, 2, 0]);
    assert.equal(Array.from(v.grad!.dataSync()), [3, 1]);
    tg.dispose([x.grad!, v.grad!, x, v]);
  });

  s('einsum: implicit outputs are the letters seen once, alphabetically (upper case first), after the ... axes', () => {
    const a = tg.randn([2, 3], { seed: 1 });
    const b = tg.randn([3, 4], { seed: 2 });
    const c = tg.randn([5, 2, 3], { seed: 3 });
    assert.equal(tg.einsum('jb,ja', b.transpose(), tg.randn([4, 5], { seed: 4 })).shape, [5, 3]);
    assert.equal(tg.einsum('ij,jk', a, b).shape, [2, 4]);
    assert.equal(tg.einsum('kj,ji', b.transpose(), a.transpose()).shape, [2, 4]);
    assert.equal(tg.einsum('aB', a).shape, [3, 2]);
    assert.equal(tg.einsum('...ij->j', c).shape, [3]);
    assert.equal(tg.einsum('i...j', c).shape, [2, 5, 3]);
    assertClose(tg.einsum('ij,jk', a, b), tg.matmul(a, b));
    // spaces are ignored; operands may come as one array
    assertClose(tg.einsum(' i j , j k -> i k ', [a, b]), tg.matmul(a, b));
    assertClose(tg.einsum('ba,ab', a.transpose(), a), a.square().sum());
  });

  s('einsum: repeated letters take diagonals; a ... axis or a letter of length 1 broadcasts', () => {
    const A = tg.arange(0, 27).reshape([3, 3, 3]);
    assertClose(tg.einsum('iii', A), 0 + 13 + 26);
    assertClose(tg.einsum('iij->j', A), [0 + 12 + 24, 1 + 13 + 25, 2 + 14 + 26]);
    assertClose(tg.einsum('bii->bi', A), tg.diagonal(A));
    const x = tg.randn([2, 1, 3], { seed: 5 });
    const y = tg.randn([4, 3], { seed: 6 });
    const out = tg.einsum('...i,...i->...', x, y);
    assert.equal(out.shape, [2, 4]);
    assertClose(out, x.mul(y).sum({ axis: -1 }));
    assertClose(tg.einsum('ij,jk->ik', tg.ones([2, 1]), tg.ones([3, 4])), tg.full([2, 4], 3));
  });

  s('einsum: empty axes give zeros (a sum of nothing), and the gradient through them too', () => {
    const a = tg.zeros([2, 0], { requiresGrad: true });
    const b = tg.zeros([0, 3], { requiresGrad: true });
    const c = tg.tidy(() => {
      const out = tg.einsum('ij,jk->ik', a, b);
      out.sum().backward();
      return out;
    });
    assert.equal(c.shape, [2, 3]);
    assert.equal(Array.from(c.dataSync()), [0, 0, 0, 0, 0, 0]);
    assert.equal(a.grad!.shape, [2, 0]);
    tg.dispose([a, b, c, a.grad!, b.grad!]);
  });

  s("einsum's forward is a matmul, not an outer product: its peak memory stays near its operands'", async () => {
    const n = 64;
    const a = tg.randn([n, n], { seed: 1 });
    const b = tg.randn([n, n], { seed: 2 });
    const start = tf.memory().numBytes;
    const info = await tf.profile(() => tg.einsum('ij,jk->ik', a, b).dispose());
    // the outer product a_ij b_jk alone would take n³ floats (1 MiB); a matmul's copies take a few n²
    const extra = info.peakBytes - start;
    assert.ok(extra < (n * n * n * 4) / 4, `${extra} bytes at the peak beyond the operands`);
    tg.dispose([a, b]);
  });

  s('einsum: a trace and a diagonal of second order (the adjoint places g on the diagonal)', async () => {
    const A = tg.randn([3, 3], { seed: 7 });
    const f = (x: tg.Tensor) => tg.einsum('ii->i', x.square()).mul(tg.einsum('ii', x));
    assert.ok((await tg.gradgradcheck(f, [A])).ok);
    A.dispose();
  });

  s('a single public call: disposing the output and the gradients frees everything', () => {
    const calls: [string, (x: tg.Tensor, v: tg.Tensor) => tg.Tensor][] = [
      ['flip', (x) => x.flip(0)],
      ['roll without axes', (x) => x.roll(2)],
      ['roll', (x) => tg.roll(x, [1, 1], [0, 1])],
      ['tril', (x) => x.tril()],
      ['triu', (x) => x.triu(1)],
      ['diag of a vector', (_x, v) => tg.diag(v, 1)],
      ['diag of a matrix', (x) => x.diag()],
      ['diagonal', (x) => x.diagonal({ offset: 1 })],
      ['swapAxes', (x) => x.swapAxes(0, 1)],
      ['takeAlongAxis', (x) => tg.takeAlongAxis(x, tg.tensor([[1], [0]], { dtype: 'int32' }), 1)],
      [
        'scatterAlongAxis',
        (x, v) => tg.scatterAlongAxis(x, tg.tensor([[2, 0]], { dtype: 'int32' }), v.reshape([1, 2]), 1),
      ],
      [
        'scatterAlongAxis with larger values',
        (x) => x.scatterAlongAxis(tg.tensor([[0], [1]], { dtype: 'int32' }), x, 1),
      ],
      ['einsum trace', (x) => tg.einsum('ii', tg.slice(x, [0, 0], [2, 2]))],
      ['einsum', (x, v) => tg.einsum('ij,k->ijk', x, v)],
    ];
    for (const [label, f] of calls) {
      const x = tg.tensor(
        [
          [0.3, -1.2, 0.7],
          [1.1, 0.4, -0.6],
        ],
        { requiresGrad: true },
      );
      const v = tg.tensor([0.5, -2], { requiresGrad: true });
      const before = tg.memory();
      const out = tg.tidy(() => {
        const o = f(x, v);
        o.backward(tg.onesLike(o));
        return o;
      });
      out.dispose();
      for (const t of [x, v]) {
        t.grad?.dispose();
        t.grad = null;
      }
      const after = tg.memory();
      assert.is(after.numTensors, before.numTensors, `${label}: ${after.numTensors - before.numTensors} tensors left`);
      tg.dispose([x, v]);
    }
  });

  s.run();
}
