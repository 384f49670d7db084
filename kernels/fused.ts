// Fused GPU kernels for what small-net training spends its dispatches on, and the calls that
// use them where the active backend has them and the composed TF.js ops elsewhere.
//
// Registration is explicit: setBackend('webgl' | 'webgpu') calls registerFusedKernels(name).
// cpu and wasm have no fused kernels: there an op costs no dispatch, and the composed form is as
// fast. Every call below gives the same values either way (tested in test/browser/).
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { TapegradError, fmtShape } from '../src/errors.js';
import { ADAM_UPDATE, adamAttrs, adamUpdateWebGL, adamUpdateWebGPU, type AdamUpdateAttrs } from './adam-update.js';
import { LEAKY_RELU_GRAD, RELU_GRAD, leakyReluGradKernels, reluGradKernels } from './relu-grad.js';
import { SOFTMAX_CROSS_ENTROPY, softmaxCrossEntropyWebGL, softmaxCrossEntropyWebGPU, type SceOutputs } from './softmax-cross-entropy.js';

export type { AdamUpdateAttrs };

/** The fused kernels, by the name of the call that uses them, and their TF.js kernel names. */
export const FUSED_KERNELS = {
  adamUpdate: ADAM_UPDATE,
  reluGrad: RELU_GRAD,
  leakyReluGrad: LEAKY_RELU_GRAD,
  softmaxCrossEntropy: SOFTMAX_CROSS_ENTROPY,
} as const;
export type FusedName = keyof typeof FUSED_KERNELS;

const CONFIGS: KernelConfig[] = [adamUpdateWebGL, adamUpdateWebGPU, ...reluGradKernels, ...leakyReluGradKernels, softmaxCrossEntropyWebGL, softmaxCrossEntropyWebGPU];

/** Registers the fused kernels `backendName` has (none for cpu, wasm); returns their kernel names. */
export function registerFusedKernels(backendName: string): string[] {
  const mine = CONFIGS.filter((c) => c.backendName === backendName);
  for (const c of mine) if (!tf.getKernel(c.kernelName, backendName)) tf.registerKernel(c);
  return mine.map((c) => c.kernelName);
}

let enabled = true;

/** Turns the use of the fused kernels on or off (on by default): for measuring what they save. */
export function setFusedEnabled(on: boolean): void {
  enabled = on;
}

/** Whether `name` runs as one fused kernel on the backend (the active one by default). */
export function hasFused(name: FusedName, backendName: string = tf.getBackend()): boolean {
  return enabled && tf.getKernel(FUSED_KERNELS[name], backendName) !== undefined;
}

const run = (name: FusedName, inputs: Record<string, tf.Tensor>, attrs: object = {}) =>
  tf.engine().runKernel(FUSED_KERNELS[name], inputs as tf.NamedTensorMap, attrs as tf.NamedAttrMap) as unknown as tf.Tensor[] | tf.Tensor;

function checkSame(fn: string, tensors: Record<string, tf.Tensor>): void {
  const entries = Object.entries(tensors);
  const [n0, t0] = entries[0];
  for (const [n, t] of entries) {
    if (t.dtype !== 'float32') throw new TapegradError(fn, `${n} must be float32, got ${t.dtype}`);
    if (!tf.util.arraysEqual(t.shape, t0.shape)) throw new TapegradError(fn, `${n} ${fmtShape(t.shape)} and ${n0} ${fmtShape(t0.shape)} differ in shape`);
  }
}

// ---- Adam / AdamW

/**
 * One Adam (or AdamW, `decoupled`) step of one parameter whose moments are packed as one tensor,
 * moments = [m, v] of shape [2, ...param.shape]: returns [param', moments'] as new tensors (the
 * inputs are left alone). What optim.Adam runs: two GPU passes where fused. PyTorch's formulas;
 * `step` is t ≥ 1 after this update.
 */
export function adamUpdatePacked(param: tf.Tensor, grad: tf.Tensor, moments: tf.Tensor, attrs: AdamUpdateAttrs): [tf.Tensor, tf.Tensor] {
  checkSame('adamUpdate', { param, grad });
  if (moments.dtype !== 'float32' || moments.shape[0] !== 2 || !tf.util.arraysEqual(moments.shape.slice(1), param.shape)) {
    throw new TapegradError('adamUpdate', `moments must be float32 of shape [2, ...${fmtShape(param.shape)}], got ${moments.dtype} ${fmtShape(moments.shape)}`);
  }
  if (!(attrs.step >= 1)) throw new TapegradError('adamUpdate', `step must be ≥ 1 (the count after this update), got ${attrs.step}`);
  if (!hasFused('adamUpdate')) {
    return tf.tidy(() => {
      const [m, v] = tf.unstack(moments);
      const [p1, m1, v1] = adamUpdateComposed(param, grad, m, v, attrs);
      return [p1, tf.stack([m1, v1])] as [tf.Tensor, tf.Tensor];
    });
  }
  if (tf.getBackend() !== 'webgl') return run('adamUpdate', { param, grad, moments }, adamAttrs(attrs)) as [tf.Tensor, tf.Tensor];
  // webgl: flat views, so that one rank-1 and one rank-2 shader serve every shape (adam-update.ts)
  return tf.tidy(() => {
    const n = param.size;
    const flat = { param: tf.reshape(param, [n]), grad: tf.reshape(grad, [n]), moments: tf.reshape(moments, [2, n]) };
    const [p1, mv1] = run('adamUpdate', flat, adamAttrs(attrs)) as [tf.Tensor, tf.Tensor];
    return [tf.reshape(p1, param.shape), tf.reshape(mv1, moments.shape)] as [tf.Tensor, tf.Tensor];
  });
}

