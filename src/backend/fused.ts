// Which runs: a fused kernel (kernels/) where the active backend has one, else the kernel's
// reference in TF.js ops (beside the kernel in its file). Every call gives the same values either
// way (test/fused.test.ts, on cpu and wasm in Node and on webgl and webgpu in Chromium).
//
// Registration is explicit: setBackend calls registerFusedKernels(name). On webgl and webgpu the
// kernels are GPU programs (what they save is dispatches); on cpu and wasm, JavaScript loops over
// the backend's memory (what they save is TF.js's cost per op and a pass over memory per op).
// The optimizer's Adam calls adamStep, which also keeps each backend's form of Adam's state.
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { TapegradError, fmtShape } from '../errors.js';
import {
  ADAM_UPDATE,
  adamAttrs,
  adamStepReference,
  adamUpdateReference,
  adamUpdateWebGL,
  adamUpdateWebGPU,
  adamUpdateJs,
  type AdamUpdateAttrs,
} from '../../kernels/adam-update.js';
import {
  ADAM_MULTI_UPDATE,
  ADAM_STEP_WIDTH,
  adamMultiUpdateJs,
  adamStepBits,
  type AdamMultiAttrs,
} from '../../kernels/adam-multi-update.js';
import {
  LEAKY_RELU_GRAD,
  RELU_GRAD,
  leakyReluGradKernels,
  leakyReluGradReference,
  reluGradKernels,
} from '../../kernels/relu-grad.js';
import {
  MAX_POOL_GRAD,
  maxPoolGradJs,
  maxPoolGradReference,
  type MaxPoolGradAttrs,
} from '../../kernels/max-pool-grad.js';
import {
  BATCH_NORM,
  BATCH_NORM_GRAD,
  batchNormGradJs,
  batchNormGradReference,
  batchNormJs,
  batchNormReference,
} from '../../kernels/batch-norm.js';
import { IM2COL_T, im2colTJs, im2colTReference, type Im2ColAttrs } from '../../kernels/im2col.js';
import {
  CONV2D_FILTER_GRAD,
  conv2dFilterGradJs,
  filterGradGeometry,
  filterGradScratchWords,
  type Conv2DFilterGradAttrs,
} from '../../kernels/conv2d-filter-grad.js';
import { CONV2D, conv2dJs, convGeometry, convScratchWords, type Conv2DAttrs } from '../../kernels/conv2d-forward.js';
import {
  BROADCAST_LEADING,
  broadcastLeadingJs,
  broadcastLeadingReference,
  broadcastsAlongLeadingAxes,
} from '../../kernels/broadcast-leading.js';
import {
  GELU,
  GELU_GRAD,
  GELU_WITH_DERIVATIVE,
  geluGradJs,
  geluJs,
  geluReference,
  geluWithDerivativeJs,
} from '../../kernels/gelu.js';
import {
  LAYER_NORM,
  LAYER_NORM_GRAD,
  layerNormGradJs,
  layerNormGradReference,
  layerNormJs,
  layerNormReference,
} from '../../kernels/layer-norm.js';
import { SOFTMAX_GRAD, softmaxGradJs, softmaxGradReference } from '../../kernels/softmax-grad.js';
import { COLUMN_SUM, columnSumJs, columnSumReference } from '../../kernels/column-sum.js';
import { SCALED_SOFTMAX, scaledSoftmaxJs, scaledSoftmaxReference } from '../../kernels/scaled-softmax.js';
import {
  SELF_ATTENTION,
  SELF_ATTENTION_GRAD,
  selfAttentionGradJs,
  selfAttentionGradReference,
  selfAttentionJs,
  selfAttentionReference,
} from '../../kernels/self-attention.js';
import {
  SOFTMAX_CROSS_ENTROPY,
  oneHotRows,
  softmaxCrossEntropyReference,
  softmaxCrossEntropyWebGL,
  softmaxCrossEntropyWebGPU,
  softmaxCrossEntropyJs,
  type SceOutputs,
} from '../../kernels/softmax-cross-entropy.js';

export { expMinusScaledSquare, splitPoint, timesNormalCdf } from '../../kernels/gelu.js';
export {
  adamUpdateReference,
  leakyReluGradReference,
  softmaxCrossEntropyReference,
  oneHotRows,
  adamStepBits,
  ADAM_STEP_WIDTH,
  type AdamUpdateAttrs,
};

/** The fused kernels, by the name of the call that uses them, and their TF.js kernel names. */
export const FUSED_KERNELS = {
  adamUpdate: ADAM_UPDATE,
  adamMultiUpdate: ADAM_MULTI_UPDATE,
  reluGrad: RELU_GRAD,
  leakyReluGrad: LEAKY_RELU_GRAD,
  softmaxCrossEntropy: SOFTMAX_CROSS_ENTROPY,
} as const;
/**
 * The kernels only cpu and wasm have (JavaScript loops over their memory), where what TF.js ships
 * there is wrong, missing or slow; the GPUs run the reference.
 */
