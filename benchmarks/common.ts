// What the suites share: seeded data that every library receives identically, the jax-js device
// beside each TF.js backend, the check that two implementations computed the same gradient, and
// the timed calls every library's column is made of (a result read back, then freed).
import * as jax from '@jax-js/jax';
import * as tg from '../src/index.js';
import { type Check, type Harness, finiteDifferences } from './harness.js';
import { normalSamples } from '../src/random.js';

/**
 * The loader's batches without end, one `next()` a batch: a new pass (and shuffle) begins where one
 * ends; `stop()` ends the pass under way.
 */
export function endlessBatches(loader: Iterable<tg.Tensor[]>): { next: () => tg.Tensor[]; stop: () => void } {
  let batches = loader[Symbol.iterator]();
  return {
    next: () => {
      let r = batches.next();
      if (r.done) {
        batches = loader[Symbol.iterator]();
        r = batches.next();
      }
      return r.value as tg.Tensor[];
    },
    stop: () => batches.return?.(),
  };
}

/** n normal samples from the seeded generator, scaled by `scale`. */
export const normal = normalSamples;

/** A well-conditioned n×n matrix: I + 0.5·N(0,1)/√n (eigenvalues stay near 1, so det and inv are tame). */
export function wellConditioned(n: number, seed: number): Float32Array {
  const a = normal(n * n, seed, 0.5 / Math.sqrt(n));
  for (let i = 0; i < n; i++) a[i * n + i] += 1;
  return a;
}

/** jax-js's device that runs beside a TF.js backend: wasm beside wasm, webgpu/webgl beside theirs. */
const JAX_DEVICE: Record<string, jax.Device | undefined> = { wasm: 'wasm', webgpu: 'webgpu', webgl: 'webgl' };
const jaxReady = new Map<string, boolean>();

/** Makes jax-js's device for `backend` the default and returns it, or null where it does not run. */
export async function jaxDevice(backend: string, enabled = true): Promise<jax.Device | null> {
  const dev = JAX_DEVICE[backend];
  if (!enabled || !dev) return null;
  if (!jaxReady.has(dev)) {
    try {
      jaxReady.set(dev, (await jax.init(dev)).includes(dev));
    } catch {
      jaxReady.set(dev, false); // e.g. webgpu in Node without navigator.gpu
    }
  }
  if (!jaxReady.get(dev)) return null;
  jax.defaultDevice(dev);
  return dev;
}

/** A jax-js array holding `data` with `shape` on the current default device. */
export function jaxArray(data: Float32Array, shape: number[]): jax.numpy.Array {
  return jax.numpy.array(data).reshape(shape);
}

/** Largest |a − b| relative to the largest |b|: 0 when identical. */
export function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let num = 0;
  let den = 1e-12;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
}

/** Compares the gradients (concatenated) of `impl` with `want` (tapegrad's, or exact); warns when they differ. */
export function checkAgree(
  h: Harness,
  suite: string,
  size: string,
  impl: string,
  got: ArrayLike<number>[],
  want: ArrayLike<number>[],
  tol = 2e-3,
): Check {
  const flat = (xs: ArrayLike<number>[]) => Float64Array.from(xs.flatMap((x) => Array.from(x)));
  const d = relDiff(flat(got), flat(want));
  const c = { suite, size, impl, relDiff: d, ok: d <= tol };
  h.checks.push(c);
  if (!c.ok)
    h.log(
      `WARNING ${suite} ${size}: ${impl}'s gradient differs from the reference (relative difference ${d.toExponential(2)})`,
    );
  return c;
}

/**
 * Runs one jax-js measurement; if jax-js throws (a missing gradient rule, a recursion limit), says
 * so on the progress stream and goes on, since one library's limit must not stop the comparison.
 */
export async function tryJax(h: Harness, suite: string, what: string, fn: () => Promise<unknown>): Promise<boolean> {
  try {
    await fn();
    return true;
  } catch (e) {
    h.skipProblem(suite, `jax-js failed on ${what}: ${(e as Error).message.split('\n')[0]}`);
    return false;
  }
}

/**
 * Queues tapegrad's forward and forward+gradient of f at args (gradients with respect to `wrt`,
 * through tg.grad) and returns the gradients once, for the agreement checks.
 */
