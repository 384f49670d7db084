// tg.nn's losses and distances: their formulas on small cases, gradchecks through every float input
// on cpu and wasm, memory, and the errors for bad input. Their values against PyTorch are in
// test/reference/nn.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../src/index.js';
import { assertClose, assertNoLeak, assertThrows, NODE_BACKENDS } from './helpers.js';

const nn = tg.nn;
type F = (...xs: tg.Tensor[]) => tg.Tensor;

/** Each loss with fixed non-float arguments, and float inputs away from its kinks. */
const CASES: [string, F, () => tg.Tensor[]][] = [
  [
    'nllLoss weight ignoreIndex',
    (x) => {
      const y = tg.tensor([0, 2, 1, 2], { dtype: 'int32' });
      const w = tg.tensor([0.5, 1, 2]);
      const l = nn.nllLoss(x, y, { weight: w, ignoreIndex: 1 });
      tg.dispose([y, w]);
      return l;
    },
    () => [tg.randn([4, 3], { seed: 1 })],
  ],
  [
    'binaryCrossEntropy weight',
    (p, t, w) => nn.binaryCrossEntropy(p, t, { weight: w }),
    () => [
      tg.tensor([0.2, 0.7, 0.5, 0.9, 0.1, 0.35]),
      tg.tensor([0, 1, 0.3, 0.8, 0.5, 1]),
      tg.tensor([1, 2, 0.5, 1, 3, 1]),
    ],
  ],
  [
    'klDiv batchmean',
    (x, t) => nn.klDiv(x, t, { reduction: 'batchmean' }),
    () => [
      tg.tensor([
        [-1, -0.5, -2],
        [-0.3, -1.5, -1],
      ]),
      tg.tensor([
        [0.2, 0.5, 0.3],
        [0.6, 0.1, 0.3],
      ]),
    ],
  ],
  [
    'klDiv logTarget',
    (x, t) => nn.klDiv(x, t, { logTarget: true, reduction: 'sum' }),
    () => [
      tg.tensor([
        [-1, -0.5, -2],
        [-0.3, -1.5, -1],
      ]),
      tg.tensor([
        [-1.2, -0.4, -0.8],
        [-0.6, -2, -1],
      ]),
    ],
  ],
  [
    'smoothL1Loss beta',
    (x, y) => nn.smoothL1Loss(x, y, { beta: 0.5 }),
    () => [tg.tensor([0.1, 1.5, -2, 0.4, -0.2]), tg.tensor([0.3, 0, 0, -0.5, 0])],
  ],
  [
    'cosineSimilarity broadcast',
    (a, b) => nn.cosineSimilarity(a, b, { axis: -1 }),
    () => [tg.randn([2, 3, 4], { seed: 2 }), tg.randn([3, 4], { seed: 3 })],
  ],
  [
    'marginRankingLoss',
    (x1, x2, y) => nn.marginRankingLoss(x1, x2, y, { margin: 0.5 }),
    () => [tg.tensor([0.3, -1, 2, 0.1]), tg.tensor([1, 0.2, -0.5, 0.8]), tg.tensor([1, -1, 1, -1])],
  ],
  [
    'tripletMarginLoss',
    (a, p, n) => nn.tripletMarginLoss(a, p, n, { margin: 3 }),
    () => [tg.randn([3, 4], { seed: 4 }), tg.randn([3, 4], { seed: 5 }), tg.randn([3, 4], { seed: 6 })],
  ],
  [
    'tripletMarginLoss p 1 swap',
    (a, p, n) => nn.tripletMarginLoss(a, p, n, { margin: 4, p: 1, swap: true, reduction: 'sum' }),
    () => [tg.randn([3, 4], { seed: 7 }), tg.randn([3, 4], { seed: 8 }), tg.randn([3, 4], { seed: 9 })],
  ],
];

