// Random compositions of tapegrad ops, gradchecked against finite differences.
//
// A case is a small program: an expression tree of up to 6 levels over leaf inputs of random
// shapes (drawn from one base shape with axes dropped or set to 1, so that broadcasting is
// common), plus a seed for the input values. fast-check draws and shrinks it; `runCase` evaluates
// it, gradchecks it in fast mode and checks that it leaked nothing. A failing case shrinks to a
// minimal one, and `snippet` prints it as a runnable TypeScript program.
import fc from 'fast-check';
import * as tg from '../../src/index.js';
import { FUZZ_OPS, MARGIN, type Env } from './ops.js';
import { TraceLog, traced, valuesLiteral } from './trace.js';

/**
 * A leaf's `view`: 0 an input as it is; 1 the transpose of an input of the reversed shape; 2 a
 * slice (from 1 along every axis) of an input one longer on each axis. Views make an op's operand
 * the result of a transpose or a slice, as a strided view would be in PyTorch.
 */
export type Expr = { leaf: number[]; reuse: number; view?: number } | { op: string; args: Expr[]; p: number[] };
export interface Case {
  /** The base shape every leaf shape is cut from. */
  base: number[];
  expr: Expr;
  /** Seeds the input values (and the gradcheck's random directions). */
  seed: number;
  /** 2: check the gradient of the gradient (tg.gradgradcheck) instead. Default 1. */
  order?: 1 | 2;
}

const OP_NAMES = Object.keys(FUZZ_OPS);
const RETRY_STEP = 2 ** -9;

/** A leaf: its shape as bits over the base shape (rank, then which kept axes become 1), or a reuse of an earlier input. */
const leafArb: fc.Arbitrary<Expr> = fc.record({
  leaf: fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 7 })),
  reuse: fc.integer({ min: 0, max: 3 }),
  view: fc.integer({ min: 0, max: 2 }),
});

const exprs = fc.letrec<{ expr: Expr; node: Expr }>((tie) => ({
  // leaves first, so that shrinking replaces subtrees by leaves; ops weighted up so that trees grow
  expr: fc.oneof(
    { depthSize: 'medium', maxDepth: 5, withCrossShrink: true },
    { arbitrary: leafArb, weight: 1 },
    { arbitrary: tie('node'), weight: 2 },
  ),
  node: fc.record({
    op: fc.constantFrom(...OP_NAMES),
    args: fc.tuple(tie('expr'), tie('expr')),
    p: fc.array(fc.nat({ max: 255 }), { minLength: 3, maxLength: 3 }),
  }) as fc.Arbitrary<Expr>,
}));

export const caseArb: fc.Arbitrary<Case> = fc.record({
  base: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 3, maxLength: 3 }),
  // the root is always an op; with the leaves' own depth, trees are up to 6 ops deep
  expr: exprs.node,
  seed: fc.nat({ max: 1_000_000 }),
});

/** The shape a leaf's bits select from the base shape. */
function leafShape(base: number[], [rank, ones]: number[]): number[] {
  return base.slice(base.length - rank).map((d, i) => ((ones >> i) & 1 ? 1 : d));
}

/** Runs the expression; `env` supplies inputs (created on the first run, replayed after). */
function evaluate(c: Case, e: Expr, env: Env, leaves: tg.Tensor[]): tg.Tensor {
  if ('leaf' in e) {
    // reuse > 0 picks an earlier leaf input, so that a tensor feeds several ops (gradients add up)
    if (e.reuse > 0 && leaves.length > 0) return leaves[(e.reuse - 1) % leaves.length];
    const t = viewed(env, leafShape(c.base, e.leaf), e.view ?? 0);
    leaves.push(t);
    return t;
  }
  const op = FUZZ_OPS[e.op];
  const args = e.args.slice(0, op.arity).map((a) => evaluate(c, a, env, leaves));
  return op.apply(env, args, e.p);
}

/** A leaf of this shape: an input, or a transpose or a slice of one (see Expr's view). */
function viewed(env: Env, shape: number[], view: number): tg.Tensor {
  if (view === 1 && shape.length >= 2) {
    const reversed = [...shape].reverse();
    return env.tg.transpose(env.input(reversed), [...reversed.keys()].reverse());
  }
  if (view === 2 && shape.length >= 1)
    return env.tg.slice(
      env.input(shape.map((d) => d + 1)),
      shape.map(() => 1),
      shape,
    );
  return env.input(shape);
}

