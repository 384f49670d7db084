// The elementwise ops atan … frac, atan2 and hardtanh against PyTorch: values, gradients and (for
// some) second derivatives at ordinary and edge inputs, from ops-elementwise.json beside it
// (written by generate_ops_elementwise.py: PyTorch in float64 from float32 inputs, so each answer
// is the exact one; torch is not needed here), on cpu and wasm. Errors are measured in float32
// ulps of the answer; an answer beyond float32's range must come out as its float32 rounding
// (±∞, or 0 below the smallest normal number).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../../src/index.js';
import { NODE_BACKENDS, assertNoLeak } from '../helpers.js';
import { readReference, WorstErrors } from './compare.js';

type Num = number | string | null;
interface Answers {
  values: Num[];
  grad: Num[];
  grad2?: Num[];
}
interface Case {
  float32?: Answers;
  x: Num[] | Num[][];
  y?: Num[] | Num[][];
  values: Num[] | Num[][];
  grad?: Num[];
  grad2?: Num[];
  gradY?: Num[] | Num[][];
  gradX?: Num[];
  grad2Y?: Num[];
  grad2X?: Num[];
  options?: { min: number; max: number };
}
const REF = readReference<{ torch: string; cases: Record<string, Case> }>('ops-elementwise.json');

/** A JSON entry as a number: NaN and ±∞ come as strings; null (not compared) stays null. */
const num = (v: Num) => (v === null ? null : typeof v === 'number' ? v : Number(v));
const flat = (v: Num | Num[] | Num[][]): number[] => (Array.isArray(v) ? v.flatMap(flat) : [num(v) as number]);
const tensorOf = (v: Num[] | Num[][]) =>
  Array.isArray(v[0]) ? tg.tensor((v as Num[][]).map((r) => r.map((u) => num(u) as number))) : tg.tensor(flat(v));

/** Allowed error in float32 ulps of the answer: values, first and second derivatives. */
const ULPS = { values: 4, grad: 8, grad2: 16 };
const SMALLEST_NORMAL = 2 ** -126;

/** The error of got against the exact answer w, in float32 ulps of w. */
const ulps = (g: number, w: number) => Math.abs(g - w) / (Math.abs(w) * 2 ** -24);

/**
 * The largest error in ulps of got against the exact answers, and where; throws past `allowed`
 * ulps plus twice PyTorch's own error in float32 (`torch32`) at that entry. Where the answer is
 * beyond float32's range, got must be its float32 rounding; where it is infinite at second order
 * (the end of a domain), NaN passes too. Entries whose value overflowed (`skip`) are not compared.
 */
function ulpError(
  what: string,
  xs: unknown[],
  got: number[],
  want: number[],
  allowed: number,
  {
    torch32,
    skip,
    infiniteMayBeNaN = false,
  }: { torch32?: number[]; skip?: boolean[]; infiniteMayBeNaN?: boolean } = {},
): number {
  let worst = 0;
  got.forEach((g, i) => {
    const w = want[i];
    if (skip?.[i] || w === null) return;
    const w32 = Math.fround(w);
    const at = `${what} at ${xs[i]}: got ${g}, PyTorch ${w}`;
    if (Number.isNaN(w) || !Number.isFinite(w32)) {
      const ok = Object.is(g, w32) || (Number.isNaN(w) && Number.isNaN(g));
      assert.ok(ok || (infiniteMayBeNaN && Number.isNaN(g)), at);
      return;
    }
    if (Math.abs(w) < SMALLEST_NORMAL) {
      assert.ok(Math.abs(g) < SMALLEST_NORMAL, at);
      return;
    }
    const t = torch32?.[i];
    const theirs = t === undefined ? 0 : Number.isFinite(t) ? ulps(t, w) : Infinity;
    const err = ulps(g, w);
    assert.ok(
      err <= allowed + 2 * theirs,
      `${at} (${err.toPrecision(3)} ulp; PyTorch's float32 ${t}, ${theirs.toPrecision(3)} ulp)`,
    );
    worst = Math.max(worst, err);
  });
  return worst;
}

