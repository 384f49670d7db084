// The recurrent layers' gradients on webgpu in Chromium, read only with `await data()` (webgpu's
// synchronous read fails in headless Chromium): a small bidirectional LSTM and a GRUCell, checked
// through input, initial state and parameters. On webgl the Node suite test/nn-recurrent.test.ts
// runs these gradchecks and more, so this one is skipped there (the pages have a time budget).
import { suite } from 'uvu';
import * as tg from '../../src/index.js';
import { gradcheckRecurrent } from '../recurrent-check.js';
import { NODE_BACKENDS } from '../helpers.js';

const t = suite('recurrent layers (asynchronous reads)');
const webgpuOnly = NODE_BACKENDS.includes('webgpu') ? t : t.skip;
const flat = (...ts: tg.Tensor[]) => tg.concat(ts.map((u) => u.reshape([-1])));

webgpuOnly('LSTM (bidirectional) and GRUCell: gradcheck through input, state and parameters', async () => {
  const before = tg.memory().numTensors;
  const x = tg.randn([2, 2, 2], { seed: 1 });
  const h0 = tg.tidy(() => tg.randn([2, 2, 3], { seed: 2 }).mul(0.5));
  const c0 = tg.tidy(() => tg.randn([2, 2, 3], { seed: 3 }).mul(0.5));
  const lstm = new tg.nn.LSTM(2, 3, { bidirectional: true, seed: 3 });
  await gradcheckRecurrent(lstm, (u, h, c) => flat(...Object.values(lstm.forward(u, { h, c }))), [x, h0, c0], 'LSTM');
  const cell = new tg.nn.GRUCell(2, 3, { seed: 4 });
  const xt = tg.randn([2, 2], { seed: 5 });
  const ht = tg.tidy(() => tg.randn([2, 3], { seed: 6 }).mul(0.5));
  await gradcheckRecurrent(cell, (u, h) => cell.forward(u, h), [xt, ht], 'GRUCell');
  [lstm, cell].forEach((m) => m.dispose());
  tg.dispose([x, h0, c0, xt, ht]);
  if (tg.memory().numTensors !== before) throw new Error(`leaked ${tg.memory().numTensors - before} tensors`);
});

t.run();
