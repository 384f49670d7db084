// Bad input gets a TapegradError that names the function and the shapes or values involved —
// never a NaN, a silently wrong shape, or a bare TF.js message.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../src/index.js';
import { NODE_BACKENDS, assertNoLeak, assertThrows } from './helpers.js';

for (const backend of NODE_BACKENDS) {
  const s = suite(`bad input on ${backend}`);
  s.before(async () => {
    await tg.setBackend(backend);
  });

  s('mismatched shapes name the op and both shapes', () => {
    const a = tg.ones([2, 3]);
    const b = tg.ones([4, 5]);
    const c = tg.ones([3, 2]);
    assertThrows(() => tg.matmul(a, b), /^matmul: inner dimensions differ: \[2,3\] x \[4,5\]$/, 'matmul');
    assertThrows(() => a.matmul(a), /^matmul: inner dimensions differ: \[2,3\] x \[2,3\]$/, 'matmul method');
    assertThrows(() => tg.add(a, c), /^add: shapes \[2,3\] and \[3,2\] cannot be broadcast together$/, 'add');
    assertThrows(() => a.mul(b), /^mul: shapes \[2,3\] and \[4,5\] cannot be broadcast together$/, 'mul');
    assertThrows(
      () => tg.matmul(tg.ones([2, 2, 3]), tg.ones([3, 3, 2])),
      /matmul: batch dimensions cannot be broadcast: \[2,2,3\] x \[3,3,2\]/,
      'batch',
    );
    assertThrows(() => tg.concat([a, c]), /concat: shapes \[2,3\], \[3,2\] differ outside axis 0/, 'concat');
    assertThrows(() => tg.stack([a, c]), /stack: shapes differ: \[2,3\], \[3,2\]/, 'stack');
    assertThrows(() => tg.reshape(a, [4, 2]), /reshape: cannot reshape \[2,3\] \(6 values\) to \[4,2\]/, 'reshape');
    assertThrows(() => tg.mseLoss(a, c), /mseLoss: input \[2,3\] and target \[3,2\] differ in shape/, 'mseLoss');
    assertThrows(() => tg.dot(tg.ones([2]), tg.ones([3])), /dot: vector lengths differ: \[2\] · \[3\]/, 'dot');
    assertThrows(() => tg.sum(a, { axis: 2 }), /sum: axis 2 is out of range for a tensor of rank 2/, 'axis');
    assertThrows(
      () => tg.gather(a, [0, 2]),
      /gather: index 2 at position 1 is out of range \[0, 2\) for axis 0 of \[2,3\]/,
      'gather',
    );
    assertThrows(
      () => tg.crossEntropy(a, tg.tensor([0, 3], { dtype: 'int32' })),
      /crossEntropy: class index 3 at position 1 is out of range \[0, 3\)/,
      'crossEntropy',
    );
    assertThrows(
      () => tg.slice(a, [1, 1], [2, 1]),
      /slice: begin \[1,1\] and size \[2,1\] do not fit in \[2,3\]/,
      'slice',
    );
    tg.dispose([a, b, c]);
  });

  s('a failed op leaves nothing behind (numbers made into constants included)', () => {
    const a = tg.ones([2, 3]);
    const v = tg.ones([3]);
    assertNoLeak(
      () => assertThrows(() => tg.matmul(v, a), /matmul: inner dimensions differ: \[3\] x \[2,3\]/),
      'matmul with a vector',
    );
    const c = tg.tensor([true, false], { dtype: 'bool' });
    assertNoLeak(
      () => assertThrows(() => tg.where(c, a, 1), /where: shapes \[2\] and \[2,3\] cannot be broadcast together/),
      'where with a number',
    );
    c.dispose();
    assertNoLeak(() => assertThrows(() => tg.gather(a, [5]), /gather: index 5/), 'gather with an array');
    tg.dispose([a, v]);
  });

  s('backward() on a non-scalar without a seed; a seed of the wrong shape', () => {
    const x = tg.tensor([1, 2], { requiresGrad: true });
    const y = x.mul(2);
    assertThrows(() => y.backward(), /^backward: a seed gradient is needed for a non-scalar output of shape \[2\]/);
    const bad = tg.ones([3]);
    assertThrows(
      () => y.backward(bad),
      /backward: the seed \(float32 \[3\]\) must be float32 with the output's shape \[2\]/,
    );
    const c = tg.tensor([1, 2]);
    assertThrows(() => c.sum().backward(), /backward: the tensor does not require grad and has no graph/);
    tg.dispose([x, y, bad, c]);
  });

  s('a second backward() without retainGraph', () => {
    const x = tg.tensor([1, 2], { requiresGrad: true });
    const y = x.exp().sum();
    y.backward();
    assertThrows(
      () => y.backward(),
      /backward: the graph through 'sum' was freed by an earlier backward\(\); pass \{ retainGraph: true \}/,
    );
    tg.dispose([x, x.grad, y]);
  });

  s('grad() of a function that does not return a scalar, or not a Tensor; bad argnums', () => {
    const x = tg.tensor([1, 2]);
    assertThrows(
      () => tg.grad((t: tg.Tensor) => t.mul(2))(x),
      /^grad: the function must return a scalar, got shape \[2\]/,
    );
    assertThrows(() => tg.grad((() => 3) as any)(x), /grad: the function must return a Tensor, got number 3/);
    assertThrows(() => tg.grad((t: tg.Tensor) => t.sum(), 2)(x), /grad: argnums 2 out of range for 1 arguments/);
    assertThrows(
      () => tg.grad((t: tg.Tensor) => t.sum())([1, 2] as any),
      /grad: argument 0 must be a Tensor or a number to differentiate, got an array/,
    );
    assertThrows(
      () => tg.valueAndGrad((t: tg.Tensor) => t)(x),
      /valueAndGrad: the function must return a scalar, got shape \[2\]/,
    );
    x.dispose();
  });

  s('ragged and non-numeric arrays to tensor()', () => {
    assertThrows(() => tg.tensor([[1, 2], [3]]), /^tensor: ragged array: element \[1\] has length 1, expected 2$/);
    assertThrows(
      () => tg.tensor([[1, 2], 3] as any),
      /tensor: ragged array: element \[1\] is number, expected an array of length 2/,
    );
    assertThrows(
      () =>
        tg.tensor([
          [1, [2]],
          [3, 4],
        ] as any),
      /tensor: ragged array: element \[0,1\] is an array, expected a number/,
    );
    assertThrows(() => tg.tensor([1, 'a', 3] as any), /tensor: non-numeric value "a" at \[1\]/);
    assertThrows(() => tg.tensor([1, null, 3] as any), /tensor: non-numeric value null at \[1\]/);
    assertThrows(
      () => tg.tensor([1, 2, 3], { shape: [2, 2] }),
      /tensor: shape \[2,2\] holds 4 values, but 3 were given/,
    );
    assertThrows(() => tg.tensor([1], { dtype: 'float64' as any }), /tensor: unknown dtype 'float64'/);
    assertThrows(() => tg.zeros([2, -1]), /zeros: shape must be an array of non-negative integers/);
  });

  s('a disposed tensor used again: in an op, in backward, reading it', () => {
    const x = tg.tensor([1, 2], { requiresGrad: true });
    const gone = tg.tensor([3, 4]);
    gone.dispose();
    assertThrows(() => x.add(gone), /^add: input 1 \(shape \[2\]\) has been disposed$/);
    assertThrows(() => gone.exp(), /^exp: the input \(shape \[2\]\) has been disposed$/);
    assertThrows(() => gone.dataSync(), /dataSync: the tensor \(shape \[2\]\) has been disposed/);
    // an intermediate that backward needs, freed too early
    const y = x.exp();
    const z = y.sum();
    y.dispose();
    assertThrows(
      () => z.backward(),
      /backward: a tensor saved for the gradient of 'exp' \(shape \[2\]\) was disposed before backward\(\)/,
    );
    // the root itself
    const w = x.mul(2).sum();
    w.dispose();
    assertThrows(() => w.backward(), /backward: the tensor \(shape \[\]\) has been disposed/);
    tg.dispose([x, z]);
  });

  s('wrong kinds of argument', () => {
    const x = tg.tensor([1, 2]);
    assertThrows(
      () => tg.exp([1, 2] as any),
      /exp: the input must be a tapegrad Tensor, got an array \(wrap it with tg.tensor\)/,
    );
    assertThrows(() => tg.add(x, '1' as any), /add: expected a Tensor or a number, got string/);
    assertThrows(() => tg.where(x as any, x, x), /where: the condition must be a bool tensor, got float32/);
    assertThrows(() => tg.matmul(x, tg.tensor([1, 2], { dtype: 'int32' })), /matmul: dtypes differ: float32 and int32/);
    assertThrows(() => tg.clip(x, 1, 0), /clip: lo \(1\) must not exceed hi \(0\)/);
    assertThrows(
      () => tg.variance(tg.ones([1]), { correction: 1 }),
      /variance: needs more than 1 entries per reduced slice, got 1/,
    );
    assertThrows(() => tg.customOp({} as any), /customOp: needs \{ name, forward, vjp \}/);
    x.dispose();
  });
  s.run();
}