export const CPU_KERNELS = {
  maxPoolGrad: MAX_POOL_GRAD,
  im2colT: IM2COL_T,
  conv2dFilterGrad: CONV2D_FILTER_GRAD,
  conv2d: CONV2D,
  broadcastLeading: BROADCAST_LEADING,
  columnSum: COLUMN_SUM,
  batchNorm: BATCH_NORM,
  batchNormGrad: BATCH_NORM_GRAD,
  gelu: GELU,
  geluGrad: GELU_GRAD,
  geluWithDerivative: GELU_WITH_DERIVATIVE,
  layerNorm: LAYER_NORM,
  layerNormGrad: LAYER_NORM_GRAD,
  softmaxGrad: SOFTMAX_GRAD,
  scaledSoftmax: SCALED_SOFTMAX,
  selfAttention: SELF_ATTENTION,
  selfAttentionGrad: SELF_ATTENTION_GRAD,
} as const;
export type FusedName = keyof typeof FUSED_KERNELS | keyof typeof CPU_KERNELS;
const KERNEL_NAMES: Record<FusedName, string> = { ...FUSED_KERNELS, ...CPU_KERNELS };

const CONFIGS: KernelConfig[] = [
  adamUpdateWebGL,
  adamUpdateWebGPU,
  ...adamUpdateJs,
  ...adamMultiUpdateJs,
  ...reluGradKernels,
  ...leakyReluGradKernels,
  softmaxCrossEntropyWebGL,
  softmaxCrossEntropyWebGPU,
  ...softmaxCrossEntropyJs,
  ...maxPoolGradJs,
  ...im2colTJs,
  ...conv2dFilterGradJs,
  ...conv2dJs,
  ...broadcastLeadingJs,
  ...columnSumJs,
  ...batchNormJs,
  ...batchNormGradJs,
  ...geluJs,
  ...geluGradJs,
  ...geluWithDerivativeJs,
  ...layerNormJs,
  ...layerNormGradJs,
  ...softmaxGradJs,
  ...scaledSoftmaxJs,
  ...selfAttentionJs,
  ...selfAttentionGradJs,
];

/** Registers the fused kernels `backendName` has (JavaScript loops on cpu and wasm); returns their kernel names. */
export function registerFusedKernels(backendName: string): string[] {
  const mine = CONFIGS.filter((c) => c.backendName === backendName);
  for (const c of mine) if (!tf.getKernel(c.kernelName, backendName)) tf.registerKernel(c);
  return mine.map((c) => c.kernelName);
}

let enabled = true;
const disabled = new Set<FusedName>();

/**
 * Turns the use of the fused kernels on or off (on by default), or of one of them (`name`): for
 * measuring what they save.
 */
export function setFusedEnabled(on: boolean, name?: FusedName): void {
  if (name === undefined) enabled = on;
  else if (on) disabled.delete(name);
  else disabled.add(name);
}

/** Whether `name` runs as one fused kernel on the backend (the active one by default). */
export function hasFused(name: FusedName, backendName: string = tf.getBackend()): boolean {
  return enabled && !disabled.has(name) && tf.getKernel(KERNEL_NAMES[name], backendName) !== undefined;
}

type Pair = [number, number];

const run = (name: FusedName, inputs: Record<string, tf.Tensor>, attrs: object = {}) =>
  tf.engine().runKernel(KERNEL_NAMES[name], inputs as tf.NamedTensorMap, attrs as tf.NamedAttrMap) as unknown as
    | tf.Tensor[]
    | tf.Tensor;

function checkSame(fn: string, tensors: Record<string, tf.Tensor>): void {
  const entries = Object.entries(tensors);
  const [n0, t0] = entries[0];
  for (const [n, t] of entries) {
    if (t.dtype !== 'float32') throw new TapegradError(fn, `${n} must be float32, got ${t.dtype}`);
    if (!tf.util.arraysEqual(t.shape, t0.shape))
      throw new TapegradError(fn, `${n} ${fmtShape(t.shape)} and ${n0} ${fmtShape(t0.shape)} differ in shape`);
  }
}

/** Whether WebGL stores tensors in half floats here (no float32 render targets). */
const halfFloatWebGL = () => tf.getBackend() === 'webgl' && !tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED');

// ---- Adam / AdamW

/**
 * An optimizer's per-parameter Adam state, in the form the backend that made it keeps: m and v
 * apart (the reference), packed as moments = [m, v] (the fused kernel: one GPU pass writes both),
 * or packed bias-corrected as corrected = [m̂, √v̂] (the fused kernel on half-float WebGL, whose
 * textures flush a small v to 0; kernels/adam-update.ts). Empty before the first step.
 */
export type AdamState = { m?: tf.Tensor; v?: tf.Tensor; vMax?: tf.Tensor; moments?: tf.Tensor; corrected?: tf.Tensor };

/**
 * One Adam (or AdamW, `decoupled`; AMSGrad, `amsgrad`, in the reference only) step of one parameter:
 * the new parameter and state, as new tensors (the inputs are left alone), in PyTorch's formulas;
 * `step` is t ≥ 1 after this update.
 * State made on another backend is taken over (a model moved between backends mid-training).
 */
