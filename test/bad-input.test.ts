// Bad input gets a TapegradError that names the function and the shapes or values involved —
// never a NaN, a silently wrong shape, or a bare TF.js message.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../src/index.js';
import { NODE_BACKENDS, assertNoLeak, assertThrows } from './helpers.js';

for (const backend of NODE_BACKENDS) {
  const s = suite(`bad input on ${backend}`);
  s.before(async () => {
    await tg.setBackend(backend);
  });

  s('mismatched shapes name the op and both shapes', () => {
    const a = tg.ones([2, 3]);
    const b = tg.ones([4, 5]);
    const c = tg.ones([3, 2]);
    assertThrows(() => tg.matmul(a, b), /^matmul: inner dimensions differ: \[2,3\] x \[4,5\]$/, 'matmul');
    assertThrows(() => a.matmul(a), /^matmul: inner dimensions differ: \[2,3\] x \[2,3\]$/, 'matmul method');
    assertThrows(() => tg.add(a, c), /^add: shapes \[2,3\] and \[3,2\] cannot be broadcast together$/, 'add');
    assertThrows(() => a.mul(b), /^mul: shapes \[2,3\] and \[4,5\] cannot be broadcast together$/, 'mul');
    assertThrows(
      () => tg.matmul(tg.ones([2, 2, 3]), tg.ones([3, 3, 2])),
      /matmul: batch dimensions cannot be broadcast: \[2,2,3\] x \[3,3,2\]/,
      'batch',
    );
    assertThrows(() => tg.concat([a, c]), /concat: shapes \[2,3\], \[3,2\] differ outside axis 0/, 'concat');
    assertThrows(() => tg.stack([a, c]), /stack: shapes differ: \[2,3\], \[3,2\]/, 'stack');
    assertThrows(() => tg.reshape(a, [4, 2]), /reshape: cannot reshape \[2,3\] \(6 values\) to \[4,2\]/, 'reshape');
    assertThrows(() => tg.mseLoss(a, c), /mseLoss: input \[2,3\] and target \[3,2\] differ in shape/, 'mseLoss');
    assertThrows(() => tg.dot(tg.ones([2]), tg.ones([3])), /dot: vector lengths differ: \[2\] · \[3\]/, 'dot');
    assertThrows(() => tg.sum(a, { axis: 2 }), /sum: axis 2 is out of range for a tensor of rank 2/, 'axis');
    assertThrows(
      () => tg.gather(a, [0, 2]),
      /gather: index 2 at position 1 is out of range \[0, 2\) for axis 0 of \[2,3\]/,
      'gather',
    );
    assertThrows(
      () => tg.crossEntropy(a, tg.tensor([0, 3], { dtype: 'int32' })),
      /crossEntropy: class index 3 at position 1 is out of range \[0, 3\)/,
      'crossEntropy',
    );
    assertThrows(
      () => tg.slice(a, [1, 1], [2, 1]),
      /slice: begin \[1,1\] and size \[2,1\] do not fit in \[2,3\]/,
      'slice',
    );
    tg.dispose([a, b, c]);
  });

  s('a failed op leaves nothing behind (numbers made into constants included)', () => {
    const a = tg.ones([2, 3]);
    const v = tg.ones([3]);
    assertNoLeak(
      () => assertThrows(() => tg.matmul(v, a), /matmul: inner dimensions differ: \[3\] x \[2,3\]/),
      'matmul with a vector',
    );
    const c = tg.tensor([true, false], { dtype: 'bool' });
    assertNoLeak(
      () => assertThrows(() => tg.where(c, a, 1), /where: shapes \[2\] and \[2,3\] cannot be broadcast together/),
      'where with a number',
    );
    c.dispose();
    assertNoLeak(() => assertThrows(() => tg.gather(a, [5]), /gather: index 5/), 'gather with an array');
    tg.dispose([a, v]);
  });

  s('backward() on a non-scalar without a seed; a seed of the wrong shape', () => {
    const x = tg.tensor([1, 2], { requiresGrad: true });
    const y = x.mul(2);
    assertThrows(() => y.backward(), /^backward: a seed gradient is needed for a non-scalar output of shape \[2\]/);
    const bad = tg.ones([3]);
    assertThrows(
      () => y.backward(bad),
      /backward: the seed \(float32 \[3\]\) must be float32 with the output's shape \[2\]/,
    );
    const c = tg.tensor([1, 2]);
    assertThrows(() => c.sum().backward(), /backward: the tensor does not require grad and has no graph/);
    tg.dispose([x, y, bad, c]);
  });

  s('a second backward() without retainGraph', () => {
    const x = tg.tensor([1, 2], { requiresGrad: true });
    const y = x.exp().sum();
    y.backward();
    assertThrows(
      () => y.backward(),
      /backward: the graph through 'sum' was freed by an earlier backward\(\); pass \{ retainGraph: true \}/,
    );
    tg.dispose([x, x.grad, y]);
  });

  s('grad() of a function that does not return a scalar, or not a Tensor; bad argnums', () => {
    const x = tg.tensor([1, 2]);
    assertThrows(
      () => tg.grad((t: tg.Tensor) => t.mul(2))(x),
      /^grad: the function must return a scalar, got shape \[2\]/,
    );
    assertThrows(() => tg.grad((() => 3) as any)(x), /grad: the function must return a Tensor, got number 3/);
    assertThrows(() => tg.grad((t: tg.Tensor) => t.sum(), 2)(x), /grad: argnums 2 out of range for 1 arguments/);
    assertThrows(
      () => tg.grad((t: tg.Tensor) => t.sum())([1, 2] as any),
      /grad: argument 0 must be a Tensor or a number to differentiate, got an array/,
    );
    assertThrows(
      () => tg.valueAndGrad((t: tg.Tensor) => t)(x),
      /valueAndGrad: the function must return a scalar, got shape \[2\]/,
    );
    x.dispose();
  });

  s('ragged and non-numeric arrays to tensor()', () => {
    assertThrows(() => tg.tensor([[1, 2], [3]]), /^tensor: ragged array: element \[1\] has length 1, expected 2$/);
    assertThrows(
      () => tg.tensor([[1, 2], 3] as any),
      /tensor: ragged array: element \[1\] is number, expected an array of length 2/,
    );
    assertThrows(
      () =>
        tg.tensor([
          [1, [2]],
          [3, 4],
        ] as any),
      /tensor: ragged array: element \[0,1\] is an array, expected a number/,
    );
    assertThrows(() => tg.tensor([1, 'a', 3] as any), /tensor: non-numeric value "a" at \[1\]/);
    assertThrows(() => tg.tensor([1, null, 3] as any), /tensor: non-numeric value null at \[1\]/);
    assertThrows(
      () => tg.tensor([1, 2, 3], { shape: [2, 2] }),
      /tensor: shape \[2,2\] holds 4 values, but 3 were given/,
    );
    assertThrows(() => tg.tensor([1], { dtype: 'float64' as any }), /tensor: unknown dtype 'float64'/);
    assertThrows(() => tg.zeros([2, -1]), /zeros: shape must be an array of non-negative integers/);
  });

  s('a disposed tensor used again: in an op, in backward, reading it', () => {
    const x = tg.tensor([1, 2], { requiresGrad: true });
    const gone = tg.tensor([3, 4]);
    gone.dispose();
    assertThrows(() => x.add(gone), /^add: input 1 \(shape \[2\]\) has been disposed$/);
    assertThrows(() => gone.exp(), /^exp: the input \(shape \[2\]\) has been disposed$/);
    assertThrows(() => gone.dataSync(), /dataSync: the tensor \(shape \[2\]\) has been disposed/);
    // an intermediate that backward needs, freed too early
    const y = x.exp();
    const z = y.sum();
    y.dispose();
    assertThrows(
      () => z.backward(),
      /backward: a tensor saved for the gradient of 'exp' \(shape \[2\]\) was disposed before backward\(\)/,
    );
    // the root itself
    const w = x.mul(2).sum();
    w.dispose();
    assertThrows(() => w.backward(), /backward: the tensor \(shape \[\]\) has been disposed/);
    tg.dispose([x, z]);
  });

  s('wrong kinds of argument', () => {
    const x = tg.tensor([1, 2]);
    assertThrows(
      () => tg.exp([1, 2] as any),
      /exp: the input must be a tapegrad Tensor, got an array \(wrap it with tg.tensor\)/,
    );
    assertThrows(() => tg.add(x, '1' as any), /add: expected a Tensor or a number, got string/);
    assertThrows(() => tg.where(x as any, x, x), /where: the condition must be a bool tensor, got float32/);
    assertThrows(() => tg.add(x, tg.tensor([1, 2], { dtype: 'int32' })), /add: dtypes differ: float32 and int32/);
    assertThrows(() => tg.clip(x, 1, 0), /clip: lo \(1\) must not exceed hi \(0\)/);
    assertThrows(
      () => tg.variance(tg.ones([1]), { correction: 1 }),
      /variance: needs more than 1 entries per reduced slice, got 1/,
    );
    assertThrows(() => tg.customOp({} as any), /customOp: needs \{ name, forward, vjp \}/);
    x.dispose();
  });
  s.run();
}

