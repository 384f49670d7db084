// Bool tensors in the elementwise ops, as PyTorch: the result's dtype and values, or a TapegradError
// where PyTorch refuses (ops-bool.json beside it, written by generate_ops_bool.py, which needs torch;
// this suite does not; the checks are in ops-bool-survey.ts). bool + bool is logical or, bool · bool
// logical and, bool − bool refused; a bool tensor meeting a number computes in the number's kind.
// Mixed dtypes (ops-bool.json's `mixed`): every op of two operands meets tensors of two dtypes and
// numbers, as PyTorch's result_type. Every unary and binary op of the registry must be in the
// survey, and every op of two operands in its mixed part. On cpu and wasm.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../../src/index.js';
import { registry } from '../../src/registry.js';
import { NODE_BACKENDS } from '../helpers.js';
import { boolChecks, mixedChecks, surveyed, torchVersion } from './ops-bool-survey.js';

for (const backend of NODE_BACKENDS) {
  const s = suite(`bool operands as PyTorch ${torchVersion} on ${backend}`);
  s.before(async () => {
    await tg.setBackend(backend);
  });
  for (const { name, check } of boolChecks)
    s(name, async () => {
      const before = tg.memory().numTensors;
      await check();
      assert.is(tg.memory().numTensors, before, 'no tensor left behind');
    });
  s.run();
  const m = suite(`mixed dtypes as PyTorch ${torchVersion} on ${backend}`);
  m.before(async () => {
    await tg.setBackend(backend);
  });
  for (const { name, check } of mixedChecks)
    m(name, async () => {
      const before = tg.memory().numTensors;
      await check();
      assert.is(tg.memory().numTensors, before, 'no tensor left behind');
    });
  m.run();
}

const every = suite('bool operands: the survey covers every elementwise op');
every('each unary and binary op of the registry has its row in ops-bool.json', () => {
  for (const [name, rule] of Object.entries(registry)) {
    const kind = (rule as { signature?: { kind: string } }).signature?.kind;
    if (kind === 'unary') assert.ok(surveyed.unary.has(name), `${name} (unary) is not in the survey`);
    if (kind === 'binary') assert.ok(surveyed.binary.has(name), `${name} (binary) is not in the survey`);
  }
});
every('every op of two operands has its mixed-dtype rows in ops-bool.json', () => {
  // the registry's binary ops, where and the joins; comparisons and logic ops (not differentiable,
  // so not in the registry) are the binary part's other rows
  const twoOperands = [
    ...Object.entries(registry)
      .filter(([, rule]) => (rule as { signature?: { kind: string } }).signature?.kind === 'binary')
      .map(([name]) => name),
    ...surveyed.binary,
    'where',
    'concat',
    'stack',
  ];
  for (const name of twoOperands) assert.ok(surveyed.mixed.has(name), `${name} has no mixed-dtype rows`);
});
every.run();
