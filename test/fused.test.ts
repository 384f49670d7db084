// The fused kernels (src/backend/fused.ts) against their references in TF.js ops and plain JavaScript
// references, on every backend of NODE_BACKENDS: in Node cpu and wasm (JavaScript loops over the
// backend's memory), in test/browser/ webgl and webgpu (GPU programs). Values are read with
// `await data()` only: webgpu has no synchronous read in Node.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../src/index.js';
import { rng } from '../src/random.js';
import * as fused from '../src/backend/fused.js';
import * as testing from '../src/testing.js';
import { assertClose, assertNoLeak, helperThreadUp, NODE_BACKENDS } from './helpers.js';
import { JS_FUSED_BACKENDS } from '../kernels/js-kernel.js';

const read = async (t: tf.Tensor) => Array.from(await t.data());
/** The float32 SIMD gelu's and derivative's distance to the float64 loops, in float32 ulp. */
const GELU_ULPS = 4;
const values = (n: number, seed: number, lo = -2, hi = 2) => {
  const r = rng(seed);
  return Array.from({ length: n }, () => lo + (hi - lo) * r.uniform());
};
const randomTensor = (shape: number[], seed: number, lo = -2, hi = 2) =>
  tf.tensor(
    values(
      shape.reduce((a, b) => a * b, 1),
      seed,
      lo,
      hi,
    ),
    shape,
  );

/** PyTorch's Adam/AdamW step on plain arrays (float64): the reference both forms must match. */
function adamReference(p: number[], g: number[], m: number[], v: number[], a: fused.AdamUpdateAttrs) {
  return p.map((p0, i) => {
    const gi = a.decoupled ? g[i] : g[i] + a.weightDecay * p0;
    const mi = a.beta1 * m[i] + (1 - a.beta1) * gi;
    const vi = a.beta2 * v[i] + (1 - a.beta2) * gi * gi;
    const pd = a.decoupled ? p0 * (1 - a.lr * a.weightDecay) : p0;
    return [pd - (a.lr * mi) / (1 - a.beta1 ** a.step) / (Math.sqrt(vi / (1 - a.beta2 ** a.step)) + a.eps), mi, vi];
  });
}

/**
 * torch.optim.Adam's single-tensor step (1.13) in float32: each tensor operation rounded to float32
 * (its scalars too: 1 − β₁, lr / (1 − β₁ᵗ), √(1 − β₂ᵗ)), in PyTorch's order; moments packed [m…, v…].
 */
function adamFloat32Reference(
  p: Float32Array,
  g: Float32Array,
  mv: Float32Array,
  a: { lr: number; beta1: number; beta2: number; eps: number; wd: number; t: number; decoupled: boolean },
) {
  const f = Math.fround;
  const n = p.length;
  const out = { p: new Float32Array(n), mv: new Float32Array(2 * n) };
  const stepSize = f(a.lr / (1 - a.beta1 ** a.t));
  const sqrtBc2 = f(Math.sqrt(1 - a.beta2 ** a.t));
  for (let i = 0; i < n; i++) {
    // AdamW: param.mul_(1 − lr·wd); Adam: grad = grad.add(param, alpha=wd)
    const pd = a.decoupled ? f(p[i] * f(1 - a.lr * a.wd)) : p[i];
    const gi = a.decoupled ? g[i] : f(g[i] + f(f(a.wd) * p[i]));
    // exp_avg.mul_(β₁).add_(grad, alpha=1 − β₁); exp_avg_sq.mul_(β₂).addcmul_(grad, grad, value=1 − β₂)
    const m = f(f(f(a.beta1) * mv[i]) + f(f(1 - a.beta1) * gi));
    const v = f(f(f(a.beta2) * mv[n + i]) + f(f(f(1 - a.beta2) * gi) * gi));
    // denom = (exp_avg_sq.sqrt() / √bc2).add_(eps); param.addcdiv_(exp_avg, denom, value=−step_size)
    const denom = f(f(f(Math.sqrt(v)) / sqrtBc2) + f(a.eps));
    out.p[i] = f(pd - f(f(stepSize * m) / denom));
    out.mv[i] = m;
    out.mv[n + i] = v;
  }
  return out;
}
/** The float32 Adam step's largest distance to the float64 one, in float32 ulps of the new values. */
const ADAM_FLOAT32_ULPS = 8;
/** The spacing of float32 values at |x|'s binade (the smallest normal's below it). */
const ulp = (x: number) => 2 ** (Math.max(Math.floor(Math.log2(Math.abs(x) || 2 ** -126)), -126) - 23);