export function adamStep(
  param: tf.Tensor,
  grad: tf.Tensor,
  state: AdamState,
  attrs: AdamUpdateAttrs,
): { param: tf.Tensor; state: AdamState } {
  checkSame('adamUpdate', { param, grad });
  if (!(attrs.step >= 1))
    throw new TapegradError('adamUpdate', `step must be ≥ 1 (the count after this update), got ${attrs.step}`);
  return tf.tidy(() => {
    if (!hasFused('adamUpdate') || attrs.amsgrad) {
      const [m, v] = plainMoments(state, attrs);
      const { param: p1, ...next } = adamStepReference(param, grad, m, v, state.vMax ?? null, attrs);
      return { param: p1, state: next };
    }
    const corrected = halfFloatWebGL();
    let packed = corrected ? state.corrected : packedMoments(param, state, attrs);
    if (!packed) {
      const [m, v] = plainMoments(state, attrs);
      const zeros = () => tf.zerosLike(param);
      packed = correctedMoments(m ?? zeros(), v ?? zeros(), attrs.step - 1, attrs);
    }
    const [p1, next] = adamUpdatePacked(param, grad, packed, { ...attrs, corrected });
    return { param: p1, state: corrected ? { corrected: next } : { moments: next } };
  });
}

/**
 * adamStep with the numbers that change from step to step in row `row` of `rows` (float32 [k, 6],
 * a row per parameter: lr, 1 − β₁ᵗ, 1 − β₂ᵗ, lr / (1 − β₁ᵗ), 1 / √(1 − β₂ᵗ), 1 − lr·λ) rather
 * than in attrs: a compiled step feeds the rows afresh at each replay. The per-parameter kernel on
 * webgpu (which binds all the rows and reads its own), else the reference; attrs.lr and attrs.step
 * only convert state kept in another form.
 */
export function adamStepWithRow(
  param: tf.Tensor,
  grad: tf.Tensor,
  state: AdamState,
  rows: tf.Tensor,
  row: number,
  attrs: AdamUpdateAttrs,
): { param: tf.Tensor; state: AdamState } {
  checkSame('adamUpdate', { param, grad });
  return tf.tidy(() => {
    const width = rows.shape[1]!;
    if (hasFused('adamUpdate') && tf.getBackend() === 'webgpu' && !attrs.amsgrad) {
      const inputs = { param, grad, moments: packedMoments(param, state, attrs), step: rows };
      const [p1, next] = run('adamUpdate', inputs, adamAttrs({ ...attrs, stepOffset: row * width })) as tf.Tensor[];
      return { param: p1, state: { moments: next } };
    }
    const [m, v] = plainMoments(state, attrs);
    const [stepSize, invSqrtBc2, decay] = tf.unstack(tf.reshape(tf.slice(rows, [row, 3], [1, 3]), [3]));
    const { param: p1, ...next } = adamStepReference(param, grad, m, v, state.vMax ?? null, attrs, {
      stepSize,
      invSqrtBc2,
      decay,
    });
    return { param: p1, state: next };
  });
}

/** The state as packed moments [m, v] (zeros before the first step), from any of its forms. */
export function packedMoments(param: tf.Tensor, state: AdamState, attrs: AdamUpdateAttrs): tf.Tensor {
  if (state.moments) return state.moments;
  const [m, v] = plainMoments(state, attrs);
  return tf.stack([m ?? tf.zerosLike(param), v ?? tf.zerosLike(param)]);
}

/** m and v stored plainly, from state in any of its forms (null before the first step). */
function plainMoments(state: AdamState, a: AdamUpdateAttrs): [tf.Tensor | null, tf.Tensor | null] {
  if (state.m && state.v) return [state.m, state.v];
  if (state.moments) return tf.unstack(state.moments) as [tf.Tensor, tf.Tensor];
  if (state.corrected) {
    // stored after step t − 1: m = m̂·(1 − β₁ᵗ⁻¹), v = (√v̂)²·(1 − β₂ᵗ⁻¹)
    const [mh, rms] = tf.unstack(state.corrected);
    return [tf.mul(mh, 1 - a.beta1 ** (a.step - 1)), tf.mul(tf.square(rms), 1 - a.beta2 ** (a.step - 1))];
  }
  return [null, null];
}

/** [m̂, √v̂] after step t (t = 0: zeros) from plain m and v. */
function correctedMoments(m: tf.Tensor, v: tf.Tensor, t: number, a: AdamUpdateAttrs): tf.Tensor {
  if (t === 0) return tf.stack([m, v]);
  return tf.stack([tf.div(m, 1 - a.beta1 ** t), tf.sqrt(tf.div(v, 1 - a.beta2 ** t))]);
}

/**
 * One Adam step of one parameter whose moments are packed as one tensor [2, ...param.shape]
 * ([m, v], or [m̂, √v̂] with attrs.corrected on webgl): returns [param', moments'] as new tensors.
 * Two GPU passes where fused.
 */
