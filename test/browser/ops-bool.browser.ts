// Bool operands and mixed dtypes on the GPU backends as PyTorch: the survey of
// test/reference/ops-bool-survey.ts (every elementwise op with bool tensors, every op of two operands
// with operands of two dtypes, against ops-bool.json), on the page's backend.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../../src/index.js';
import { boolChecks, mixedChecks, torchVersion } from '../reference/ops-bool-survey.js';

const s = suite(`bool operands as PyTorch ${torchVersion}`);
for (const { name, check } of boolChecks)
  s(name, async () => {
    const before = tg.memory().numTensors;
    await check();
    assert.is(tg.memory().numTensors, before, 'no tensor left behind');
  });
const m = suite(`mixed dtypes as PyTorch ${torchVersion}`);
for (const { name, check } of mixedChecks)
  m(name, async () => {
    const before = tg.memory().numTensors;
    await check();
    assert.is(tg.memory().numTensors, before, 'no tensor left behind');
  });
s.run();
m.run();
