// mlp: one training step of a two-layer perceptron, B×D → relu(·W1) → ·W2 → mse against B×10
// targets, with the gradients of both weight matrices. B = D = hidden; B = 256 is the step that
// docs/benchmarks.md's first table compares (256 → 256 → 10). The full size also runs a
// 1,000-step SGD loop and records tg.memory().
import * as tf from '@tensorflow/tfjs';
import * as jax from '@jax-js/jax';
import * as tg from '../../src/index.js';
import type { Harness, Suite } from '../harness.js';
import { checkAgree, finiteDifferencesOf, jaxArray, jaxDevice, normal, queueJax, readJax, settle } from '../common.js';

const OUT = 10;
const SIZES = { small: [64, 256], full: [64, 256, 1024] };
const LOOP_STEPS = { small: 20, full: 1000 };

type JaxParams = { w1: jax.numpy.Array; w2: jax.numpy.Array };
const np = jax.numpy;
// jax-js takes ownership of arguments: each is used exactly once here.
const jaxLoss = (p: JaxParams, x: jax.numpy.Array, y: jax.numpy.Array) =>
  np.mean(np.square(np.matmul(jax.nn.relu(np.matmul(x, p.w1)), p.w2).sub(y)));

/** The problem's seeded data, as every library receives it: x [B, D], y [B, 10], w1 [D, H], w2 [H, 10]. */
export type MlpData = Record<'x' | 'y' | 'w1' | 'w2', Float32Array>;
export const mlpData = (B: number, D: number, H: number): MlpData => ({
  x: normal(B * D, 1),
  y: normal(B * OUT, 2),
  w1: normal(D * H, 3, 1 / Math.sqrt(D)),
  w2: normal(H * OUT, 4, 1 / Math.sqrt(H)),
});

/**
 * Queues jax-js's columns (grad and jit(grad) of jaxLoss with respect to both weights) for the
 * problem at `data`, checked against `want`; returns what frees jax-js's arrays and compiled functions.
 */
export async function queueJaxMlp(
  h: Harness,
  where: { suite: string; size: string; dev: jax.Device },
  data: MlpData,
  [B, D, H]: [number, number, number],
  want: Float32Array[],
): Promise<() => void> {
  const P = { w1: jaxArray(data.w1, [D, H]), w2: jaxArray(data.w2, [H, OUT]) };
  const Xj = jaxArray(data.x, [B, D]);
  const Yj = jaxArray(data.y, [B, OUT]);
  const freeJits = await queueJax(h, {
    ...where,
    f: jaxLoss,
    grad: jax.grad,
    args: () => [{ w1: P.w1.ref, w2: P.w2.ref }, Xj.ref, Yj.ref],
    read: (g: JaxParams) => readJax([g.w1, g.w2]),
    want,
  });
  return () => (freeJits(), jax.tree.dispose([P, Xj, Yj]));
}