const b = suite('backends');
b('an unknown backend name lists the available ones', async () => {
  let msg = '';
  try {
    await tg.setBackend('gpu' as tg.BackendName);
  } catch (e) {
    assert.instance(e, tg.TapegradError);
    msg = (e as Error).message;
  }
  assert.match(msg, /^setBackend: unknown backend 'gpu'; (available|known): wasm, cpu, webgl, webgpu, tensorflow/);
});
b('setBackend / getBackend switch between cpu and wasm', async () => {
  await tg.setBackend('cpu');
  assert.is(tg.getBackend(), 'cpu');
  await tg.setBackend('wasm');
  assert.is(tg.getBackend(), 'wasm');
});
b.run();

const leak = suite('a failed backward leaves nothing behind');
leak('an intermediate disposed too early: the error, and no gradient left over', () => {
  const x = tg.tensor([1, 2], { requiresGrad: true });
  const y = x.exp();
  const z = y.mul(2).sum();
  y.dispose();
  const before = tg.memory().numTensors;
  assertThrows(() => z.backward(), /backward: a tensor saved for the gradient of 'exp'/);
  assert.is(tg.memory().numTensors, before);
  assert.is(x.grad, null);
  tg.dispose([x, z]);
});
leak.run();

const moved = suite('parameters changed between forward and backward');
moved('backward after a parameter got new values is an error, not a wrong gradient', () => {
  const w = tg.tensor([1, 2], { requiresGrad: true });
  const loss = w.square().sum();
  // what an optimizer step does: the parameter gets a new value
  const old = w.value;
  w.value = tg.tensor([5, 5]).value;
  assertThrows(
    () => loss.backward(),
    /backward: input 0 of 'square' \(shape \[2\]\) was given new values after the forward pass/,
  );
  old.dispose();
  tg.dispose([w, loss]);
});
moved.run();

// ---- the audit of the public API: PyTorch-style mistakes a user makes. Each row is one bad call
// and the TapegradError it must give (the message starts with the function's name); it runs on
// cpu and on wasm, in a scope whose fixtures are freed, and must leave no tensor behind.
type Row = [what: string, call: () => unknown, message: RegExp];
const m23 = () =>
  tg.tensor([
    [1, 2, 3],
    [4, 5, 6],
  ]);
