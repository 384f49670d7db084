// linalg: inv, solve and det and their gradients (sum(inv(A)), sum(solve(A, B)), det(A)) on
// well-conditioned n×n matrices. TF.js has none of the three, so the comparison is with jax-js and
// finite differences. Skipped, with a message, while tg.linalg is absent.
import * as jax from '@jax-js/jax';
import * as tg from '../../src/index.js';
import type { Harness, Suite } from '../harness.js';
// the seeded data, and the jax-js device and arrays
import { normal, wellConditioned, jaxDevice, jaxArray } from '../common.js';
// the columns: tapegrad's, jax-js's, finite differences
import { queueTapegradGrad, queueJax, finiteDifferencesOf } from '../common.js';

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
    const grad = (f: Problem['jax']) => jax.grad(f, { argnums: wrt });
    const args = () => [Aj.ref, Bj.ref];
    const freeJits = await queueJax(h, { suite: 'linalg', size, dev, f: p.jax, grad, args, want, tol: 1e-2 });
    later.push(() => (freeJits(), jax.tree.dispose([Aj, Bj])));
  } else h.skipProblem('linalg', `jax-js has no device beside '${h.backend}'`);

  await h.runQueued('linalg', size);
  later.forEach((f) => f());

  // inv and det need the entries of A, solve those of B too
  const entries = n * n + (p.name === 'solve' ? n * RHS : 0);
  await finiteDifferencesOf(h, 'linalg', size, f, { data: a, tensor: A }, { data: b, tensor: B }, entries);
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
