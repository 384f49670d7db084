// The SIMD loop that replaces wasm's Relu on large float32 tensors (src/backend/wasm-relu.ts),
// on one thread and shared with the helper thread, gives bit for bit what TF.js's own kernel gives,
// on lengths that are and are not a multiple of 4 and on special values (NaN, ±0, ±∞, subnormals of
// either sign); smaller and int32 tensors still go to TF.js's kernel; nothing leaks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../../src/index.js';
import { RELU_SHARE_MIN, setSimdRelu } from '../../src/backend/wasm-relu.js';
import { originalWasmKernel } from '../../src/backend/kernel-replacement.js';
import { setHelperThread } from '../../kernels/helper-thread.js';
import { assertNoLeak, assertSameBitsAsTfjs, randomValues, withHelperChunks } from '../helpers.js';

const SPECIAL = [Number.NaN, 0, -0, Infinity, -Infinity, 1e-45, -1e-45, 3.4e38, -3.4e38];

/** TF.js's own wasm kernel. */
function raw(x: tf.Tensor): Float32Array {
  const info = originalWasmKernel('Relu')!({ inputs: { x }, backend: tf.backend(), attrs: {} }) as tf.TensorInfo;
  const t = tf.engine().makeTensorFromTensorInfo(info);
  const values = t.dataSync() as Float32Array;
  t.dispose();
  return values;
}

/** relu(x), its output likely in a block of the heap just freed holding 7s (an entry left unwritten shows). */
const relu = (x: tf.Tensor) =>
  tf.tidy(() => {
    tf.fill(x.shape, 7).dispose();
    return tf.relu(x).dataSync() as Float32Array;
  });

test("large relus: TF.js's bits, on one thread and shared with the helper thread", async () => {
  await tg.setBackend('wasm');
  for (const n of [RELU_SHARE_MIN, RELU_SHARE_MIN + 3, 4 * RELU_SHARE_MIN + 1]) {
    const x = tf.tensor(randomValues(n, n, SPECIAL));
    const want = raw(x);
    const shared = await withHelperChunks(() => relu(x), `n = ${n}`);
    assertSameBitsAsTfjs(shared, want, `n = ${n}, shared`);
    setHelperThread(false);
    assertSameBitsAsTfjs(relu(x), want, `n = ${n}, one thread`);
    setHelperThread(true);
    assertNoLeak(() => tf.relu(x).dispose());
    tf.dispose(x);
  }
});

test("small and int32 relus, and the loop switched off: TF.js's kernel", async () => {
  await tg.setBackend('wasm');
  const small = tf.tensor(randomValues(1003, 1, SPECIAL));
  assertSameBitsAsTfjs(relu(small), raw(small), 'small');
  const ints = tf.tensor([-3, 0, 5, -1], [4], 'int32');
  assert.equal(Array.from(tf.relu(ints).dataSync()), [0, 0, 5, 0]);
  const large = tf.tensor(randomValues(RELU_SHARE_MIN + 1, 2, SPECIAL));
  setSimdRelu(false);
  try {
    assertSameBitsAsTfjs(relu(large), raw(large), 'switched off');
  } finally {
    setSimdRelu(true);
  }
  tf.dispose([small, ints, large]);
});

test.run();