/** The op of a case by its name (the name's first word); hardtanh with the case's options. */
function opOf(name: string, c: Case): (x: tg.Tensor) => tg.Tensor {
  const op = name.split(' ')[0];
  if (op === 'hardtanh') return (x) => tg.hardtanh(x, c.options);
  return (tg as unknown as Record<string, (x: tg.Tensor) => tg.Tensor>)[op];
}

/** The worst errors seen, by op and quantity, printed at the end of each backend's run. */
const worst = new WorstErrors();
const note = (name: string, what: string, e: number) => worst.note(name, what, e);

for (const backend of NODE_BACKENDS) {
  const s = suite(`elementwise ops against PyTorch ${REF.torch} on ${backend}`);
  s.before(async () => {
    await tg.setBackend(backend);
  });
  s.after(() => {
    console.log(`# worst errors in ulps on ${backend}\n${worst.lines().join('\n')}`);
    worst.clear();
  });

  for (const [name, c] of Object.entries(REF.cases)) {
    if (c.y) continue;
    s(`${name}: values, gradients${c.grad2 ? ', second derivatives' : ''}`, () => {
      const f = opOf(name, c);
      const xs = flat(c.x);
      assertNoLeak(() =>
        tg.tidy(() => {
          const x = tensorOf(c.x as Num[]);
          const t32 = c.float32;
          const values = flat(c.values);
          const skip = values.map((w) => !Number.isFinite(Math.fround(w)));
          const y = Array.from(f(x).dataSync());
          note(name, 'values', ulpError(name, xs, y, values, ULPS.values, { torch32: t32 && flat(t32.values) }));
          const d = tg.grad((t: tg.Tensor) => f(t).sum());
          const g = Array.from(d(x).dataSync());
          const o1 = { torch32: t32 && flat(t32.grad), skip };
          note(name, 'grad', ulpError(`d ${name}`, xs, g, flat(c.grad!), ULPS.grad, o1));
          if (c.grad2) {
            const d2 = tg.grad((t: tg.Tensor) => d(t).sum());
            const g2 = Array.from(d2(x).dataSync());
            const o2 = { torch32: t32?.grad2 && flat(t32.grad2), skip, infiniteMayBeNaN: true };
            note(name, 'grad2', ulpError(`d² ${name}`, xs, g2, flat(c.grad2), ULPS.grad2, o2));
          }
        }),
      );
    });
  }

  for (const [name, c] of Object.entries(REF.cases)) {
    if (!c.y) continue;
    s(`${name}: values, gradients${c.grad2Y ? ', second derivatives' : ''}`, () => {
      const ys = flat(c.y!);
      assertNoLeak(() =>
        tg.tidy(() => {
          const y = tensorOf(c.y!);
          const x = tensorOf(c.x);
          const at = ys.map((v, i) => `(${v}, ${flat(c.x)[i % flat(c.x).length]})`);
          note(name, 'values', ulpError(name, at, Array.from(tg.atan2(y, x).dataSync()), flat(c.values), ULPS.values));
          const [gy, gx] = tg.grad((a: tg.Tensor, b: tg.Tensor) => tg.atan2(a, b).sum(), [0, 1])(y, x);
          note(name, 'grad', ulpError(`d/dy ${name}`, at, Array.from(gy.dataSync()), flat(c.gradY!), ULPS.grad));
          note(name, 'grad', ulpError(`d/dx ${name}`, flat(c.x), Array.from(gx.dataSync()), flat(c.gradX!), ULPS.grad));
          if (c.grad2Y) {
            const dy = tg.grad((a: tg.Tensor) =>
              tg
                .grad((t: tg.Tensor) => tg.atan2(t, x).sum())(a)
                .sum(),
            )(y);
            const dx = tg.grad((b: tg.Tensor) =>
              tg
                .grad((t: tg.Tensor) => tg.atan2(y, t).sum())(b)
                .sum(),
            )(x);
            note(
              name,
              'grad2',
              ulpError(`d²/dy² ${name}`, at, Array.from(dy.dataSync()), flat(c.grad2Y), ULPS.grad2, {
                infiniteMayBeNaN: true,
              }),
            );
            note(
              name,
              'grad2',
              ulpError(`d²/dx² ${name}`, at, Array.from(dx.dataSync()), flat(c.grad2X!), ULPS.grad2, {
                infiniteMayBeNaN: true,
              }),
            );
          }
        }),
      );
    });
  }

  s.run();
}
