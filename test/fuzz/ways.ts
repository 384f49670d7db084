// Every way of taking a gradient agrees on random compositions: tg.gradients, backward() into .grad,
// hooks (on the inputs, and on each output of the several-output ops split, chunk and unbind),
// retainGrad on those outputs, createGraph (and a second backward through its result),
// detectAnomaly, explain and toDot, and tg.compile (its trace and its replay). The composition is a
// fuzz case (gen.ts); the reference is tg.gradients of Σ w·f(x) for fixed random weights w. The
// ways run the same kernels, so they must agree to rounding (a doubled hook against a doubled
// substitute, say), and leave no tensor behind.
import fc from 'fast-check';
import * as tg from '../../src/index.js';
import { build, caseArb, snippet, type Case } from './gen.js';

type TG = typeof tg;
type Grads = (Float32Array | Int32Array | Uint8Array | null)[];

const SEVERAL = ['split', 'chunk', 'unbind'];

/** tg whose several-output ops pass each of their outputs through `each`. */
function withParts(each: (part: tg.Tensor) => tg.Tensor): TG {
  return new Proxy(tg, {
    get(obj, prop, recv) {
      const v = Reflect.get(obj, prop, recv);
      if (typeof prop !== 'string' || !SEVERAL.includes(prop)) return v;
      return (...args: unknown[]) => (v as (...a: unknown[]) => tg.Tensor[])(...args).map(each);
    },
  });
}

function values(seed: number, n: number): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  });
}

const read = (gs: (tg.Tensor | null)[]): Grads => gs.map((g) => (g ? g.dataSync().slice() : null));

/** Where a and b differ beyond rounding (null: they agree); a missing gradient equals zeros. */
function differ(a: Grads, b: Grads, scale = 1): string | null {
  // rounding relative to the largest entry of any input's gradient (gradients that cancel to 0 leave
  // a few ulps of their terms, which the other inputs' gradients measure where an input has one entry)
  let top = 1e-2;
  for (const x of a) for (const v of x ?? []) top = Math.max(top, Math.abs(v * scale));
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (!x && !y) continue;
    const n = (x ?? y)!.length;
    for (let k = 0; k < n; k++) {
      const u = (x?.[k] ?? 0) * scale;
      const v = y?.[k] ?? 0;
      if (!(Math.abs(u - v) <= 1e-5 * top))
        return `input ${i} entry ${k}: ${u} against ${v}${x ? '' : ' (no gradient in the first)'}${y ? '' : ' (no gradient in the second)'}`;
    }
  }
  return null;
}

/** How the ways went: a disagreement (or an error) names the way; refusals by compile are counted, not failed. */
export interface WaysResult {
  problem: string | null;
  compileRefused?: string;
}