export function adamUpdatePacked(
  param: tf.Tensor,
  grad: tf.Tensor,
  moments: tf.Tensor,
  attrs: AdamUpdateAttrs,
): [tf.Tensor, tf.Tensor] {
  checkSame('adamUpdate', { param, grad });
  if (
    moments.dtype !== 'float32' ||
    moments.shape[0] !== 2 ||
    !tf.util.arraysEqual(moments.shape.slice(1), param.shape)
  ) {
    throw new TapegradError(
      'adamUpdate',
      `moments must be float32 of shape [2, ...${fmtShape(param.shape)}], got ${moments.dtype} ${fmtShape(moments.shape)}`,
    );
  }
  if (!(attrs.step >= 1))
    throw new TapegradError('adamUpdate', `step must be ≥ 1 (the count after this update), got ${attrs.step}`);
  if (!hasFused('adamUpdate')) {
    return tf.tidy(() => {
      const { state, param: p1 } = adamStep(param, grad, attrs.corrected ? { corrected: moments } : { moments }, {
        ...attrs,
        corrected: false,
      });
      return [p1, tf.stack([state.m!, state.v!])] as [tf.Tensor, tf.Tensor];
    });
  }
  if (tf.getBackend() !== 'webgl')
    return run('adamUpdate', { param, grad, moments }, adamAttrs(attrs)) as [tf.Tensor, tf.Tensor];
  // webgl: flat views, so that one rank-1 and one rank-2 shader serve every shape (adam-update.ts)
  return tf.tidy(() => {
    const n = param.size;
    const flat = { param: tf.reshape(param, [n]), grad: tf.reshape(grad, [n]), moments: tf.reshape(moments, [2, n]) };
    const [p1, mv1] = run('adamUpdate', flat, adamAttrs(attrs)) as [tf.Tensor, tf.Tensor];
    return [tf.reshape(p1, param.shape), tf.reshape(mv1, moments.shape)] as [tf.Tensor, tf.Tensor];
  });
}

/** adamUpdatePacked with the moments apart: returns [param', m', v']. */
export function adamUpdate(
  param: tf.Tensor,
  grad: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  attrs: AdamUpdateAttrs,
): [tf.Tensor, tf.Tensor, tf.Tensor] {
  checkSame('adamUpdate', { param, grad, m, v });
  if (!(attrs.step >= 1))
    throw new TapegradError('adamUpdate', `step must be ≥ 1 (the count after this update), got ${attrs.step}`);
  if (!hasFused('adamUpdate')) return adamUpdateReference(param, grad, m, v, attrs);
  return tf.tidy(() => {
    const [p1, mv1] = adamUpdatePacked(param, grad, tf.stack([m, v]), { ...attrs, corrected: false });
    const [m1, v1] = tf.unstack(mv1);
    return [p1, m1, v1] as [tf.Tensor, tf.Tensor, tf.Tensor];
  });
}

/**
 * One Adam (or AdamW, `decoupled`) step of many parameters at once, their moments packed
 * ([2, ...shape] each): new parameters and moments as new tensors. `steps` is int32 [k, 6], row i
 * the float64 bits of parameter i's (lr, 1 − β₁ᵗ, 1 − β₂ᵗ) (adamStepBits); beta1, beta2, eps and
 * weightDecay one per parameter. One kernel call, on the backends that have the multi-tensor kernel
 * (cpu, wasm: hasFused('adamMultiUpdate')); the others step each parameter (adamUpdatePacked).
 */
export function adamUpdateMulti(
  params: tf.Tensor[],
  grads: tf.Tensor[],
  moments: tf.Tensor[],
  steps: tf.Tensor,
  attrs: Omit<AdamMultiAttrs, 'count'>,
): { params: tf.Tensor[]; moments: tf.Tensor[] } {
  const k = params.length;
  if (grads.length !== k || moments.length !== k)
    throw new TapegradError(
      'adamUpdateMulti',
      `needs as many gradients and moments as parameters, got ${k}, ${grads.length} and ${moments.length}`,
    );
  params.forEach((p, i) => checkSame('adamUpdateMulti', { [`param ${i}`]: p, [`grad ${i}`]: grads[i] }));
  if (steps.dtype !== 'int32' || !tf.util.arraysEqual(steps.shape, [k, 2 * ADAM_STEP_WIDTH]))
    throw new TapegradError(
      'adamUpdateMulti',
      `steps must be int32 [${k}, ${2 * ADAM_STEP_WIDTH}] (adamStepBits), got ${steps.dtype} ${fmtShape(steps.shape)}`,
    );
  if (!hasFused('adamMultiUpdate'))
    throw new TapegradError(
      'adamUpdateMulti',
      `the backend '${tf.getBackend()}' has no multi-tensor Adam kernel: step each parameter (adamUpdatePacked)`,
    );
  const inputs: Record<string, tf.Tensor> = { steps };
  params.forEach((p, i) => {
    inputs[`param${i}`] = p;
    inputs[`grad${i}`] = grads[i];
    inputs[`moments${i}`] = moments[i];
  });
  const outs = run('adamMultiUpdate', inputs, { count: k, ...attrs }) as tf.Tensor[];
  return { params: outs.slice(0, k), moments: outs.slice(k) };
}

// ---- relu / leakyRelu backward

/** dy·[x > 0]: the backward of relu. */
export function reluGrad(dy: tf.Tensor, x: tf.Tensor): tf.Tensor {
  checkSame('reluGrad', { dy, x });
  return hasFused('reluGrad') ? (run('reluGrad', { dy, x }) as tf.Tensor) : leakyReluGradReference(dy, x, 0);
}

/** dy·[x > 0] + α·dy·[x ≤ 0]: the backward of leakyRelu. */
export function leakyReluGrad(dy: tf.Tensor, x: tf.Tensor, alpha: number): tf.Tensor {
  checkSame('leakyReluGrad', { dy, x });
  return hasFused('leakyReluGrad')
    ? (run('leakyReluGrad', { dy, x }, { alpha }) as tf.Tensor)
    : leakyReluGradReference(dy, x, alpha);
}

