// cpu: training on the CPU against PyTorch, side by side in one run. Four workloads, the same
// in benchmarks/reference/torch_cpu.py (whose figures are read when /usr/bin/python3 has torch):
// one Adam step of Linear(B,B) → relu → Linear(B,10) with mean cross-entropy (eager, with its loss
// and gradients compiled, compiled whole, and with one Adam kernel per parameter); forward + gradient
// of the relu MLP with mse (no biases, as the mlp suite); the 1,000-op chain on a scalar and on a
// 1,000-vector; matmul 1024 (GFLOP/s). tapegrad, TF.js's own gradients and optimizer, and
// jax-js's grad and jit(grad) are timed here; PyTorch runs as a child process just before them.
import * as tf from '@tensorflow/tfjs';
import * as jax from '@jax-js/jax';
import * as tg from '../../src/index.js';
import { setFusedEnabled } from '../../src/testing.js';
import type { BenchRecord, Harness, Suite } from '../harness.js';
import { checkAgree, jaxArray, jaxDevice, normal, queueTapegradGrad, readAll, settle, tryJax } from '../common.js';
import { mlpData, queueJaxMlp } from './mlp.js';
import { OPS, jaxChain, tfChain, tgChain } from './chain.js';
import { mlpAdamStep } from '../gpu/mlp-step.js';
import { threadScaling } from './threads.js';

const OUT = 10;
const SIZES = { small: [64, 256], full: [64, 256, 1024] };
const np = jax.numpy;

/**
 * PyTorch's records from benchmarks/reference/torch_cpu.py, or [] (with a line of progress saying
 * why) when /usr/bin/python3 has no torch. OpenBLAS's CORETYPE and L2_SIZE overrides are removed
 * from its environment: they force generic kernels.
 */
async function torchRecords(h: Harness): Promise<Omit<BenchRecord, 'backend' | 'device' | 'date'>[]> {
  // Node's modules are loaded here, not at the top, so that the suite also bundles for a page.
  const [{ spawnSync }, { fileURLToPath }] = await Promise.all([import('node:child_process'), import('node:url')]);
  const script = fileURLToPath(new URL('../reference/torch_cpu.py', import.meta.url));
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  h.log('cpu: PyTorch reference (benchmarks/reference/torch_cpu.py) …');
  const budget = h.size === 'full' ? '4' : '1';
  const r = spawnSync('/usr/bin/python3', [script, '--size', h.size, '--budget', budget], {
    env,
    encoding: 'utf8',
    timeout: 600_000,
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) {
    h.skipProblem('cpu', `PyTorch not run (${(r.stderr || r.error?.message || '').trim().split('\n').pop()})`);
    return [];
  }
  return JSON.parse(r.stdout);
}

/** One Adam step: tapegrad's (tg.nn.MLP, tg.optim.Adam) and TF.js's (tf.train.adam().minimize). */
async function adamStep(h: Harness, B: number): Promise<void> {
  const size = `Adam step B=${B} ${B}→${B}→${OUT}`;
  const tgStep = mlpAdamStep(B, B, B);
  const X = tg.randn([B, B], { seed: 2 });
  h.queue('tapegrad', 'grad', () => settle(tgStep.step()));
  // the same step with the loss and gradients compiled (tg.compile), the update as before
  const compiled = compiledAdamStep(B);
  h.queue('tapegrad compiled', 'grad', () => settle(compiled.step()));
  // the whole step compiled: forward, backward and the optimizer's update replayed as one trace
  const whole = mlpAdamStep(B, B, B);
  const wholeStep = tg.compile(() => whole.step());
  h.queue('tapegrad compiled step', 'grad', () => settle(wholeStep()));
  // the eager step with one Adam kernel per parameter instead of the multi-tensor kernel
  const perParameter = mlpAdamStep(B, B, B);
  h.queue('tapegrad per-parameter Adam', 'grad', async () => {
    setFusedEnabled(false, 'adamMultiUpdate');
    let l: tg.Tensor;
    try {
      l = perParameter.step();
    } finally {
      setFusedEnabled(true, 'adamMultiUpdate');
    }
    await l.data();
    l.dispose();
  });

  const labels = Int32Array.from({ length: B }, (_, i) => (i * 7) % OUT);
  const vars = tf.tidy(() => [
    tf.variable(tf.tensor(normal(B * B, 3, 1 / Math.sqrt(B)), [B, B])),
    tf.variable(tf.zeros([B])),
    tf.variable(tf.tensor(normal(B * OUT, 4, 1 / Math.sqrt(B)), [B, OUT])),
    tf.variable(tf.zeros([OUT])),
  ]);
  const onehot = tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), OUT));
  const [w1, b1, w2, b2] = vars;
  const loss = () =>
    tf.losses.softmaxCrossEntropy(
      onehot,
      tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(X.value, w1), b1)), w2), b2),
    ) as tf.Scalar;
  const opt = tf.train.adam(1e-3);
  h.queue('tf.train.adam', 'grad', () => settle(opt.minimize(loss, true)!));
  await h.runQueued('cpu', size);
  tgStep.dispose();
  compiled.dispose();
  wholeStep.dispose();
  whole.dispose();
  perParameter.dispose();
  opt.dispose();
  tf.dispose([...vars, onehot]);
  X.dispose();
}

