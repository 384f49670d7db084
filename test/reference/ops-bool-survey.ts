// The bool-operand and mixed-dtype survey's checks, shared by the Node suite (cpu, wasm:
// ops-bool.test.ts), the browser pages (webgl, webgpu: test/browser/ops-bool.browser.ts) and webgpu in
// Node (test/gpu/webgpu-node.suite.ts): for each elementwise op and bool operands, and for each op of
// two operands (binary, comparison, logic, where, concat, stack) with operands of two dtypes,
// PyTorch's outcome (ops-bool.json, written by generate_ops_bool.py) — a result's dtype and values,
// or a refusal, which tapegrad must give as a TapegradError naming the op. Values are read
// asynchronously (the only read webgpu has in Node).
import * as assert from 'uvu/assert';
import * as tg from '../../src/index.js';
import reference from './ops-bool.json' with { type: 'json' };

type Num = number | string;
interface Outcome {
  dtype?: string;
  values?: Num[];
  error?: string;
}

export const torchVersion: string = reference.torch;

type Fn = (...args: unknown[]) => tg.Tensor;
const api = tg as unknown as Record<string, Fn>;
/** The ops that take more than the tensor: called with the generator's arguments. */
const UNARY_CALLS: Record<string, (x: tg.Tensor) => tg.Tensor> = {
  clip: (x) => tg.clip(x, 0, 1),
};

const bools = (v: boolean[]) => tg.tensor(v.map(Number), { dtype: 'bool' });

/** The outcome PyTorch had: an error (a TapegradError naming the op), or the same dtype and values. */
async function expectLike(name: string, what: string, run: () => tg.Tensor, want: Outcome): Promise<void> {
  if (want.error !== undefined) {
    let got: unknown;
    try {
      got = run();
    } catch (e) {
      assert.instance(e, tg.TapegradError, `${what}: ${(e as Error).message}`);
      assert.match((e as Error).message, new RegExp(`^${name}: `), what);
      return;
    }
    tg.dispose(got);
    assert.unreachable(`${what}: PyTorch refuses (${want.error}), tapegrad gave a result`);
  }
  const y = run();
  try {
    assert.is(y.dtype, want.dtype, `${what}: dtype`);
    const got = Array.from(await y.data());
    const ref = want.values!.map(Number);
    // the survey is about dtypes and which values; the GPU kernels' accuracy (sin is 2e-5 off on
    // SwiftShader's webgpu) is the edge-value suites' matter
    const rtol = want.dtype === 'float32' && !['cpu', 'wasm'].includes(tg.getBackend()) ? 1e-4 : 1e-6;
    assert.is(got.length, ref.length, `${what}: size`);
    for (let i = 0; i < ref.length; i++) {
      const ok = Number.isNaN(ref[i])
        ? Number.isNaN(got[i])
        : got[i] === ref[i] || Math.abs(got[i] - ref[i]) <= rtol * Math.abs(ref[i]);
      assert.ok(ok, `${what}: entry ${i} is ${got[i]}, PyTorch's ${ref[i]} (${JSON.stringify(got)})`);
    }
  } finally {
    y.dispose();
  }
}

/** One check per op: its name and what it runs (every operand pair of a binary op). */
export const boolChecks: { name: string; check: () => Promise<void> }[] = [
  ...Object.entries(reference.unary as Record<string, Outcome & { x: boolean[] }>).map(([name, want]) => ({
    name: `${name}(bool)`,
    check: async () => {
      const x = bools(want.x);
      try {
        await expectLike(name, `${name}(bool)`, () => (UNARY_CALLS[name] ?? api[name])(x), want);
      } finally {
        x.dispose();
      }
    },
  })),
  ...Object.entries(
    reference.binary as Record<
      string,
      (Outcome & { operands: string; a: boolean[] | number; b: boolean[] | number })[]
    >,
  ).map(([name, rows]) => ({
    name: `${name} of bool operands`,
    check: async () => {
      for (const row of rows) {
        const made: tg.Tensor[] = [];
        const operand = (v: boolean[] | number) => (typeof v === 'number' ? v : made[made.push(bools(v)) - 1]);
        const [a, b] = [operand(row.a), operand(row.b)];
        try {
          await expectLike(name, `${name}(${row.operands})`, () => api[name](a, b), row);
        } finally {
          tg.dispose(made);
        }
      }
    },
  })),
];

/** A tensor operand of the mixed-dtype rows, or a number. */
type MixedOperand = { dtype: tg.DType; values: number[] } | number;
/** The ops of two operands that are not `f(a, b)`. */
const MIXED_CALLS: Record<string, (a: tg.TensorLike, b: tg.TensorLike) => tg.Tensor> = {
  where: (a, b) => {
    const cond = bools(reference.where.cond);
    try {
      return tg.where(cond, a, b);
    } finally {
      cond.dispose();
    }
  },
  concat: (a, b) => tg.concat([a as tg.Tensor, b as tg.Tensor]),
  stack: (a, b) => tg.stack([a as tg.Tensor, b as tg.Tensor]),
};

/** One check per op of two operands: every pair of dtypes, and int32 and float32 tensors with numbers. */
export const mixedChecks: { name: string; check: () => Promise<void> }[] = Object.entries(
  reference.mixed as Record<string, (Outcome & { operands: string; a: MixedOperand; b: MixedOperand })[]>,
).map(([name, rows]) => ({
  name: `${name} of mixed dtypes`,
  check: async () => {
    for (const row of rows) {
      const made: tg.Tensor[] = [];
      const operand = (v: MixedOperand) =>
        typeof v === 'number' ? v : made[made.push(tg.tensor(v.values, { dtype: v.dtype })) - 1];
      const [a, b] = [operand(row.a), operand(row.b)];
      try {
        await expectLike(name, `${name}(${row.operands})`, () => (MIXED_CALLS[name] ?? api[name])(a, b), row);
      } finally {
        tg.dispose(made);
      }
    }
  },
}));

/** The ops the survey covers, by form. */
export const surveyed = {
  unary: new Set(Object.keys(reference.unary)),
  binary: new Set(Object.keys(reference.binary)),
  mixed: new Set(Object.keys(reference.mixed)),
};
