// Shared test helpers: approximate equality (uvu has none), memory accounting, backends.
import * as assert from 'uvu/assert';
import * as tg from '../src/index.js';

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
    const ok = Math.abs(a[i] - e[i]) <= atol + rtol * Math.abs(e[i]) || (Number.isNaN(a[i]) && Number.isNaN(e[i]));
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
