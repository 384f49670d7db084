// What the suites share: seeded data that every library receives identically, the jax-js device
// beside each TF.js backend, and the check that two implementations computed the same gradient.
import * as jax from '@jax-js/jax';
import * as tg from '../src/index.js';
import type { Check, Harness } from './harness.js';
import { normalSamples } from '../src/random.js';

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
  const grads = async () => {
    const gs = df(...args) as tg.Tensor[];
    const out = (await Promise.all(gs.map((g) => g.data()))) as Float32Array[];
    tg.dispose(gs);
    return out;
  };
  const want = await grads();
  h.queue('tapegrad', 'forward', async () => {
    const v = tg.noGrad(() => tg.tidy(() => f(...args)));
    await v.data();
    v.dispose();
  });
  h.queue('tapegrad', 'grad', async () => void (await grads()));
  return want;
}
