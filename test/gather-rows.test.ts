// wasm's GatherV2 as copies of runs (kernels/gather-rows.ts) gives TF.js's kernel's values: float32 and
// int32 tables, every axis of rank 1 to 4, indices of rank 0 to 2 with repeats, empty indices, and
// an index out of range left to TF.js's kernel (which refuses it).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../src/index.js';
import { setGatherRows } from '../kernels/gather-rows.js';
import { assertNoLeak } from './helpers.js';

/** tf.gather with the copying kernel and with TF.js's. */
function both(x: tf.Tensor, idx: tf.Tensor, axis: number): [tf.TypedArray, tf.TypedArray] {
  const run = (on: boolean) => {
    setGatherRows(on);
    try {
      return tf.tidy(() => {
        const y = tf.gather(x, idx, axis);
        return [y.dataSync(), y.shape] as const;
      });
    } finally {
      setGatherRows(true);
    }
  };
  const [a, shapeA] = run(true);
  const [b, shapeB] = run(false);
  assert.equal(shapeA, shapeB, 'shapes');
  return [a, b];
}

test('gathers along every axis: the same values as TF.js kernel', async () => {
  await tg.setBackend('wasm');
  const shapes = [[7], [5, 3], [4, 3, 2], [3, 2, 4, 5]];
  for (const shape of shapes)
    for (const dtype of ['float32', 'int32'] as const) {
      const n = shape.reduce((a, b) => a * b, 1);
      const x = tf.tensor(
        Array.from({ length: n }, (_, i) => (dtype === 'int32' ? i * 3 - 7 : Math.sin(i) * 10)),
        shape,
        dtype,
      );
      for (let axis = 0; axis < shape.length; axis++) {
        const len = shape[axis];
        for (const idx of [
          tf.scalar(len - 1, 'int32'),
          tf.tensor1d([0, len - 1, 0, 1 % len], 'int32'),
          tf.tensor2d(
            [
              [len - 1, 0, 0],
              [0, 0, len - 1],
            ],
            [2, 3],
            'int32',
          ),
          tf.tensor1d([], 'int32'),
        ]) {
          const [got, want] = both(x, idx, axis);
          assert.equal(Array.from(got), Array.from(want), `[${shape}] ${dtype}, axis ${axis}, indices [${idx.shape}]`);
          assertNoLeak(() => tf.gather(x, idx, axis).dispose());
          idx.dispose();
        }
      }
      x.dispose();
    }
});

test('an index out of range is left to TF.js kernel, which refuses it', async () => {
  await tg.setBackend('wasm');
  const x = tf.tensor2d([1, 2, 3, 4], [2, 2]);
  const idx = tf.tensor1d([0, 5], 'int32');
  for (const on of [true, false]) {
    setGatherRows(on);
    try {
      assert.throws(() => tf.gather(x, idx, 0), /GatherV2: the index value 5 is not in \[0, 1\]/);
    } finally {
      setGatherRows(true);
    }
  }
  tf.dispose([x, idx]);
});

test.run();
