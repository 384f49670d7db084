// tg.nn's convolution, pooling and resampling layers (Conv1d, Conv2d with dilation and groups,
// ConvTranspose2d, MaxPool2d/AvgPool2d with padding and ceilMode, AdaptiveAvgPool2d, Upsample) and
// crossEntropy's weight, ignoreIndex and classAxis: gradchecks through inputs and parameters on
// each backend, output shapes against PyTorch's formulas, state dicts, memory, and the errors.
// PyTorch's values are compared in test/reference/nn-conv.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../src/index.js';
import { assertClose, assertNoLeak, assertThrows, NODE_BACKENDS, gradcheckModule } from './helpers.js';
import { shuffledGrid } from './op-cases-nn.js';

const nn = tg.nn;

/** Each layer with an input, checked through the input and every parameter. */
const LAYER_CASES: [string, () => tg.nn.Module, () => tg.Tensor][] = [
  [
    'Conv1d stride 2, padding 1, dilation 2, groups 2',
    () => new nn.Conv1d(4, 6, 3, { stride: 2, padding: 1, dilation: 2, groups: 2, seed: 1 }),
    () => tg.randn([2, 7, 4], { seed: 2 }),
  ],
  [
    'Conv2d dilation 2, stride 2, groups 2',
    () => new nn.Conv2d(4, 2, 2, { dilation: 2, stride: 2, groups: 2, padding: 1, seed: 3 }),
    () => tg.randn([1, 5, 5, 4], { seed: 4 }),
  ],
  [
    'Conv2d depthwise (groups = inChannels)',
    () => new nn.Conv2d(3, 3, 3, { groups: 3, padding: 'same', seed: 5 }),
    () => tg.randn([1, 4, 4, 3], { seed: 6 }),
  ],
  [
    'ConvTranspose2d stride 2, padding 1, outputPadding 1',
    () => new nn.ConvTranspose2d(2, 3, 3, { stride: 2, padding: 1, outputPadding: 1, seed: 7 }),
    () => tg.randn([1, 3, 2, 2], { seed: 8 }),
  ],
  [
    'ConvTranspose2d groups 2, dilation 2',
    () => new nn.ConvTranspose2d(2, 4, 2, { groups: 2, dilation: 2, seed: 9 }),
    () => tg.randn([1, 2, 3, 2], { seed: 10 }),
  ],
  [
    'MaxPool2d padding 1, ceilMode',
    () => new nn.MaxPool2d(2, { stride: 2, padding: 1, ceilMode: true }),
    () => shuffledGrid([1, 5, 4, 1], 1),
  ],
  [
    'AvgPool2d padding 1, ceilMode, countIncludePad false',
    () => new nn.AvgPool2d(3, { stride: 2, padding: 1, ceilMode: true, countIncludePad: false }),
    () => tg.randn([1, 6, 5, 2], { seed: 11 }),
  ],
  ['AdaptiveAvgPool2d 5×7 → 3×4', () => new nn.AdaptiveAvgPool2d([3, 4]), () => tg.randn([1, 5, 7, 2], { seed: 12 })],
  [
    'Upsample bilinear ×1.5',
    () => new nn.Upsample({ scaleFactor: 1.5, mode: 'bilinear' }),
    () => tg.randn([1, 3, 2, 2], { seed: 13 }),
  ],
  [
    'Upsample nearest to 5×3, bilinear alignCorners',
    () =>
      new nn.Sequential(
        new nn.Upsample({ size: [5, 3] }),
        new nn.Upsample({ size: [4, 4], mode: 'bilinear', alignCorners: true }),
      ),
    () => tg.randn([1, 2, 2, 1], { seed: 14 }),
  ],
];