const ints = (v: number[]) => tg.tensor(v, { dtype: 'int32' });
const param = () => tg.ones([2], { requiresGrad: true });
const goneParam = () => {
  const p = param();
  p.dispose();
  return p;
};
const dataset = () => new tg.data.TensorDataset(tg.ones([3, 2]));
const AUDIT: Row[] = [
  // options misspelt, or named as PyTorch names them: ignored, they would change the result's shape or value
  [
    'sum keepdim',
    () => tg.sum(m23(), { axis: 1, keepdim: true } as never),
    /^sum: unknown option 'keepdim' \(did you mean 'keepDims'\?\); the options are axis, keepDims$/,
  ],
  ['mean dim', () => tg.mean(m23(), { dim: 1 } as never), /^mean: unknown option 'dim' \(did you mean 'axis'\?\)/],
  [
    'max keep_dims',
    () => tg.max(m23(), { axis: 0, keep_dims: true } as never),
    /^max: unknown option 'keep_dims' \(did you mean 'keepDims'\?\)/,
  ],
  [
    'x.sum(1), as in PyTorch',
    () => (m23().sum as (o: unknown) => tg.Tensor)(1),
    /^sum: options must be an object such as \{ axis: 1 \}, got number 1$/,
  ],
  ['mean of a string', () => tg.mean(m23(), 'rows' as never), /^mean: options must be an object, got string "rows"$/],
  ['prod of an array', () => tg.prod(m23(), [0] as never), /^prod: options must be an object, got an array$/],
  ['logSumExp dim', () => tg.logSumExp(m23(), { dim: -1 } as never), /^logSumExp: unknown option 'dim'/],
  [
    'argmax dim',
    () => tg.argmax(m23(), { dim: 1 } as never),
    /^argmax: unknown option 'dim' \(did you mean 'axis'\?\)/,
  ],
  ['argmin(x, 0)', () => tg.argmin(m23(), 0 as never), /^argmin: options must be an object such as \{ axis: 0 \}/],
  ['all keepdim', () => tg.all(m23(), { keepdim: true } as never), /^all: unknown option 'keepdim'/],
  [
    'std unbiased',
    () => tg.std(m23(), { unbiased: false } as never),
    /^std: unknown option 'unbiased' \(did you mean 'correction'\?\)/,
  ],
  [
    'variance ddof',
    () => tg.variance(m23(), { ddof: 1 } as never),
    /^variance: unknown option 'ddof' \(did you mean 'correction'\?\)/,
  ],
  [
    'variance correction a string',
    () => tg.variance(m23(), { correction: '1' } as never),
    /^variance: correction must be a finite number, got "1"$/,
  ],
  ['norm p', () => tg.norm(m23(), { p: 1 } as never), /^norm: unknown option 'p' \(did you mean 'ord'\?\)/],
  [
    'cumsum dim',
    () => tg.cumsum(m23(), 1, { dim: 0 } as never),
    /^cumsum: unknown option 'dim'; the options are exclusive, reverse$/,
  ],
  ['sort dim', () => tg.sort(m23(), { dim: 0 } as never), /^sort: unknown option 'dim' \(did you mean 'axis'\?\)/],
  [
    'topk sorted',
    () => tg.topk(m23(), 1, { sorted: false } as never),
    /^topk: unknown option 'sorted'; the options are axis, largest$/,
  ],
  ['median keepdim', () => tg.median(m23(), { axis: 0, keepdim: true } as never), /^median: unknown option 'keepdim'/],
  [
    'diagonal dim1',
    () => tg.diagonal(m23(), { dim1: 0, dim2: 1 } as never),
    /^diagonal: unknown options 'dim1', 'dim2'; the options are offset, axis1, axis2$/,
  ],
  [
    'matmul transpose_b',
    () => tg.matmul(m23(), m23(), { transpose_b: true } as never),
    /^matmul: unknown option 'transpose_b' \(did you mean 'transposeB'\?\)/,
  ],
  [
    'linear act',
    () => tg.linear(m23(), tg.ones([3, 2]), null, { act: 'relu' } as never),
    /^linear: unknown option 'act'; the options are activation$/,
  ],
  [
    'crossEntropy ignore_index',
    () => tg.crossEntropy(m23(), ints([0, 1]), { ignore_index: 1 } as never),
    /^crossEntropy: unknown option 'ignore_index' \(did you mean 'ignoreIndex'\?\)/,
  ],
  [
    'crossEntropy label_smoothing',
    () => tg.crossEntropy(m23(), ints([0, 1]), { label_smoothing: 0.1 } as never),
    /^crossEntropy: unknown option 'label_smoothing' \(did you mean 'labelSmoothing'\?\)/,
  ],
  [
    'mseLoss reduce',
    () => tg.mseLoss(m23(), m23(), { reduce: false } as never),
    /^mseLoss: unknown option 'reduce'; the options are reduction$/,
  ],
  [
    'l1Loss(a, b, "sum")',
    () => tg.l1Loss(m23(), m23(), 'sum' as never),
    /^l1Loss: options must be an object, got string "sum"$/,
  ],
  [
    'conv2d strides',
    () => tg.conv2d(tg.ones([1, 4, 4, 1]), tg.ones([2, 2, 1, 1]), { strides: 2 } as never),
    /^conv2d: unknown option 'strides'; the options are stride, padding, dilation, groups$/,
  ],
  [
    'conv1d padding_mode',
    () => tg.conv1d(tg.ones([1, 4, 1]), tg.ones([2, 1, 1]), { padding_mode: 'zeros' } as never),
    /^conv1d: unknown option 'padding_mode'/,
  ],
  [
    'convTranspose2d output_padding',
    () => tg.convTranspose2d(tg.ones([1, 2, 2, 1]), tg.ones([2, 2, 1, 1]), { output_padding: 1 } as never),
    /^convTranspose2d: unknown option 'output_padding' \(did you mean 'outputPadding'\?\)/,
  ],
  [
    'interpolate scale_factor',
    () => tg.interpolate(tg.ones([1, 2, 2, 1]), { scale_factor: 2 } as never),
    /^interpolate: unknown option 'scale_factor' \(did you mean 'scaleFactor'\?\)/,
  ],
  [
    'tensor requires_grad',
    () => tg.tensor([1], { requires_grad: true } as never),
    /^tensor: unknown option 'requires_grad' \(did you mean 'requiresGrad'\?\)/,
  ],
  [
    'zeros(shape, "int32")',
    () => tg.zeros([2], 'int32' as never),
    /^zeros: options must be an object, got string "int32"$/,
  ],
  [
    'randn dtype (float32 only)',
    () => tg.randn([2], { dtype: 'int32' } as never),
    /^randn: unknown option 'dtype'; the options are requiresGrad, seed, mean, std$/,
  ],
  ['linspace dtype', () => tg.linspace(0, 1, 3, { dtype: 'int32' } as never), /^linspace: unknown option 'dtype'/],
  [
    'backward retain_graph',
    () =>
      tg
        .ones([2], { requiresGrad: true })
        .sum()
        .backward(undefined, { retain_graph: true } as never),
    /^backward: unknown option 'retain_graph' \(did you mean 'retainGraph'\?\)/,
  ],
  [
    'gradients create_graph',
    () => {
      const x = param();
      return tg.gradients(x.sum(), [x], { create_graph: true } as never);
    },
    /^gradients: unknown option 'create_graph' \(did you mean 'createGraph'\?\)/,
  ],
  [
    'explain verbose',
    () => tg.explain(tg.ones([2], { requiresGrad: true }).sum(), { verbose: true } as never),
    /^explain: unknown option 'verbose'; the options are print$/,
  ],
  [
    'linalg.cholesky upper',
    () => tg.linalg.cholesky(tg.eye(2), { upper: true } as never),
    /^linalg\.cholesky: unknown option 'upper'; the options are checkSymmetric$/,
  ],
  [
    'linalg.triangularSolve upper',
    () => tg.linalg.triangularSolve(tg.eye(2), tg.ones([2, 1]), { upper: true } as never),
    /^linalg\.triangularSolve: unknown option 'upper'; the options are lower, transpose, unitDiagonal$/,
  ],
  [
    'linalg.matrixNorm keepdim',
    () => tg.linalg.matrixNorm(tg.eye(2), 'fro', { keepdim: true } as never),
    /^linalg\.matrixNorm: unknown option 'keepdim' \(did you mean 'keepDims'\?\)/,
  ],
  [
    'nn.Linear bias_',
    () => new tg.nn.Linear(3, 2, { bias_: false } as never),
    /^Linear: unknown option 'bias_' \(did you mean 'bias'\?\)/,
  ],
  ['nn.MLP act', () => new tg.nn.MLP([2, 2], { act: 'tanh' } as never), /^MLP: unknown option 'act'/],
  [
    'nn.Dropout inplace',
    () => new tg.nn.Dropout(0.5, { inplace: true } as never),
    /^Dropout: unknown option 'inplace'; the options are seed$/,
  ],
  [
    'nn.LayerNorm elementwise_affine',
    () => new tg.nn.LayerNorm(4, { elementwise_affine: false } as never),
    /^LayerNorm: unknown option 'elementwise_affine' \(did you mean 'elementwiseAffine'\?\)/,
  ],
  ['nn.RMSNorm epsilon', () => new tg.nn.RMSNorm(4, { epsilon: 1e-6 } as never), /^RMSNorm: unknown option 'epsilon'/],
  [
    'nn.BatchNorm2d track_running_stats',
    () => new tg.nn.BatchNorm2d(3, { track_running_stats: false } as never),
    /^BatchNorm2d: unknown option 'track_running_stats' \(did you mean 'trackRunningStats'\?\)/,
  ],
  [
    'nn.GroupNorm elementwiseAffine',
    () => new tg.nn.GroupNorm(1, 2, { elementwiseAffine: false } as never),
    /^GroupNorm: unknown option 'elementwiseAffine'; the options are eps, affine$/,
  ],
  [
    'nn.Conv2d kernel_size in the options',
    () => new tg.nn.Conv2d(3, 2, 3, { padding_mode: 'zeros' } as never),
    /^Conv2d: unknown option 'padding_mode'/,
  ],
  ['nn.Conv1d strides', () => new tg.nn.Conv1d(3, 2, 3, { strides: 2 } as never), /^Conv1d: unknown option 'strides'/],
  [
    'nn.ConvTranspose2d output_padding',
    () => new tg.nn.ConvTranspose2d(3, 2, 3, { output_padding: 1 } as never),
    /^ConvTranspose2d: unknown option 'output_padding'/,
  ],
  [
    'nn.Embedding padding_idx',
    () => new tg.nn.Embedding(3, 2, { padding_idx: 0 } as never),
    /^Embedding: unknown option 'padding_idx' \(did you mean 'paddingIdx'\?\)/,
  ],
  [
    'nn.GRU batch_first',
    () => new tg.nn.GRU(3, 4, { batch_first: true } as never),
    /^GRU: unknown option 'batch_first' \(did you mean 'batchFirst'\?\)/,
  ],
  [
    'nn.RNN num_layers',
    () => new tg.nn.RNN(3, 4, { num_layers: 2 } as never),
    /^RNN: unknown option 'num_layers' \(did you mean 'numLayers'\?\)/,
  ],
  [
    'nn.LSTM nonlinearity (RNN only)',
    () => new tg.nn.LSTM(3, 4, { nonlinearity: 'relu' } as never),
    /^LSTM: unknown option 'nonlinearity'/,
  ],
  [
    'nn.LSTMCell nonlinearity',
    () => new tg.nn.LSTMCell(3, 4, { nonlinearity: 'relu' } as never),
    /^LSTMCell: unknown option 'nonlinearity'/,
  ],
  [
    'nn.LSTM state as { h0, c0 }',
    () => {
      const lstm = new tg.nn.LSTM(3, 4);
      try {
        return lstm.forward(tg.ones([2, 1, 3]), { h0: tg.zeros([1, 1, 4]), c0: tg.zeros([1, 1, 4]) } as never);
      } finally {
        lstm.dispose();
      }
    },
    /^LSTM: unknown options 'h0', 'c0'; the options are h, c$/,
  ],
  [
    'nn.MultiheadAttention batch_first',
    () => new tg.nn.MultiheadAttention(4, 2, { batch_first: true } as never),
    /^MultiheadAttention: unknown option 'batch_first'/,
  ],
  [
    'nn.TransformerEncoderLayer dim_feedforward',
    () => new tg.nn.TransformerEncoderLayer(4, 2, { dim_feedforward: 8 } as never),
    /^TransformerEncoderLayer: unknown option 'dim_feedforward' \(did you mean 'dimFeedforward'\?\)/,
  ],
  [
    'nn.init.heNormal mode',
    () => tg.nn.init.heNormal([2, 2], { mode: 'fan_out' } as never),
    /^heNormal: unknown option 'mode'; the options are seed, gain$/,
  ],
  [
    'nn.huberLoss beta',
    () => tg.nn.huberLoss(m23(), m23(), { beta: 1 } as never),
    /^huberLoss: unknown option 'beta'; the options are delta, reduction$/,
  ],
  [
    'nn.nllLoss ignore_index',
    () => tg.nn.nllLoss(m23(), ints([0, 1]), { ignore_index: 0 } as never),
    /^nllLoss: unknown option 'ignore_index' \(did you mean 'ignoreIndex'\?\)/,
  ],
  [
    'nn.klDiv log_target',
    () => tg.nn.klDiv(m23(), m23(), { log_target: true } as never),
    /^klDiv: unknown option 'log_target' \(did you mean 'logTarget'\?\)/,
  ],
  [
    'nn.binaryCrossEntropyWithLogits pos_weight',
    () => tg.nn.binaryCrossEntropyWithLogits(m23(), m23(), { pos_weight: m23() } as never),
    /^binaryCrossEntropyWithLogits: unknown option 'pos_weight'/,
  ],
  [
    'nn.cosineSimilarity dim',
    () => tg.nn.cosineSimilarity(m23(), m23(), { dim: 0 } as never),
    /^cosineSimilarity: unknown option 'dim' \(did you mean 'axis'\?\)/,
  ],
  [
    'nn.tripletMarginLoss reduce',
    () => tg.nn.tripletMarginLoss(m23(), m23(), m23(), { reduce: false } as never),
    /^tripletMarginLoss: unknown option 'reduce'/,
  ],
  [
    'data.DataLoader batch_size',
    () => new tg.data.DataLoader(dataset(), { batch_size: 2 } as never),
    /^DataLoader: unknown option 'batch_size' \(did you mean 'batchSize'\?\)/,
  ],
  [
    'data.DataLoader shuffle "yes"',
    () => new tg.data.DataLoader(dataset(), { shuffle: 'yes' } as never),
    /^DataLoader: shuffle must be true or false, got string yes$/,
  ],
  [
    'data.randomSplit generator',
    () => tg.data.randomSplit(dataset(), [1, 2], { generator: 1 } as never),
    /^randomSplit: unknown option 'generator'; the options are seed$/,
  ],
  [
    'maxPool2d ceil_mode',
    () => tg.maxPool2d(tg.ones([1, 4, 4, 1]), 2, { ceil_mode: true } as never),
    /^maxPool2d: unknown option 'ceil_mode' \(did you mean 'ceilMode'\?\)/,
  ],
  [
    'avgPool2d count_include_pad',
    () => tg.avgPool2d(tg.ones([1, 4, 4, 1]), { kernelSize: 2, count_include_pad: false } as never),
    /^avgPool2d: unknown option 'count_include_pad' \(did you mean 'countIncludePad'\?\)/,
  ],
  [
    'nn.MaxPool2d ceil_mode',
    () => new tg.nn.MaxPool2d(2, { ceil_mode: true } as never),
    /^MaxPool2d: unknown option 'ceil_mode'/,
  ],
  [
    'nn.Upsample scale_factor',
    () => new tg.nn.Upsample({ scale_factor: 2 } as never),
    /^Upsample: unknown option 'scale_factor' \(did you mean 'scaleFactor'\?\)/,
  ],
  [
    'nn.scaledDotProductAttention is_causal',
    () =>
      tg.nn.scaledDotProductAttention(tg.ones([1, 2, 4]), tg.ones([1, 2, 4]), tg.ones([1, 2, 4]), {
        is_causal: true,
      } as never),
    /^scaledDotProductAttention: unknown option 'is_causal' \(did you mean 'isCausal'\?\)/,
  ],
  [
    'nn.MultiheadAttention forward need_weights',
    () => {
      const mha = new tg.nn.MultiheadAttention(4, 2);
      try {
        return mha.forward(tg.ones([1, 2, 4]), undefined, undefined, { need_weights: false } as never);
      } finally {
        mha.dispose();
      }
    },
    /^MultiheadAttention: unknown option 'need_weights'/,
  ],
  [
    'nn.TransformerEncoderLayer forward src_mask',
    () => {
      const layer = new tg.nn.TransformerEncoderLayer(4, 2, { dimFeedforward: 8 });
      try {
        return layer.forward(tg.ones([1, 2, 4]), { src_mask: null } as never);
      } finally {
        layer.dispose();
      }
    },
    /^TransformerEncoderLayer: unknown option 'src_mask' \(did you mean 'srcMask'\?\)/,
  ],
  [
    'Module.numParameters trainable',
    () => {
      const lin = new tg.nn.Linear(2, 2);
      try {
        return lin.numParameters({ trainable: true } as never);
      } finally {
        lin.dispose();
      }
    },
    /^numParameters: unknown option 'trainable'; the options are trainableOnly$/,
  ],
  [
    'scatterAlongAxis mode',
    () => tg.scatterAlongAxis(tg.ones([3]), ints([0]), tg.ones([1]), 0, { mode: 'sum' } as never),
    /^scatterAlongAxis: unknown option 'mode'; the options are reduce$/,
  ],
  [
    'jacobian vectorize',
    () => tg.jacobian((a: tg.Tensor) => a.mul(2), 0, { vectorize: true } as never),
    /^jacobian: unknown option 'vectorize'; the options are mode$/,
  ],
  [
    'optim.StepLR gama',
    () => new tg.optim.StepLR(0.1, { stepSize: 2, gama: 0.5 } as never),
    /^StepLR: unknown option 'gama'; the options are stepSize, gamma$/,
  ],
  [
    'optim.CosineAnnealing eta_min',
    () => new tg.optim.CosineAnnealing(0.1, { tMax: 5, eta_min: 0.1 } as never),
    /^CosineAnnealing: unknown option 'eta_min' \(did you mean 'etaMin'\?\)/,
  ],
  [
    'optim.LinearWarmup start_factor',
    () => new tg.optim.LinearWarmup(0.1, { warmupSteps: 5, start_factor: 0.1 } as never),
    /^LinearWarmup: unknown option 'start_factor' \(did you mean 'startFactor'\?\)/,
  ],
  [
    'optim.ExponentialLR last_epoch',
    () => new tg.optim.ExponentialLR(0.1, { gamma: 0.9, last_epoch: 1 } as never),
    /^ExponentialLR: unknown option 'last_epoch'/,
  ],
  [
    'optim.MultiStepLR gama',
    () => new tg.optim.MultiStepLR(0.1, { milestones: [1], gama: 0.5 } as never),
    /^MultiStepLR: unknown option 'gama'/,
  ],
  [
    'optim.OneCycleLR pct_start',
    () => new tg.optim.OneCycleLR(0.1, { totalSteps: 10, pct_start: 0.3 } as never),
    /^OneCycleLR: unknown option 'pct_start' \(did you mean 'pctStart'\?\)/,
  ],
  [
    'optim.SequentialLR milestone',
    () => new tg.optim.SequentialLR([0.1, 0.01], { milestones: [2], milestone: 2 } as never),
    /^SequentialLR: unknown option 'milestone'/,
  ],
  [
    'optim.ReduceLROnPlateau min_lr',
    () => new tg.optim.ReduceLROnPlateau(0.1, { min_lr: 0.01 } as never),
    /^ReduceLROnPlateau: unknown option 'min_lr' \(did you mean 'minLr'\?\)/,
  ],
  // sizes, dtypes and values
  [
    'crossEntropy over no classes (TF.js: a reshape error)',
    () => tg.crossEntropy(tg.zeros([2, 0]), tg.zeros([2, 0])),
    /^crossEntropy: logits need at least one class, got shape \[2,0\]$/,
  ],
  ['split into 1.5 parts', () => tg.split(m23(), 1.5, 1), /^split: cannot split axis 1 of length 3 into 1\.5$/],
  ['split into −1 parts', () => tg.split(m23(), -1, 1), /^split: cannot split axis 1 of length 3 into -1$/],
  [
    'matmul of int32 (cpu would, wasm would not)',
    () => tg.matmul(ints([1, 2]), ints([3, 4])),
    /^matmul: operands must be float32, got int32 \(cast them with tg\.cast\(x, 'float32'\)\)$/,
  ],
  [
    'matmul of bool',
    () => tg.matmul(tg.tensor([[1]], { dtype: 'bool' }), tg.tensor([[1]], { dtype: 'bool' })),
    /^matmul: operands must be float32, got bool/,
  ],
  [
    'tensor int32 of 3e9 (TF.js wraps it)',
    () => tg.tensor([1, 3e9], { dtype: 'int32' }),
    /^tensor: value 3000000000 at flat index 1 cannot be held by an int32 tensor$/,
  ],
  [
    'tensor int32 of Infinity',
    () => tg.tensor([Infinity], { dtype: 'int32' }),
    /^tensor: value Infinity at flat index 0 cannot be held by an int32 tensor$/,
  ],
  [
    'tensor int32 of NaN',
    () => tg.tensor([[1], [Number.NaN]], { dtype: 'int32' }),
    /^tensor: value NaN at flat index 1 cannot be held by an int32 tensor$/,
  ],
  [
    'nn.LeakyReLU of a string slope',
    () => new tg.nn.LeakyReLU('0.1' as never),
    /^LeakyReLU: negativeSlope must be a finite number, got "0\.1"$/,
  ],
  [
    'nn.LayerNorm negative eps',
    () => new tg.nn.LayerNorm(4, { eps: -1 }),
    /^LayerNorm: eps must be a non-negative number, got -1$/,
  ],
  [
    'optim.Adam of a disposed parameter',
    () => new tg.optim.Adam([goneParam()], { lr: 0.1 }),
    /^Adam: parameter 0 \(shape \[2\]\) has been disposed$/,
  ],
  [
    'optim.clipGradNorm with a normType',
    () => tg.optim.clipGradNorm([param()], 1, 1 as never),
    /^clipGradNorm: takes \(params, maxNorm\): the norm is the 2-norm/,
  ],
  [
    'optim.clipGradNorm of a non-tensor',
    () => tg.optim.clipGradNorm([param(), 3 as never], 1),
    /^clipGradNorm: params\[1\] must be a Tensor, got number$/,
  ],
];

