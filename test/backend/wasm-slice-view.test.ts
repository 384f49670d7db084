// wasm's Slice, Unpack and SplitV replaced by kernels that read their input in place
// (src/backend/wasm-slice-view.ts): the same values as TF.js's own kernels on every dtype, rank
// and kind of slice; no copy of the whole input, where TF.js's kernels still make one.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../../src/index.js';
import { originalWasmKernel } from '../../src/backend/kernel-replacement.js';

test.before(async () => {
  await tg.setBackend('wasm');
});

/** TF.js's own wasm kernel `name` on the same inputs, as tensors. */
function raw(name: string, inputs: tf.NamedTensorMap, attrs: object): tf.Tensor[] {
  const out = originalWasmKernel(name)!({ inputs, backend: tf.backend(), attrs: attrs as tf.NamedAttrMap });
  return [out].flat().map((t) => tf.engine().makeTensorFromTensorInfo(t as tf.TensorInfo));
}

/** How many times the backend copies a tensor out of its heap (readSync) while fn runs. */
function readSyncs(fn: () => void): number {
  const backend = tf.backend() as unknown as { readSync: (...a: unknown[]) => unknown };
  const readSync = backend.readSync;
  let n = 0;
  backend.readSync = (...a: unknown[]) => {
    n++;
    return readSync.apply(backend, a);
  };
  try {
    fn();
  } finally {
    backend.readSync = readSync;
  }
  return n;
}

const same = (got: tf.Tensor, want: tf.Tensor, what: string) => {
  assert.equal(got.shape, want.shape, `${what}: shape`);
  assert.is(got.dtype, want.dtype, `${what}: dtype`);
  assert.equal(Array.from(got.dataSync()), Array.from(want.dataSync()), `${what}: values`);
};

const inputs = (shape: number[]): tf.Tensor[] => {
  const n = shape.reduce((a, b) => a * b, 1);
  const values = Array.from({ length: n }, (_, i) => i * 0.5 - 3);
  return [
    tf.tensor(values, shape),
    tf.tensor(values.map(Math.round), shape, 'int32'),
    tf.tensor(values, shape, 'bool'),
  ];
};

test('Slice: the same values as TF.js, every dtype, ranks 1 to 5, whole rows, columns, windows, empty', () => {
  const slices: [number[], number[], number[]][] = [
    [[7], [2], [3]],
    [
      [3, 4],
      [1, 0],
      [2, 4],
    ],
    [
      [3, 4],
      [0, 1],
      [3, 2],
    ],
    [
      [3, 4],
      [2, 3],
      [1, 1],
    ],
    [
      [4, 3, 5],
      [1, 0, 0],
      [2, 3, 5],
    ],
    [
      [4, 3, 5],
      [0, 1, 2],
      [4, 2, 3],
    ],
    [
      [4, 3, 5],
      [3, 0, 0],
      [1, 3, 5],
    ],
    [
      [2, 3, 2, 4, 3],
      [1, 0, 1, 1, 0],
      [1, 3, 1, 2, 3],
    ],
    [
      [3, 4],
      [1, 0],
      [0, 4],
    ],
  ];
  for (const [shape, begin, size] of slices) {
    for (const x of inputs(shape)) {
      const what = `${x.dtype} ${JSON.stringify(shape)} at ${begin} size ${size}`;
      const [want] = raw('Slice', { x }, { begin, size });
      const got = tf.slice(x, begin, size);
      same(got, want, what);
      tf.dispose([x, got, want]);
    }
  }
});

test('Unpack and SplitV: the same values as TF.js along every axis', () => {
  for (const x of inputs([3, 4, 2])) {
    for (let axis = -3; axis < 3; axis++) {
      const want = raw('Unpack', { value: x }, { axis });
      const got = tf.unstack(x, axis);
      assert.is(got.length, want.length);
      got.forEach((g, k) => same(g, want[k], `${x.dtype} Unpack axis ${axis}, part ${k}`));
      tf.dispose([...got, ...want]);
    }
    for (const [split, axis] of [
      [[1, 0, 3], 1],
      [2, 2],
      [3, -3],
    ] as [number | number[], number][]) {
      const want = raw('SplitV', { x }, { numOrSizeSplits: split, axis });
      const got = tf.split(x, split, axis);
      got.forEach((g, k) => same(g, want[k], `${x.dtype} SplitV ${split} axis ${axis}, part ${k}`));
      tf.dispose([...got, ...want]);
    }
    x.dispose();
  }
});

test("no copy of the whole input, where TF.js's Slice still makes one (readSync): drop the replacement when it does not", () => {
  const x = tf.ones([64, 32]);
  const ours = readSyncs(() => {
    tf.dispose([tf.slice(x, [5, 0], [1, 32]), ...tf.unstack(x), ...tf.split(x, 4)]);
  });
  assert.is(ours, 0);
  const theirs = readSyncs(() => tf.dispose(raw('Slice', { x }, { begin: [5, 0], size: [1, 32] })));
  assert.is(theirs, 1, "TF.js's wasm Slice no longer copies its input out of the heap");
  x.dispose();
});

test.run();