for (const backend of NODE_BACKENDS) {
  test(`gradcheck through the input and every parameter of each new layer (${backend})`, async () => {
    await tg.setBackend(backend);
    for (const [name, make, input] of LAYER_CASES) {
      const before = tg.memory().numTensors;
      const m = make();
      const x = input();
      await gradcheckModule(m, (t) => m.forward(t), [x], `${name} on ${backend}`);
      m.dispose();
      x.dispose();
      assert.is(tg.memory().numTensors, before, `${name}: leaked`);
    }
  });

  test(`crossEntropy with weight, ignoreIndex, labelSmoothing and classAxis: gradcheck (${backend})`, async () => {
    await tg.setBackend(backend);
    const w = tg.tensor([0.5, 2, 1, 1.5]);
    const labels = tg.tensor([0, 3, -1, 2, 1], { dtype: 'int32' });
    const spatial = tg.tensor([0, 3, 1, 2, -100, 1], { dtype: 'int32', shape: [2, 3] });
    const cases: [string, (z: tg.Tensor) => tg.Tensor, tg.Tensor][] = [
      [
        'weight, ignoreIndex, labelSmoothing',
        (z) => nn.crossEntropy(z, labels, { weight: w, ignoreIndex: -1, labelSmoothing: 0.1 }),
        tg.randn([5, 4], { seed: 1 }),
      ],
      [
        'classAxis 1 of [N, C, L]',
        (z) => nn.crossEntropy(z, spatial, { classAxis: 1, weight: w }),
        tg.randn([2, 4, 3]),
      ],
    ];
    for (const [name, f, z] of cases) {
      const report = await tg.gradcheck(f, [z], { mode: ['webgl', 'webgpu'].includes(backend) ? 'fast' : 'full' });
      assert.ok(report.ok, `${name}: ${JSON.stringify(report.worst)}`);
      z.dispose();
    }
    tg.dispose([w, labels, spatial]);
  });
}

/** PyTorch's output sizes: convolution, transposed convolution, pooling with ceil_mode. */
const convOut = (n: number, k: number, s: number, p: number, d: number) =>
  Math.floor((n + 2 * p - d * (k - 1) - 1) / s) + 1;
const convTOut = (n: number, k: number, s: number, p: number, d: number, op: number) =>
  (n - 1) * s - 2 * p + d * (k - 1) + op + 1;
function poolOut(n: number, k: number, s: number, p: number, ceil: boolean): number {
  let o = (ceil ? Math.ceil : Math.floor)((n + 2 * p - k) / s) + 1;
  if (ceil && (o - 1) * s >= n + p) o--;
  return o;
}

test("output shapes follow PyTorch's formulas", () => {
  // shapes do not depend on the backend: on the browser pages (webgl) their shaders would only
  // spend the page's time budget
  if (['webgl', 'webgpu'].includes(tg.getBackend())) return;
  for (const [n, k, s, p, d] of [
    [9, 3, 2, 1, 1],
    [10, 3, 1, 0, 2],
    [11, 2, 3, 2, 3],
    [5, 5, 1, 0, 1],
  ]) {
    const conv1 = new nn.Conv1d(2, 4, k, { stride: s, padding: p, dilation: d, groups: 2 });
    const conv2 = new nn.Conv2d(2, 4, [k, 1], { stride: [s, 1], padding: [p, 0], dilation: [d, 1] });
    const convT = new nn.ConvTranspose2d(2, 4, k, { stride: s, padding: p, dilation: d, outputPadding: s > 1 ? 1 : 0 });
    tg.tidy(() => {
      assert.equal(
        conv1.forward(tg.zeros([1, n, 2])).shape,
        [1, convOut(n, k, s, p, d), 4],
        `conv1d ${[n, k, s, p, d]}`,
      );
      assert.equal(conv2.forward(tg.zeros([1, n, 3, 2])).shape, [1, convOut(n, k, s, p, d), 3, 4]);
      const o = convTOut(n, k, s, p, d, s > 1 ? 1 : 0);
      assert.equal(convT.forward(tg.zeros([1, n, n, 2])).shape, [1, o, o, 4], `convTranspose2d ${[n, k, s, p, d]}`);
    });
    [conv1, conv2, convT].forEach((m) => m.dispose());
  }
  for (const [n, k, s, p] of [
    [5, 2, 2, 1],
    [6, 3, 2, 1],
    [7, 3, 3, 0],
    [6, 2, 2, 0],
    [8, 4, 3, 2],
  ])
    for (const ceilMode of [false, true]) {
      const o = poolOut(n, k, s, p, ceilMode);
      for (const Pool of [nn.MaxPool2d, nn.AvgPool2d]) {
        const y = new Pool(k, { stride: s, padding: p, ceilMode }).forward(tg.zeros([1, n, n + 1, 1]));
        assert.equal(y.shape, [1, o, poolOut(n + 1, k, s, p, ceilMode), 1], `${Pool.name} ${[n, k, s, p, ceilMode]}`);
        y.dispose();
      }
    }
  tg.tidy(() => {
    assert.equal(new nn.AdaptiveAvgPool2d([3, null]).forward(tg.zeros([2, 7, 5, 3])).shape, [2, 3, 5, 3]);
    assert.equal(new nn.AdaptiveAvgPool2d(1).forward(tg.zeros([2, 7, 5, 3])).shape, [2, 1, 1, 3]);
    assert.equal(new nn.Upsample({ scaleFactor: [1.5, 2.7] }).forward(tg.zeros([1, 3, 3, 1])).shape, [1, 4, 8, 1]);
    assert.equal(new nn.Upsample({ size: 6, mode: 'bilinear' }).forward(tg.zeros([1, 3, 2, 1])).shape, [1, 6, 6, 1]);
  });
});