/** A small seeded generator for input values in about [−2, 2]. */
function values(seed: number, n: number): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 4 - 2;
  });
}

export interface Built {
  f: (...xs: tg.Tensor[]) => tg.Tensor;
  /** f computed with another tg (one whose several-output ops hook their outputs, say). */
  fWith: (t: typeof tg) => (...xs: tg.Tensor[]) => tg.Tensor;
  /** Some op landed within MARGIN of a kink at the drawn values: the case checks nothing. */
  nearKink: boolean;
}

/**
 * Creates the case's inputs (pushed into `inputs`, kept: the caller disposes them) and the function
 * of them it computes. With `log`, that first evaluation is recorded as code.
 */
export function build(c: Case, inputs: tg.Tensor[], log?: TraceLog): Built {
  let nearKink = false;
  const makeEnv = (t: typeof tg, source: tg.Tensor[] | null): Env => {
    let k = 0;
    return {
      tg: t,
      input(shape) {
        if (source) {
          const x = source[k++];
          if (x.shape.join() !== shape.join())
            throw new Error(`fuzz: replay asked for ${shape} at input ${k - 1}, has ${x.shape}`);
          return x;
        }
        const size = shape.reduce((a, b) => a * b, 1);
        const x = tg.keep(tg.tensor(values(c.seed + 7919 * inputs.length, size), { shape }));
        inputs.push(x);
        log?.nameInputs(inputs);
        return x;
      },
      ints: (v, shape) => t.tensor(v, { dtype: 'int32', shape }),
      mask: (v, shape) => t.tensor(v, { dtype: 'bool', shape }),
      guard(distance) {
        if (source || nearKink || log) return;
        const d = tg.noGrad(() => tg.tidy(() => tg.min(distance()).item()));
        if (!(d >= MARGIN)) nearKink = true;
      },
    };
  };
  tg.tidy(() => {
    const out = evaluate(c, c.expr, makeEnv(traced(log ?? null), null), []);
    log?.setResult(out);
  });
  const fWith =
    (t: typeof tg) =>
    (...xs: tg.Tensor[]) =>
      evaluate(c, c.expr, makeEnv(t, xs), []);
  return { f: fWith(tg), fWith, nearKink };
}

export interface CaseResult {
  ok: boolean;
  skipped: boolean;
  report?: tg.GradcheckReport;
  error?: unknown;
  leaked?: number;
}

/** Builds, gradchecks (fast mode) and disposes one case; a case that leaves tensors behind fails too. */
export async function runCase(c: Case): Promise<CaseResult> {
  const before = tg.memory().numTensors;
  const inputs: tg.Tensor[] = [];
  let result: CaseResult;
  try {
    const { f, nearKink } = build(c, inputs);
    if (nearKink) result = { ok: true, skipped: true };
    else {
      const check = c.order === 2 ? tg.gradgradcheck : tg.gradcheck;
      const report = await check(f, inputs, { mode: 'fast', seed: c.seed + 1 });
      // A fast-varying f (sin of a square, …) can defeat the default step's truncation error; a
      // wrong adjoint fails at any step, so a case fails only if a 16× smaller step fails too.
      const ok = report.ok || (await check(f, inputs, { mode: 'fast', seed: c.seed + 1, step: RETRY_STEP })).ok;
      result = { ok, skipped: false, report };
    }
  } catch (error) {
    result = { ok: false, skipped: false, error };
  }
  inputs.forEach((x) => x.dispose());
  const leaked = tg.memory().numTensors - before;
  if (leaked !== 0 && result.ok && !result.skipped) result = { ok: false, skipped: false, leaked };
  return result;
}

