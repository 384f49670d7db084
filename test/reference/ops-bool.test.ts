// Bool tensors in the elementwise ops, as PyTorch: the result's dtype and values, or a TapegradError
// where PyTorch refuses (ops-bool.json beside it, written by generate_ops_bool.py, which needs torch;
// this suite does not). bool + bool is logical or, bool · bool logical and, bool − bool refused; a
// bool tensor meeting a number computes in the number's kind. Every unary and binary op of the
// registry must have its row. On cpu and wasm.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../../src/index.js';
import { registry } from '../../src/registry.js';
import { NODE_BACKENDS } from '../helpers.js';
import { readReference } from './compare.js';

type Num = number | 'NaN' | 'Infinity' | '-Infinity';
interface Outcome {
  dtype?: tg.DType;
  values?: Num[];
  error?: string;
}
interface Reference {
  torch: string;
  unary: Record<string, Outcome & { x: boolean[] }>;
  binary: Record<string, (Outcome & { operands: string; a: boolean[] | number; b: boolean[] | number })[]>;
}
const reference = readReference<Reference>('ops-bool.json');

type Fn = (...args: unknown[]) => tg.Tensor;
const api = tg as unknown as Record<string, Fn>;
/** The ops that take more than the tensor: called with PyTorch's arguments of the generator. */
const UNARY_CALLS: Record<string, (x: tg.Tensor) => tg.Tensor> = {
  clip: (x) => tg.clip(x, 0, 1),
};

const bools = (v: boolean[]) => tg.tensor(v.map(Number), { dtype: 'bool' });

/** The outcome PyTorch had: an error (a TapegradError naming the op), or the same dtype and values. */
function expect(name: string, what: string, run: () => tg.Tensor, want: Outcome): void {
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
    const got = Array.from(y.dataSync());
    const ref = want.values!.map(Number);
    for (let i = 0; i < ref.length; i++) {
      const ok = Number.isNaN(ref[i])
        ? Number.isNaN(got[i])
        : got[i] === ref[i] || Math.abs(got[i] - ref[i]) <= 1e-6 * Math.abs(ref[i]);
      assert.ok(ok, `${what}: entry ${i} is ${got[i]}, PyTorch's ${ref[i]} (${JSON.stringify(got)})`);
    }
  } finally {
    y.dispose();
  }
}

for (const backend of NODE_BACKENDS) {
  const s = suite(`bool operands as PyTorch ${reference.torch} on ${backend}`);
  s.before(async () => {
    await tg.setBackend(backend);
  });
  for (const [name, want] of Object.entries(reference.unary))
    s(`${name}(bool)`, () => {
      const before = tg.memory().numTensors;
      const x = bools(want.x);
      expect(name, `${name}(bool)`, () => (UNARY_CALLS[name] ?? api[name])(x), want);
      x.dispose();
      assert.is(tg.memory().numTensors, before, 'no tensor left behind');
    });
  for (const [name, rows] of Object.entries(reference.binary))
    s(`${name} of bool operands`, () => {
      const before = tg.memory().numTensors;
      for (const row of rows) {
        const made: tg.Tensor[] = [];
        const operand = (v: boolean[] | number) => (typeof v === 'number' ? v : made[made.push(bools(v)) - 1]);
        const [a, b] = [operand(row.a), operand(row.b)];
        expect(name, `${name}(${row.operands})`, () => api[name](a, b), row);
        tg.dispose(made);
      }
      assert.is(tg.memory().numTensors, before, 'no tensor left behind');
    });
  s.run();
}

const every = suite('bool operands: the survey covers every elementwise op');
every('each unary and binary op of the registry has its row in ops-bool.json', () => {
  for (const [name, rule] of Object.entries(registry)) {
    const kind = (rule as { signature?: { kind: string } }).signature?.kind;
    if (kind === 'unary') assert.ok(name in reference.unary, `${name} (unary) is not in the survey`);
    if (kind === 'binary') assert.ok(name in reference.binary, `${name} (binary) is not in the survey`);
  }
});
every.run();