test('values: depthwise is per-channel convolution; a padded average counts its padding or not; adaptive and nearest windows', () => {
  const x = tg.randn([1, 5, 5, 3], { seed: 20 });
  const dw = new nn.Conv2d(3, 6, 3, { groups: 3, bias: false, seed: 21 });
  // output channels 2c and 2c+1 read input channel c only
  const y = dw.forward(x);
  for (let c = 0; c < 3; c++) {
    const xc = tg.slice(x, [0, 0, 0, c], [1, 5, 5, 1]);
    const wc = tg.slice(dw.weight, [0, 0, 0, 2 * c], [3, 3, 1, 2]);
    const own = tg.conv2d(xc, wc);
    assertClose(tg.slice(y, [0, 0, 0, 2 * c], [1, 3, 3, 2]), Array.from(own.dataSync()), { atol: 1e-5 });
    tg.dispose([xc, wc, own]);
  }
  const ones = tg.ones([1, 3, 3, 1]);
  // a 3×3 window at the corner with padding 1 holds 4 entries of x and 5 zeros
  const inc = tg.avgPool2d(ones, 3, { stride: 2, padding: 1 });
  const exc = tg.avgPool2d(ones, 3, { stride: 2, padding: 1, countIncludePad: false });
  assertClose(inc, [4 / 9, 4 / 9, 4 / 9, 4 / 9]);
  assertClose(exc, [1, 1, 1, 1]);
  // adaptive 5 → 3: windows [0, 2), [1, 4), [3, 5)
  const row = tg.tensor([1, 2, 3, 4, 5], { shape: [1, 1, 5, 1] });
  assertClose(tg.adaptiveAvgPool2d(row, [1, 3]), [1.5, 3, 4.5]);
  // nearest 5 → 3 reads ⌊j·5/3⌋ = 0, 1, 3
  assertClose(tg.interpolate(row, { size: [1, 3] }), [1, 2, 4]);
  // bilinear ×2 without alignCorners: source (j + ½)/2 − ½, clamped at 0
  assertClose(
    tg.interpolate(row, { scaleFactor: [1, 2], mode: 'bilinear' }),
    [1, 1.25, 1.75, 2.25, 2.75, 3.25, 3.75, 4.25, 4.75, 5],
  );
  tg.dispose([x, y, ones, inc, exc, row]);
  dw.dispose();
});