/** mlp-step.ts's Adam step with the loss and its gradients as one compiled function. */
function compiledAdamStep(B: number): { step: () => tg.Tensor; dispose: () => void } {
  const net = new tg.nn.MLP([B, B, OUT], { activation: 'relu', seed: 1 });
  const params = net.parameters();
  const opt = new tg.optim.Adam(params, { lr: 1e-3 });
  const X = tg.randn([B, B], { seed: 2 });
  const y = tg.tensor(
    Array.from({ length: B }, (_, i) => (i * 7) % OUT),
    { dtype: 'int32' },
  );
  const lossAndGrads = tg.compile(() => {
    const l = tg.crossEntropy(net.forward(X), y);
    return [l, ...tg.gradients(l, params)];
  });
  const step = () => {
    const [l, ...gs] = lossAndGrads();
    params.forEach((p, i) => {
      p.grad?.dispose();
      p.grad = gs[i];
    });
    opt.step();
    return l!;
  };
  const dispose = () => {
    opt.zeroGrad();
    opt.dispose();
    net.dispose();
    lossAndGrads.dispose();
    tg.dispose([X, y]);
  };
  return { step, dispose };
}

/** Forward, and forward + the gradients of both weights, of relu(X W1) W2 with mse (the mlp suite's problem). */
async function mlpGrad(h: Harness, B: number): Promise<void> {
  const size = `mlp B=${B} ${B}→${B}→${OUT}`;
  const data = mlpData(B, B, B);
  const later: (() => void)[] = [];
  const X = tg.tensor(data.x, { shape: [B, B] });
  const Y = tg.tensor(data.y, { shape: [B, OUT] });
  const W1 = tg.tensor(data.w1, { shape: [B, B], requiresGrad: true });
  const W2 = tg.tensor(data.w2, { shape: [B, OUT], requiresGrad: true });
  const loss = (w1: tg.Tensor, w2: tg.Tensor) => tg.mseLoss(X.matmul(w1).relu().matmul(w2), Y);
  const want = await queueTapegradGrad(h, loss, [W1, W2], [0, 1]);
  const df = tg.grad(loss, [0, 1]);
  const cdf = tg.compile((w1: tg.Tensor, w2: tg.Tensor) => df(w1, w2) as tg.Tensor[]);
  const compiledGrads = () => readAll(cdf(W1, W2) as tg.Tensor[]);
  checkAgree(h, 'cpu', size, 'tapegrad compiled', await compiledGrads(), want, 0);
  h.queue('tapegrad compiled', 'grad', async () => void (await compiledGrads()));
  later.push(() => (tg.dispose([X, Y, W1, W2]), cdf.dispose()));

  const tfLoss = (w1: tf.Tensor, w2: tf.Tensor) =>
    tf.mean(tf.squaredDifference(tf.matMul(tf.relu(tf.matMul(X.value, w1)), w2), Y.value)) as tf.Scalar;
  const tfGrad = tf.grads(tfLoss);
  const tfGrads = () => readAll(tfGrad([W1.value, W2.value]));
  checkAgree(h, 'cpu', size, 'tf.grads', await tfGrads(), want);
  h.queue('tf.grad', 'forward', () => settle(tf.tidy(() => tfLoss(W1.value, W2.value))));
  h.queue('tf.grad', 'grad', async () => void (await tfGrads()));

  const dev = await jaxDevice(h.backend, h.opts.jax);
  if (dev) later.push(await queueJaxMlp(h, { suite: 'cpu', size, dev }, data, [B, B, B], want));
  await h.runQueued('cpu', size);
  later.forEach((f) => f());
}

