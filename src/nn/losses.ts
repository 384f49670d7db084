// Losses, all reducing by mean unless told ({ reduction: 'sum' | 'none' }), as PyTorch.
// crossEntropy, mseLoss and l1Loss live with the ops (ops/nn.ts); huber and logistic losses here.
import { TapegradError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { asTensor } from '../op.js';
import { sub, mul, clip, softplus } from '../ops/elementwise.js';
import { checkSameShape, reduceLoss, type Reduction } from '../ops/nn.js';

export { crossEntropy, mseLoss, l1Loss, type CrossEntropyOptions, type Reduction } from '../ops/nn.js';

/**
 * Huber loss: ½d² where |d| ≤ δ, δ(|d| − ½δ) beyond, with d = input − target (δ = 1 by default).
 * Written as c·(d − ½c) with c = clip(d, −δ, δ), whose gradient is c: d inside, ±δ outside.
 * PyTorch `torch.nn.functional.huber_loss`, JAX `optax.huber_loss`.
 */
export function huberLoss(input: Tensor, target: Tensor, opts: { delta?: number; reduction?: Reduction } = {}): Tensor {
  const x = asTensor('huberLoss', input, 'the input');
  const t = asTensor('huberLoss', target, 'the target');
  checkSameShape('huberLoss', x, t);
  const delta = opts.delta ?? 1;
  if (!(delta > 0)) throw new TapegradError('huberLoss', `delta must be positive, got ${delta}`);
  const d = sub(x, t);
  const c = clip(d, -delta, delta);
  const half = mul(c, 0.5);
  const rest = sub(d, half);
  return reduceLoss('huberLoss', mul(c, rest), opts.reduction ?? 'mean', [d, c, half, rest]);
}

/**
 * Binary cross-entropy of logits z against targets t ∈ [0, 1]: −t log σ(z) − (1−t) log(1−σ(z)),
 * computed stably as softplus(z) − t·z (TF.js's softplus does not overflow); its gradient σ(z) − t
 * is exact everywhere, z = 0 included.
 * PyTorch `torch.nn.functional.binary_cross_entropy_with_logits`, JAX `optax.sigmoid_binary_cross_entropy`.
 */
export function binaryCrossEntropyWithLogits(
  logits: Tensor,
  target: Tensor,
  opts: { reduction?: Reduction } = {},
): Tensor {
  const z = asTensor('binaryCrossEntropyWithLogits', logits, 'the logits');
  const t = asTensor('binaryCrossEntropyWithLogits', target, 'the target');
  checkSameShape('binaryCrossEntropyWithLogits', z, t);
  if (t.dtype !== 'float32')
    throw new TapegradError('binaryCrossEntropyWithLogits', `targets must be float32 in [0, 1], got ${t.dtype}`);
  const sp = softplus(z);
  const tz = mul(t, z);
  return reduceLoss('binaryCrossEntropyWithLogits', sub(sp, tz), opts.reduction ?? 'mean', [sp, tz]);
}
