// The wasm SIMD sin and cos (src/backend/wasm-simd-sin-cos.ts) give the same bits as the JavaScript
// sinFloat32 and cosFloat32 they vectorise, so within one ulp of float64: over a dense sweep of the
// float32 range (random exponents, the float32 values nearest multiples of π/2, the ends of the
// reduction's range and beyond it, where Math takes over), on special values (±0, ±∞, NaN,
// subnormals), at every length mod 4, on shared and unshared memory; wasm's Sin and Cos kernels
// run them, and sin's gradient is the Cos kernel's value.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../../src/index.js';
import { cosFloat32, REDUCED_BELOW, sinFloat32 } from '../../src/backend/float32-sin-cos.js';
import { setSimdSinCos, sinCosModule, sinCosOnHeap } from '../../src/backend/wasm-simd-sin-cos.js';
import { rng } from '../../src/random.js';

const JS = { sin: sinFloat32, cos: cosFloat32 } as const;

function inputs(): Float32Array {
  const r = rng(11);
  const xs: number[] = [];
  for (let i = 0; i < 200_000; i++) xs.push((r.uniform() < 0.5 ? -1 : 1) * 2 ** (r.uniform() * 277 - 149));
  for (let i = 0; i < 100_000; i++) xs.push((r.uniform() - 0.5) * 20);
  for (let k = 1; k < 50_000; k++) {
    const x = Math.fround((k * Math.PI) / 2);
    // the float32 nearest kπ/2 and its neighbours, where the reduced argument is smallest
    xs.push(x, x * (1 + 2 ** -23), x * (1 - 2 ** -23), -x, Math.fround((k * 7919 * Math.PI) / 2));
  }
  const R = REDUCED_BELOW;
  for (const x of [R, Math.fround(R * (1 - 2 ** -23)), R * 2, 1e9, 3.4028234e38, 1e-45, 2 ** -126, 2 ** -12])
    xs.push(x, -x);
  xs.push(0, -0, Infinity, -Infinity, Number.NaN, 2 ** -149, -(2 ** -149), 1.1754942e-38);
  return Float32Array.from(xs);
}

/** The module on a memory of its own: [run f over xs, returning ys]. */
function onMemory(shared: boolean) {
  const memory = new WebAssembly.Memory(
    shared ? { initial: 128, maximum: 1024, shared: true } : { initial: 128, maximum: 1024 },
  );
  return (f: 'sin' | 'cos', xs: Float32Array): Float32Array => {
    const need = Math.ceil((xs.length * 8 + 64) / 65536);
    const have = memory.buffer.byteLength / 65536;
    if (need > have) memory.grow(need - have);
    // odd offsets: views need not start on a 16-byte boundary
    const x = new Float32Array(memory.buffer, 4, xs.length);
    const y = new Float32Array(memory.buffer, 4 * xs.length + 12, xs.length);
    x.set(xs);
    assert.ok(sinCosOnHeap(memory, f, x, y), 'this engine has wasm SIMD');
    return y.slice();
  };
}

/** One unit in the last place of float32 at v (the subnormal spacing below 2⁻¹²⁶). */
function ulp(v: number): number {
  const a = Math.abs(Math.fround(v));
  return a < 2 ** -126 ? 2 ** -149 : 2 ** (Math.floor(Math.log2(a)) - 23);
}

const same = (a: Float32Array, b: Float32Array, xs: Float32Array, what: string) => {
  for (let i = 0; i < a.length; i++)
    if (!Object.is(a[i], b[i])) assert.unreachable(`${what}(${xs[i]}) = ${a[i]}, the JavaScript loop gives ${b[i]}`);
};

for (const shared of [false, true]) {
  test(`the same bits as the JavaScript loop over the float32 range (${shared ? 'shared' : 'own'} memory)`, () => {
    const xs = inputs();
    const run = onMemory(shared);
    for (const f of ['sin', 'cos'] as const) {
      const want = new Float32Array(xs.length);
      JS[f](xs, want);
      const got = run(f, xs);
      same(got, want, xs, f);
      let worst = 0;
      for (let i = 0; i < xs.length; i++) {
        const exact = Math[f](xs[i]);
        const err = Number.isNaN(exact) ? (Number.isNaN(got[i]) ? 0 : Infinity) : Math.abs(got[i] - exact) / ulp(exact);
        if (!(err <= 1)) assert.unreachable(`${f}(${xs[i]}) = ${got[i]}: ${err} ulp from float64 ${exact}`);
        worst = Math.max(worst, err);
      }
      assert.ok(worst > 0.4, `the sweep reaches the rounding limit (${worst} ulp)`);
    }
  });
}

test('every length mod 4, and special values in every lane', () => {
  const run = onMemory(false);
  const special = [0, -0, Infinity, -Infinity, Number.NaN, 1e-45, -3e-39, 5e8, Math.PI, -Math.PI / 2];
  for (let n = 0; n <= 13; n++) {
    for (let shift = 0; shift < special.length; shift++) {
      const xs = Float32Array.from({ length: n }, (_, i) => special[(i + shift) % special.length]);
      for (const f of ['sin', 'cos'] as const) {
        const want = new Float32Array(n);
        JS[f](xs, want);
        same(run(f, xs), want, xs, f);
      }
    }
  }
  const [s0, s1] = run('sin', Float32Array.from([0, -0, 0, 0]));
  assert.ok(Object.is(s0, 0) && Object.is(s1, -0), 'sin keeps the sign of zero');
});

test('the module is under 4 KiB: browsers compile it synchronously on the main thread', () => {
  for (const memory of [
    { kind: 'own', pages: 1 },
    { kind: 'import', shared: true },
  ] as const)
    assert.ok(sinCosModule(memory).length < 4096, `${sinCosModule(memory).length} bytes`);
});

test('wasm: tg.sin, tg.cos and sin’s gradient give the same bits with and without SIMD', async () => {
  await tg.setBackend('wasm');
  const start = tg.memory().numTensors;
  const xs = Float32Array.from({ length: 1027 }, (_, i) => (i - 513) * 0.37 + 1e-3 * i);
  xs[3] = 1e10;
  xs[5] = -0;
  const run = () =>
    tg.tidy(() => {
      const x = tg.tensor(xs);
      return [
        tg.sin(x),
        tg.cos(x),
        tg.grad((v: tg.Tensor) => tg.sin(v).sum())(x),
        tg.grad((v: tg.Tensor) => tg.cos(v).sum())(x),
      ].map((t) => t.dataSync() as Float32Array);
    });
  try {
    setSimdSinCos(false);
    const [sinJs, cosJs, dsinJs, dcosJs] = run();
    setSimdSinCos(true);
    const [sin, cos, dsin, dcos] = run();
    same(sin, sinJs, xs, 'sin');
    same(cos, cosJs, xs, 'cos');
    same(dsin, dsinJs, xs, 'd sin');
    same(dcos, dcosJs, xs, 'd cos');
    // the adjoint of sin is the Cos kernel's value, and that of cos is −sin
    same(dsin, cos, xs, 'd sin vs cos');
    same(
      dcos,
      sin.map((v) => -v),
      xs,
      'd cos vs −sin',
    );
  } finally {
    setSimdSinCos(true);
  }
  assert.is(tg.memory().numTensors, start);
});

test.run();