async function runSize(h: Harness, B: number): Promise<void> {
  const D = B;
  const H = B;
  const size = `B=${B} ${D}→${H}→${OUT}`;
  const data = mlpData(B, D, H);

  // Freed once the side-by-side timing of this problem is done.
  const later: (() => void)[] = [];

  // ---- tapegrad: the loss, and backward() into .grad as a PyTorch user writes it
  const X = tg.tensor(data.x, { shape: [B, D] });
  const Y = tg.tensor(data.y, { shape: [B, OUT] });
  const W1 = tg.tensor(data.w1, { shape: [D, H], requiresGrad: true });
  const W2 = tg.tensor(data.w2, { shape: [H, OUT], requiresGrad: true });
  const loss = () => tg.mseLoss(X.matmul(W1).relu().matmul(W2), Y);
  const tgGrads = async (): Promise<Float32Array[]> => {
    const l = tg.tidy(() => {
      const l = loss();
      l.backward();
      return l;
    });
    const out = (await Promise.all([l.data(), W1.grad!.data(), W2.grad!.data()])) as Float32Array[];
    for (const W of [W1, W2]) {
      W.grad!.dispose();
      W.grad = null;
    }
    l.dispose();
    return out.slice(1);
  };
  const want = await tgGrads();
  h.queue('tapegrad', 'forward', () => settle(tg.noGrad(() => tg.tidy(loss))));
  h.queue('tapegrad', 'grad', async () => void (await tgGrads()));

  // ---- TF.js: its own gradients (tf.variableGrads) on the same backend
  // Variables are kept past the tidy; the tensors they were made from are freed by it.
  const [w1, w2] = tf.tidy(() => [tf.variable(tf.tensor(data.w1, [D, H])), tf.variable(tf.tensor(data.w2, [H, OUT]))]);
  const tfLoss = () =>
    tf.mean(tf.squaredDifference(tf.matMul(tf.relu(tf.matMul(X.value, w1)), w2), Y.value)) as tf.Scalar;
  const tfGrads = async (): Promise<Float32Array[]> => {
    const { value, grads } = tf.variableGrads(tfLoss);
    const out = (await Promise.all([value.data(), grads[w1.name].data(), grads[w2.name].data()])) as Float32Array[];
    tf.dispose([value, grads[w1.name], grads[w2.name]]);
    return out.slice(1);
  };
  checkAgree(h, 'mlp', size, 'tf.variableGrads', await tfGrads(), want);
  h.queue('tf.variableGrads', 'forward', () => settle(tf.tidy(tfLoss)));
  h.queue('tf.variableGrads', 'grad', async () => void (await tfGrads()));
  later.push(() => tf.dispose([w1, w2]));

  // ---- jax-js: grad, and jit(grad) as a jax user would write a training step
  const dev = await jaxDevice(h.backend, h.opts.jax);
  if (dev) later.push(await queueJaxMlp(h, { suite: 'mlp', size, dev }, data, [B, D, H], want));
  else h.skipProblem('mlp', `jax-js has no device beside '${h.backend}'`);

  await h.runQueued('mlp', size);
  later.forEach((f) => f());

  // ---- finite differences through tapegrad's forward: 2 evaluations per weight
  await finiteDifferencesOf(
    h,
    'mlp',
    size,
    (w1, w2) => tg.mseLoss(X.matmul(w1).relu().matmul(w2), Y),
    { data: data.w1, tensor: W1 },
    { data: data.w2, tensor: W2 },
  );

  if (B === 256) await memoryLoop(h, size, loss, [W1, W2]);
  tg.dispose([X, Y, W1, W2]);
}

/** A plain SGD training loop; records its time per step and tg.memory() before and after. */
async function memoryLoop(h: Harness, size: string, loss: () => tg.Tensor, params: tg.Tensor[]): Promise<void> {
  const steps = LOOP_STEPS[h.size];
  h.log(`mlp ${size} ${steps}-step SGD loop, tg.memory() before and after …`);
  const before = tg.memory();
  const t0 = performance.now();
  for (let s = 0; s < steps; s++) {
    const l = tg.tidy(() => {
      const l = loss();
      l.backward();
      return l;
    });
    await l.data();
    l.dispose();
    for (const p of params) {
      // p ← p − 0.01·∇p: the parameter's value is replaced, its gradient freed (no graph recorded).
      const next = tf.tidy(() => tf.sub(p.value, tf.mul(p.grad!.value, 0.01)));
      p.value.dispose();
      p.value = next;
      p.grad!.dispose();
      p.grad = null;
    }
  }
  const perStep = (performance.now() - t0) / steps;
  const after = tg.memory();
  h.add({
    suite: 'mlp',
    impl: 'tapegrad SGD loop',
    phase: 'grad',
    size: `${size}, ${steps} steps`,
    medianMs: perStep,
    minMs: perStep,
    maxMs: perStep,
    reps: steps,
    memory: { before, after },
    note: `mean time per step (forward, backward, update); tg.memory() ${after.numTensors === before.numTensors && after.numBytes === before.numBytes ? 'constant' : 'CHANGED'}: ${before.numTensors} tensors/${before.numBytes} B before, ${after.numTensors}/${after.numBytes} after`,
  });
}

export const mlp: Suite = {
  name: 'mlp',
  title: 'MLP training step: B×B → relu → B×10, mse; gradients of both weights',
  async run(h) {
    for (const B of SIZES[h.size]) await runSize(h, B);
  },
};