/** The 1,000-op chain (sin, ×1.001), forward and forward + gradient. */
async function chain(h: Harness, len: number): Promise<void> {
  const size = len === 1 ? `chain scalar, ${OPS} ops` : `chain ${len}-vector, ${OPS} ops`;
  const shape = len === 1 ? [] : [len];
  const data = normal(len, 21);
  const x = tg.tensor(len === 1 ? data[0] : data, { shape });
  const dx = tg.grad(tgChain);
  h.queue('tapegrad', 'forward', () => settle(tg.noGrad(() => tg.tidy(() => tgChain(x)))));
  h.queue('tapegrad', 'grad', () => settle(dx(x)));
  const cdx = tg.compile((v: tg.Tensor) => dx(v));
  h.queue('tapegrad compiled', 'grad', () => settle(cdx(x)));
  const tdx = tf.grad(tfChain);
  h.queue('tf.grad', 'forward', () => settle(tf.tidy(() => tfChain(x.value))));
  h.queue('tf.grad', 'grad', () => settle(tdx(x.value)));
  const dev = await jaxDevice(h.backend, h.opts.jax);
  let xj: jax.numpy.Array | null = null;
  const jits: { dispose(): void }[] = [];
  if (dev) {
    xj = len === 1 ? np.array(data[0]) : jaxArray(data, shape);
    const fj = jax.jit(jaxChain);
    const gj = jax.jit(jax.grad(jaxChain));
    jits.push(fj, gj);
    const note = `jax-js device ${dev}`;
    await tryJax(h, 'cpu', `${size} (jit)`, async () => {
      await gj(xj!.ref).data();
      h.queue('jax-js jit', 'forward', async () => void (await fj(xj!.ref).data()), { note }, 'jax-js');
      h.queue('jax-js jit', 'grad', async () => void (await gj(xj!.ref).data()), { note }, 'jax-js');
    });
  }
  await h.runQueued('cpu', size);
  jits.forEach((j) => j.dispose());
  cdx.dispose();
  xj?.dispose();
  x.dispose();
}

/** matmul 1024 on the backend (its GFLOP/s in the note): what bounds the large steps. */
async function matmul(h: Harness): Promise<void> {
  const n = 1024;
  const size = `matmul n=${n}, ${tg.getThreads()} thread${tg.getThreads() > 1 ? 's' : ''}`;
  const A = tg.tensor(normal(n * n, 5), { shape: [n, n] });
  const Bm = tg.tensor(normal(n * n, 6), { shape: [n, n] });
  h.queue('tapegrad', 'forward', () => settle(tg.noGrad(() => A.matmul(Bm))));
  const recs = await h.runQueued('cpu', size);
  for (const r of recs) r.note = `${((2 * n ** 3) / r.medianMs / 1e6).toFixed(0)} GFLOP/s`;
  tg.dispose([A, Bm]);
}

export const cpu: Suite = {
  name: 'cpu',
  title: 'CPU training against PyTorch: Adam step, MLP gradient, 1,000-op chain, matmul 1024',
  async run(h) {
    const torch = h.opts.torch ? await torchRecords(h) : [];
    for (const B of SIZES[h.size]) {
      await adamStep(h, B);
      await mlpGrad(h, B);
    }
    await chain(h, 1);
    await chain(h, 1000);
    // a 1024 matmul takes seconds on the cpu backend, whose kernels are plain JavaScript
    if (h.backend !== 'cpu') await matmul(h);
    await threadScaling(h);
    for (const r of torch) h.add(r);
  },
};