for (const backend of NODE_BACKENDS) {
  const audit = suite(`the public API's bad calls on ${backend}`);
  audit.before(async () => {
    await tg.setBackend(backend);
  });
  audit(`${AUDIT.length} bad calls give a TapegradError naming the function, and leave nothing behind`, () => {
    const problems: string[] = [];
    for (const [what, call, message] of AUDIT) {
      const before = tg.memory().numTensors;
      tf.engine().startScope();
      try {
        const r = call();
        problems.push(
          `${what}: no error (returned ${r instanceof tg.Tensor ? `a tensor of shape ${fmt(r.shape)}` : typeof r})`,
        );
      } catch (e) {
        if (!(e instanceof tg.TapegradError)) problems.push(`${what}: not a TapegradError: ${(e as Error)?.message}`);
        else if (!message.test(e.message)) problems.push(`${what}: '${e.message}' does not match ${message}`);
      } finally {
        tf.engine().endScope();
      }
      const left = tg.memory().numTensors - before;
      if (left !== 0) problems.push(`${what}: left ${left} tensors behind`);
    }
    assert.equal(problems, [], problems.join('\n'));
  });
  audit('an int32 tensor clipped to fractional bounds is clipped in float32, as PyTorch (TF.js floored them)', () => {
    const c = tg.clip(ints([1, 5, -3]), 0.5, 2.5);
    assert.is(c.dtype, 'float32');
    assert.equal(Array.from(c.dataSync()), [1, 2.5, 0.5]);
    const whole = tg.clip(ints([1, 5, -3]), 0, 2);
    assert.is(whole.dtype, 'int32', 'integer bounds keep int32, as PyTorch');
    assert.equal(Array.from(whole.dataSync()), [1, 2, 0]);
    tg.dispose([c, whole]);
  });
  audit('the mean cross-entropy of no samples is NaN, as PyTorch (TF.js gave 0)', () => {
    const labels = tg.tensor([], { dtype: 'int32', shape: [0] });
    const none = tg.crossEntropy(tg.zeros([0, 3]), labels);
    assert.ok(Number.isNaN(none.item()), `mean over no samples: ${none.item()} (PyTorch: nan)`);
    const summed = tg.crossEntropy(tg.zeros([0, 3]), labels, { reduction: 'sum' });
    assert.is(summed.item(), 0);
    tg.dispose([labels, none, summed]);
  });
  audit.run();
}
const fmt = (s: number[]) => `[${s.join(',')}]`;