// ---- batch normalisation

export { batchNormReference, batchNormGradReference };

function checkBatchNorm(fn: string, x: tf.Tensor, params: Record<string, tf.Tensor>): void {
  checkSame(fn, { x });
  for (const [name, p] of Object.entries(params)) {
    if (p.dtype !== 'float32' || p.rank !== 1 || p.size !== x.shape[x.rank - 1])
      throw new TapegradError(fn, `${name} ${fmtShape(p.shape)} must be float32 [C] for x ${fmtShape(x.shape)}`);
  }
}

/**
 * [y, μ, σ²] of y = (x − μ)/√(σ² + ε)·weight + bias, μ and σ² (biased) the batch statistics of
 * each channel (the last axis) over every other axis. One kernel on cpu and wasm.
 */
export function batchNorm(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor, eps: number): tf.Tensor[] {
  checkBatchNorm('batchNorm', x, { weight, bias });
  return hasFused('batchNorm')
    ? (run('batchNorm', { x, weight, bias }, { eps }) as tf.Tensor[])
    : batchNormReference(x, weight, bias, eps);
}

/** [dx, dweight, dbias] of batchNorm's y. One kernel on cpu and wasm. */
export function batchNormGrad(dy: tf.Tensor, x: tf.Tensor, weight: tf.Tensor, eps: number): tf.Tensor[] {
  checkSame('batchNormGrad', { dy, x });
  checkBatchNorm('batchNormGrad', x, { weight });
  return hasFused('batchNormGrad')
    ? (run('batchNormGrad', { dy, x, weight }, { eps }) as tf.Tensor[])
    : batchNormGradReference(dy, x, weight, eps);
}

// ---- layer normalisation

export { layerNormReference, layerNormGradReference };

function checkLayerNorm(fn: string, x: tf.Tensor, params: Record<string, tf.Tensor>): void {
  checkSame(fn, { x });
  for (const [name, p] of Object.entries(params)) {
    const k = p.rank;
    if (p.dtype !== 'float32' || k < 1 || k > x.rank || !tf.util.arraysEqual(p.shape, x.shape.slice(x.rank - k)))
      throw new TapegradError(
        fn,
        `${name} ${p.dtype} ${fmtShape(p.shape)} must be float32 of x's trailing shape, x ${fmtShape(x.shape)}`,
      );
  }
}

/**
 * y = (x − μ)/√(σ² + ε)·weight + bias, μ and σ² (biased) the mean and variance of each row: the
 * entries along weight's axes, the last of x (weight and bias of one shape). One pass a row on cpu
 * and wasm, in float64.
 */
export function layerNorm(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor, eps: number): tf.Tensor {
  checkLayerNorm('layerNorm', x, { weight, bias });
  checkSame('layerNorm', { weight, bias });
  return hasFused('layerNorm')
    ? (run('layerNorm', { x, weight, bias }, { eps }) as tf.Tensor)
    : layerNormReference(x, weight, bias, eps);
}

/** [dx, dweight, dbias] of layerNorm's y. One kernel on cpu and wasm. */
export function layerNormGrad(dy: tf.Tensor, x: tf.Tensor, weight: tf.Tensor, eps: number): tf.Tensor[] {
  checkSame('layerNormGrad', { dy, x });
  checkLayerNorm('layerNormGrad', x, { weight });
  return hasFused('layerNormGrad')
    ? (run('layerNormGrad', { dy, x, weight }, { eps }) as tf.Tensor[])
    : layerNormGradReference(dy, x, weight, eps);
}

// ---- softmax's adjoint

export { softmaxGradReference, scaledSoftmaxReference };

/**
 * softmax(scale·x + M) along the last axis (scale > 0; M the causal mask of the last two axes, 0
 * where key j ≤ query i and −∞ after, when `causal`): one pass on cpu and wasm, TF.js ops elsewhere.
 */
export function scaledSoftmax(x: tf.Tensor, scale: number, causal: boolean): tf.Tensor {
  checkSame('scaledSoftmax', { x });
  return hasFused('scaledSoftmax')
    ? (run('scaledSoftmax', { x }, { scale, causal }) as tf.Tensor)
    : scaledSoftmaxReference(x, scale, causal);
}

/** y·(dy − Σ dy·y) along the last axis (y = softmax(x)): softmax's adjoint. One pass a row on cpu and wasm. */
export function softmaxGrad(dy: tf.Tensor, y: tf.Tensor): tf.Tensor {
  checkSame('softmaxGrad', { dy, y });
  return hasFused('softmaxGrad') ? (run('softmaxGrad', { dy, y }) as tf.Tensor) : softmaxGradReference(dy, y);
}

// ---- self-attention's heads

export { selfAttentionReference, selfAttentionGradReference };

function checkSelfAttention(fn: string, qkv: tf.Tensor, heads: number): void {
  checkSame(fn, { qkv });
  if (qkv.rank !== 3 || !Number.isInteger(heads) || heads < 1 || qkv.shape[2]! % (3 * heads) !== 0)
    throw new TapegradError(
      fn,
      `expected qkv [N, L, 3E] with E a multiple of heads ${heads}, got ${fmtShape(qkv.shape)}`,
    );
}

