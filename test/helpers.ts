// Shared test helpers: approximate equality (uvu has none), memory accounting, backends.
import * as assert from 'uvu/assert';
import * as tg from '../src/index.js';

/** Asserts |actual − expected| ≤ atol + rtol·|expected| entrywise, naming the first bad entry. */
export function assertClose(actual: tg.Tensor | number[] | number | ArrayLike<number>, expected: tg.Tensor | number[] | number | ArrayLike<number>, { atol = 1e-5, rtol = 1e-4, msg = '' } = {}): void {
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

/** The backends every Node test suite runs on. */
export const NODE_BACKENDS: tg.BackendName[] = ['cpu', 'wasm'];