export async function runWays(c: Case): Promise<WaysResult> {
  const before = tg.memory().numTensors;
  const made: tg.Tensor[] = [];
  const inputs: tg.Tensor[] = [];
  let way = 'building the case';
  const result: WaysResult = { problem: null };
  try {
    const { fWith } = build(c, inputs);
    const xs = inputs.map((x) => tg.keep(tg.tensor(x.dataSync(), { shape: x.shape, requiresGrad: true })));
    made.push(...xs);
    const shape = tg.tidy(() => fWith(tg)(...xs).shape);
    const w = tg.keep(
      tg.tensor(
        values(
          c.seed + 3,
          shape.reduce((a, b) => a * b, 1),
        ),
        { shape },
      ),
    );
    made.push(w);
    const loss = (t: TG, args: tg.Tensor[] = xs) => tg.sum(tg.mul(fWith(t)(...args), w));
    const gradientsOf = (t: TG, opts: { createGraph?: boolean } = {}) =>
      tg.tidy(() => read(tg.gradients(loss(t), xs, opts)));
    const leafGrads = (): Grads => {
      const g = xs.map((x) => (x.grad ? x.grad.dataSync().slice() : null));
      xs.forEach((x) => {
        x.grad?.dispose();
        x.grad = null;
      });
      return g;
    };
    const check = (what: string, a: Grads, b: Grads, scale = 1) => {
      const d = differ(a, b, scale);
      if (d && !result.problem) result.problem = `${what}: ${d}`;
    };

    way = 'tg.gradients';
    const ref = gradientsOf(tg);

    way = 'backward() into .grad';
    tg.tidy(() => loss(tg).backward());
    check(way, ref, leafGrads());

    way = 'hooks on the inputs (doubling)';
    const removers = xs.map((x) => x.registerHook((g) => tg.mul(g, 2)));
    tg.tidy(() => loss(tg).backward());
    removers.forEach((r) => r());
    check(way, ref, leafGrads(), 2);

    way = "hooks on the several-output ops' outputs (doubling), against 2y − stopGradient(y)";
    const hooked = withParts((y) => {
      if (y.requiresGrad) y.registerHook((g) => tg.mul(g, 2));
      return y;
    });
    const substituted = withParts((y) => tg.sub(tg.mul(y, 2), tg.stopGradient(y)));
    check(way, gradientsOf(substituted), gradientsOf(hooked));

    way = "retainGrad on the several-output ops' outputs, against what hooks saw";
    const parts: tg.Tensor[] = [];
    const seen = new Map<tg.Tensor, Grads[number]>();
    const retained = withParts((y) => {
      if (!y.requiresGrad) return y;
      y.retainGrad();
      y.registerHook((g) => {
        seen.set(y, g.dataSync().slice());
      });
      parts.push(y);
      return y;
    });
    tg.tidy(() => {
      loss(retained).backward();
      for (const y of parts) {
        const s = seen.get(y) ?? null;
        const g = y.grad ? y.grad.dataSync().slice() : null;
        if (!s && g && g.some((v) => v !== 0)) check(way, [new Float32Array(g.length)], [g]);
        else if (s && !g) check(way, [s], [null]);
        else check(way, [s], [g]);
        y.grad?.dispose();
      }
    });
    check('backward() with retainGrad', ref, leafGrads());

    way = 'createGraph';
    tg.tidy(() => {
      const gs = tg.gradients(loss(tg), xs, { createGraph: true });
      check(way, ref, read(gs));
      // a second backward through the recorded gradients: it must run (its values are gradgradcheck's)
      const live = gs.filter((g): g is tg.Tensor => g?.requiresGrad === true);
      if (live.length) {
        live
          .map((g) => tg.sum(tg.mul(g, g)))
          .reduce((a, b) => tg.add(a, b))
          .backward();
        leafGrads();
      }
    });

    way = 'detectAnomaly';
    check(
      way,
      ref,
      tg.detectAnomaly(() => gradientsOf(tg)),
    );

    way = 'explain and toDot';
    tg.tidy(() => {
      const out = loss(tg);
      const e = tg.explain(out);
      const several = e.rows.filter((r) => SEVERAL.includes(r.op.replace(/\[\d+\]$/, ''))).length;
      const dot = tg.toDot(out);
      if (!dot.startsWith('digraph')) result.problem ??= `${way}: toDot gave ${dot.slice(0, 40)}`;
      if (several > 0 && !e.table.includes('[')) result.problem ??= `${way}: no output index among ${several} rows`;
    });

    way = 'tg.compile';
    const compiled = tg.compile((...a: tg.Tensor[]) => tg.gradients(loss(tg, a), a));
    try {
      for (const call of ['trace', 'replay']) {
        const gs = compiled(...xs);
        check(`${way} (${call})`, ref, read(gs));
        tg.dispose(gs.filter((g): g is tg.Tensor => g !== null));
      }
    } catch (e) {
      if (!(e instanceof tg.TapegradError) || !e.message.startsWith('compile:')) throw e;
      result.compileRefused = e.message;
    } finally {
      compiled.dispose();
    }
  } catch (e) {
    result.problem ??= `${way} threw: ${(e as Error)?.stack ?? e}`;
  }
  tg.dispose([...made, ...inputs]);
  const leaked = tg.memory().numTensors - before;
  if (leaked !== 0) result.problem ??= `leaked ${leaked} tensors`;
  return result;
}

/** The property: a case whose ways disagree throws with the way and its snippet. */
export const waysProperty = fc.asyncProperty(caseArb, async (c) => {
  const r = await runWays(c);
  if (r.problem) throw new Error(`gradient ways disagree: ${r.problem}\n${snippet(c)}\n`);
});
