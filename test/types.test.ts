// The transforms' result types: grad, valueAndGrad and jacobian give a Tensor for one argnum and
// one Tensor per entry of an argnums array (a tuple for a tuple), never `any`. The assertions are
// checked by the typecheck (tsc, part of npm test); the suite also runs them, so that the types
// describe what the functions return.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../src/index.js';

/** true when A and B are the same type (`any` equals only `any`). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const expectType = <T extends true>(_ok?: T) => {};

const f = (x: tg.Tensor, y: tg.Tensor) => tg.mul(x, y).sum();

test('grad: a Tensor for one argnum, a tuple for a tuple, an array for an array', () => {
  const x = tg.tensor([1, 2]);
  const y = tg.tensor([3, 4]);
  const g0 = tg.grad(f)(x, y);
  const g1 = tg.grad(f, 1)(x, y);
  const both = tg.grad(f, [0, 1])(x, y);
  const nums: number[] = [1];
  const some = tg.grad(f, nums)(x, y);
  expectType<Equal<typeof g0, tg.Tensor>>();
  expectType<Equal<typeof g1, tg.Tensor>>();
  expectType<Equal<typeof both, [tg.Tensor, tg.Tensor]>>();
  expectType<Equal<typeof some, tg.Tensor[]>>();
  // @ts-expect-error a gradient is a Tensor, not a string (with `any` this would compile)
  const wrong: string = g0;
  void wrong;
  assert.instance(g0, tg.Tensor);
  assert.equal(Array.from(g1.dataSync()), [1, 2]);
  assert.is(both.length, 2);
  assert.equal(Array.from(both[1].dataSync()), [1, 2]);
  assert.is(some.length, 1);
  tg.dispose([x, y, g0, g1, ...both, ...some]);
});

test('valueAndGrad: the value is a Tensor, grad shaped as grad() gives it', () => {
  const x = tg.tensor([1, 2]);
  const y = tg.tensor([3, 4]);
  const one = tg.valueAndGrad(f)(x, y);
  const two = tg.valueAndGrad(f, [1, 0])(x, y);
  expectType<Equal<typeof one, { value: tg.Tensor; grad: tg.Tensor }>>();
  expectType<Equal<typeof two, { value: tg.Tensor; grad: [tg.Tensor, tg.Tensor] }>>();
  // @ts-expect-error grad is one Tensor for a single argnum: it has no second entry
  void one.grad[1];
  assert.equal(Array.from(two.grad[0].dataSync()), [1, 2]);
  tg.dispose([x, y, one.value, one.grad, two.value, ...two.grad]);
});

test('jacobian: a Tensor for one argnum, a tuple for a tuple', () => {
  const x = tg.tensor([1, 2]);
  const y = tg.tensor([3, 4]);
  const h = (a: tg.Tensor, b: tg.Tensor) => tg.mul(a, b);
  const j = tg.jacobian(h)(x, y);
  const js = tg.jacobian(h, [0, 1])(x, y);
  expectType<Equal<typeof j, tg.Tensor>>();
  expectType<Equal<typeof js, [tg.Tensor, tg.Tensor]>>();
  assert.equal(j.shape, [2, 2]);
  assert.equal(js[1].shape, [2, 2]);
  tg.dispose([x, y, j, ...js]);
});

test.run();