test('crossEntropy: weights and ignored targets as PyTorch; classAxis moves the class axis; departures checked', () => {
  const z = tg.tensor([
    [1, 2, 0.5],
    [0.1, -1, 3],
    [2, 2, 2],
  ]);
  const lp = tg.logSoftmax(z).arraySync() as number[][];
  const w = [0.2, 1, 3];
  const y = tg.tensor([1, 2, -100], { dtype: 'int32' });
  const mean = tg.nn.crossEntropy(z, y, { weight: tg.tensor(w) });
  assertClose(mean, -(w[1] * lp[0][1] + w[2] * lp[1][2]) / (w[1] + w[2]), { atol: 1e-6 });
  const plain = tg.nn.crossEntropy(z, y);
  assertClose(plain, -(lp[0][1] + lp[1][2]) / 2, { atol: 1e-6 });
  const none = tg.nn.crossEntropy(z, tg.tensor([1, 2, 0], { dtype: 'int32' }), { ignoreIndex: 2, reduction: 'none' });
  assertClose(none, [-lp[0][1], 0, -lp[2][0]], { atol: 1e-6 });
  const allIgnored = tg.nn.crossEntropy(z, tg.tensor([-100, -100, -100], { dtype: 'int32' }));
  assert.ok(Number.isNaN(allIgnored.item()), 'the mean over no targets is NaN, as PyTorch');
  // [N, C, L] with classAxis 1 equals [N, L, C] with the default
  const zc = tg.randn([2, 3, 4], { seed: 3 });
  const labels = tg.tensor([0, 1, 2, 1, 2, 2, 0, 0], { dtype: 'int32', shape: [2, 4] });
  const first = tg.nn.crossEntropy(zc, labels, { classAxis: 1, labelSmoothing: 0.1 });
  const last = tg.nn.crossEntropy(tg.transpose(zc, [0, 2, 1]), labels, { labelSmoothing: 0.1 });
  assertClose(first, last.item(), { atol: 1e-6 });
  assertThrows(
    () => tg.nn.crossEntropy(z, tg.tensor([1, 2, -100], { dtype: 'int32' }), { ignoreIndex: 1 }),
    /^crossEntropy: class index -100 at position 2 is out of range \[0, 3\)$/,
  );
  assertThrows(
    () => tg.nn.crossEntropy(z, tg.softmax(z), { ignoreIndex: 0 }),
    /^crossEntropy: ignoreIndex applies to class-index labels only/,
  );
  assertThrows(
    () => tg.nn.crossEntropy(z, y, { weight: tg.tensor([1, 2]) }),
    /^crossEntropy: weight must be float32 of shape \[3\] \(one per class\), got float32 \[2\]$/,
  );
  assertThrows(
    () => tg.nn.crossEntropy(zc, labels, { classAxis: 0 }),
    /^crossEntropy: labels of shape \[2,4\] fit neither class indices \[3,4\] nor probabilities \[2,3,4\] for logits \[2,3,4\] with classAxis 0$/,
  );
  tg.dispose([z, y, mean, plain, none, allIgnored, zc, labels, first, last]);
});

test('state dicts: names and shapes as PyTorch (in tapegrad layouts); toBytes/fromBytes round trip; no leaks', () => {
  const make = () => new nn.Sequential(new nn.Conv1d(3, 4, 3, { padding: 1, seed: 1 }), new nn.Flatten());
  const shapes = (m: tg.nn.Module) => Object.entries(m.stateDict()).map(([k, t]) => `${k}:${t.shape}`);
  const layers = [
    new nn.Conv1d(4, 6, 3, { groups: 2 }),
    new nn.Conv2d(4, 8, [3, 2], { groups: 4, bias: false }),
    new nn.ConvTranspose2d(4, 6, 3, { groups: 2 }),
  ];
  assert.equal(shapes(layers[0]), ['weight:3,2,6', 'bias:6']);
  assert.equal(shapes(layers[1]), ['weight:3,2,1,8']);
  assert.equal(shapes(layers[2]), ['weight:3,3,4,3', 'bias:6']);
  for (const m of [
    new nn.MaxPool2d(2, { padding: 1 }),
    new nn.AdaptiveAvgPool2d(2),
    new nn.Upsample({ scaleFactor: 2 }),
  ]) {
    assert.equal(shapes(m), [], `${m.describe()} has no state`);
    m.dispose();
  }
  const x = tg.randn([2, 5, 3], { seed: 2 });
  const a = make();
  const b = new nn.Sequential(new nn.Conv1d(3, 4, 3, { padding: 1, seed: 9 }), new nn.Flatten());
  b.fromBytes(a.toBytes());
  const [ya, yb] = [a.forward(x), b.forward(x)];
  assertClose(yb, Array.from(ya.dataSync()));
  const xi = tg.randn([1, 6, 6, 4], { seed: 3 });
  for (const m of layers) {
    const input = m instanceof nn.Conv1d ? tg.randn([1, 6, 4], { seed: 4 }) : xi;
    assertNoLeak(() => {
      tg.tidy(() => m.forward(input).square().sum().backward());
      m.zeroGrad();
    }, `${m.describe()}: forward, backward, zeroGrad`);
    assertNoLeak(() => m.forward(input).dispose(), `${m.describe()}: forward, dispose`);
    if (input !== xi) input.dispose();
  }
  assertNoLeak(() => {
    const t = tg.tensor(Array.from(xi.dataSync()), { shape: xi.shape, requiresGrad: true });
    tg.tidy(() =>
      tg
        .interpolate(tg.adaptiveAvgPool2d(tg.maxPool2d(t, 3, { stride: 2, padding: 1, ceilMode: true }), 2), {
          scaleFactor: 2,
          mode: 'bilinear',
        })
        .sum()
        .backward(),
    );
    tg.dispose([t.grad, t]);
  }, 'pools and resampling: forward, backward');
  [...layers, a, b].forEach((m) => m.dispose());
  tg.dispose([x, ya, yb, xi]);
});

