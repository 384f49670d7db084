// chain: 1,000 chained elementwise ops (sin, then ×1.001, alternately) on a scalar and on a
// 1,000-vector, summed. The arithmetic is trivial, so the times are each library's own overhead
// per op: the tape's recording and reverse sweep for tapegrad (time / 1,000 = cost per op).
// ×1.001 keeps the chain's derivative (a product of 500 factors 1.001·cos y) near 0.4 rather than
// vanishing, so that the libraries' gradients can be compared in float32.
import * as tf from '@tensorflow/tfjs';
import * as jax from '@jax-js/jax';
import * as tg from '../../src/index.js';
import { type Harness, type Suite, finiteDifferences } from '../harness.js';
import { checkAgree, jaxArray, jaxDevice, normal, queueJax, readAll, readJax, settle } from '../common.js';

export const OPS = 1000;
const SCALE = 1.001;
const np = jax.numpy;

/** The chain in each library (the cpu suite times these too). */
export function tgChain(x: tg.Tensor): tg.Tensor {
  let y = x;
  for (let i = 0; i < OPS / 2; i++) y = y.sin().mul(SCALE);
  return y.sum();
}
export function tfChain(x: tf.Tensor): tf.Scalar {
  let y = x;
  for (let i = 0; i < OPS / 2; i++) y = tf.mul(tf.sin(y), SCALE);
  return tf.sum(y);
}
export function jaxChain(x: jax.numpy.Array): jax.numpy.Array {
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
  const tgGrad = () => readAll([dx(x)]);
  // The exact gradient, in float64, to check every library against. GPU sin and cos are
  // approximations: compounded over 1,000 ops they move the gradient by ~1.5% (SwiftShader, in
  // TF.js's and jax-js's kernels alike), hence a looser tolerance there.
  const want = [exactGradient(data)];
  const tol = ['wasm', 'cpu'].includes(h.backend) ? 2e-3 : 5e-2;
  checkAgree(h, 'chain', size, 'tapegrad', await tgGrad(), want, tol);
  h.queue('tapegrad', 'forward', () => settle(tg.noGrad(() => tg.tidy(() => tgChain(x)))));
  h.queue('tapegrad', 'grad', async () => void (await tgGrad()));

  // ---- TF.js: tf.grad
  const tdx = tf.grad(tfChain);
  const tfGrad = () => readAll([tdx(x.value)]);
  checkAgree(h, 'chain', size, 'tf.grad', await tfGrad(), want, tol);
  h.queue('tf.grad', 'forward', () => settle(tf.tidy(() => tfChain(x.value))));
  h.queue('tf.grad', 'grad', async () => void (await tfGrad()));

  // ---- jax-js: grad, and jit(grad), which compiles the chain once and fuses it
  const dev = await jaxDevice(h.backend, h.opts.jax);
  if (dev) {
    const xj = len === 1 ? np.array(data[0]) : jaxArray(data, shape);
    // Eager jax-js builds one lazy expression for the whole chain and may exceed the stack on it:
    // queueJax then skips the eager pair, saying so.
    const args = () => [xj.ref];
    const read = (g: jax.numpy.Array) => readJax([g]);
    const freeJits = await queueJax(h, {
      suite: 'chain',
      size,
      dev,
      f: jaxChain,
      grad: jax.grad,
      args,
      read,
      want,
      tol,
    });
    later.push(() => (freeJits(), xj.dispose()));
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
      await settle(tg.noGrad(() => tg.tidy(() => tgChain(tg.tensor(len === 1 ? w[0] : w, { shape })))));
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
