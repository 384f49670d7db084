// Dtype promotion (src/dtypes.ts) as PyTorch 1.13's result_type: tg.promoteTypes and tg.resultType
// against torch.promote_types and torch.result_type (their values written below, as PyTorch gives
// them, int64 read as tapegrad's int32); gradients through ops of mixed operands reach only the
// float32 ones, as in PyTorch, and agree with finite differences; memory returns to its start. The
// ops' dtypes and values for every pair are the survey's (test/reference/ops-bool.test.ts).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../src/index.js';
import { NODE_BACKENDS, assertClose, assertNoLeak, assertThrows } from './helpers.js';

const table = suite('promoteTypes and resultType as torch.promote_types and torch.result_type');

table('promoteTypes: bool < int32 < float32, in either order', () => {
  const want: [tg.DType, tg.DType, tg.DType][] = [
    ['bool', 'bool', 'bool'],
    ['bool', 'int32', 'int32'],
    ['bool', 'float32', 'float32'],
    ['int32', 'int32', 'int32'],
    ['int32', 'float32', 'float32'],
    ['float32', 'float32', 'float32'],
  ];
  for (const [a, b, r] of want) {
    assert.is(tg.promoteTypes(a, b), r, `${a}, ${b}`);
    assert.is(tg.promoteTypes(b, a), r, `${b}, ${a}`);
  }
  assertThrows(() => tg.promoteTypes('float16' as tg.DType, 'bool'), /^promoteTypes: unknown dtype "float16"/);
});

table('resultType: a number counts as an integer or a float scalar', () => {
  const b = tg.tensor([1], { dtype: 'bool' });
  const i = tg.tensor([1], { dtype: 'int32' });
  const f = tg.tensor([1]);
  const cases: [tg.TensorLike, tg.TensorLike, tg.DType][] = [
    [b, 2, 'int32'], // torch: int64
    [b, 2.5, 'float32'],
    [i, 2, 'int32'],
    [i, 2.5, 'float32'],
    [f, 2, 'float32'],
    [2, 2.5, 'float32'],
    [2, 3, 'int32'], // torch: int64
    [b, b, 'bool'],
    [i, b, 'int32'],
    [Number.NaN, i, 'float32'],
    [Number.POSITIVE_INFINITY, b, 'float32'],
    [i, f, 'float32'],
  ];
  for (const [x, y, r] of cases) assert.is(tg.resultType(x, y), r, `${String(x)}, ${String(y)}`);
  tg.dispose([b, i, f]);
});

for (const backend of NODE_BACKENDS) {
  const s = suite(`gradients through operands of mixed dtypes on ${backend}`);
  s.before(async () => {
    await tg.setBackend(backend);
  });

  s('only float32 operands receive a gradient; the others are read as their values', () => {
    const x = tg.tensor([0.5, -1.5, 2], { requiresGrad: true });
    const i = tg.tensor([2, 1, 3], { dtype: 'int32' });
    const m = tg.tensor([1, 0, 1], { dtype: 'bool' });
    const c = tg.tensor([1, 0, 0], { dtype: 'bool' });
    assertNoLeak(() => {
      // d/dx Σ(x·i + x·m + x^i + max(x, m) + where(c, x, i)) = i + m + i x^(i−1) + [x > m] + ½[x = m] + c
      tg.tidy(() =>
        tg
          .add(tg.add(tg.add(tg.mul(x, i), tg.mul(m, x)), tg.add(tg.pow(x, i), tg.maximum(x, m))), tg.where(c, x, i))
          .sum()
          .backward(),
      );
      assert.is(i.grad, null, 'the int32 operand has no gradient');
      assert.is(m.grad, null, 'the bool operand has no gradient');
      const xs = [0.5, -1.5, 2];
      const is = [2, 1, 3];
      const ms = [1, 0, 1];
      const cs = [1, 0, 0];
      const want = xs.map(
        (v, k) => is[k] + ms[k] + is[k] * v ** (is[k] - 1) + (v > ms[k] ? 1 : v === ms[k] ? 0.5 : 0) + cs[k],
      );
      assertClose(x.grad!, want);
      x.grad!.dispose();
      x.grad = null;
    }, 'a backward through mixed operands');
    tg.dispose([x, i, m, c]);
  });

  s('concat and stack of float32 and int32 parts: the gradient reaches the float32 part', () => {
    const x = tg.tensor([0.5, 2], { requiresGrad: true });
    const i = tg.tensor([3, 4], { dtype: 'int32' });
    assertNoLeak(() => {
      tg.tidy(() => {
        const w = tg.tensor([1, 2, 3, 4]);
        tg.concat([x, i]).mul(w).sum().backward();
        tg.stack([i, x]).reshape([4]).mul(w).sum().backward();
      });
      assertClose(x.grad!, [1 + 3, 2 + 4]);
      x.grad!.dispose();
      x.grad = null;
    }, 'concat and stack');
    tg.dispose([x, i]);
  });

  s('gradcheck through ops with an int32 and a bool operand', async () => {
    const i = tg.tensor([2, 1, 3], { dtype: 'int32' });
    const m = tg.tensor([1, 0, 1], { dtype: 'bool' });
    const x = tg.tensor([0.7, 1.3, 0.4]);
    const before = tg.memory().numTensors;
    const f = (t: tg.Tensor) =>
      tg.add(tg.div(tg.mul(t, i), tg.add(m, 2)), tg.atan2(t, tg.add(i, 1))).add(tg.pow(t, tg.add(m, 1)));
    const report = await tg.gradcheck(f, [x]);
    assert.ok(report.ok, JSON.stringify(report));
    assert.is(tg.memory().numTensors, before, 'gradcheck left nothing behind');
    tg.dispose([i, m, x]);
  });

  s('a result in int32 or bool does not require grad; what PyTorch refuses is refused', () => {
    const x = tg.tensor([0.5, 2], { requiresGrad: true });
    const i = tg.tensor([1, 2], { dtype: 'int32' });
    const m = tg.tensor([1, 0], { dtype: 'bool' });
    assertNoLeak(() => {
      const y = tg.add(i, m);
      assert.is(y.dtype, 'int32');
      assert.is(y.requiresGrad, false);
      const z = tg.greater(x, i);
      assert.is(z.dtype, 'bool');
      assert.is(z.requiresGrad, false);
      tg.dispose([y, z]);
      assertThrows(() => tg.sub(x, m), /^sub: a bool tensor is not supported, as in PyTorch; to invert a mask/);
      assertThrows(() => tg.sub(m, i), /^sub: a bool tensor is not supported/);
      assertThrows(() => tg.pow(i, -1), /^pow: an int32 tensor to a negative power \(-1\)/);
      assertThrows(() => tg.matmul(x, i), /^matmul: dtypes differ: float32 and int32/);
    }, 'results and refusals');
    tg.dispose([x, i, m]);
  });

  s.run();
}
table.run();