for (const backend of NODE_BACKENDS) {
  test(`[${backend}] every fused kernel is registered, and setFusedEnabled(false) turns them off`, async () => {
    await tg.setBackend(backend);
    for (const name of Object.keys(fused.FUSED_KERNELS) as fused.FusedName[]) {
      // the multi-tensor Adam is a cpu and wasm kernel (a GPU steps each parameter in its own passes)
      if (name === 'adamMultiUpdate' && !JS_FUSED_BACKENDS.includes(backend as 'cpu')) continue;
      assert.ok(fused.hasFused(name), name);
      testing.setFusedEnabled(false);
      const off = fused.hasFused(name);
      testing.setFusedEnabled(true);
      assert.not.ok(off, `${name} with setFusedEnabled(false)`);
    }
  });

  for (const decoupled of [false, true]) {
    test(`[${backend}] ${decoupled ? 'AdamW' : 'Adam'} update: fused = composed = reference, and one kernel where fused`, async () => {
      await tg.setBackend(backend);
      const shape = [3, 37];
      const [p, g, m] = [1, 2, 3].map((s) => randomTensor(shape, s));
      const v = randomTensor(shape, 4, 0, 0.5);
      const attrs = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, decoupled, step: 5 };
      const before = tf.memory().numTensors;
      const got = testing.adamUpdate(p, g, m, v, attrs);
      const composed = fused.adamUpdateReference(p, g, m, v, attrs);
      const ref = adamReference(await read(p), await read(g), await read(m), await read(v), attrs);
      for (let k = 0; k < 3; k++) {
        const what = ['param', 'm', 'v'][k];
        assertClose(await read(got[k]), await read(composed[k]), {
          atol: 1e-6,
          rtol: 1e-5,
          msg: `${what}: fused vs composed`,
        });
        assertClose(
          await read(got[k]),
          ref.map((r) => r[k]),
          { atol: 1e-6, rtol: 1e-5, msg: `${what}: vs reference` },
        );
      }
      tf.dispose([...got, ...composed]);
      assert.is(tf.memory().numTensors, before, 'tensors leaked');
      // The packed form optim.Adam runs: the moments as one [2, ...shape] tensor.
      const moments = tf.stack([m, v]);
      const [p1, mv1] = fused.adamUpdatePacked(p, g, moments, attrs);
      assert.equal(mv1.shape, [2, ...shape]);
      assertClose(
        await read(p1),
        ref.map((r) => r[0]),
        { atol: 1e-6, rtol: 1e-5, msg: 'packed param vs reference' },
      );
      assertClose(await read(mv1), [...ref.map((r) => r[1]), ...ref.map((r) => r[2])], {
        atol: 1e-6,
        rtol: 1e-5,
        msg: 'packed moments vs reference',
      });
      tf.dispose([p1, mv1]);
      // What fusing is for: one kernel (two GPU passes) instead of a dozen; reshapes are free.
      const kernels = async (fn: () => tf.Tensor[]) => {
        const info = await tf.profile(() => fn());
        tf.dispose(info.result as tf.Tensor[]);
        return info.kernels.filter((k) => k.name !== 'Reshape').length;
      };
      const nFused = await kernels(() => fused.adamUpdatePacked(p, g, moments, attrs));
      const nComposed = await kernels(() => fused.adamUpdateReference(p, g, m, v, attrs));
      assert.is(nFused, 1, 'kernels of the fused update');
      assert.ok(nComposed >= 10, `composed update: ${nComposed} kernels`);
      tf.dispose([p, g, m, v, moments]);
    });
  }

  // cpu and wasm only: the GPUs compose gelu's adjoint from ops (and have no synchronous reads)
  if (backend === 'cpu' || backend === 'wasm')
    test(`[${backend}] gelu's forward writes its derivative while recording: the adjoint multiplies by it, freed with the output`, async () => {
      await tg.setBackend(backend);
      const xs = values(23, 31, -6, 3);
      const kernelsOf = async (fn: () => void) => (await tf.profile(fn)).kernels.map((k) => k.name);
      const gradient = (saved: boolean) => {
        testing.setFusedEnabled(saved, 'geluWithDerivative');
        try {
          const x = tg.tensor(xs, { requiresGrad: true });
          tg.tidy(() =>
            tg
              .gelu(x)
              .mul(tg.tensor(values(23, 32)))
              .sum()
              .backward(),
          );
          const g = Array.from(x.grad!.value.dataSync());
          x.grad!.dispose();
          x.dispose();
          return g;
        } finally {
          testing.setFusedEnabled(true, 'geluWithDerivative');
        }
      };
      // the adjoint's kernel's values (the derivative rounded to float32 before the multiply: within an ulp), and
      // nothing left behind
      let [withSaved, withKernel]: number[][] = [[], []];
      assertNoLeak(() => {
        withSaved = gradient(true);
        withKernel = gradient(false);
      });
      withSaved.forEach((v, i) => {
        if (!(Math.abs(v - withKernel[i]) <= 2 ** -23 * Math.abs(withKernel[i])))
          assert.unreachable(`at ${xs[i]}: ${v} with the saved derivative, ${withKernel[i]} by the adjoint's kernel`);
      });
      // one forward kernel with two outputs; the backward runs no gelu kernel, only the multiply
      const x = tg.tensor(xs, { requiresGrad: true });
      const names = await kernelsOf(() => {
        tg.tidy(() => tg.gelu(x).sum().backward());
      });
      assert.ok(names.includes('TapegradGeluWithDerivative') && !names.includes('TapegradGeluGrad'), names.join(' '));
      // without a graph (no grad wanted, noGrad, or an output disposed before backward), no derivative stays
      assertNoLeak(() => {
        const z = tg.tensor(xs, { requiresGrad: true });
        const c = tg.tensor(xs);
        tg.gelu(c).dispose();
        c.dispose();
        tg.noGrad(() => tg.gelu(z)).dispose();
        tg.gelu(z).dispose();
        const kept = tg.tidy(() => tg.gelu(z).sum());
        kept.backward();
        kept.dispose();
        z.grad!.dispose();
        z.dispose();
      });
      assert.ok(!(await kernelsOf(() => tg.noGrad(() => tg.gelu(x)).dispose())).includes('TapegradGeluWithDerivative'));
      x.grad?.dispose();
      x.dispose();
    });

  if (backend === 'wasm')
    test('[wasm] gelu and its derivative in float32 SIMD: within a few ulp of the float64 loops from −16 to 10, their values on specials', async () => {
      await tg.setBackend('wasm');
      const specials = [0, -0, Infinity, -Infinity, Number.NaN, 1e-45, -1e-45, 3e38, -3e38, 24, -24, -24.5, 38.6, -40];
      // the loops in float64, rounded once, and the SIMD kernels (gelu, its adjoint, the two in one pass)
      const run = async (simd: boolean, x: Float32Array, dy: Float32Array) => {
        testing.setSimdGelu(simd);
        try {
          const [xt, dyt] = [tf.tensor(x), tf.tensor(dy)];
          const outs = [fused.gelu(xt), fused.geluGrad(dyt, xt), ...fused.geluWithDerivative(xt)];
          const got = (await Promise.all(outs.map((t) => t.data()))) as Float32Array[];
          tf.dispose([xt, dyt, ...outs]);
          return got;
        } finally {
          testing.setSimdGelu(true);
        }
      };
      /** |got − want| in ulp of want (float32's, subnormals' below 2⁻¹²⁶); the derivative's beside Φ(x) + |x| φ(x). */
      const ulps = (got: number, want: number, scale = Math.abs(want)) =>
        Math.abs(got - want) / 2 ** (Math.max(Math.floor(Math.log2(scale)), -126) - 23);
      const phi = (v: number) => Math.exp(-0.5 * v * v) / Math.sqrt(2 * Math.PI);
      for (const n of [1, 2, 3, 5, 6, 7, 20001, 20005, 1_300_001]) {
        const x = Float32Array.from({ length: n }, (_, i) => -16 + (26 * i) / n);
        specials.forEach((v, i) => {
          x[(i * 1361) % n] = v;
        });
        const dy = Float32Array.from({ length: n }, (_, i) => (i % 7 === 3 ? -1 : 1));
        const [[y, dx, y2, d], [yRef, dxRef]] = [await run(true, x, dy), await run(false, x, dy)];
        const worst = [0, 0];
        for (let i = 0; i < n; i++) {
          const v = x[i];
          const where = `at ${v} (n = ${n})`;
          if (!Object.is(y2[i], y[i]) || !Object.is(d[i] * dy[i], dx[i]))
            assert.unreachable(`geluWithDerivative differs from gelu and geluGrad ${where}: ${y2[i]}, ${d[i]}`);
          if (!Number.isFinite(v) || Math.abs(v) >= 24) {
            // specials: the loops' values (and NaN where they give NaN), the sign of gelu's zeros too
            if (!Object.is(y[i], yRef[i]) || !(dx[i] === dxRef[i] || (Number.isNaN(dx[i]) && Number.isNaN(dxRef[i]))))
              assert.unreachable(`${where}: SIMD ${y[i]}, ${dx[i]}; the loops ${yRef[i]}, ${dxRef[i]}`);
            continue;
          }
          const ey = ulps(y[i], yRef[i]);
          const ed = ulps(dx[i] * dy[i], dxRef[i] * dy[i], Math.abs(dxRef[i]) + Math.abs(v) * phi(v));
          worst[0] = Math.max(worst[0], ey);
          worst[1] = Math.max(worst[1], ed);
          if (!(ey <= GELU_ULPS) || !(ed <= GELU_ULPS))
            assert.unreachable(`${where}: SIMD ${y[i]}, ${dx[i]}; the loops ${yRef[i]}, ${dxRef[i]}: ${ey}, ${ed} ulp`);
        }
        if (n > 1e6) console.log(`    gelu, float32 SIMD: ${worst.map((w) => w.toFixed(2)).join(' and ')} ulp at most`);
        if (n < 1e6) continue;
        // split with the helper thread once it is up: the same bits
        try {
          await helperThreadUp();
          const split = await run(true, x, dy);
          [y, dx, y2, d].forEach((whole, k) => {
            for (let i = 0; i < n; i++)
              if (!Object.is(split[k][i], whole[i]))
                assert.unreachable(`output ${k} at ${x[i]}: ${split[k][i]} on two threads, ${whole[i]} on one`);
          });
        } finally {
          tg.setThreads(1);
        }
      }
    });

  for (const single of backend === 'wasm' ? [true, false] : [])
    test(`[wasm] multi-tensor Adam in SIMD (${single ? 'float32' : 'float64'}): the same bits as the JavaScript loop, on every length and on specials`, async () => {
      await tg.setBackend('wasm');
      // the lengths from 2¹⁶ on are split with the helper thread once it is up
      await helperThreadUp();
      const specials = [0, -0, Infinity, -Infinity, Number.NaN, 1e-45, -1e-45, 3e38, -3e38, 1e-30];
      const lengths = [1, 2, 3, 4, 5, 7, 64, 1001, 70_001, 131_072];
      const withSpecials = (n: number, seed: number, lo = -2, hi = 2) => {
        const v = Float32Array.from(values(n, seed, lo, hi));
        specials.forEach((s, i) => {
          v[(i * 7919 + seed) % n] = s;
        });
        return v;
      };
      const ps = lengths.map((n, i) => tf.tensor(withSpecials(n, 10 + i)));
      const gs = lengths.map((n, i) => tf.tensor(withSpecials(n, 20 + i)));
      const ms = lengths.map((n, i) =>
        tf.stack([tf.tensor(withSpecials(n, 30 + i)), tf.tensor(values(n, 40 + i, 0, 0.5))]),
      );
      const steps = tf.tensor(
        fused.adamStepBits(lengths.map((_, i) => [0.01 * (i + 1), 1 - 0.9 ** (i + 1), 1 - 0.999 ** (i + 1)])),
        [lengths.length, 6],
        'int32',
      );
      for (const decoupled of [false, true]) {
        const attrs = {
          decoupled,
          beta1: lengths.map(() => 0.9),
          beta2: lengths.map(() => 0.999),
          eps: lengths.map((_, i) => 1e-8 * (i + 1)),
          weightDecay: lengths.map((_, i) => 0.05 * i),
        };
        const run = async (on: boolean) => {
          testing.setSimdAdam(on);
          testing.setAdamFloat32(single);
          try {
            const out = fused.adamUpdateMulti(ps, gs, ms, steps, attrs);
            const all = [...out.params, ...out.moments];
            const got = await Promise.all(all.map((t) => t.data()));
            tf.dispose(all);
            return got as Float32Array[];
          } finally {
            testing.setSimdAdam(true);
            testing.setAdamFloat32(true);
          }
        };
        const [simd, js] = [await run(true), await run(false)];
        simd.forEach((a, k) => {
          for (let i = 0; i < a.length; i++)
            if (!Object.is(a[i], js[k][i]))
              assert.unreachable(`output ${k} entry ${i}: SIMD ${a[i]}, the loop ${js[k][i]} (decoupled ${decoupled})`);
        });
      }
      tf.dispose([...ps, ...gs, ...ms, steps]);
    });

  for (const decoupled of JS_FUSED_BACKENDS.includes(backend as 'cpu') ? [false, true] : []) {
    test(`[${backend}] multi-tensor ${decoupled ? 'AdamW' : 'Adam'}: one kernel call = the per-parameter kernel, bit for bit`, async () => {
      await tg.setBackend(backend);
      const shapes = [[3, 37], [5], [], [2, 0], [4, 3, 2]];
      const ps = shapes.map((s, i) => randomTensor(s, 10 + i));
      const gs = shapes.map((s, i) => randomTensor(s, 20 + i));
      const ms = shapes.map((s, i) => tf.stack([randomTensor(s, 30 + i), randomTensor(s, 40 + i, 0, 0.5)]));
      // each parameter its own lr, step t and options, as parameter groups and per-parameter step counts give
      const each = shapes.map((_, i) => ({
        lr: 0.01 * (i + 1),
        beta1: 0.9 - 0.05 * i,
        beta2: 0.999 - 0.01 * i,
        eps: 1e-8 * (i + 1),
        weightDecay: 0.1 * i,
        decoupled,
        step: 1 + 3 * i,
      }));
      const before = tf.memory().numTensors;
      const steps = tf.tensor(
        fused.adamStepBits(each.map((a) => [a.lr, 1 - a.beta1 ** a.step, 1 - a.beta2 ** a.step])),
        [shapes.length, 6],
        'int32',
      );
      const pick = (k: 'beta1' | 'beta2' | 'eps' | 'weightDecay') => each.map((a) => a[k]);
      // in float64, the per-parameter kernel's arithmetic
      testing.setAdamFloat32(false);
      const info = await tf
        .profile(() => {
          const out = fused.adamUpdateMulti(ps, gs, ms, steps, {
            decoupled,
            beta1: pick('beta1'),
            beta2: pick('beta2'),
            eps: pick('eps'),
            weightDecay: pick('weightDecay'),
          });
          return [...out.params, ...out.moments];
        })
        .finally(() => testing.setAdamFloat32(true));
      const got = info.result as tf.Tensor[];
      assert.is(info.kernels.length, 1, 'kernel calls');
      for (let i = 0; i < shapes.length; i++) {
        const [p1, mv1] = fused.adamUpdatePacked(ps[i], gs[i], ms[i], each[i]);
        assert.equal(got[i].shape, shapes[i]);
        assert.equal(await read(got[i]), await read(p1), `param ${i}`);
        assert.equal(await read(got[shapes.length + i]), await read(mv1), `moments ${i}`);
        tf.dispose([p1, mv1]);
      }
      tf.dispose([...got, steps]);
      assert.is(tf.memory().numTensors, before, 'tensors leaked');
      const bad = tf.zeros([shapes.length, 3], 'int32');
      assert.throws(
        () => fused.adamUpdateMulti(ps, gs, ms, bad, { decoupled, beta1: [], beta2: [], eps: [], weightDecay: [] }),
        /adamUpdateMulti: steps must be int32 \[5, 6\]/,
      );
      assert.throws(
        () =>
          fused.adamUpdateMulti(ps, gs.slice(1), ms, bad, {
            decoupled,
            beta1: [],
            beta2: [],
            eps: [],
            weightDecay: [],
          }),
        /adamUpdateMulti: needs as many gradients and moments as parameters, got 5, 4 and 5/,
      );
      tf.dispose([...ps, ...gs, ...ms, bad]);
    });
  }

  for (const decoupled of JS_FUSED_BACKENDS.includes(backend as 'cpu') ? [false, true] : []) {
    test(`[${backend}] multi-tensor ${decoupled ? 'AdamW' : 'Adam'} in float32: PyTorch's operations rounded to float32, bit for bit; near the float64 step`, async () => {
      await tg.setBackend(backend);
      // lengths past the SIMD width, and one from which the step is shared with the helper thread
      const lengths = [1, 3, 4, 37, 1001, 70_001];
      if (backend === 'wasm') await helperThreadUp();
      const ps = lengths.map((n, i) => randomTensor([n], 10 + i));
      const gs = lengths.map((n, i) => randomTensor([n], 20 + i, -1e-3, 1e-3));
      const ms = lengths.map((n, i) =>
        tf.stack([randomTensor([n], 30 + i, -1e-3, 1e-3), randomTensor([n], 40 + i, 0, 1e-6)]),
      );
      const each = lengths.map((_, i) => ({
        lr: 1e-3 * (i + 1),
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        wd: 0.01 * i,
        t: 1 + 5 * i,
      }));
      const steps = tf.tensor(
        fused.adamStepBits(each.map((a) => [a.lr, 1 - a.beta1 ** a.t, 1 - a.beta2 ** a.t])),
        [lengths.length, 6],
        'int32',
      );
      const attrs = {
        decoupled,
        beta1: each.map((a) => a.beta1),
        beta2: each.map((a) => a.beta2),
        eps: each.map((a) => a.eps),
        weightDecay: each.map((a) => a.wd),
      };
      const run = async (single: boolean) => {
        testing.setAdamFloat32(single);
        try {
          const out = fused.adamUpdateMulti(ps, gs, ms, steps, attrs);
          const all = [...out.params, ...out.moments];
          const got = await Promise.all(all.map((t) => t.data() as Promise<Float32Array>));
          tf.dispose(all);
          return got;
        } finally {
          testing.setAdamFloat32(true);
        }
      };
      const [got, wide] = [await run(true), await run(false)];
      const k = lengths.length;
      let worst = 0;
      for (let j = 0; j < k; j++) {
        const [p, g, mv] = (await Promise.all([ps[j], gs[j], ms[j]].map((t) => t.data()))) as Float32Array[];
        const want = adamFloat32Reference(p, g, mv, { ...each[j], decoupled });
        const names = ['param', 'moments'];
        [want.p, want.mv].forEach((w, o) => {
          const have = got[o * k + j];
          for (let i = 0; i < w.length; i++)
            if (!Object.is(have[i], w[i]))
              assert.unreachable(
                `${names[o]} ${j} entry ${i}: the kernel ${have[i]}, PyTorch's float32 operations ${w[i]}`,
              );
        });
        // against the float64 step: the new parameters and moments within a few float32 ulps of the
        // larger of the old and new values (a moment's two terms may cancel)
        [p, mv].forEach((old, o) => {
          const [have, far] = [got[o * k + j], wide[o * k + j]];
          for (let i = 0; i < have.length; i++)
            worst = Math.max(worst, Math.abs(have[i] - far[i]) / ulp(Math.max(Math.abs(old[i]), Math.abs(far[i]))));
        });
      }
      assert.ok(worst <= ADAM_FLOAT32_ULPS, `the float32 step's distance to the float64 one: ${worst} ulp`);
      tf.dispose([...ps, ...gs, ...ms, steps]);
    });
  }

  test(`[${backend}] relu and leakyRelu backward: fused = composed`, async () => {
    await tg.setBackend(backend);
    const dy = randomTensor([4, 33], 5);
    const x = tf.tensor([0, -0.5, 0.5, ...values(129, 6)], [4, 33]); // x = 0 takes the x ≤ 0 branch
    const pairs: [tf.Tensor, tf.Tensor][] = [
      [fused.reluGrad(dy, x), fused.leakyReluGradReference(dy, x, 0)],
      [fused.leakyReluGrad(dy, x, 0.2), fused.leakyReluGradReference(dy, x, 0.2)],
    ];
    const [dyv, xv] = [await read(dy), await read(x)];
    const ref = [dyv.map((d, i) => (xv[i] > 0 ? d : 0)), dyv.map((d, i) => (xv[i] > 0 ? d : 0.2 * d))];
    for (const [k, [a, b]] of pairs.entries()) {
      assertClose(await read(a), await read(b), { atol: 0, rtol: 1e-6, msg: `kernel ${k}: fused vs composed` });
      assertClose(await read(a), ref[k], { atol: 0, rtol: 1e-6, msg: `kernel ${k}: vs reference` });
    }
    tf.dispose([dy, x, ...pairs.flat()]);
  });

  for (const [shape, offset] of [
    [[5, 3], 0],
    [[2, 3, 4, 6], 0],
    // a mean far from 0 against the spread: the kernel's shifted sums keep the variance (cpu and
    // wasm; the GPUs run the reference, whose float32 variance loses it)
    [[4, 5, 2], 4e6],
  ] as [number[], number][]) {
    if (offset && !JS_FUSED_BACKENDS.includes(backend as 'cpu')) continue;
    test(`[${backend}] batch norm ${JSON.stringify(shape)} (mean ${offset}): forward and backward, fused = reference = float64`, async () => {
      await tg.setBackend(backend);
      const C = shape[shape.length - 1];
      const eps = 1e-3;
      const x = tf.add(randomTensor(shape, 7), offset);
      const dy = randomTensor(shape, 8);
      const w = randomTensor([C], 9);
      const b = randomTensor([C], 10);
      const start = tf.memory().numTensors;
      const got = [...fused.batchNorm(x, w, b, eps), ...fused.batchNormGrad(dy, x, w, eps)];
      const ref = [...fused.batchNormReference(x, w, b, eps), ...fused.batchNormGradReference(dy, x, w, eps)];
      // float64 on plain arrays: per channel c, the entries i ≡ c (mod C)
      const [xv, gv, wv, bv] = [await read(x), await read(dy), await read(w), await read(b)];
      const M = xv.length / C;
      const n = xv.length;
      const want = [n, C, C, n, C, C].map((k) => new Array(k).fill(0));
      for (let c = 0; c < C; c++) {
        const idx = Array.from({ length: M }, (_, m) => m * C + c);
        const mu = idx.reduce((a, i) => a + xv[i], 0) / M;
        const variance = idx.reduce((a, i) => a + (xv[i] - mu) ** 2, 0) / M;
        const inv = 1 / Math.sqrt(variance + eps);
        const db = idx.reduce((a, i) => a + gv[i], 0);
        const dw = idx.reduce((a, i) => a + gv[i] * (xv[i] - mu) * inv, 0);
        for (const i of idx) {
          want[0][i] = (xv[i] - mu) * inv * wv[c] + bv[c];
          want[3][i] = wv[c] * inv * (gv[i] - db / M - (xv[i] - mu) * inv * (dw / M));
        }
        [want[1][c], want[2][c], want[4][c], want[5][c]] = [mu, variance, dw, db];
      }
      for (const k of want.keys()) {
        const msg = `${k < 3 ? 'forward' : 'backward'} output ${k % 3}`;
        assertClose(await read(got[k]), want[k], { atol: 1e-5, rtol: 1e-4, msg: `${msg}: fused vs float64` });
        // the reference's float32 variance loses digits to a large mean; the kernel's does not
        if (!offset) assertClose(await read(got[k]), await read(ref[k]), { atol: 1e-5, rtol: 1e-4, msg });
      }
      tf.dispose([...got, ...ref]);
      assert.is(tf.memory().numTensors, start, 'no tensor left behind');
      tf.dispose([x, dy, w, b]);
    });
  }

  for (const shape of [
    [5, 7],
    [3, 8],
    [2, 3, 16],
  ]) {
    test(`[${backend}] softmax's adjoint ${JSON.stringify(shape)}: fused = reference = float64`, async () => {
      await tg.setBackend(backend);
      const C = shape[shape.length - 1];
      const y = tf.softmax(randomTensor(shape, 11));
      const dy = randomTensor(shape, 12);
      const start = tf.memory().numTensors;
      const got = fused.softmaxGrad(dy, y);
      const ref = fused.softmaxGradReference(dy, y);
      const [yv, gv] = [await read(y), await read(dy)];
      const want = yv.map((v, i) => {
        const r = Math.floor(i / C) * C;
        const s = yv.slice(r, r + C).reduce((a, u, j) => a + u * gv[r + j], 0);
        return v * (gv[i] - s);
      });
      assert.equal(got.shape, shape);
      assertClose(await read(got), want, { atol: 1e-6, rtol: 1e-5, msg: 'fused vs float64' });
      assertClose(await read(got), await read(ref), { atol: 1e-6, rtol: 1e-5, msg: 'fused vs reference' });
      tf.dispose([got, ref]);
      assert.is(tf.memory().numTensors, start, 'no tensor left behind');
      tf.dispose([y, dy]);
    });
  }

  for (const [shape, k, offset] of [
    [[5, 7], 1, 0],
    [[3, 2, 8], 1, 0],
    [[2, 3, 4], 2, 0],
    // a mean far from 0 against the spread: the kernel's two float64 passes keep the variance (cpu
    // and wasm; the GPUs run the reference, whose float32 variance loses it)
    [[4, 6], 1, 4e6],
  ] as [number[], number, number][]) {
    if (offset && !JS_FUSED_BACKENDS.includes(backend as 'cpu')) continue;
    test(`[${backend}] layer norm ${JSON.stringify(shape)} over ${k} axes (mean ${offset}): forward and backward, fused = reference = float64`, async () => {
      await tg.setBackend(backend);
      const wShape = shape.slice(shape.length - k);
      const C = wShape.reduce((a, b) => a * b, 1);
      const eps = 1e-3;
      const x = tf.add(randomTensor(shape, 7), offset);
      const dy = randomTensor(shape, 8);
      const w = randomTensor(wShape, 9);
      const b = randomTensor(wShape, 10);
      const start = tf.memory().numTensors;
      const got = [fused.layerNorm(x, w, b, eps), ...fused.layerNormGrad(dy, x, w, eps)];
      const ref = [fused.layerNormReference(x, w, b, eps), ...fused.layerNormGradReference(dy, x, w, eps)];
      assert.equal(
        got.map((t) => t.shape),
        [shape, shape, wShape, wShape],
      );
      // float64 on plain arrays, row by row
      const [xv, gv, wv, bv] = [await read(x), await read(dy), await read(w), await read(b)];
      const n = xv.length;
      const want = [n, n, C, C].map((m) => new Array(m).fill(0));
      for (let r = 0; r < n / C; r++) {
        const idx = Array.from({ length: C }, (_, j) => r * C + j);
        const mu = idx.reduce((a, i) => a + xv[i], 0) / C;
        const inv = 1 / Math.sqrt(idx.reduce((a, i) => a + (xv[i] - mu) ** 2, 0) / C + eps);
        const xh = idx.map((i) => (xv[i] - mu) * inv);
        const g = idx.map((i, j) => gv[i] * wv[j]);
        const mg = g.reduce((a, v) => a + v, 0) / C;
        const mgx = g.reduce((a, v, j) => a + v * xh[j], 0) / C;
        idx.forEach((i, j) => {
          want[0][i] = xh[j] * wv[j] + bv[j];
          want[1][i] = inv * (g[j] - mg - xh[j] * mgx);
          want[2][j] += gv[i] * xh[j];
          want[3][j] += gv[i];
        });
      }
      for (const k of want.keys()) {
        const msg = ['y', 'dx', 'dweight', 'dbias'][k];
        assertClose(await read(got[k]), want[k], { atol: 1e-5, rtol: 1e-4, msg: `${msg}: fused vs float64` });
        // the reference's float32 variance loses digits to a large mean; the kernel's does not
        if (!offset) assertClose(await read(got[k]), await read(ref[k]), { atol: 1e-5, rtol: 1e-4, msg });
      }
      tf.dispose([...got, ...ref]);
      assert.is(tf.memory().numTensors, start, 'no tensor left behind');
      tf.dispose([x, dy, w, b]);
    });
  }

  for (const shape of [
    [5, 7],
    [2, 3, 4],
  ]) {
    test(`[${backend}] softmax cross-entropy ${JSON.stringify(shape)}: loss and dlogits, fused = composed = reference`, async () => {
      await tg.setBackend(backend);
      const C = shape[shape.length - 1];
      const n = shape.reduce((a, b) => a * b, 1);
      const z = randomTensor(shape, 7, -4, 4);
      // Rows that are distributions, and one that is not (Σt ≠ 1), as label smoothing and soft targets give.
      const tv = values(n, 8, 0, 1);
      const t = tf.tensor(tv, shape);
      const both = testing.softmaxCrossEntropy(z, t);
      const composed = fused.softmaxCrossEntropyReference(z, t) as { loss: tf.Tensor; dlogits: tf.Tensor };
      const loss = fused.softmaxCrossEntropyLoss(z, t);
      const dlogits = fused.softmaxCrossEntropyGrad(z, t);
      assert.equal(both.loss.shape, shape.slice(0, -1));
      assert.equal(both.dlogits.shape, shape);
      const zv = await read(z);
      const refLoss: number[] = [];
      const refGrad: number[] = [];
      for (let r = 0; r < n / C; r++) {
        const zr = zv.slice(r * C, (r + 1) * C);
        const tr = tv.slice(r * C, (r + 1) * C);
        const mx = Math.max(...zr);
        const se = zr.reduce((s, x) => s + Math.exp(x - mx), 0);
        const st = tr.reduce((s, x) => s + x, 0);
        refLoss.push(st * (mx + Math.log(se)) - tr.reduce((s, x, j) => s + x * zr[j], 0));
        zr.forEach((x, j) => refGrad.push((Math.exp(x - mx) / se) * st - tr[j]));
      }
      const tol = { atol: 1e-5, rtol: 1e-5 };
      for (const [name, a, b] of [
        ['loss', both.loss, composed.loss],
        ['dlogits', both.dlogits, composed.dlogits],
        ['loss alone', loss, composed.loss],
        ['dlogits alone', dlogits, composed.dlogits],
      ] as const) {
        assertClose(await read(a), await read(b), { ...tol, msg: `${name}: fused vs composed` });
        assertClose(await read(a), name.startsWith('loss') ? refLoss : refGrad, {
          ...tol,
          msg: `${name}: vs reference`,
        });
      }
      tf.dispose([z, t, both.loss, both.dlogits, composed.loss, composed.dlogits, loss, dlogits]);
    });

    test(`[${backend}] softmax cross-entropy ${JSON.stringify(shape)} against int32 class indices: fused = composed = reference`, async () => {
      await tg.setBackend(backend);
      const C = shape[shape.length - 1];
      const rows = shape.reduce((a, b) => a * b, 1) / C;
      const z = randomTensor(shape, 9, -4, 4);
      const labels = Array.from({ length: rows }, (_, r) => (r * 5 + 2) % C);
      const y = tf.tensor(labels, shape.slice(0, -1), 'int32');
      const both = testing.softmaxCrossEntropy(z, y);
      const composed = fused.softmaxCrossEntropyReference(z, y) as { loss: tf.Tensor; dlogits: tf.Tensor };
      assert.equal(both.loss.shape, shape.slice(0, -1));
      assert.equal(both.dlogits.shape, shape);
      const zv = await read(z);
      const refLoss: number[] = [];
      const refGrad: number[] = [];
      for (let r = 0; r < rows; r++) {
        const zr = zv.slice(r * C, (r + 1) * C);
        const lse = Math.max(...zr) + Math.log(zr.reduce((s, x) => s + Math.exp(x - Math.max(...zr)), 0));
        refLoss.push(lse - zr[labels[r]]);
        zr.forEach((x, j) => refGrad.push(Math.exp(x - lse) - (j === labels[r] ? 1 : 0)));
      }
      const tol = { atol: 1e-5, rtol: 1e-5 };
      for (const [name, a, b, ref] of [
        ['loss', both.loss, composed.loss, refLoss],
        ['dlogits', both.dlogits, composed.dlogits, refGrad],
      ] as const) {
        assertClose(await read(a), await read(b), { ...tol, msg: `${name}: fused vs composed` });
        assertClose(await read(a), ref, { ...tol, msg: `${name}: vs reference` });
      }
      // with an upstream gradient (per row, or one value) and a scale folded in
      const gRows = tf.tensor(values(rows, 10), shape.slice(0, -1));
      const gOne = tf.scalar(0.7);
      const gv = await read(gRows);
      for (const [name, upstream, factor] of [
        ['per-row g', gRows, (r: number) => 0.25 * gv[r]],
        ['one g', gOne, () => 0.25 * 0.7],
      ] as const) {
        const d = fused.softmaxCrossEntropyGrad(z, y, { upstream, scale: 0.25 });
        assertClose(
          await read(d),
          refGrad.map((x, i) => x * factor(Math.floor(i / C))),
          { ...tol, msg: `dlogits with ${name}` },
        );
        d.dispose();
      }
      tf.dispose([z, y, gRows, gOne, both.loss, both.dlogits, composed.loss, composed.dlogits]);
    });
  }

  test(`[${backend}] the ops and Adam that use the fused kernels give the reference values`, async () => {
    await tg.setBackend(backend);
    const before = tg.memory().numTensors;
    const got = await threeAdamSteps();
    // The same three steps on the cpu backend with the composed ops throughout.
    await tg.setBackend('cpu');
    testing.setFusedEnabled(false);
    const want = await threeAdamSteps();
    testing.setFusedEnabled(true);
    await tg.setBackend(backend);
    assertClose(got.losses, want.losses, { atol: 1e-4, rtol: 1e-4, msg: 'losses' });
    assertClose(got.weights, want.weights, { atol: 1e-4, rtol: 1e-4, msg: 'weights after 3 steps' });
    assert.is(tg.memory().numTensors, before, 'tensors leaked');
  });
}