// Cases the bad-input fuzzer (test/fuzz/bad-input.ts) found: each gave a wrong shape or value, a bare
// TypeError or RangeError, a backend's message, another function's name, a leak, or minutes of work.
for (const backend of NODE_BACKENDS) {
  const found = suite(`malformed arguments the bad-input fuzzer found, on ${backend}`);
  found.before(async () => {
    await tg.setBackend(backend);
  });
  /** fn throws a TapegradError matching `pattern` and leaves no tensor behind. */
  const refused = (fn: () => unknown, pattern: RegExp, msg: string) =>
    assertNoLeak(() => assertThrows(fn, pattern, msg), msg);

  found('slice: sizes that are fractions, strings, booleans, null or too many are refused', () => {
    const x = tg.ones([2, 2]);
    const fit = /^slice: begin .* and size .* do not fit in \[2,2\]$/;
    refused(() => tg.slice(x, [0], [0.5, 2]), fit, 'a fractional size');
    refused(() => tg.slice(x, [0], ['2' as any]), fit, 'a string size');
    refused(() => tg.slice(x, [], [2, true as any]), fit, 'a boolean size');
    refused(() => tg.slice(x, [0, 0], null as any), fit, 'null sizes');
    refused(() => tg.slice(x, [0, 0], [1, 1, 1]), fit, 'a size for an axis x does not have');
    const one = tg.scalar(1);
    refused(() => tg.slice(one, 0, [1]), /^slice: /, 'a scalar');
    tg.dispose([x, one]);
  });

  found('pad and tile: a missing pair or missing reps are refused', () => {
    const x = tg.ones([2, 3]);
    refused(() => tg.pad(x, [null as any, [1, 0]]), /^pad: paddings \[null,\[1,0\]\] must be 2 pairs/, 'pad null');
    refused(() => tg.pad(x, [undefined as any, [1, 0]]), /^pad: paddings .* must be 2 pairs/, 'pad undefined');
    refused(() => (tg.tile as any)(x), /^tile: reps undefined must be 2 positive integers for \[2,3\]/, 'tile');
    x.dispose();
  });

  found('split and chunk: a huge count is refused at once, not after filling an array', () => {
    const x = tg.ones([2]);
    const empty = tg.ones([0]);
    const t0 = performance.now();
    refused(() => tg.split(x, 1e9), /^split: cannot split axis 0 of length 2 into 1000000000$/, 'split');
    refused(() => tg.split(empty, 1e9), /^split: cannot split axis 0 of length 0/, 'split of nothing');
    refused(() => tg.chunk(empty, 1e9), /^chunk: 1000000000 chunks of an empty axis/, 'chunk of nothing');
    assert.ok(performance.now() - t0 < 1000, 'at once');
    const parts = tg.split(empty, 3);
    assert.equal(
      parts.map((p) => p.shape),
      [[0], [0], [0]],
      'an empty axis still splits into a few empty parts',
    );
    tg.dispose([x, empty, parts]);
  });

  found("the losses: a refused reduction leaves the loss's intermediates behind no more; bool operands", () => {
    const x = tg.ones([2, 1]);
    refused(() => tg.mseLoss(x, x, { reduction: 'x' as any }), /^mseLoss: reduction must be/, 'mseLoss');
    refused(() => tg.l1Loss(x, x, { reduction: [] as any }), /^l1Loss: reduction must be/, 'l1Loss');
    refused(() => tg.nn.huberLoss(x, x, { reduction: 'avg' as any }), /^huberLoss: reduction must be/, 'huberLoss');
    const mask = tg.tensor([[true], [false]], { dtype: 'bool' });
    const boolTarget = /^mseLoss: input \(float32\) and target \(bool\) must be numbers, not bool/;
    refused(() => tg.mseLoss(x, mask), boolTarget, 'a bool target');
    refused(() => tg.l1Loss(mask, x), /^l1Loss: input \(bool\) and target \(float32\) must be numbers/, 'bool input');
    tg.dispose([x, mask]);
  });

  found('dot of a scalar, or of matrices that do not fit, is refused under the name dot', () => {
    const [v, two, m] = [tg.ones([2]), tg.scalar(2), tg.ones([2, 3])];
    refused(() => tg.dot(v, two), /^dot: operands must have rank ≥ 1, got \[2\] · \[\]$/, 'scalar');
    refused(() => tg.dot(m, m), /^dot: inner dimensions differ: \[2,3\] x \[2,3\]$/, 'matrices');
    tg.dispose([v, two, m]);
  });

  found("a scalar's axis 0 is no axis: the reductions of a scalar over it are the scalar", () => {
    const x = tg.scalar(2);
    for (const f of [tg.sum, tg.mean, tg.max, tg.prod, tg.logSumExp, tg.norm] as const) {
      const y = f(x, { axis: [0], keepDims: true });
      assert.equal(y.shape, []);
      assert.is(y.item(), 2);
      y.dispose();
    }
    for (const f of [tg.all, tg.any]) {
      const y = f(x, { axis: 0 });
      assert.equal([y.shape, y.item()], [[], 1]);
      y.dispose();
    }
    x.dispose();
  });

  found('arange with a step away from stop gives no values (TF.js turned the step around)', () => {
    const down = tg.arange(0, -5, 1);
    assert.equal([down.shape, Array.from(down.dataSync())], [[0], []]);
    const up = tg.arange(3, 5, -1, { dtype: 'int32' });
    assert.equal([up.shape, up.dtype], [[0], 'int32']);
    const far = tg.arange(0, -(2 ** 31), 1);
    assert.equal(far.shape, [0]);
    const ok = tg.arange(2, -1, -1);
    assert.equal(Array.from(ok.dataSync()), [2, 1, 0]);
    tg.dispose([down, up, far, ok]);
  });

  found('sizes of gigabytes are refused by the function asked, before anything is built', () => {
    const t0 = performance.now();
    const ids = tg.tensor([0, 1, 2], { dtype: 'int32' });
    refused(() => tg.oneHot(ids, 2 ** 31 + 1), /^oneHot: the tensor \[3,2147483649\] int32 needs/, 'oneHot');
    const none = tg.oneHot(tg.tensor([], { dtype: 'int32', shape: [1, 0] }), 1e6);
    assert.equal(none.shape, [1, 0, 1e6]);
    const [img, one] = [tg.ones([1, 2, 2, 1]), tg.ones([1])];
    refused(() => tg.adaptiveAvgPool2d(img, 2 ** 31), /^adaptiveAvgPool2d: the tensor .* needs/, 'adaptive pool');
    refused(() => tg.interpolate(img, { size: 2 ** 31 }), /^interpolate: the tensor .* needs/, 'interpolate');
    refused(() => tg.broadcastTo(one, [3, 2 ** 53]), /^broadcastTo: the tensor \[3,9007199254740992\]/, 'bt');
    assert.ok(performance.now() - t0 < 5000, 'at once');
    tg.dispose([ids, none, img, one]);
  });

  found('tile, pad, scatterAdd and diag of sizes past any memory are refused before the backend sees them', () => {
    const [x, i] = [tg.ones([2]), tg.tensor([0, 1], { dtype: 'int32' })];
    refused(() => tg.tile(x, [2 ** 53]), /^tile: the tensor \[18014398509481984\] float32 needs/, 'tile');
    refused(() => tg.pad(x, [[2 ** 53, 0]]), /^pad: the tensor \[9007199254740994\] float32 needs/, 'pad');
    refused(() => tg.scatterAdd(x, i, 0, 2 ** 53), /^scatterAdd: the tensor \[9007199254740992\] float32/, 'scatter');
    refused(() => tg.diag(x, 2 ** 53), /^diag: the tensor \[9007199254740994,9007199254740994\] float32/, 'diag');
    tg.dispose([x, i]);
  });

  found('conv2d with a huge padding and convTranspose2d with a huge stride name themselves', () => {
    const [img, w] = [tg.ones([1, 2, 2, 1]), tg.ones([1, 1, 1, 1])];
    refused(() => tg.conv2d(img, w, { padding: 2 ** 31 }), /^conv2d: the tensor \[1,4294967298,4294967298,1\]/, 'pad');
    refused(
      () => tg.convTranspose2d(img, w, { stride: 2 ** 31 }),
      /^convTranspose2d: the tensor \[1,2147483649,/,
      'up',
    );
    tg.dispose([img, w]);
  });

  found('adaptiveAvgPool2d, interpolate and the poolings of an int32 image name themselves', () => {
    const img = tg.ones([1, 2, 2, 1], { dtype: 'int32' });
    refused(() => tg.avgPool2d(img, 2), /^avgPool2d: the input must be float32, got int32$/, 'avgPool2d');
    refused(() => tg.maxPool2d(img, 2), /^maxPool2d: the input must be float32, got int32$/, 'maxPool2d');
    refused(() => tg.adaptiveAvgPool2d(img, 1), /^adaptiveAvgPool2d: the input must be float32, got int32$/, 'pool');
    refused(() => tg.interpolate(img, { size: 3 }), /^interpolate: the input must be float32, got int32$/, 'resize');
    img.dispose();
  });

  found('cumprod of a bool tensor leaves nothing behind (its int32 copy was kept)', () => {
    const b = tg.tensor([true, false, true], { dtype: 'bool' });
    const empty = tg.tensor([], { dtype: 'bool', shape: [0, 1] });
    assertNoLeak(() => tg.cumprod(b, 0).dispose(), 'cumprod of bools');
    assertNoLeak(() => tg.cumprod(empty, -2).dispose(), 'of no bools');
    tg.dispose([b, empty]);
  });

  found(
    "scatterAdd: an index out of range is refused (wasm's ScatterNd hung on it, cpu's threw its own message)",
    () => {
      const g = tg.tensor([1, 2]);
      const [past, negative] = [tg.tensor([0, 3], { dtype: 'int32' }), tg.tensor([-1, 0], { dtype: 'int32' })];
      refused(
        () => tg.scatterAdd(g, past, 0, 2),
        /^scatterAdd: index 3 at position 1 is out of range \[0, 2\)$/,
        'past',
      );
      refused(
        () => tg.scatterAdd(g, negative, -1, 2),
        /^scatterAdd: index -1 at position 0 is out of range/,
        'negative',
      );
      tg.dispose([g, past, negative]);
    },
  );

  found(
    'softmax and logSoftmax of int32 or bool are refused (log-softmax gave wrong values, softmax a backend message)',
    () => {
      const [b, i] = [tg.tensor([1, 0], { dtype: 'bool' }), tg.tensor([1, 0], { dtype: 'int32' })];
      refused(() => tg.logSoftmax(b), /^logSoftmax: the input must be float32, got bool/, 'logSoftmax of bool');
      refused(() => tg.logSoftmax(i), /^logSoftmax: the input must be float32, got int32/, 'logSoftmax of int32');
      refused(() => tg.softmax(b), /^softmax: the input must be float32, got bool/, 'softmax of bool');
      tg.dispose([b, i]);
    },
  );

  found('norm: an ord that is a string is refused, not passed to the backend', () => {
    const x = tg.ones([3, 1]);
    refused(() => tg.norm(x, { ord: '2' as any }), /^norm: ord must be ≥ 1 \(or Infinity\), got '2'$/, 'string ord');
    x.dispose();
  });
  found.run();
}
