// The seeded generator every check, example and benchmark draws from: the same seed gives the same
// values, different seeds different ones, uniform values in [0, 1) and normal ones of mean 0, variance 1.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rng, normalSamples } from '../src/random.js';

const take = (n: number, f: () => number) => Array.from({ length: n }, f);

test('the same seed gives the same sequence; another seed another one; seed 0 works', () => {
  assert.equal(take(5, rng(7).uniform), take(5, rng(7).uniform));
  assert.not.equal(take(5, rng(7).uniform), take(5, rng(8).uniform));
  assert.ok(new Set(take(100, rng(0).uniform)).size === 100, 'seed 0 is not a stuck state');
});

test('uniform in [0, 1) with mean ½; normal with mean 0 and variance 1 (10,000 draws)', () => {
  const u = take(10000, rng(1).uniform);
  assert.ok(u.every((v) => v >= 0 && v < 1));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  assert.ok(Math.abs(mean(u) - 0.5) < 0.01, `uniform mean ${mean(u)}`);
  const z = take(10000, rng(2).normal);
  const m = mean(z);
  const v = mean(z.map((x) => (x - m) ** 2));
  assert.ok(Math.abs(m) < 0.03 && Math.abs(v - 1) < 0.05, `normal mean ${m}, variance ${v}`);
});

test("normalSamples: the generator's normals, scaled, as float32", () => {
  const r = rng(3);
  assert.equal(Array.from(normalSamples(4, 3, 2)), Array.from(Float32Array.from(take(4, () => 2 * r.normal()))));
});

test.run();