test('bad input names the layer and the expected shape', () => {
  const conv1 = new nn.Conv1d(3, 4, 3);
  const conv2 = new nn.Conv2d(4, 4, 3, { groups: 2 });
  const convT = new nn.ConvTranspose2d(2, 3, 3);
  assertThrows(
    () => conv1.forward(tg.ones([2, 5, 4])),
    /^Conv1d: expected input of shape \[N, L, 3\] \(NWC\), got \[2,5,4\] \(layer Conv1d\(3→4, 3\)\)$/,
  );
  assertThrows(
    () => conv1.forward(tg.ones([5, 3])),
    /^Conv1d: expected input of shape \[N, L, 3\] \(NWC\), got \[5,3\]/,
  );
  assertThrows(
    () => conv2.forward(tg.ones([1, 5, 5, 3])),
    /^Conv2d: expected input of shape \[N, H, W, 4\] \(NHWC\), got \[1,5,5,3\] \(layer Conv2d\(4→4, 3×3, groups=2\)\)$/,
  );
  assertThrows(
    () => convT.forward(tg.ones([1, 5, 5])),
    /^ConvTranspose2d: expected input of shape \[N, H, W, 2\] \(NHWC\), got \[1,5,5\]/,
  );
  assertThrows(
    () => new nn.Conv2d(4, 6, 3, { groups: 4 }),
    /^Conv2d: inChannels 4 and outChannels 6 must both be divisible by groups 4$/,
  );
  assertThrows(() => new nn.Conv1d(3, 3, 3, { groups: 0 }), /^Conv1d: groups must be a positive integer, got 0$/);
  assertThrows(
    () => tg.conv2d(tg.ones([1, 4, 4, 4]), tg.ones([3, 3, 1, 4]), { groups: 2 }),
    /^conv2d: with 2 groups the filter must be \[kh, kw, inChannels\/2, outChannels\].*expects 1·2 = 2$/,
  );
  assertThrows(
    () => tg.conv2d(tg.ones([1, 4, 4, 1]), tg.ones([3, 3, 1, 1]), { dilation: 2 }),
    /^conv2d: a 5×5 window does not fit in a 4×4 image/,
  );
  assertThrows(
    () => tg.convTranspose2d(tg.ones([1, 3, 3, 2]), tg.ones([3, 3, 2, 1]), { stride: 2, outputPadding: 2 }),
    /^convTranspose2d: outputPadding 2 must be smaller than the stride or the dilation/,
  );
  assertThrows(
    () => tg.convTranspose2d(tg.ones([1, 1, 1, 2]), tg.ones([2, 2, 2, 1]), { padding: 1 }),
    /^convTranspose2d: padding \[1,1\] leaves no output: the full result is 2×2/,
  );
  assertThrows(
    () => tg.maxPool2d(tg.ones([1, 4, 4, 1]), 2, { padding: 2 }),
    /^maxPool2d: padding 2 must be at most half the window \[2,2\] \(as PyTorch\)$/,
  );
  assertThrows(
    () => tg.avgPool2d(tg.ones([1, 4, 4, 1]), 2, { padding: 'same', ceilMode: true }),
    /^avgPool2d: ceilMode needs numeric padding, not 'same'$/,
  );
  assertThrows(() => new nn.Upsample({ size: 4, scaleFactor: 2 }), /^Upsample: give one of size and scaleFactor$/);
  assertThrows(
    () => new nn.Upsample({ scaleFactor: 2, alignCorners: true }),
    /^Upsample: alignCorners applies to mode 'bilinear' only/,
  );
  assertThrows(
    () => new nn.Upsample({ scaleFactor: 2 }).forward(tg.ones([3, 3])),
    /^Upsample: expected input of shape \[N, H, W, C\] \(NHWC\), got \[3,3\]/,
  );
  assertThrows(() => new nn.AdaptiveAvgPool2d(0), /^AdaptiveAvgPool2d: outputSize must be a positive integer/);
  assertThrows(
    () => new nn.AdaptiveAvgPool2d(2).forward(tg.ones([4, 4, 1])),
    /^AdaptiveAvgPool2d: expected input of shape \[N, H, W, C\] \(NHWC\), got \[4,4,1\]/,
  );
  [conv1, conv2, convT].forEach((m) => m.dispose());
});

test.run();
