// Gradient clipping by global norm (PyTorch's clip_grad_norm_).
import * as tf from '@tensorflow/tfjs-core';
import { TapegradError } from '../errors.js';
import { Tensor } from '../tensor.js';

/**
 * Scales every .grad by min(1, maxNorm / (‖g‖ + 1e-6)), ‖g‖ the 2-norm of all gradients together,
 * and returns that total norm (before clipping) as a scalar Tensor the caller owns. No value is read
 * back to JavaScript (call .item() for a number). Parameters without a gradient are skipped. Only the
 * 2-norm: PyTorch's norm_type is not taken.
 * PyTorch `torch.nn.utils.clip_grad_norm_`, JAX `optax.clip_by_global_norm`.
 */
export function clipGradNorm(params: Tensor[], maxNorm: number, ...extra: never[]): Tensor {
  if (!Array.isArray(params)) throw new TapegradError('clipGradNorm', 'params must be an array of Tensors');
  // PyTorch's third argument, norm_type, would be ignored: only the 2-norm is computed here
  if (extra.length > 0)
    throw new TapegradError('clipGradNorm', 'takes (params, maxNorm): the norm is the 2-norm (no normType argument)');
  const bad = params.findIndex((p) => !(p instanceof Tensor));
  if (bad >= 0) throw new TapegradError('clipGradNorm', `params[${bad}] must be a Tensor, got ${typeof params[bad]}`);
  if (!(maxNorm > 0)) throw new TapegradError('clipGradNorm', `maxNorm must be positive, got ${maxNorm}`);
  const withGrad = params.filter((p) => p instanceof Tensor && p.grad);
  if (withGrad.length === 0) return new Tensor(tf.scalar(0));
  const total = tf.tidy(() => tf.sqrt(tf.addN(withGrad.map((p) => tf.sum(tf.square(p.grad!.value))))));
  const scale = tf.tidy(() => tf.minimum(1, tf.div(maxNorm, tf.add(total, 1e-6))));
  for (const p of withGrad) {
    const g = p.grad!;
    const next = tf.keep(tf.mul(g.value, scale));
    g.value.dispose();
    g.value = next;
  }
  scale.dispose();
  return new Tensor(total);
}