/**
 * [o, w]: each head's softmax(scale·q·kᵀ + M)·v from qkv [N, L, 3E] (q, k, v along the last axis,
 * head h in D = E/heads entries of each), o [N, L, E] the heads side by side, w [N, heads, L, L] the
 * weights; M the causal mask when `causal`. One kernel on cpu and wasm.
 */
export function selfAttention(qkv: tf.Tensor, heads: number, scale: number, causal: boolean): tf.Tensor[] {
  checkSelfAttention('selfAttention', qkv, heads);
  return hasFused('selfAttention')
    ? (run('selfAttention', { qkv }, { heads, scale, causal }) as tf.Tensor[])
    : selfAttentionReference(qkv, heads, scale, causal);
}

/**
 * dqkv [N, L, 3E] of selfAttention's o, from dy (o's shape), qkv and the weights w it gave. One
 * kernel on cpu and wasm.
 */
export function selfAttentionGrad(dy: tf.Tensor, qkv: tf.Tensor, weights: tf.Tensor, scale: number): tf.Tensor {
  const heads = weights.shape[1]!;
  checkSelfAttention('selfAttentionGrad', qkv, heads);
  const [N, L, E3] = qkv.shape;
  if (!tf.util.arraysEqual(dy.shape, [N, L, E3 / 3]) || !tf.util.arraysEqual(weights.shape, [N, heads, L, L]))
    throw new TapegradError(
      'selfAttentionGrad',
      `expected dy [N, L, E] and weights [N, heads, L, L] for qkv ${fmtShape(qkv.shape)}, ` +
        `got ${fmtShape(dy.shape)} and ${fmtShape(weights.shape)}`,
    );
  checkSame('selfAttentionGrad', { dy });
  checkSame('selfAttentionGrad', { weights });
  return hasFused('selfAttentionGrad')
    ? (run('selfAttentionGrad', { dy, qkv, weights }, { heads, scale }) as tf.Tensor)
    : selfAttentionGradReference(dy, qkv, weights, scale);
}

// ---- max pool backward

export { maxPoolGradReference, type MaxPoolGradAttrs };

/**
 * The backward of y = maxPool(x): dy added at each window's first entry equal to y (zeros
 * elsewhere), x's shape. One pass over x on cpu and wasm.
 */
export function maxPoolGrad(dy: tf.Tensor, x: tf.Tensor, y: tf.Tensor, attrs: MaxPoolGradAttrs): tf.Tensor {
  checkSame('maxPoolGrad', { dy, y });
  checkSame('maxPoolGrad', { x });
  if (x.rank !== 4 || y.rank !== 4 || x.shape[0] !== y.shape[0] || x.shape[3] !== y.shape[3])
    throw new TapegradError('maxPoolGrad', `x ${fmtShape(x.shape)} and y ${fmtShape(y.shape)} must be NHWC alike`);
  const a = { filterSize: attrs.filterSize, strides: attrs.strides, pad: attrs.pad };
  return hasFused('maxPoolGrad')
    ? (run('maxPoolGrad', { dy, x, y }, a) as tf.Tensor)
    : maxPoolGradReference(dy, x, y, a);
}

// ---- convolution windows as a matrix

export { im2colTReference, type Im2ColAttrs };

/** The windows of x [N, H, W, C] as the columns of [kh·kw·C, N·Ho·Wo] (kernels/im2col.ts). */
export function im2colT(x: tf.Tensor, attrs: Im2ColAttrs): tf.Tensor {
  checkSame('im2colT', { x });
  const a = { filterSize: attrs.filterSize, strides: attrs.strides, pad: attrs.pad };
  return hasFused('im2colT') ? (run('im2colT', { x }, a) as tf.Tensor) : im2colTReference(x, a);
}

// ---- a convolution's filter gradient

export type { Conv2DFilterGradAttrs };

/** The most words of scratch (x padded, tables) a convolution kernel takes; beyond, TF.js's kernels run. */
let convScratchLimit = 2 ** 26;

/** Sets that limit (for the tests of the fallback); returns the one it replaces. */
export function setConvScratchLimit(words: number): number {
  const before = convScratchLimit;
  convScratchLimit = words;
  return before;
}

/** Whether the filter gradient of x (cout output channels) runs as its kernel here (the backend has it, its scratch fits). */
export function hasConv2dFilterGrad(xShape: number[], attrs: Conv2DFilterGradAttrs, cout: number): boolean {
  return hasFused('conv2dFilterGrad') && filterGradScratchWords(xShape, attrs, cout) <= convScratchLimit;
}

/**
 * The filter gradient w̄ [kh, kw, Cin, Cout] of a convolution of x [N, H, W, Cin] whose output's
 * gradient is dy [N, Ho, Wo, Cout] (kernels/conv2d-filter-grad.ts); where the backend lacks the
 * kernel, the window matrix times dy.
 */
