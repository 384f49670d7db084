// The convolution, pooling and resampling functions behind tg.nn's Conv1d, ConvTranspose2d,
// AdaptiveAvgPool2d and Upsample, and crossEntropy's weight, ignoreIndex and classAxis, gradchecked
// through their inputs and filters on the page's backend (webgl and webgpu), reading values only
// with `await data()` (webgpu's synchronous read fails in headless Chromium). The layers
// themselves run on webgl in test/nn-conv.test.ts; conv2d's groups and dilation and the pools'
// padding and ceilMode are op-registry cases (ops.browser.ts). On webgl, where that Node suite
// gradchecks the same layers, these cases are left out to keep within the page's time budget.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../../src/index.js';

const t = suite('nn conv layers (gradcheck, fast mode)');
const randn = (shape: number[], seed: number) => tg.randn(shape, { seed });

const CASES: [string, (...xs: tg.Tensor[]) => tg.Tensor, () => tg.Tensor[]][] = [
  [
    'conv1d stride 2, padding 1, dilation 2, groups 2',
    (x, w) => tg.conv1d(x, w, { stride: 2, padding: 1, dilation: 2, groups: 2 }),
    () => [randn([2, 7, 4], 1), randn([3, 2, 4], 2)],
  ],
  [
    'conv2d depthwise',
    (x, w) => tg.conv2d(x, w, { groups: 3, padding: 'same' }),
    () => [randn([1, 4, 4, 3], 3), randn([3, 3, 1, 3], 4)],
  ],
  [
    'convTranspose2d stride 2, padding 1, outputPadding 1',
    (x, w) => tg.convTranspose2d(x, w, { stride: 2, padding: 1, outputPadding: 1 }),
    () => [randn([1, 3, 2, 2], 5), randn([3, 3, 2, 3], 6)],
  ],
  [
    'convTranspose2d groups 2, dilation 2',
    (x, w) => tg.convTranspose2d(x, w, { groups: 2, dilation: 2 }),
    () => [randn([1, 2, 3, 2], 7), randn([2, 2, 2, 2], 8)],
  ],
  ['adaptiveAvgPool2d 5×7 → 3×4', (x) => tg.adaptiveAvgPool2d(x, [3, 4]), () => [randn([1, 5, 7, 2], 9)]],
  [
    'interpolate bilinear ×1.5, nearest to 5×3',
    (x) => tg.interpolate(tg.interpolate(x, { scaleFactor: 1.5, mode: 'bilinear' }), { size: [5, 3] }),
    () => [randn([1, 3, 2, 2], 10)],
  ],
];

for (const [name, f, make] of CASES) {
  t(name, async () => {
    if (tg.getBackend() === 'webgl') return;
    const before = tg.memory().numTensors;
    const inputs = make();
    const report = await tg.gradcheck(f, inputs, { mode: 'fast' });
    assert.ok(report.ok, `${name} on ${tg.getBackend()}: ${JSON.stringify(report.worst)}`);
    tg.dispose(inputs);
    assert.is(tg.memory().numTensors, before, `${name}: leaked`);
  });
}

t('crossEntropy weight, ignoreIndex, labelSmoothing, classAxis 1', async () => {
  if (tg.getBackend() === 'webgl') return;
  const before = tg.memory().numTensors;
  const labels = tg.tensor([0, 3, -1, 2, 1, 1], { dtype: 'int32', shape: [2, 3] });
  const weight = tg.tensor([0.5, 2, 1, 1.5]);
  const z = randn([2, 4, 3], 11);
  const f = (x: tg.Tensor) =>
    tg.nn.crossEntropy(x, labels, { weight, ignoreIndex: -1, labelSmoothing: 0.1, classAxis: 1 });
  const report = await tg.gradcheck(f, [z], { mode: 'fast' });
  assert.ok(report.ok, `on ${tg.getBackend()}: ${JSON.stringify(report.worst)}`);
  tg.dispose([labels, weight, z]);
  assert.is(tg.memory().numTensors, before, 'leaked');
});

t.run();
