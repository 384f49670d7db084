// Shared test helpers: approximate equality (uvu has none), memory accounting, backends, module gradchecks.
import * as assert from 'uvu/assert';
import * as tg from '../src/index.js';
import * as tf from '@tensorflow/tfjs-core';
import { rng } from '../src/random.js';
import { readyHelper } from '../kernels/helper-thread.js';
import { sharedChunks } from '../kernels/wasm-simd-module.js';

/**
 * Default tolerances of assertClose. GPU shaders compute exp, log, sin, cos… to about 2⁻¹¹
 * absolute (the WGSL and Vulkan precision rules; measured on SwiftShader: cos off by 1.6e-4),
 * so on webgl and webgpu the defaults are looser; a tolerance a test passes is used as given.
 */
const defaultTolerance = () =>
  ['webgl', 'webgpu'].includes(tg.getBackend()) ? { atol: 1e-3, rtol: 1e-3 } : { atol: 1e-5, rtol: 1e-4 };

/** Asserts |actual − expected| ≤ atol + rtol·|expected| entrywise, naming the first bad entry. */
export function assertClose(
  actual: tg.Tensor | number[] | number | ArrayLike<number>,
  expected: tg.Tensor | number[] | number | ArrayLike<number>,
  { atol = defaultTolerance().atol, rtol = defaultTolerance().rtol, msg = '' } = {},
): void {
  const a = toFlat(actual);
  const e = toFlat(expected);
  assert.is(a.length, e.length, `${msg} length ${a.length} vs ${e.length}`);
  for (let i = 0; i < a.length; i++) {
    const ok =
      a[i] === e[i] ||
      Math.abs(a[i] - e[i]) <= atol + rtol * Math.abs(e[i]) ||
      (Number.isNaN(a[i]) && Number.isNaN(e[i]));
    if (!ok) assert.unreachable(`${msg} entry ${i}: ${a[i]} vs expected ${e[i]} (atol ${atol}, rtol ${rtol})`);
  }
}

function toFlat(x: tg.Tensor | number[] | number | ArrayLike<number>): number[] {
  if (typeof x === 'number') return [x];
  if (x instanceof tg.Tensor) return Array.from(x.dataSync());
  return Array.from(x as ArrayLike<number>).flat(Infinity as 1) as number[];
}

/** Runs fn and asserts that it leaves no tensor and no byte behind. */
export function assertNoLeak(fn: () => void, msg = ''): void {
  const before = tg.memory();
  fn();
  const after = tg.memory();
  assert.is(after.numTensors, before.numTensors, `${msg} leaked ${after.numTensors - before.numTensors} tensors`);
  assert.is(after.numBytes, before.numBytes, `${msg} leaked ${after.numBytes - before.numBytes} bytes`);
}

/**
 * Asserts that the forward and backward of Σ f(x), x a new leaf of `values`, leave nothing behind
 * but x's gradient: freeing x and its gradient frees every tensor and byte.
 */
export function assertBackwardLeavesOnlyGrad(f: (x: tg.Tensor) => tg.Tensor, values: number[][], msg = ''): void {
  assertNoLeak(() => {
    const x = tg.tensor(values, { requiresGrad: true });
    tg.tidy(() => f(x).sum().backward());
    x.grad?.dispose();
    x.dispose();
  }, msg);
}

/** Asserts fn throws a TapegradError whose message matches. */
export function assertThrows(fn: () => unknown, pattern: RegExp, msg = ''): void {
  try {
    fn();
  } catch (e) {
    assert.instance(e, tg.TapegradError, `${msg}: expected a TapegradError, got ${(e as Error)?.message}`);
    assert.match((e as Error).message, pattern, msg);
    return;
  }
  assert.unreachable(`${msg}: expected an error matching ${pattern}`);
}

/**
 * The backends every test suite runs on: cpu and wasm in Node. test/browser/ runs the same suites
 * in Chromium with the page's backend (webgl or webgpu) in their place.
 */
export const NODE_BACKENDS: tg.BackendName[] = (globalThis as { TAPEGRAD_TEST_BACKENDS?: tg.BackendName[] })
  .TAPEGRAD_TEST_BACKENDS ?? ['cpu', 'wasm'];