for (const backend of NODE_BACKENDS) {
  test(`losses pass a full gradcheck through every float input, and leak nothing (${backend})`, async () => {
    await tg.setBackend(backend);
    for (const [name, f, make] of CASES) {
      const before = tg.memory();
      const xs = make();
      const r = await tg.gradcheck(f, xs, { mode: 'full' });
      assert.ok(r.ok, `${name}: ${JSON.stringify(r.worst)}`);
      const ys = xs.map((x) => tg.tensor(Array.from(x.dataSync()), { shape: x.shape, requiresGrad: true }));
      assertNoLeak(() => {
        tg.tidy(() =>
          f(...ys)
            .sum()
            .backward(),
        );
        for (const y of ys) y.grad?.dispose();
        // outside a tidy: the result owns its intermediates, with a graph and without one
        f(...ys).dispose();
        f(...xs).dispose();
      }, name);
      tg.dispose([...xs, ...ys]);
      assert.equal(tg.memory().numTensors, before.numTensors, `${name}: leaked`);
    }
  });
}

test('nllLoss: −w[y]·x[y], the mean over the weights of the targets not ignored', () => {
  const x = tg.tensor([
    [-1, -2, -3],
    [-4, -5, -6],
    [-7, -8, -9],
  ]);
  const y = tg.tensor([2, 0, 1], { dtype: 'int32' });
  const w = tg.tensor([1, 2, 4]);
  assertClose(nn.nllLoss(x, y), (3 + 4 + 8) / 3);
  assertClose(nn.nllLoss(x, y, { weight: w, reduction: 'none' }), [12, 4, 16]);
  assertClose(nn.nllLoss(x, y, { weight: w }), (12 + 4 + 16) / 7);
  assertClose(nn.nllLoss(x, y, { weight: w, ignoreIndex: 0 }), (12 + 16) / 6);
  assertClose(nn.nllLoss(x, y, { reduction: 'sum', ignoreIndex: 2 }), 12);
  assert.ok(
    Number.isNaN(nn.nllLoss(tg.tensor([[-1, -2]]), tg.tensor([0], { dtype: 'int32' }), { ignoreIndex: 0 }).item()),
  );
});

test('binaryCrossEntropy: −(t log p + (1−t) log(1−p)), logs clamped at −100', () => {
  const p = tg.tensor([0.25, 0.5, 0, 1]);
  const t = tg.tensor([1, 0.5, 1, 1]);
  assertClose(nn.binaryCrossEntropy(p, t, { reduction: 'none' }), [-Math.log(0.25), Math.log(2), 100, 0]);
});

test('klDiv: t(log t − x), 0 where t = 0; batchmean divides by the first size', () => {
  const x = tg.tensor([
    [-1, -2],
    [-0.5, -3],
  ]);
  const t = tg.tensor([
    [0.5, 0.5],
    [1, 0],
  ]);
  const terms = [0.5 * (Math.log(0.5) + 1), 0.5 * (Math.log(0.5) + 2), 0.5, 0];
  assertClose(nn.klDiv(x, t, { reduction: 'none' }), terms);
  const s = terms.reduce((a, b) => a + b);
  assertClose(nn.klDiv(x, t, { reduction: 'batchmean' }), s / 2);
  assertClose(nn.klDiv(x, t), s / 4);
  const u = tg.tensor([
    [0.25, 0.75],
    [0.5, 0.5],
  ]);
  assertClose(nn.klDiv(x, u.log(), { logTarget: true, reduction: 'none' }), nn.klDiv(x, u, { reduction: 'none' }));
});

test('smoothL1Loss: ½d²/β inside β, |d| − ½β beyond; β = 0 is L1', () => {
  const x = tg.tensor([0.2, -0.3, 2, -3]);
  const y = tg.zeros([4]);
  assertClose(nn.smoothL1Loss(x, y, { reduction: 'none' }), [0.02, 0.045, 1.5, 2.5]);
  assertClose(nn.smoothL1Loss(x, y, { beta: 0.5, reduction: 'none' }), [0.04, 0.09, 1.75, 2.75]);
  assertClose(nn.smoothL1Loss(x, y, { beta: 0, reduction: 'sum' }), 5.5);
});

test('cosineSimilarity: a·b / (‖a‖‖b‖) along axis 1; 0 for a zero vector', () => {
  const a = tg.tensor([
    [1, 0],
    [1, 1],
    [0, 0],
  ]);
  const b = tg.tensor([
    [0, 1],
    [2, 2],
    [1, 1],
  ]);
  assertClose(nn.cosineSimilarity(a, b), [0, 1, 0]);
  assertClose(nn.cosineSimilarity(a, tg.tensor([1, 0]), { axis: -1 }), [1, Math.SQRT1_2, 0]);
});