export function conv2dFilterGrad(x: tf.Tensor, dy: tf.Tensor, attrs: Conv2DFilterGradAttrs): tf.Tensor {
  checkSame('conv2dFilterGrad', { x });
  checkSame('conv2dFilterGrad', { dy });
  const a = { filterSize: attrs.filterSize, strides: attrs.strides, pad: attrs.pad };
  const g = x.rank === 4 ? filterGradGeometry(x.shape, a) : null;
  if (!g || dy.rank !== 4 || !tf.util.arraysEqual(dy.shape.slice(0, 3), [g.N, g.Ho, g.Wo]))
    throw new TapegradError(
      'conv2dFilterGrad',
      `x ${fmtShape(x.shape)} and dy ${fmtShape(dy.shape)} do not fit window ${a.filterSize}, ` +
        `stride ${a.strides}, '${a.pad}'`,
    );
  if (hasFused('conv2dFilterGrad')) return run('conv2dFilterGrad', { x, dy }, a) as tf.Tensor;
  const cout = dy.shape[3]!;
  return tf.tidy(() => {
    const cols = im2colTReference(x, a);
    const w = tf.matMul(cols, tf.reshape(dy, [g.N * g.Ho * g.Wo, cout]));
    return tf.reshape(w, [g.kh, g.kw, g.C, cout]);
  });
}

// ---- a convolution reading its filter in place

export type { Conv2DAttrs };

/** Whether the convolution of x with filter runs as its kernel on the backend (it has it, its scratch fits). */
export function hasConv2d(
  xShape: number[],
  filterShape: number[],
  attrs: Conv2DAttrs,
  backendName: string = tf.getBackend(),
): boolean {
  return hasFused('conv2d', backendName) && convScratchWords(xShape, filterShape, attrs) <= convScratchLimit;
}

/**
 * The convolution of x [N, H, W, Cin] with filter [kh, kw, Cin, Cout] (+ bias [Cout]), explicit
 * zero padding, strides and dilations (kernels/conv2d-forward.ts); with `flipFilter`, filter
 * [kh, kw, Cout, Cin] read flipped and transposed (an input gradient's). Where the backend lacks the
 * kernel or its scratch would pass the limit, tf.conv2d.
 */
export function conv2dWithFilterInPlace(
  x: tf.Tensor,
  filter: tf.Tensor,
  bias: tf.Tensor | null,
  attrs: Conv2DAttrs,
): tf.Tensor {
  checkSame('conv2d', { x });
  checkSame('conv2d', { filter });
  const flip = attrs.flipFilter === true;
  const a = {
    strides: attrs.strides,
    dilations: attrs.dilations,
    padding: attrs.padding,
    ...(flip && { flipFilter: true }),
  };
  const g = x.rank === 4 && filter.rank === 4 ? convGeometry(x.shape, filter.shape, a) : null;
  const inChannels = filter.shape[flip ? 3 : 2];
  if (!g || inChannels !== g.C || g.Ho < 1 || g.Wo < 1 || (bias && !tf.util.arraysEqual(bias.shape, [g.cout])))
    throw new TapegradError(
      'conv2d',
      `x ${fmtShape(x.shape)}, filter ${fmtShape(filter.shape)} and bias ${bias ? fmtShape(bias.shape) : 'none'} ` +
        `do not fit strides ${a.strides}, dilations ${a.dilations}, padding ${JSON.stringify(a.padding)}`,
    );
  if (hasConv2d(x.shape, filter.shape, a))
    return run('conv2d', bias ? { x, filter, bias } : { x, filter }, a) as tf.Tensor;
  return tf.tidy(() => {
    const pad: [Pair, Pair, Pair, Pair] = [[0, 0], a.padding[0], a.padding[1], [0, 0]];
    const w = flip ? tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) : filter;
    const y = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, a.strides, pad, 'NHWC', a.dilations);
    return bias ? tf.add(y, bias) : y;
  });
}

// ---- broadcasting along leading axes

export { broadcastLeadingReference, broadcastsAlongLeadingAxes };

/**
 * float32 x repeated along leading axes to `shape` (x's shape, left-padded with 1s, is 1 up to some
 * axis and `shape` from there): one copy and doubling copies on cpu and wasm.
 */
export function broadcastLeading(x: tf.Tensor, shape: number[]): tf.Tensor {
  checkSame('broadcastLeading', { x });
  if (!broadcastsAlongLeadingAxes(x.shape, shape))
    throw new TapegradError(
      'broadcastLeading',
      `${fmtShape(x.shape)} does not broadcast to ${fmtShape(shape)} along leading axes only`,
    );
  return hasFused('broadcastLeading')
    ? (run('broadcastLeading', { x }, { shape }) as tf.Tensor)
    : broadcastLeadingReference(x, shape);
}

// ---- sums over leading axes

export { columnSumReference };

/**
 * float32 x summed over its leading axes down to its trailing axes' `shape` (a bias gradient): on
 * cpu and wasm one pass over x, each column summed in float32 by blocks of rows (kernels/column-sum.ts).
 */
export function columnSum(x: tf.Tensor, shape: number[]): tf.Tensor {
  checkSame('columnSum', { x });
  if (shape.length > x.rank || !tf.util.arraysEqual(x.shape.slice(x.rank - shape.length), shape))
    throw new TapegradError('columnSum', `${fmtShape(shape)} is not the trailing axes of ${fmtShape(x.shape)}`);
  return hasFused('columnSum') ? (run('columnSum', { x }, { shape }) as tf.Tensor) : columnSumReference(x, shape);
}