export async function queueTapegradGrad(
  h: Harness,
  f: (...xs: tg.Tensor[]) => tg.Tensor,
  args: tg.Tensor[],
  wrt: number[],
): Promise<Float32Array[]> {
  const df = tg.grad(f, wrt);
  const grads = () => readAll(df(...args) as tg.Tensor[]);
  const want = await grads();
  h.queue('tapegrad', 'forward', () => settle(tg.noGrad(() => tg.tidy(() => f(...args)))));
  h.queue('tapegrad', 'grad', async () => void (await grads()));
  return want;
}

/** A tensor of any of the libraries: its values can be awaited and it can be freed. */
interface Readable {
  data(): Promise<unknown>;
  dispose(): void;
}

/** Awaits t's values (so that the time includes the work and the read back), then frees it. */
export async function settle(t: Readable): Promise<void> {
  await t.data();
  t.dispose();
}

/** The values of each tensor, read back, the tensors freed: a gradient as checkAgree takes it. */
export async function readAll(ts: Readable[]): Promise<Float32Array[]> {
  const out = (await Promise.all(ts.map((t) => t.data()))) as Float32Array[];
  for (const t of ts) t.dispose();
  return out;
}

/** The values of jax-js arrays (jax-js frees an array as it reads it). */
export async function readJax(arrays: jax.numpy.Array[]): Promise<Float32Array[]> {
  return (await Promise.all(arrays.map((a) => a.data()))) as Float32Array[];
}

type JaxFn = (...args: any[]) => any;

/**
 * Queues jax-js's forward and gradient, eager and jit-compiled ('jax-js', 'jax-js jit'), of f at
 * args() (fresh references each call: jax-js takes ownership of its arguments), each pair after
 * checking its gradient against `want` (within tol). `grad` makes f's gradient function (jax.grad
 * with the suite's argnums), `read` reads a gradient's arrays (by default, a list of arrays). A
 * jax-js failure skips that pair, saying so (tryJax). Returns what frees the compiled functions.
 */
export async function queueJax(
  h: Harness,
  o: {
    suite: string;
    size: string;
    dev: jax.Device;
    f: JaxFn;
    grad: (f: JaxFn) => JaxFn;
    args: () => unknown[];
    read?: (g: any) => Promise<Float32Array[]>;
    want: ArrayLike<number>[];
    tol?: number;
  },
): Promise<() => void> {
  const { suite, size, dev, f, grad, args, read = readJax, want, tol } = o;
  const fj = jax.jit(f);
  const gj = jax.jit(grad(f));
  const note = `jax-js device ${dev}`;
  const pairs = [
    ['jax-js', 'eager', f, grad(f)],
    ['jax-js jit', 'jit', fj, gj],
  ] as const;
  for (const [impl, mode, forward, gradient] of pairs)
    await tryJax(h, suite, `${size} (${mode})`, async () => {
      checkAgree(h, suite, size, impl, await read(gradient(...args())), want, tol);
      h.queue(impl, 'forward', async () => void (await forward(...args()).data()), { note }, 'jax-js');
      h.queue(impl, 'grad', async () => void (await read(gradient(...args()))), { note }, 'jax-js');
    });
  return () => (fj.dispose(), gj.dispose());
}

/** An operand of a benchmarked function: its data and the tensor made of them. */
export interface Operand {
  data: Float32Array;
  tensor: tg.Tensor;
}

/**
 * The finite-differences column for f(a, b): each evaluation is f through tapegrad's forward with
 * one entry of a (the first a.data.length entries) or of b moved; `entries` counts those the
 * gradient needs (both operands' by default).
 */
export function finiteDifferencesOf(
  h: Harness,
  suite: string,
  size: string,
  f: (a: tg.Tensor, b: tg.Tensor) => tg.Tensor,
  a: Operand,
  b: Operand,
  entries = a.data.length + b.data.length,
): Promise<unknown> {
  return finiteDifferences(h, suite, size, entries, async (i, eps) => {
    const onA = i < a.data.length;
    const moved = onA ? a : b;
    const w = moved.data.slice();
    w[onA ? i : i - a.data.length] += eps;
    await settle(
      tg.noGrad(() =>
        tg.tidy(() => {
          const p = tg.tensor(w, { shape: moved.tensor.shape });
          return onA ? f(p, b.tensor) : f(a.tensor, p);
        }),
      ),
    );
  });
}
