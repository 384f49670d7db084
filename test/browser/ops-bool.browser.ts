// Bool operands on the GPU backends as PyTorch: the survey of test/reference/ops-bool-survey.ts
// (every elementwise op with bool tensors, against ops-bool.json), on the page's backend.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../../src/index.js';
import { boolChecks, torchVersion } from '../reference/ops-bool-survey.js';

const s = suite(`bool operands as PyTorch ${torchVersion}`);
for (const { name, check } of boolChecks)
  s(name, async () => {
    const before = tg.memory().numTensors;
    await check();
    assert.is(tg.memory().numTensors, before, 'no tensor left behind');
  });
s.run();