/**
 * Three Adam steps (lr 0.1) on crossEntropy(relu(leakyRelu(x·W))) from fixed values, on the active
 * backend, through the fused kernels where it has them: the losses and W after the steps.
 */
async function threeAdamSteps(): Promise<{ losses: number[]; weights: number[] }> {
  const W = tg.tensor(values(12, 9), { shape: [4, 3], requiresGrad: true });
  const x = tg.tensor(values(8, 10), { shape: [2, 4] });
  const labels = tg.tensor([2, 0], { dtype: 'int32' });
  const opt = new tg.optim.Adam([W], { lr: 0.1 });
  const losses: number[] = [];
  for (let i = 0; i < 3; i++) {
    const l = tg.tidy(() => {
      const loss = tg.crossEntropy(x.matmul(W).leakyRelu(0.1).relu(), labels);
      opt.zeroGrad();
      loss.backward();
      opt.step();
      return loss;
    });
    losses.push((await l.data())[0]);
    l.dispose();
  }
  const weights = Array.from(await W.data());
  opt.zeroGrad(); // frees W.grad
  tg.dispose([W, x, labels]);
  opt.dispose();
  return { losses, weights };
}

for (const backend of NODE_BACKENDS) {
  test(`[${backend}] a float32 cast of a bool holds floats: sums over non-adjacent axes (kernels/webgpu-cast.ts)`, async () => {
    await tg.setBackend(backend);
    const x = tf.tensor([0.3, -1.2, 2.1, 0.7, -0.4, 1.5, -2.2, 0.9, 1.1, -0.8, 0.2, 1.9], [2, 3, 2]);
    const hits = tf.tidy(() => tf.sum(tf.cast(tf.equal(x, tf.max(x, [0, 2], true)), 'float32'), [0, 2]));
    assert.equal(await read(hits), [1, 1, 1]);
    tf.dispose([x, hits]);
  });
}

test('the fused calls check their inputs', async () => {
  const a = tf.zeros([2, 3]);
  const b = tf.zeros([3, 2]);
  const attrs = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, step: 1 };
  assert.throws(
    () => testing.adamUpdate(a, b, a, a, attrs),
    /adamUpdate: grad \[3,2\] and param \[2,3\] differ in shape/,
  );
  assert.throws(() => testing.adamUpdate(a, a, a, a, { ...attrs, step: 0 }), /adamUpdate: step must be ≥ 1/);
  assert.throws(() => fused.reluGrad(a, b), /reluGrad: x \[3,2\] and dy \[2,3\] differ in shape/);
  assert.throws(
    () => testing.softmaxCrossEntropy(tf.scalar(1), tf.scalar(1)),
    /softmaxCrossEntropy: logits must have a class axis/,
  );
  tf.dispose([a, b]);
});

test.run();