test('marginRankingLoss: max(0, −y(x1 − x2) + margin)', () => {
  const l = nn.marginRankingLoss(tg.tensor([1, 1, 0]), tg.tensor([0, 0, 0.2]), tg.tensor([1, -1, 1]), {
    margin: 0.5,
    reduction: 'none',
  });
  assertClose(l, [0, 1.5, 0.7]);
});

test('tripletMarginLoss: max(‖a − p + ε‖ − ‖a − n + ε‖ + margin, 0); swap takes the nearer negative', () => {
  const a = tg.tensor([[0, 0]]);
  const p = tg.tensor([[3, 4]]);
  const n = tg.tensor([[1, 0]]);
  assertClose(nn.tripletMarginLoss(a, p, n, { eps: 0 }), 5);
  assertClose(nn.tripletMarginLoss(a, p, n, { eps: 0, p: 1, margin: 0 }), 6);
  const far = tg.tensor([[6, 0]]);
  // d(a, n) = 6, d(p, n) = 5
  assertClose(nn.tripletMarginLoss(a, p, far, { eps: 0, margin: 2 }), 1);
  assertClose(nn.tripletMarginLoss(a, p, far, { eps: 0, margin: 2, swap: true }), 2);
});

test('the losses refuse bad input, naming the function and the shapes or values', () => {
  const x = tg.randn([2, 3], { seed: 1 });
  const y = tg.tensor([0, 3], { dtype: 'int32' });
  assertThrows(() => nn.nllLoss(x, y), /nllLoss: class index 3 at position 1 is out of range \[0, 3\)/);
  assertThrows(() => nn.nllLoss(x, tg.tensor([0], { dtype: 'int32' })), /nllLoss: targets of shape \[1\].*\[2,3\]/);
  assertThrows(() => nn.nllLoss(x, tg.tensor([0, 1])), /nllLoss: targets must be int32/);
  assertThrows(
    () => nn.nllLoss(x, tg.tensor([0, 1], { dtype: 'int32' }), { weight: tg.ones([2]) }),
    /nllLoss: weight must have shape \[3\].*\[2\]/,
  );
  assertThrows(() => nn.nllLoss(x, tg.tensor([0, 1], { dtype: 'int32' }), { reduction: 'avg' as never }), /'avg'/);
  assertThrows(
    () => nn.binaryCrossEntropy(tg.tensor([0.5, 1.5]), tg.ones([2])),
    /binaryCrossEntropy: .*1\.5 at position 1/,
  );
  assertThrows(
    () => nn.binaryCrossEntropy(tg.ones([2]), tg.ones([3])),
    /binaryCrossEntropy: input \[2\] and target \[3\]/,
  );
  assertThrows(
    () => nn.binaryCrossEntropy(tg.ones([2, 2]), tg.ones([2, 2]), { weight: tg.ones([3]) }),
    /binaryCrossEntropy: .*\[3\]/,
  );
  assertThrows(() => nn.klDiv(x, x, { reduction: 'avg' as never }), /klDiv: reduction must be 'batchmean'.*'avg'/);
  assertThrows(() => nn.klDiv(x, tg.ones([3])), /klDiv: input \[2,3\] and target \[3\]/);
  assertThrows(() => nn.smoothL1Loss(x, x, { beta: -1 }), /smoothL1Loss: beta must be non-negative, got -1/);
  assertThrows(() => nn.cosineSimilarity(x, tg.ones([2])), /cosineSimilarity: .*\[2,3\].*\[2\]/);
  assertThrows(() => nn.cosineSimilarity(x, x, { axis: 2 }), /cosineSimilarity: axis 2 is out of range/);
  assertThrows(() => nn.marginRankingLoss(x, x, tg.ones([2])), /marginRankingLoss: .*\[2,3\].*\[2\]/);
  assertThrows(
    () => nn.tripletMarginLoss(x, x, tg.ones([2, 2])),
    /tripletMarginLoss: anchor \[2,3\], positive \[2,3\] and negative \[2,2\]/,
  );
  assertThrows(() => nn.tripletMarginLoss(x, x, x, { p: 0.5 }), /tripletMarginLoss: p must be ≥ 1, got 0.5/);
});

test.run();
