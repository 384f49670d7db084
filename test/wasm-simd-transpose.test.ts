// wasm's Transpose as SIMD copies (kernels/wasm-simd-transpose.ts) gives TF.js's kernel's bits: every
// permutation of ranks 1 to 4 on sizes that are and are not multiples of 4, axes of size 1 among
// them, every permutation of rank 5, attention's head split and merge, its fused projection's split
// and the last-two swap, long rows, float32 with signed zeros, infinities and NaNs of several
// payloads, int32, and rank 6 (beyond what the copies take, left to TF.js); and the reduction of a
// permutation to its copy.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../src/index.js';
import { setSimdTranspose, transposePlan } from '../kernels/wasm-simd-transpose.js';
import { assertNoLeak } from './helpers.js';

/** Every permutation of 0 … n − 1. */
function permutations(n: number): number[][] {
  if (n === 0) return [[]];
  return permutations(n - 1).flatMap((p) =>
    Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)]),
  );
}

/** float32 entries with special values spread among them, as bits (NaN payloads included). */
function specialBits(n: number, seed: number): Int32Array {
  const bits = new Int32Array(n);
  const f = new Float32Array(bits.buffer);
  for (let i = 0; i < n; i++) f[i] = Math.sin(i * 12.9898 + seed) * 100;
  const specials = [0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0x7fa12345, 0xffc00001, 0x00000001];
  specials.forEach((s, k) => {
    if (n) bits[(k * 7919 + seed) % n] = s | 0;
  });
  return bits;
}

/** The transpose's bits with the SIMD copies and with TF.js's kernel. */
function both(x: tf.Tensor, perm: number[]): [Int32Array, Int32Array] {
  const run = (on: boolean) => {
    setSimdTranspose(on);
    try {
      return tf.tidy(() => {
        const y = tf.transpose(x, perm);
        const d = y.dataSync();
        return [new Int32Array(d.buffer, d.byteOffset, d.length).slice(), y.shape] as const;
      });
    } finally {
      setSimdTranspose(true);
    }
  };
  const [a, shapeA] = run(true);
  const [b, shapeB] = run(false);
  assert.equal(shapeA, shapeB, 'shapes');
  return [a, b];
}

function check(shape: number[], perm: number[], dtype: 'float32' | 'int32', seed: number): void {
  const n = shape.reduce((a, b) => a * b, 1);
  const bits = specialBits(n, seed);
  const x = dtype === 'float32' ? tf.tensor(new Float32Array(bits.buffer), shape) : tf.tensor(bits, shape, 'int32');
  const [got, want] = both(x, perm);
  for (let i = 0; i < want.length; i++)
    if (got[i] !== want[i])
      assert.unreachable(`[${shape}] by [${perm}] ${dtype}: entry ${i} has bits ${got[i]}, TF.js ${want[i]}`);
  x.dispose();
}

test('every permutation of ranks 1 to 4: the same bits as TF.js kernel', async () => {
  await tg.setBackend('wasm');
  const shapes = [
    [1],
    [7],
    [1, 1, 1],
    [5, 3],
    [4, 8],
    [9, 13],
    [3, 1, 5],
    [4, 6, 5],
    [8, 4, 12],
    [2, 3, 4, 5],
    [5, 1, 4, 7],
    [4, 4, 8, 8],
  ];
  let seed = 0;
  for (const shape of shapes)
    for (const perm of permutations(shape.length))
      for (const dtype of ['float32', 'int32'] as const) check(shape, perm, dtype, seed++);
});

test('every permutation of rank 5: the same bits as TF.js kernel', async () => {
  await tg.setBackend('wasm');
  let seed = 100;
  for (const shape of [
    [2, 3, 2, 3, 5],
    [3, 1, 2, 4, 4],
  ])
    for (const perm of permutations(5)) check(shape, perm, 'float32', seed++);
});

test("attention's and the weight gradients' transposes, long rows: the same bits", async () => {
  await tg.setBackend('wasm');
  const cases: [number[], number[]][] = [
    [
      [2048, 64],
      [1, 0],
    ],
    [
      [64, 2048],
      [1, 0],
    ],
    [
      [259, 67],
      [1, 0],
    ],
    [
      [6, 16, 4, 16],
      [0, 2, 1, 3],
    ],
    [
      [6, 4, 16, 16],
      [0, 2, 1, 3],
    ],
    [
      [6, 4, 16, 16],
      [0, 1, 3, 2],
    ],
    [
      [3, 5, 7, 9],
      [0, 1, 3, 2],
    ],
    [
      [2, 1, 3, 1, 5, 6],
      [5, 4, 3, 2, 1, 0],
    ],
    [
      [6, 16, 3, 4, 16],
      [2, 0, 3, 1, 4],
    ],
    [
      [3, 6, 4, 16, 16],
      [1, 3, 0, 2, 4],
    ],
    [
      [2, 3, 4, 5, 6],
      [4, 3, 2, 1, 0],
    ],
    [
      [2, 2, 2, 2, 2, 3],
      [1, 0, 3, 2, 5, 4],
    ],
  ];
  cases.forEach(([shape, perm], i) => check(shape, perm, 'float32', i));
  const x = tf.ones([6, 4, 16, 16]);
  assertNoLeak(() => tf.transpose(x, [0, 2, 1, 3]).dispose());
  x.dispose();
});

test('a permutation reduced to its copy: ones dropped, neighbours merged', () => {
  assert.equal(transposePlan([2, 3, 4], [0, 1, 2]), { kind: 'runs', n: [1, 1, 1, 1], len: 24, s: [0, 0, 0, 0] });
  assert.equal(transposePlan([1, 5, 1], [2, 1, 0]), { kind: 'runs', n: [1, 1, 1, 1], len: 5, s: [0, 0, 0, 0] });
  // [B, T, H, D] → [B, H, T, D]: runs of D
  assert.equal(transposePlan([2, 3, 4, 5], [0, 2, 1, 3]), {
    kind: 'runs',
    n: [1, 2, 4, 3],
    len: 5,
    s: [0, 60, 5, 20],
  });
  // attention's fused projection [N, T, 3, H, D] → [3, N, H, T, D]: runs of D under four axes
  assert.equal(transposePlan([2, 3, 3, 4, 5], [2, 0, 3, 1, 4]), {
    kind: 'runs',
    n: [3, 2, 4, 3],
    len: 5,
    s: [20, 180, 5, 60],
  });
  assert.is(transposePlan([2, 3, 4, 5, 6], [4, 3, 2, 1, 0]), null);
  // the last two of [2, 3, 4, 5] swapped: [6] batches of [4, 5] → [5, 4]
  assert.equal(transposePlan([2, 3, 4, 5], [0, 1, 3, 2]), {
    kind: 'tiles',
    n: [1, 6],
    A: 4,
    B: 5,
    is: [0, 20],
    os: [0, 20],
    inRow: 5,
    outRow: 4,
  });
  // [2, 3, 4] → [4, 2, 3] merges to [6, 4] → [4, 6]
  assert.equal(transposePlan([2, 3, 4], [2, 0, 1]), {
    kind: 'tiles',
    n: [1, 1],
    A: 6,
    B: 4,
    is: [0, 0],
    os: [0, 0],
    inRow: 4,
    outRow: 6,
  });
  assert.is(transposePlan([2, 2, 2, 2, 2, 3], [1, 0, 3, 2, 5, 4]), null);
});

test.run();