const b = suite('backends');
b('an unknown backend name lists the available ones', async () => {
  let msg = '';
  try {
    await tg.setBackend('gpu' as tg.BackendName);
  } catch (e) {
    assert.instance(e, tg.TapegradError);
    msg = (e as Error).message;
  }
  assert.match(msg, /^setBackend: unknown backend 'gpu'; (available|known): wasm, cpu, webgl, webgpu, tensorflow/);
});
b('setBackend / getBackend switch between cpu and wasm', async () => {
  await tg.setBackend('cpu');
  assert.is(tg.getBackend(), 'cpu');
  await tg.setBackend('wasm');
  assert.is(tg.getBackend(), 'wasm');
});
b.run();

const leak = suite('a failed backward leaves nothing behind');
leak('an intermediate disposed too early: the error, and no gradient left over', () => {
  const x = tg.tensor([1, 2], { requiresGrad: true });
  const y = x.exp();
  const z = y.mul(2).sum();
  y.dispose();
  const before = tg.memory().numTensors;
  assertThrows(() => z.backward(), /backward: a tensor saved for the gradient of 'exp'/);
  assert.is(tg.memory().numTensors, before);
  assert.is(x.grad, null);
  tg.dispose([x, z]);
});
leak.run();

const moved = suite('parameters changed between forward and backward');
moved('backward after a parameter got new values is an error, not a wrong gradient', () => {
  const w = tg.tensor([1, 2], { requiresGrad: true });
  const loss = w.square().sum();
  // what an optimizer step does: the parameter gets a new value
  const old = w.value;
  w.value = tg.tensor([5, 5]).value;
  assertThrows(
    () => loss.backward(),
    /backward: input 0 of 'square' \(shape \[2\]\) was given new values after the forward pass/,
  );
  old.dispose();
  tg.dispose([w, loss]);
});
moved.run();