/** adamUpdatePacked with the moments apart: returns [param', m', v']. */
export function adamUpdate(param: tf.Tensor, grad: tf.Tensor, m: tf.Tensor, v: tf.Tensor, attrs: AdamUpdateAttrs): [tf.Tensor, tf.Tensor, tf.Tensor] {
  checkSame('adamUpdate', { param, grad, m, v });
  if (!(attrs.step >= 1)) throw new TapegradError('adamUpdate', `step must be ≥ 1 (the count after this update), got ${attrs.step}`);
  if (!hasFused('adamUpdate')) return adamUpdateComposed(param, grad, m, v, attrs);
  return tf.tidy(() => {
    const [p1, mv1] = adamUpdatePacked(param, grad, tf.stack([m, v]), attrs);
    const [m1, v1] = tf.unstack(mv1);
    return [p1, m1, v1] as [tf.Tensor, tf.Tensor, tf.Tensor];
  });
}

/** adamUpdate in TF.js ops: what cpu and wasm run, and what the fused kernel is tested against. */
export function adamUpdateComposed(param: tf.Tensor, grad: tf.Tensor, m: tf.Tensor, v: tf.Tensor, a: AdamUpdateAttrs): [tf.Tensor, tf.Tensor, tf.Tensor] {
  return tf.tidy(() => {
    const g = !a.decoupled && a.weightDecay !== 0 ? tf.add(grad, tf.mul(param, a.weightDecay)) : grad;
    const m1 = tf.add(tf.mul(m, a.beta1), tf.mul(g, 1 - a.beta1));
    const v1 = tf.add(tf.mul(v, a.beta2), tf.mul(tf.square(g), 1 - a.beta2));
    const mHat = tf.div(m1, 1 - a.beta1 ** a.step);
    const vHat = tf.div(v1, 1 - a.beta2 ** a.step);
    const decayed = a.decoupled && a.weightDecay !== 0 ? tf.mul(param, 1 - a.lr * a.weightDecay) : param;
    const p1 = tf.sub(decayed, tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), a.eps)), a.lr));
    return [p1, m1, v1] as [tf.Tensor, tf.Tensor, tf.Tensor];
  });
}

// ---- relu / leakyRelu backward

/** dy·[x > 0]: the backward of relu. */
export function reluGrad(dy: tf.Tensor, x: tf.Tensor): tf.Tensor {
  checkSame('reluGrad', { dy, x });
  return hasFused('reluGrad') ? (run('reluGrad', { dy, x }) as tf.Tensor) : reluGradComposed(dy, x);
}
export function reluGradComposed(dy: tf.Tensor, x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.where(tf.greater(x, 0), dy, tf.zerosLike(dy)));
}

/** dy·[x > 0] + α·dy·[x ≤ 0]: the backward of leakyRelu. */
export function leakyReluGrad(dy: tf.Tensor, x: tf.Tensor, alpha: number): tf.Tensor {
  checkSame('leakyReluGrad', { dy, x });
  return hasFused('leakyReluGrad') ? (run('leakyReluGrad', { dy, x }, { alpha }) as tf.Tensor) : leakyReluGradComposed(dy, x, alpha);
}
export function leakyReluGradComposed(dy: tf.Tensor, x: tf.Tensor, alpha: number): tf.Tensor {
  return tf.tidy(() => tf.where(tf.greater(x, 0), dy, tf.mul(dy, alpha)));
}

// ---- softmax cross-entropy, forward and backward together

/**
 * Row losses of logits z [..., C] against target distributions t [..., C] (or int32 class indices
 * t [...], standing for one-hot rows), and their gradient with respect to z:
 * loss = (Σt)·logΣe^z − Σ t z (shape [...]), dlogits = softmax(z)·Σt − t.
 */
export function softmaxCrossEntropy(z: tf.Tensor, t: tf.Tensor): { loss: tf.Tensor; dlogits: tf.Tensor } {
  checkSce(z, t);
  if (!hasFused('softmaxCrossEntropy')) return softmaxCrossEntropyComposed(z, t);
  const [loss, dlogits] = runSce(z, t, 'both');
  return { loss, dlogits };
}