// ---- softmax cross-entropy, forward and backward together

/**
 * Row losses of logits z [..., C] against target distributions t [..., C] (or int32 class indices
 * t [...], standing for one-hot rows), and their gradient with respect to z:
 * loss = (Σt)·logΣe^z − Σ t z (shape [...]), dlogits = softmax(z)·Σt − t.
 */
export function softmaxCrossEntropy(z: tf.Tensor, t: tf.Tensor): { loss: tf.Tensor; dlogits: tf.Tensor } {
  checkSce(z, t);
  if (!hasFused('softmaxCrossEntropy'))
    return softmaxCrossEntropyReference(z, t) as { loss: tf.Tensor; dlogits: tf.Tensor };
  const [loss, dlogits] = runSce(z, t, 'both');
  return { loss, dlogits };
}

/** The row losses alone (a forward pass): one GPU pass where fused. */
export function softmaxCrossEntropyLoss(z: tf.Tensor, t: tf.Tensor): tf.Tensor {
  checkSce(z, t);
  if (hasFused('softmaxCrossEntropy')) return runSce(z, t, 'loss')[0];
  return softmaxCrossEntropyReference(z, t, 'loss').loss!;
}

/**
 * The gradient alone, softmax(z)·Σt − t (a backward pass), times `scale` and an upstream gradient
 * g (one value, or one per row: shape [...]) when given: one GPU pass where fused.
 */
export function softmaxCrossEntropyGrad(
  z: tf.Tensor,
  t: tf.Tensor,
  opts: { upstream?: tf.Tensor; scale?: number } = {},
): tf.Tensor {
  checkSce(z, t);
  const { upstream, scale = 1 } = opts;
  const rows = z.shape.slice(0, -1);
  if (
    upstream &&
    (upstream.dtype !== 'float32' || (upstream.size !== 1 && !tf.util.arraysEqual(upstream.shape, rows)))
  ) {
    throw new TapegradError(
      'softmaxCrossEntropy',
      `the upstream gradient must be float32 with one value or shape ${fmtShape(rows)}, got ${upstream.dtype} ${fmtShape(upstream.shape)}`,
    );
  }
  if (!hasFused('softmaxCrossEntropy')) {
    return tf.tidy(() => {
      const d = tf.mul(softmaxCrossEntropyReference(z, t, 'dlogits').dlogits!, scale);
      return upstream ? tf.mul(d, upstream.size === 1 ? tf.reshape(upstream, []) : tf.expandDims(upstream, -1)) : d;
    });
  }
  return runSce(z, t, 'dlogits', upstream, scale)[0];
}

function checkSce(z: tf.Tensor, t: tf.Tensor): void {
  if (z.rank < 1)
    throw new TapegradError('softmaxCrossEntropy', `logits must have a class axis, got shape ${fmtShape(z.shape)}`);
  if (t.dtype === 'int32' && tf.util.arraysEqual(t.shape, z.shape.slice(0, -1)))
    return checkSame('softmaxCrossEntropy', { logits: z });
  checkSame('softmaxCrossEntropy', { logits: z, targets: t });
}

/** Runs the kernel on z, t seen as [N, C] (class indices as [N]), and gives its outputs their shapes back. */
function runSce(z: tf.Tensor, t: tf.Tensor, outputs: SceOutputs, upstream?: tf.Tensor, scale = 1): tf.Tensor[] {
  const C = z.shape[z.rank - 1];
  return tf.tidy(() => {
    const inputs: Record<string, tf.Tensor> = {
      logits: tf.reshape(z, [-1, C]),
      targets: t.dtype === 'int32' ? tf.reshape(t, [-1]) : tf.reshape(t, [-1, C]),
    };
    if (upstream) inputs.upstream = tf.reshape(upstream, [-1]);
    const outs = run('softmaxCrossEntropy', inputs, { outputs, scale }) as tf.Tensor[];
    const names = outputs === 'both' ? ['loss', 'dlogits'] : [outputs];
    return outs.map((o, i) => tf.reshape(o, names[i] === 'loss' ? z.shape.slice(0, -1) : z.shape));
  });
}

// ---- gelu (kernels/gelu.ts): float64 loops on cpu, float32 SIMD on wasm

/** gelu's forward x Φ(x): one pass on cpu and wasm, the TF.js formulation elsewhere. */
export function gelu(x: tf.Tensor): tf.Tensor {
  return hasFused('gelu') && x.dtype === 'float32' ? (run('gelu', { x }) as tf.Tensor) : geluReference(x);
}

/**
 * [gelu(x), Φ(x) + x φ(x)]: the forward and the derivative its adjoint multiplies by, in one pass (cpu
 * and wasm: check hasFused('geluWithDerivative') first).
 */
export function geluWithDerivative(x: tf.Tensor): [tf.Tensor, tf.Tensor] {
  return run('geluWithDerivative', { x }) as [tf.Tensor, tf.Tensor];
}

/** gelu's adjoint dy·(Φ(x) + x φ(x)) in one pass (cpu and wasm: check hasFused('geluGrad') first). */
export function geluGrad(dy: tf.Tensor, x: tf.Tensor): tf.Tensor {
  checkSame('geluGrad', { dy, x });
  return run('geluGrad', { dy, x }) as tf.Tensor;
}
