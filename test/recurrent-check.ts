// The gradient check of a recurrent module, shared by test/nn-recurrent.test.ts (cpu, wasm, and
// webgl in Chromium) and test/browser/nn-recurrent.browser.ts (webgl and webgpu): it reads values
// only with `await data()`, which is all webgpu has in Node and the only read that works on it in
// headless Chromium.
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../src/index.js';

const onGpu = () => ['webgl', 'webgpu'].includes(tg.getBackend());

async function scalar(t: tg.Tensor): Promise<number> {
  const v = (await t.data())[0];
  t.dispose();
  return v;
}

/**
 * Checks f's gradients: tg.gradcheck through the inputs (full on cpu and wasm; fast, along random
 * directions, on a GPU), and through the module's parameters along random directions u: Σ p.grad·u
 * against a fourth-order central difference of Σ f·R. On cpu and wasm each parameter is checked on
 * its own; on a GPU all of them at once (one direction in the joint space), for the pages' time budget.
 * `step`: the parameters' finite-difference step (smaller for relu, whose kinks a large step crosses).
 */
export async function gradcheckRecurrent(
  m: tg.nn.Module<unknown>,
  f: (...xs: tg.Tensor[]) => tg.Tensor,
  inputs: tg.Tensor[],
  msg: string,
  { step = 1e-2 } = {},
): Promise<void> {
  if (inputs.length) {
    const report = await tg.gradcheck(f, inputs, { mode: onGpu() ? 'fast' : 'full' });
    assert.ok(report.ok, `${msg} (inputs): ${JSON.stringify(report.worst)}`);
  }
  // f's result shape, in a tidy: what f returns besides its result (final states) is freed with it
  const shape = tg.tidy(() => tg.noGrad(() => f(...inputs)).shape);
  const R = tg.randn(shape, { seed: 7 });
  const named = m.namedParameters();
  const groups = onGpu() ? [named] : named.map((p) => [p]);
  for (const group of groups) {
    m.zeroGrad();
    tg.tidy(() =>
      f(...inputs)
        .mul(R)
        .sum()
        .backward(),
    );
    const us = group.map(([, p], i) => tg.randn(p.shape, { seed: 11 + i }));
    let analytic = 0;
    for (let i = 0; i < group.length; i++) analytic += await scalar(tg.tidy(() => group[i][1].grad!.mul(us[i]).sum()));
    const p0 = group.map(([, p]) => p.value);
    const h = step;
    const at = async (e: number) => {
      group.forEach(([, p], i) => {
        p.value = tf.tidy(() => tf.add(p0[i], tf.mul(us[i].value, e)));
      });
      const v = await scalar(
        tg.tidy(() =>
          f(...inputs)
            .mul(R)
            .sum(),
        ),
      );
      for (const [, p] of group) p.value.dispose();
      return v;
    };
    const numeric = (-(await at(2 * h)) + 8 * (await at(h)) - 8 * (await at(-h)) + (await at(-2 * h))) / (12 * h);
    group.forEach(([, p], i) => {
      p.value = p0[i];
    });
    tg.dispose(us);
    const what = group.length === 1 ? `parameter ${group[0][0]}` : 'all parameters';
    const tol = onGpu() ? 1e-2 + 3e-2 * Math.abs(numeric) : 1e-3 + 1e-2 * Math.abs(numeric);
    assert.ok(Math.abs(analytic - numeric) <= tol, `${msg} (${what}): analytic ${analytic}, numeric ${numeric}`);
  }
  m.zeroGrad();
  R.dispose();
}