/**
 * Checks f's gradients: tg.gradcheck through the inputs, and through every parameter of `m` along a
 * random direction u (Σ p.grad·u against a fourth-order central difference of Σ f·R, the way
 * gradcheck's fast mode does), since the tape follows the module's own parameter tensors.
 */
export async function gradcheckModule(
  m: tg.nn.Module,
  f: (...xs: tg.Tensor[]) => tg.Tensor,
  inputs: tg.Tensor[],
  msg: string,
): Promise<void> {
  if (inputs.length) {
    // in the browser suites (webgl) the fast mode, along random directions: the page has a time budget
    const mode = ['webgl', 'webgpu'].includes(tg.getBackend()) ? 'fast' : 'full';
    const report = await tg.gradcheck(f, inputs, { mode });
    assert.ok(report.ok, `${msg} (inputs): ${JSON.stringify(report.worst)}`);
  }
  const y0 = tg.noGrad(() => f(...inputs));
  const R = tg.randn(y0.shape, { seed: 7 });
  y0.dispose();
  const loss = () =>
    tg.tidy(() =>
      f(...inputs)
        .mul(R)
        .sum()
        .item(),
    );
  for (const [name, p] of m.namedParameters()) {
    m.zeroGrad();
    tg.tidy(() =>
      f(...inputs)
        .mul(R)
        .sum()
        .backward(),
    );
    const u = tg.randn(p.shape, { seed: 11 });
    const analytic = tg.tidy(() => p.grad!.mul(u).sum().item());
    const p0 = p.value;
    const scale = Math.max(1, Math.max(...Array.from(p0.dataSync()).map(Math.abs)));
    const h = 1e-2 * scale;
    const at = (e: number) => {
      p.value = tf.tidy(() => tf.add(p0, tf.mul(u.value, e)));
      const v = loss();
      p.value.dispose();
      return v;
    };
    const numeric = (-at(2 * h) + 8 * at(h) - 8 * at(-h) + at(-2 * h)) / (12 * h);
    p.value = p0;
    u.dispose();
    assert.ok(
      Math.abs(analytic - numeric) <= 1e-3 + 1e-2 * Math.abs(numeric),
      `${msg} (parameter ${name}): analytic ${analytic}, numeric ${numeric}`,
    );
  }
  m.zeroGrad();
  R.dispose();
}

/** n values uniform in [−2, 2) from `seed`, with `specials` (±0, ±∞, NaN…) spread among them. */
export function randomValues(n: number, seed: number, specials: number[] = []): Float32Array {
  const r = rng(seed);
  const v = Float32Array.from({ length: n }, () => 4 * r.uniform() - 2);
  specials.forEach((s, i) => {
    if (n) v[(i * 7919 + seed) % n] = s;
  });
  return v;
}

/** Sets the wasm backend (the current one) to two threads and waits until its helper thread is up. */
export async function helperThreadUp(): Promise<void> {
  tg.setThreads(2);
  const heap = (tf.backend() as unknown as { wasm: { wasmMemory: WebAssembly.Memory } }).wasm.wasmMemory;
  for (let waited = 0; !readyHelper(heap); waited += 50) {
    assert.ok(waited < 30_000, 'the helper thread started');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Waits until the wasm backend's helper thread is up (two threads), then runs `run` until the helper
 * has run some of the shared chunks (on a loaded machine it may take none in one call), and returns
 * its last result.
 */
export async function withHelperChunks<T>(run: () => T, what: string): Promise<T> {
  await helperThreadUp();
  const before = sharedChunks().there;
  let result = run();
  for (let tries = 1; sharedChunks().there === before && tries < 50; tries++) result = run();
  assert.ok(sharedChunks().there > before, `${what}: the helper thread ran some of the chunks`);
  return result;
}

/** Bitwise equality with a TF.js kernel's output, NaNs of any payload equal. */
export function assertSameBitsAsTfjs(got: Float32Array, want: Float32Array, what: string): void {
  assert.is(got.length, want.length, `${what}: length`);
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  for (let i = 0; i < got.length; i++) {
    if (Number.isNaN(got[i]) && Number.isNaN(want[i])) continue;
    if (g[i] !== w[i]) assert.unreachable(`${what}: entry ${i} is ${got[i]}, TF.js's kernel gives ${want[i]}`);
  }
}
