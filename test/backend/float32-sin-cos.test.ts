// sinFloat32 and cosFloat32 (src/backend/float32-sin-cos.ts, wasm's Sin and Cos) against float64's
// Math.sin and Math.cos: within one unit in the last place of float32 over the whole float32 range
// (random exponents from 2⁻¹⁴⁹ up, float32 values nearest multiples of π/2, both sides of where
// the reduction hands over to Math), zeros keeping their sign, ±∞ and NaN giving NaN.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../../src/index.js';
import { cosFloat32, sinFloat32 } from '../../src/backend/float32-sin-cos.js';
import { rng } from '../../src/random.js';

/** One unit in the last place of float32 at v (the subnormal spacing below 2⁻¹²⁶). */
function ulp(v: number): number {
  const a = Math.abs(Math.fround(v));
  if (a < 2 ** -126) return 2 ** -149;
  return 2 ** (Math.floor(Math.log2(a)) - 23);
}

function inputs(): Float32Array {
  const r = rng(7);
  const xs: number[] = [];
  for (let i = 0; i < 200_000; i++) {
    const sign = r.uniform() < 0.5 ? -1 : 1;
    xs.push(sign * 2 ** (r.uniform() * 277 - 149));
  }
  // float32 values nearest multiples of π/2, where the result is smallest relative to x
  for (let k = 1; k < 100_000; k++) xs.push((k * Math.PI) / 2, (-k * 7919 * Math.PI) / 2);
  // where the reduction hands over to Math, and the ends of the range
  for (const x of [4.2e8, 4.19e8, 4.21e8, 1e9, 3.4e38, 1e-45, 1.17549435e-38, Math.PI, Math.PI / 4, 0.7853982])
    xs.push(x, -x);
  return Float32Array.from(xs);
}

for (const [name, fast, exact] of [
  ['sin', sinFloat32, Math.sin],
  ['cos', cosFloat32, Math.cos],
] as const) {
  test(`${name}Float32 is within 1 ulp of float64 over the float32 range`, () => {
    const xs = inputs();
    const ys = new Float32Array(xs.length);
    fast(xs, ys);
    let worst = 0;
    let at = 0;
    for (let i = 0; i < xs.length; i++) {
      const want = exact(xs[i]);
      const err = Math.abs(ys[i] - want) / ulp(want);
      if (!(err <= worst)) {
        worst = err;
        at = xs[i];
      }
    }
    assert.ok(worst <= 1, `${name}(${at}): ${worst.toFixed(3)} ulp from float64`);
  });
}

test('special values: signed zeros, ±∞ and NaN', () => {
  const xs = Float32Array.from([0, -0, Infinity, -Infinity, Number.NaN]);
  const s = new Float32Array(5);
  const c = new Float32Array(5);
  sinFloat32(xs, s);
  cosFloat32(xs, c);
  assert.ok(Object.is(s[0], 0) && Object.is(s[1], -0), `sin(±0) = ${s[0]}, ${s[1]}`);
  assert.equal([c[0], c[1]], [1, 1]);
  assert.ok([...s.slice(2), ...c.slice(2)].every(Number.isNaN), 'sin and cos of ±∞ and NaN are NaN');
});

test('wasm: tg.sin and tg.cos run them', async () => {
  await tg.setBackend('wasm');
  const xs = Float32Array.from({ length: 257 }, (_, i) => (i - 128) * 0.37);
  const want = new Float32Array(xs.length);
  for (const [op, f] of [
    [tg.sin, sinFloat32],
    [tg.cos, cosFloat32],
  ] as const) {
    f(xs, want);
    const y = tg.tidy(() => op(tg.tensor(xs)));
    assert.equal(Array.from(await y.data()), Array.from(want));
    y.dispose();
  }
});

test.run();