/** The row losses alone (a forward pass): one GPU pass where fused. */
export function softmaxCrossEntropyLoss(z: tf.Tensor, t: tf.Tensor): tf.Tensor {
  checkSce(z, t);
  if (hasFused('softmaxCrossEntropy')) return runSce(z, t, 'loss')[0];
  // class indices: logΣe^z − z_y, a gather rather than a one-hot product (4% off a wasm MLP step)
  if (t.dtype === 'int32') return tf.tidy(() => tf.sub(tf.logSumExp(z, z.rank - 1), entryAt(z, t)));
  return tf.tidy(() => softmaxCrossEntropyComposed(z, t).loss);
}

/** z[..., y[...]]: each row's entry at its class index. */
function entryAt(z: tf.Tensor, y: tf.Tensor): tf.Tensor {
  const C = z.shape[z.rank - 1];
  const rows = z.size / C;
  const flat = tf.add(tf.mul(tf.range(0, rows, 1, 'int32'), tf.scalar(C, 'int32')), tf.reshape(y, [-1]));
  return tf.reshape(tf.gather(tf.reshape(z, [-1]), flat), y.shape);
}

/**
 * The gradient alone, softmax(z)·Σt − t (a backward pass), times `scale` and an upstream gradient
 * g (one value, or one per row: shape [...]) when given: one GPU pass where fused.
 */
export function softmaxCrossEntropyGrad(z: tf.Tensor, t: tf.Tensor, opts: { upstream?: tf.Tensor; scale?: number } = {}): tf.Tensor {
  checkSce(z, t);
  const { upstream, scale = 1 } = opts;
  const rows = z.shape.slice(0, -1);
  if (upstream && (upstream.dtype !== 'float32' || (upstream.size !== 1 && !tf.util.arraysEqual(upstream.shape, rows)))) {
    throw new TapegradError('softmaxCrossEntropy', `the upstream gradient must be float32 with one value or shape ${fmtShape(rows)}, got ${upstream.dtype} ${fmtShape(upstream.shape)}`);
  }
  if (!hasFused('softmaxCrossEntropy')) {
    return tf.tidy(() => {
      const d = tf.mul(softmaxCrossEntropyComposed(z, t).dlogits, scale);
      return upstream ? tf.mul(d, upstream.size === 1 ? tf.reshape(upstream, []) : tf.expandDims(upstream, -1)) : d;
    });
  }
  return runSce(z, t, 'dlogits', upstream, scale)[0];
}

function checkSce(z: tf.Tensor, t: tf.Tensor): void {
  if (z.rank < 1) throw new TapegradError('softmaxCrossEntropy', `logits must have a class axis, got shape ${fmtShape(z.shape)}`);
  if (t.dtype === 'int32' && tf.util.arraysEqual(t.shape, z.shape.slice(0, -1))) return checkSame('softmaxCrossEntropy', { logits: z });
  checkSame('softmaxCrossEntropy', { logits: z, targets: t });
}

/** The composed form's targets: one-hot rows for class indices. */
const dense = (z: tf.Tensor, t: tf.Tensor) => (t.dtype === 'int32' ? oneHotRows(t, z.shape[z.rank - 1]) : t);

/** Float one-hot rows [..., C] of class indices [...] (tf.oneHot refuses C = 1). */
export function oneHotRows(indices: tf.Tensor, C: number): tf.Tensor {
  return tf.tidy(() => tf.cast(tf.equal(tf.expandDims(indices, -1), tf.range(0, C, 1, 'int32')), 'float32'));
}

/** Runs the kernel on z, t seen as [N, C] (class indices as [N]), and gives its outputs their shapes back. */
function runSce(z: tf.Tensor, t: tf.Tensor, outputs: SceOutputs, upstream?: tf.Tensor, scale = 1): tf.Tensor[] {
  const C = z.shape[z.rank - 1];
  return tf.tidy(() => {
    const inputs: Record<string, tf.Tensor> = { logits: tf.reshape(z, [-1, C]), targets: t.dtype === 'int32' ? tf.reshape(t, [-1]) : tf.reshape(t, [-1, C]) };
    if (upstream) inputs.upstream = tf.reshape(upstream, [-1]);
    const outs = run('softmaxCrossEntropy', inputs, { outputs, scale }) as tf.Tensor[];
    const names = outputs === 'both' ? ['loss', 'dlogits'] : [outputs];
    return outs.map((o, i) => tf.reshape(o, names[i] === 'loss' ? z.shape.slice(0, -1) : z.shape));
  });
}
export function softmaxCrossEntropyComposed(z: tf.Tensor, targets: tf.Tensor): { loss: tf.Tensor; dlogits: tf.Tensor } {
  return tf.tidy(() => {
    const t = dense(z, targets);
    const last = z.rank - 1;
    const st = tf.sum(t, last, true);
    const lse = tf.logSumExp(z, last, true);
    const loss = tf.reshape(tf.sub(tf.mul(lse, st), tf.sum(tf.mul(t, z), last, true)), z.shape.slice(0, -1));
    const dlogits = tf.sub(tf.mul(tf.exp(tf.sub(z, lse)), st), t);
    return { loss, dlogits };
  });
}
