// Anomaly detection: NaN/Inf in a forward result or in an adjoint's gradient is reported with the
// op's name, the pass, the input shapes and where the inputs came from.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../src/index.js';
import { assertNoLeak, assertThrows } from './helpers.js';

function thrown(fn: () => unknown): tg.TapegradError {
  try {
    fn();
  } catch (e) {
    assert.instance(e, tg.TapegradError, `expected a TapegradError, got ${String(e)}`);
    return e as tg.TapegradError;
  }
  throw new Error('expected an error');
}

test('off by default: a NaN passes through silently', () => {
  assert.is(tg.isAnomalyEnabled(), false);
  tg.tidy(() => {
    const y = tg.log(tg.tensor([-1, 1]));
    assert.ok(Number.isNaN(y.dataSync()[0]));
  });
});

test('forward: log of a negative names log, the pass, the shapes and the chain log ← sub ← matmul', () => {
  const x = tg.tensor(
    [
      [1, 2],
      [3, 4],
    ],
    { requiresGrad: true },
  );
  const W = tg.tensor(
    [
      [1, -1],
      [0.5, 2],
    ],
    { requiresGrad: true },
  );
  const e = thrown(() => tg.detectAnomaly(() => tg.tidy(() => tg.log(tg.sub(tg.matmul(x, W), 3)))));
  assert.match(e.message, /^log: anomaly in the forward pass/);
  assert.match(e.message, /NaN \(1 of 4 entries\)/);
  assert.match(e.message, /input 0 \[2,2\] ← sub ← matmul ← leaf \[2,2\]/);
  assert.is(tg.isAnomalyEnabled(), false, 'restored after a throw');
  tg.dispose([x, W]);
});

test('forward: the failing result is freed, nothing leaks', () => {
  const x = tg.tensor([-1, 2]);
  assertNoLeak(() => {
    thrown(() => tg.detectAnomaly(() => tg.sqrt(x)));
  });
  x.dispose();
});

test('backward only: sqrt at 0 is finite forward, its gradient is Inf', () => {
  const z = tg.tensor([0, 1, 4], { requiresGrad: true });
  const e = thrown(() => tg.detectAnomaly(() => tg.tidy(() => tg.sqrt(z).mul(2).sum().backward())));
  assert.match(e.message, /^sqrt: anomaly in the backward pass/);
  assert.match(e.message, /gradient for input 0 \[3\] holds Inf \(1 of 3 entries\)/);
  assert.match(e.message, /incoming gradient was finite/);
  z.dispose();
});

test('backward only: a customOp whose vjp returns NaN is named', () => {
  const bad = tg.customOp({
    name: 'badSquare',
    forward: (x) => tf.square(x),
    vjp: (g) => [() => g.mul(NaN)],
  });
  const x = tg.tensor([1, 2], { requiresGrad: true });
  const e = thrown(() => tg.detectAnomaly(() => tg.tidy(() => tg.exp(bad(x)).sum().backward())));
  assert.match(e.message, /^badSquare: anomaly in the backward pass/);
  assert.match(e.message, /input 0 \[2\] ← leaf \[2\]/);
  x.dispose();
});

test('backward: NaN flowing in from a later op is reported where it first appears, not downstream', () => {
  // d sqrt at 0 is Inf; mul's adjoint then sees an Inf incoming gradient but sqrt is caught first.
  const z = tg.tensor([0, 1], { requiresGrad: true });
  const e = thrown(() => tg.detectAnomaly(() => tg.tidy(() => tg.sqrt(tg.mul(z, 1)).sum().backward())));
  assert.match(e.message, /^sqrt: anomaly in the backward pass/);
  z.dispose();
});

test('ops inside an adjoint are not reported as forward anomalies of their own', () => {
  // sqrt's adjoint computes g / (2y) with div: the error names sqrt, not div.
  const z = tg.tensor([0], { requiresGrad: true });
  const e = thrown(() => tg.detectAnomaly(() => tg.tidy(() => tg.sqrt(z).sum().backward())));
  assert.not.match(e.message, /^div/);
  z.dispose();
});