/** The case as a runnable TypeScript program that prints the gradcheck report. */
export function snippet(c: Case, result?: CaseResult): string {
  const inputs: tg.Tensor[] = [];
  const log = new TraceLog();
  try {
    build(c, inputs, log);
  } catch (e) {
    log.lines.push(`// threw here: ${(e as Error).message}`);
  }
  const names = inputs.map((_, i) => `x${i}`);
  const decls = inputs.map(
    (x, i) => `const x${i} = tg.tensor(${valuesLiteral(x)}, { shape: ${JSON.stringify(x.shape)} });`,
  );
  const body = log.lines.map((l) => `  ${l}`).join('\n');
  inputs.forEach((x) => x.dispose());
  const outcome = !result
    ? ''
    : result.error
      ? `// threw: ${String((result.error as Error)?.message ?? result.error).split('\n')[0]}\n`
      : result.leaked
        ? `// leaked ${result.leaked} tensors\n`
        : result.report
          ? `// worst: ${JSON.stringify(result.report.worst)}\n`
          : '';
  return [
    `// fuzz case ${JSON.stringify(c)}`,
    outcome + "import * as tg from 'tapegrad';",
    ...decls,
    `const f = (${names.map((n) => `${n}: tg.Tensor`).join(', ')}) => {`,
    body,
    `  return ${log.result ?? 'undefined as never'};`,
    '};',
    `const report = await tg.${c.order === 2 ? 'gradgradcheck' : 'gradcheck'}(f, [${names.join(', ')}], { mode: 'fast', seed: ${c.seed + 1} });`,
    'console.log(report.ok, report.worst);',
  ].join('\n');
}

/** The operands an op actually reads (binary ops read two, unary ones the first). */
const used = (e: Expr): Expr[] => ('leaf' in e ? [] : e.args.slice(0, FUZZ_OPS[e.op].arity));

/** Every case made by replacing one op node with one of its operands (fast-check cannot promote a subtree). */
function promotions(e: Expr): Expr[] {
  if ('leaf' in e) return [];
  const out: Expr[] = used(e).filter((a) => !('leaf' in a));
  e.args.forEach((a, i) => {
    for (const sub of promotions(a)) out.push({ ...e, args: e.args.map((b, k) => (k === i ? sub : b)) });
  });
  return out;
}

/**
 * After fast-check's shrinking: removes ops that do not matter to the failure, one at a time, by
 * promoting an operand in their place while the case still fails. Returns the smallest found.
 */
export async function minimize(c: Case, maxTries = 200): Promise<Case> {
  let best = c;
  let tries = 0;
  for (let improved = true; improved && tries < maxTries; ) {
    improved = false;
    for (const expr of promotions(best.expr)) {
      if (++tries > maxTries) break;
      const cand = { ...best, expr };
      const r = await runCase(cand);
      if (!r.ok && !r.skipped) {
        best = cand;
        improved = true;
        break;
      }
    }
  }
  return best;
}

/** The fast-check property: a failing case throws with its snippet, so the shrunk one is printed. */
export function propertyOf(order: 1 | 2 = 1) {
  return fc.asyncProperty(
    caseArb.map((c) => ({ ...c, order })),
    async (c) => {
      const r = await runCase(c);
      fc.pre(!r.skipped);
      if (!r.ok) throw new Error(`gradient fuzz case failed\n${snippet(c, r)}\n`);
    },
  );
}
export const property = propertyOf(1);

/**
 * Cases whose base shape has an axis of length 0: leaves that keep that axis are empty, the others
 * broadcast against them. An op may refuse an empty operand (a TapegradError: the max of nothing);
 * anything else must run, leave nothing behind, and gradcheck where f's value is finite.
 */
export const emptyCaseArb: fc.Arbitrary<Case> = fc
  .tuple(caseArb, fc.nat({ max: 2 }))
  .map(([c, k]) => ({ ...c, base: c.base.map((d, i) => (i === k ? 0 : d)) }));

/** An empty-axis case: refused with a TapegradError, or run and gradchecked (skipped where f is not finite). */
export async function runEmptyCase(c: Case): Promise<CaseResult> {
  const r = await runCase(c);
  if (r.ok || r.skipped) return r;
  if (r.error instanceof tg.TapegradError) return { ok: true, skipped: true };
  if (r.report?.worst && !Number.isFinite(r.report.worst.numeric ?? Number.NaN)) {
    // finite differences of a function whose value is ±∞ or NaN (the log-sum-exp of nothing) measure nothing
    const inputs: tg.Tensor[] = [];
    const { f } = build(c, inputs);
    const finite = tg.tidy(() => tg.all(tg.isFinite(f(...inputs))).item());
    tg.dispose(inputs);
    if (!finite) return { ok: true, skipped: true };
  }
  return r;
}

export const emptyProperty = fc.asyncProperty(emptyCaseArb, async (c) => {
  const r = await runEmptyCase(c);
  if (!r.ok) throw new Error(`empty-axis fuzz case failed\n${snippet(c, r)}\n`);
});
