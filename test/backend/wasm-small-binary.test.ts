// The loops that replace wasm's Add, Sub, Multiply and RealDiv on small float32 operands
// (src/backend/wasm-small-binary.ts), in SIMD and in JavaScript, give bit for bit what TF.js's own
// kernels give, on every form they take (same shape, a single value on either side, ranks that
// differ, lengths not a multiple of 4) and on special values, and leave larger or other operands to
// TF.js.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../../src/index.js';
import { setSimdSmallBinary, SMALL_BINARY_MAX } from '../../src/backend/wasm-small-binary.js';
import { originalWasmKernel } from '../../src/backend/kernel-replacement.js';
import { rng } from '../../src/random.js';
import { assertSameBitsAsTfjs } from '../helpers.js';

const NAMES = ['Add', 'Sub', 'Multiply', 'RealDiv'] as const;
const SPECIAL = [0, -0, 1, -1, Infinity, -Infinity, NaN, 3.4e38, -3.4e38, 1e-45, 1.17549435e-38, 0.1, 1 / 3];

function data(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, (_, i) =>
    i < SPECIAL.length && seed % 2
      ? SPECIAL[(i + seed) % SPECIAL.length]
      : (r.uniform() - 0.5) * 10 ** (r.uniform() * 8 - 4),
  );
}

/** TF.js's own wasm kernel on the same operands. */
function raw(name: (typeof NAMES)[number], a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const backend = tf.backend();
  const info = originalWasmKernel(name)!({ inputs: { a, b }, backend, attrs: {} }) as tf.TensorInfo;
  return tf.engine().makeTensorFromTensorInfo(info);
}

test.before(async () => {
  await tg.setBackend('wasm');
});

const FORMS: [string, number[], number[]][] = [
  ['same shape', [3, 17], [3, 17]],
  ['a scalar right', [5, 7], []],
  ['a scalar left', [], [40]],
  ['[1] against [1, 1, 1]', [1], [1, 1, 1]],
  ['[1, 1] against []', [1, 1], []],
  ['the largest looped size', [SMALL_BINARY_MAX], [SMALL_BINARY_MAX]],
  ['one past it (TF.js)', [SMALL_BINARY_MAX + 1], []],
  ['a broadcast row (TF.js)', [4, 6], [6]],
];

for (const name of NAMES)
  for (const simd of [true, false]) {
    test(`${name}: the same bits as TF.js's kernel, on every form (${simd ? 'SIMD' : 'JavaScript'})`, () => {
      setSimdSmallBinary(simd);
      FORMS.forEach(([form, sa, sb], k) => {
        tf.tidy(() => {
          const a = tf.tensor(
            data(
              sa.reduce((x, y) => x * y, 1),
              2 * k + 1,
            ),
            sa,
          );
          const b = tf.tensor(
            data(
              sb.reduce((x, y) => x * y, 1),
              2 * k + 2,
            ),
            sb,
          );
          const op = { Add: tf.add, Sub: tf.sub, Multiply: tf.mul, RealDiv: tf.div }[name];
          const got = op(a, b);
          const want = raw(name, a, b);
          assert.equal(got.shape, want.shape, `${form}: shape`);
          assertSameBitsAsTfjs(got.dataSync() as Float32Array, want.dataSync() as Float32Array, `${name} ${form}`);
          return undefined as unknown as tf.Tensor;
        });
      });
      setSimdSmallBinary(true);
    });
  }

test('int32 operands keep TF.js integer arithmetic', () => {
  tf.tidy(() => {
    const a = tf.tensor([7, -7, 9], [3], 'int32');
    const b = tf.tensor([2, 2, -4], [3], 'int32');
    assert.equal(Array.from(tf.add(a, b).dataSync()), [9, -5, 5]);
    assert.is(tf.mul(a, b).dtype, 'int32');
    return undefined as unknown as tf.Tensor;
  });
});

test.run();