test('createGraph: second-order NaN is caught in the recorded backward', () => {
  const z = tg.tensor([0, 1], { requiresGrad: true });
  const e = thrown(() =>
    tg.detectAnomaly(() =>
      tg.tidy(() => {
        const [g] = tg.gradients(tg.square(z).sum(), [z], { createGraph: true });
        return tg.sqrt(g!).sum().backward(); // d sqrt(2z) at z = 0 is Inf
      }),
    ),
  );
  assert.match(e.message, /^sqrt: anomaly in the backward pass/);
  z.dispose();
});

test('finite programs pass unchanged with detection on, and no tensor leaks', () => {
  const x = tg.tensor(
    [
      [0.5, -1],
      [2, 0.25],
    ],
    { requiresGrad: true },
  );
  assertNoLeak(() => {
    tg.detectAnomaly(() => tg.tidy(() => tg.softplus(tg.matmul(x, x)).log().sum().backward()));
    x.grad!.dispose();
    x.grad = null;
  });
  x.dispose();
});

test('setDetectAnomaly switches globally; detectAnomaly restores the previous state', () => {
  tg.setDetectAnomaly(true);
  assert.is(tg.isAnomalyEnabled(), true);
  tg.detectAnomaly(() => assert.is(tg.isAnomalyEnabled(), true));
  assert.is(tg.isAnomalyEnabled(), true, 'restored to on');
  const x = tg.tensor([-1]);
  thrown(() => tg.log(x));
  tg.setDetectAnomaly(false);
  tg.tidy(() => tg.log(x)); // no error once off
  x.dispose();
});

test('async functions are refused (the switch is global), before they run or when they return a Promise', async () => {
  const x = tg.tensor([-1]);
  let ran = false;
  assertThrows(
    () =>
      tg.detectAnomaly(async () => {
        ran = true;
        return tg.log(x);
      }),
    /^detectAnomaly: the function must be synchronous .*\(got an async function\)/,
  );
  assert.is(ran, false, 'an async function is refused before it runs');
  assertThrows(
    () => tg.detectAnomaly(() => Promise.reject(new Error('x'))),
    /^detectAnomaly: the function must be synchronous .*\(it returned a Promise\)/,
  );
  assert.is(tg.isAnomalyEnabled(), false, 'the switch is restored');
  await new Promise((r) => setTimeout(r, 0)); // the refused promise's rejection is handled
  x.dispose();
});

test('noGrad refuses async functions: recording would resume after the first await', async () => {
  const w = tg.tensor([1, 2], { requiresGrad: true });
  assertThrows(
    () =>
      tg.noGrad(async () => {
        await Promise.resolve();
        return w.mul(2);
      }),
    /^noGrad: the function must be synchronous .*\(got an async function\)/,
  );
  assertThrows(
    () => tg.noGrad(() => Promise.resolve(1)),
    /^noGrad: the function must be synchronous .*\(it returned a Promise\)/,
  );
  assert.is(tg.isGradEnabled(), true);
  const y = tg.noGrad(() => w.mul(2));
  assert.is(y.requiresGrad, false);
  tg.dispose([w, y]);
});

test("a NaN already in an input is reported as the input's, not blamed on the op", () => {
  const x = tg.tensor([NaN, 1], { requiresGrad: true });
  const c = tg.tensor([1, Infinity]);
  assertNoLeak(() => {
    assertThrows(
      () => tg.detectAnomaly(() => tg.tidy(() => tg.exp(x))),
      /^exp: anomaly in the forward pass: input 0 \[2\] already held NaN \(1 of 2 entries\) — it was given as an input \(leaf \[2\]\), not made by this op/,
    );
    assertThrows(
      () => tg.detectAnomaly(() => tg.tidy(() => tg.mul(tg.ones([2]), c))),
      /^mul: anomaly in the forward pass: input 1 \[2\] already held Inf \(1 of 2 entries\) — it was given as an input \(constant \[2\]\)/,
    );
  });
  tg.dispose([x, c]);
});

test('bad arguments', () => {
  assert.throws(() => tg.detectAnomaly(3 as never), /detectAnomaly: expected a function/);
  assert.throws(() => tg.setDetectAnomaly('yes' as never), /setDetectAnomaly: expected true or false/);
});

test.run();
