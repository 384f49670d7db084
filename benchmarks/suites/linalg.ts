// linalg: inv, solve and det and their gradients (sum(inv(A)), sum(solve(A, B)), det(A)) on
// well-conditioned n×n matrices. TF.js has none of the three, so the comparison is with jax-js and
// finite differences. Skipped, with a message, while tg.linalg is absent.
import * as jax from '@jax-js/jax';
import * as tg from '../../src/index.js';
import { type Harness, type Suite, finiteDifferences } from '../harness.js';
import { normal, wellConditioned, jaxDevice, jaxArray, checkAgree, tryJax, queueTapegradGrad } from '../common.js';

const SIZES = { small: [8, 32], full: [8, 32, 128, 256] };
const RHS = 4; // columns of B in solve(A, B)
const np = jax.numpy;

/** The part of tg.linalg this suite uses (typed here so the suite compiles before it lands). */
interface Linalg {
  inv(a: tg.Tensor): tg.Tensor;
  solve(a: tg.Tensor, b: tg.Tensor): tg.Tensor;
  det(a: tg.Tensor): tg.Tensor;
}
const tgLinalg = (): Linalg | undefined => Reflect.get(tg, 'linalg') as Linalg | undefined;

interface Problem {
  name: 'inv' | 'solve' | 'det';
  tg: (L: Linalg, a: tg.Tensor, b: tg.Tensor) => tg.Tensor;
  jax: (a: jax.numpy.Array, b: jax.numpy.Array) => jax.numpy.Array;
}
const PROBLEMS: Problem[] = [
  { name: 'inv', tg: (L, a) => tg.sum(L.inv(a)), jax: (a, b) => (b.dispose(), np.sum(np.linalg.inv(a))) },
  { name: 'solve', tg: (L, a, b) => tg.sum(L.solve(a, b)), jax: (a, b) => np.sum(np.linalg.solve(a, b)) },
  { name: 'det', tg: (L, a) => L.det(a), jax: (a, b) => (b.dispose(), np.linalg.det(a)) },
];

async function runProblem(h: Harness, L: Linalg, p: Problem, n: number): Promise<void> {
  const size = `${p.name} n=${n}`;
  const a = wellConditioned(n, 31);
  const b = normal(n * RHS, 32);
  const wrt = p.name === 'solve' ? [0, 1] : [0];
  // Freed once the side-by-side timing of this problem is done.
  const later: (() => void)[] = [];
  const A = tg.tensor(a, { shape: [n, n] });
  const B = tg.tensor(b, { shape: [n, RHS] });
  const f = (x: tg.Tensor, y: tg.Tensor) => p.tg(L, x, y);
  const want = await queueTapegradGrad(h, f, [A, B], wrt);

  const dev = await jaxDevice(h.backend, h.opts.jax);
  if (dev) {
    const Aj = jaxArray(a, [n, n]);
    const Bj = jaxArray(b, [n, RHS]);
    const note = `jax-js device ${dev}`;
    const g = jax.grad(p.jax, { argnums: wrt });
    const gj = jax.jit(jax.grad(p.jax, { argnums: wrt }));
    const fj = jax.jit(p.jax);
    const grads = async (fn: typeof g) =>
      (await Promise.all(fn(Aj.ref, Bj.ref).map((r) => r.data()))) as Float32Array[];
    await tryJax(h, 'linalg', `${size} (eager)`, async () => {
      checkAgree(h, 'linalg', size, 'jax-js', await grads(g), want, 1e-2);
      h.queue('jax-js', 'forward', async () => void (await p.jax(Aj.ref, Bj.ref).data()), { note }, 'jax-js');
      h.queue('jax-js', 'grad', async () => void (await grads(g)), { note }, 'jax-js');
    });
    await tryJax(h, 'linalg', `${size} (jit)`, async () => {
      checkAgree(h, 'linalg', size, 'jax-js jit', await grads(gj), want, 1e-2);
      h.queue('jax-js jit', 'forward', async () => void (await fj(Aj.ref, Bj.ref).data()), { note }, 'jax-js');
      h.queue('jax-js jit', 'grad', async () => void (await grads(gj)), { note }, 'jax-js');
    });
    later.push(() => (fj.dispose(), gj.dispose(), jax.tree.dispose([Aj, Bj])));
  } else h.skipProblem('linalg', `jax-js has no device beside '${h.backend}'`);

  await h.runQueued('linalg', size);
  later.forEach((f) => f());

  const entries = n * n + (p.name === 'solve' ? n * RHS : 0);
  await finiteDifferences(h, 'linalg', size, entries, async (i, eps) => {
    const onA = i < n * n;
    const w = (onA ? a : b).slice();
    w[onA ? i : i - n * n] += eps;
    const v = tg.noGrad(() =>
      tg.tidy(() => {
        const P = tg.tensor(w, { shape: onA ? [n, n] : [n, RHS] });
        return onA ? f(P, B) : f(A, P);
      }),
    );
    await v.data();
    v.dispose();
  });
  tg.dispose([A, B]);
}

export const linalg: Suite = {
  name: 'linalg',
  title: 'inv, solve and det and their gradients (TF.js has none: jax-js and finite differences beside)',
  async run(h) {
    const L = tgLinalg();
    if (!L || typeof L.inv !== 'function' || typeof L.solve !== 'function' || typeof L.det !== 'function') {
      h.skipProblem('linalg', 'tg.linalg (inv, solve, det) is not in this build of tapegrad yet');
      return;
    }
    h.log('linalg: TF.js has no inv, solve or det, so it has no column here');
    for (const n of SIZES[h.size]) for (const p of PROBLEMS) await runProblem(h, L, p, n);
  },
};
