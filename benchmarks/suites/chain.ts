// chain: 1,000 chained elementwise ops (sin, then ×1.001, alternately) on a scalar and on a
// 1,000-vector, summed. The arithmetic is trivial, so the times are each library's own overhead
// per op: the tape's recording and reverse sweep for tapegrad (time / 1,000 = cost per op).
// ×1.001 keeps the chain's derivative (a product of 500 factors 1.001·cos y) near 0.4 rather than
// vanishing, so that the libraries' gradients can be compared in float32.
import * as tf from '@tensorflow/tfjs';
import * as jax from '@jax-js/jax';
import * as tg from '../../src/index.js';
import { type Harness, type Suite, finiteDifferences } from '../harness.js';
import { normal, jaxDevice, jaxArray, checkAgree, tryJax } from '../common.js';

const OPS = 1000;
const SCALE = 1.001;
const np = jax.numpy;

function tgChain(x: tg.Tensor): tg.Tensor {
  let y = x;
  for (let i = 0; i < OPS / 2; i++) y = y.sin().mul(SCALE);
  return y.sum();
}
function tfChain(x: tf.Tensor): tf.Scalar {
  let y = x;
  for (let i = 0; i < OPS / 2; i++) y = tf.mul(tf.sin(y), SCALE);
  return tf.sum(y);
}
function jaxChain(x: jax.numpy.Array): jax.numpy.Array {
  let y = x;
  for (let i = 0; i < OPS / 2; i++) y = np.sin(y).mul(SCALE);
  return np.sum(y);
}

/** d/dx of sum(chain(x)), entry by entry in float64: the product of SCALE·cos(y) along the chain. */
function exactGradient(x: Float32Array): Float64Array {
  return Float64Array.from(x, (v) => {
    let y = v;
    let d = 1;
    for (let i = 0; i < OPS / 2; i++) {
      d *= SCALE * Math.cos(y);
      y = SCALE * Math.sin(y);
    }
    return d;
  });
}

async function runCase(h: Harness, len: number): Promise<void> {
  const size = len === 1 ? `scalar, ${OPS} ops` : `${len}-vector, ${OPS} ops`;
  const shape = len === 1 ? [] : [len];
  const data = normal(len, 21);

  // Freed once the side-by-side timing of this problem is done.
  const later: (() => void)[] = [];

  // ---- tapegrad
  const x = tg.tensor(len === 1 ? data[0] : data, { shape });
  const dx = tg.grad(tgChain);
  const tgGrad = async () => {
    const g = dx(x);
    const out = (await g.data()) as Float32Array;
    g.dispose();
    return out;
  };
  // The exact gradient, in float64, to check every library against. GPU sin and cos are
  // approximations: compounded over 1,000 ops they move the gradient by ~1.5% (SwiftShader, in
  // TF.js's and jax-js's kernels alike), hence a looser tolerance there.
  const want = [exactGradient(data)];
  const tol = ['wasm', 'cpu'].includes(h.backend) ? 2e-3 : 5e-2;
  checkAgree(h, 'chain', size, 'tapegrad', [await tgGrad()], want, tol);
  h.queue('tapegrad', 'forward', async () => {
    const v = tg.noGrad(() => tg.tidy(() => tgChain(x)));
    await v.data();
    v.dispose();
  });
  h.queue('tapegrad', 'grad', async () => void (await tgGrad()));

  // ---- TF.js: tf.grad
  const tdx = tf.grad(tfChain);
  const tfGrad = async () => {
    const g = tdx(x.value);
    const out = (await g.data()) as Float32Array;
    g.dispose();
    return out;
  };
  checkAgree(h, 'chain', size, 'tf.grad', [await tfGrad()], want, tol);
  h.queue('tf.grad', 'forward', async () => {
    const v = tf.tidy(() => tfChain(x.value));
    await v.data();
    v.dispose();
  });
  h.queue('tf.grad', 'grad', async () => void (await tfGrad()));

  // ---- jax-js: grad, and jit(grad), which compiles the chain once and fuses it
  const dev = await jaxDevice(h.backend, h.opts.jax);
  if (dev) {
    const xj = len === 1 ? np.array(data[0]) : jaxArray(data, shape);
    const g = jax.grad(jaxChain);
    const gj = jax.jit(jax.grad(jaxChain));
    const fj = jax.jit(jaxChain);
    const grad = async (fn: typeof g) => (await fn(xj.ref).data()) as Float32Array;
    const note = `jax-js device ${dev}`;
    // Eager jax-js builds one lazy expression for the whole chain and may exceed the stack on it.
    await tryJax(h, 'chain', `${size} (eager)`, async () => {
      checkAgree(h, 'chain', size, 'jax-js', [await grad(g)], want, tol);
      h.queue('jax-js', 'forward', async () => void (await jaxChain(xj.ref).data()), { note }, 'jax-js');
      h.queue('jax-js', 'grad', async () => void (await grad(g)), { note }, 'jax-js');
    });
    await tryJax(h, 'chain', `${size} (jit)`, async () => {
      checkAgree(h, 'chain', size, 'jax-js jit', [await grad(gj)], want, tol);
      h.queue('jax-js jit', 'forward', async () => void (await fj(xj.ref).data()), { note }, 'jax-js');
      h.queue('jax-js jit', 'grad', async () => void (await grad(gj)), { note }, 'jax-js');
    });
    later.push(() => (fj.dispose(), gj.dispose(), xj.dispose()));
  } else h.skipProblem('chain', `jax-js has no device beside '${h.backend}'`);

  await h.runQueued('chain', size);
  later.forEach((f) => f());

  // ---- finite differences: 2 evaluations per entry
  await finiteDifferences(
    h,
    'chain',
    size,
    len,
    async (i, eps) => {
      const w = data.slice();
      w[i] += eps;
      const v = tg.noGrad(() => tg.tidy(() => tgChain(tg.tensor(len === 1 ? w[0] : w, { shape }))));
      await v.data();
      v.dispose();
    },
    4,
  );
  x.dispose();
}

export const chain: Suite = {
  name: 'chain',
  title: `${OPS} chained elementwise ops on a scalar and on a 1,000-vector: overhead per op`,
  async run(h) {
    await runCase(h, 1);
    await runCase(h, 1000);
  },
};
