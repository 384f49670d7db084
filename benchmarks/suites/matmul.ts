// matmul: the gradient of sum(tanh(A·B)) with respect to both n×n matrices — the forward is one
// matmul, the gradient two more (Ā = G Bᵀ, B̄ = Aᵀ G), so a good gradient costs about 3× the forward.
import * as tf from '@tensorflow/tfjs';
import * as jax from '@jax-js/jax';
import * as tg from '../../src/index.js';
import type { Harness, Suite } from '../harness.js';
// the seeded data, the jax-js device and arrays, and the reads of a timed result
import { normal, jaxDevice, jaxArray, checkAgree, readAll, settle } from '../common.js';
// the columns: tapegrad's, jax-js's, finite differences
import { queueTapegradGrad, queueJax, finiteDifferencesOf } from '../common.js';

const SIZES = { small: [128, 256], full: [128, 256, 512, 1024] };
const np = jax.numpy;

async function runSize(h: Harness, n: number): Promise<void> {
  const size = `n=${n}`;
  const a = normal(n * n, 11, 1 / Math.sqrt(n));
  const b = normal(n * n, 12);

  // Freed once the side-by-side timing of this problem is done.
  const later: (() => void)[] = [];

  // ---- tapegrad (functional style: tg.grad over both arguments)
  const A = tg.tensor(a, { shape: [n, n] });
  const B = tg.tensor(b, { shape: [n, n] });
  const f = (x: tg.Tensor, y: tg.Tensor) => tg.sum(tg.tanh(tg.matmul(x, y)));
  const want = await queueTapegradGrad(h, f, [A, B], [0, 1]);

  // ---- TF.js: tf.grads on the same backend
  const tff = (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.tanh(tf.matMul(x, y)));
  const tdf = tf.grads(tff);
  const tfGrads = () => readAll(tdf([A.value, B.value]));
  checkAgree(h, 'matmul', size, 'tf.grad', await tfGrads(), want);
  h.queue('tf.grad', 'forward', () => settle(tf.tidy(() => tff(A.value, B.value))));
  h.queue('tf.grad', 'grad', async () => void (await tfGrads()));

  // ---- jax-js: grad and jit(grad) with argnums [0, 1]
  const dev = await jaxDevice(h.backend, h.opts.jax);
  if (dev) {
    const Aj = jaxArray(a, [n, n]);
    const Bj = jaxArray(b, [n, n]);
    const jf = (x: jax.numpy.Array, y: jax.numpy.Array) => np.sum(np.tanh(np.matmul(x, y)));
    const grad = (f: typeof jf) => jax.grad(f, { argnums: [0, 1] });
    const freeJits = await queueJax(h, { suite: 'matmul', size, dev, f: jf, grad, args: () => [Aj.ref, Bj.ref], want });
    later.push(() => (freeJits(), jax.tree.dispose([Aj, Bj])));
  } else h.skipProblem('matmul', `jax-js has no device beside '${h.backend}'`);

  await h.runQueued('matmul', size);
  later.forEach((f) => f());

  // ---- finite differences: 2 evaluations per entry of A and of B
  await finiteDifferencesOf(h, 'matmul', size, f, { data: a, tensor: A }, { data: b, tensor: B });
  tg.dispose([A, B]);
}

export const matmul: Suite = {
  name: 'matmul',
  title: 'Gradient of sum(tanh(A·B)) with respect to A and B, n×n',
  async run(h) {
    for (const n of SIZES[h.size]) await runSize(h, n);
  },
};
