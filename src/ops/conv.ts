// 2-D convolution and pooling, NHWC like TF.js: images are [batch, height, width, channels] and
// conv filters are [kernelHeight, kernelWidth, inChannels, outChannels].
//
// The adjoints use TF.js's backprop kernels, each wrapped as a tapegrad op of its own
// (conv2dBackpropInput, conv2dBackpropFilter, avgPool2dBackprop) whose adjoint is again one of these
// ops, so a backward recorded with createGraph can be differentiated again. maxPool2d's adjoint is a
// scatterAdd at the argmaxes (see there), which is differentiable too.
import * as tf from '@tensorflow/tfjs-core';
import { defineOp, asTensor, owning, type Op } from '../op.js';
import { TapegradError, fmtShape } from '../errors.js';
import { Tensor } from '../tensor.js';
import { pad as padOp, reshape, scatterAdd } from './shape.js';
import { mul } from './elementwise.js';
import {
  avgPoolSameBorderScale,
  conv2dBackpropFilterWithoutKernel,
  conv2dSamePaddingExplicit,
  maxPoolArgmaxWithoutKernel,
  samePadding,
} from '../backend/defects.js';

type Pad = 'valid' | 'same';
type Pair = [number, number];
export interface ConvAttrs {
  strides: Pair;
  pad: Pad;
}
export interface PoolAttrs extends ConvAttrs {
  filterSize: Pair;
}

// ---- convolution: y = B(x, w), bilinear in the image x and the filter w.
// BI(dy, w) = ∂⟨dy, B(x, w)⟩/∂x and BF(x, dy) = ∂⟨dy, B(x, w)⟩/∂w are its two adjoints; all three
// are bilinear, and each one's adjoints are the other two.

const conv2dOp = defineOp<ConvAttrs>({
  name: 'conv2d',
  forward: ([x, w], { strides, pad }) => conv2dSamePaddingExplicit(x, w, strides, pad),
  // x̄ = BI(g, w), w̄ = BF(x, g)
  vjp: (g, [x, w], _y, a) => [
    () => conv2dBackpropInput(g, w, x.shape, a),
    () => conv2dBackpropFilter(x, g, w.shape, a),
  ],
});

const conv2dBackpropInputOp = defineOp<ConvAttrs & { xShape: number[] }>({
  name: 'conv2dBackpropInput',
  forward: ([dy, w], { xShape, strides, pad }) =>
    tf.conv2dTranspose(dy as tf.Tensor4D, w as tf.Tensor4D, xShape as [number, number, number, number], strides, pad),
  // ⟨ḡ, BI(dy, w)⟩ = ⟨dy, B(ḡ, w)⟩: d̄y = B(ḡ, w), w̄ = BF(ḡ, dy)
  vjp: (g, [dy, w], _y, a) => [() => conv2dOp([g, w], convAttrs(a)), () => conv2dBackpropFilter(g, dy, w.shape, a)],
});

const conv2dBackpropFilterOp = defineOp<ConvAttrs & { wShape: number[] }>({
  name: 'conv2dBackpropFilter',
  forward: ([x, dy], { wShape, strides, pad }) => conv2dBackpropFilterWithoutKernel(x, dy, wShape, strides, pad),
  // ⟨ḡ, BF(x, dy)⟩ = ⟨dy, B(x, ḡ)⟩: x̄ = BI(dy, ḡ), d̄y = B(x, ḡ)
  vjp: (g, [x, dy], _y, a) => [() => conv2dBackpropInput(dy, g, x.shape, a), () => conv2dOp([x, g], convAttrs(a))],
});

const convAttrs = ({ strides, pad }: ConvAttrs): ConvAttrs => ({ strides, pad });
function conv2dBackpropInput(dy: Tensor, w: Tensor, xShape: number[], a: ConvAttrs): Tensor {
  return conv2dBackpropInputOp([dy, w], { ...convAttrs(a), xShape });
}
function conv2dBackpropFilter(x: Tensor, dy: Tensor, wShape: number[], a: ConvAttrs): Tensor {
  return conv2dBackpropFilterOp([x, dy], { ...convAttrs(a), wShape });
}

/** Options of conv2d: stride and padding. */
export interface Conv2dOptions {
  /** One number for both axes, or [strideH, strideW]. Default 1. */
  stride?: number | Pair;
  /** 'valid' (none, the default), 'same' (output size ⌈in/stride⌉), or zeros on each side: n or [padH, padW]. */
  padding?: Pad | number | Pair;
}

/**
 * 2-D convolution (cross-correlation, as in PyTorch and TF.js) of images x [N, H, W, Cin] with a
 * filter w [kh, kw, Cin, Cout]; the result is [N, H', W', Cout].
 * PyTorch `torch.nn.functional.conv2d`, JAX `jax.lax.conv_general_dilated`.
 */
export function conv2d(x: Tensor, w: Tensor, opts: Conv2dOptions = {}): Tensor {
  const t = asTensor('conv2d', x, 'the input');
  const f = asTensor('conv2d', w, 'the filter');
  if (t.rank !== 4)
    throw new TapegradError(
      'conv2d',
      `the input must be NHWC [batch, height, width, channels], got shape ${fmtShape(t.shape)}`,
    );
  if (f.rank !== 4)
    throw new TapegradError(
      'conv2d',
      `the filter must be [kh, kw, inChannels, outChannels], got shape ${fmtShape(f.shape)}`,
    );
  if (t.shape[3] !== f.shape[2]) {
    throw new TapegradError(
      'conv2d',
      `the input has ${t.shape[3]} channels but the filter expects ${f.shape[2]}: input ${fmtShape(t.shape)}, filter ${fmtShape(f.shape)}`,
    );
  }
  const strides = pair('conv2d', 'stride', opts.stride ?? 1, 1);
  const padding = opts.padding ?? 'valid';
  if (padding === 'valid' || padding === 'same') {
    checkFits('conv2d', t.shape, f.shape.slice(0, 2) as Pair, padding);
    return conv2dOp([t, f], { strides, pad: padding });
  }
  // Explicit zero padding is a pad op before a 'valid' convolution (its adjoint slices it off).
  const [ph, pw] = pair('conv2d', 'padding', padding, 0);
  const padded = padOp(t, [
    [0, 0],
    [ph, ph],
    [pw, pw],
    [0, 0],
  ]);
  try {
    checkFits('conv2d', padded.shape, f.shape.slice(0, 2) as Pair, 'valid');
  } catch (e) {
    padded.dispose();
    throw e;
  }
  return owning(conv2dOp([padded, f], { strides, pad: 'valid' }), [padded]);
}
conv2d.rule = conv2dOp.rule;

// ---- pooling

const maxPool2dOp = defineOp<PoolAttrs>({
  name: 'maxPool2d',
  forward: ([x], { filterSize, strides, pad }) => tf.maxPool(x as tf.Tensor4D, filterSize, strides, pad),
  // x̄ = g added at each window's argmax (the first maximum, as PyTorch). Written as scatterAdd,
  // whose adjoint (gather) gives second order; the argmaxes come from src/backend/defects.ts.
  vjp: (g, [x], y, a) => [
    () => {
      const idx = new Tensor(maxPoolArgmaxWithoutKernel(x.value, y.value, a.filterSize, a.strides, a.pad));
      const flat = reshape(g, [-1]);
      const summed = scatterAdd(flat, idx, 0, x.size);
      return owning(reshape(summed, x.shape), [idx, flat, summed]);
    },
  ],
});

const avgPool2dOp: Op<PoolAttrs> = defineOp<PoolAttrs>({
  name: 'avgPool2d',
  forward: ([x], { filterSize, strides, pad }) => tf.avgPool(x as tf.Tensor4D, filterSize, strides, pad),
  // avgPool is linear, A x; x̄ = Aᵀ g (TF.js's AvgPoolGrad)
  vjp: (g, [x], _y, a) => [() => avgPool2dBackpropOp([g, x], a)],
});

const avgPool2dBackpropOp: Op<PoolAttrs> = defineOp<PoolAttrs>({
  name: 'avgPool2dBackprop',
  // x is read for its shape only
  forward: ([dy, x], { filterSize, strides, pad }) =>
    tf.engine().runKernel('AvgPoolGrad', { dy, input: x }, { filterSize, strides, pad }) as tf.Tensor,
  // Aᵀ dy is linear in dy: d̄y = A ḡ; it does not depend on x's values
  vjp: (g, _inputs, _y, a) => [() => avgPool2dOp([g], a), null],
});

/** Options of maxPool2d and avgPool2d: kernelSize, stride, padding. */
export interface Pool2dOptions {
  /** Window size: n or [kh, kw]. */
  kernelSize: number | Pair;
  /** Default: the kernel size (non-overlapping windows), as PyTorch. */
  stride?: number | Pair;
  /** 'valid' (default) or 'same'. */
  padding?: Pad;
}

/** The window given either way: a size (n or [kh, kw]) with the other options, or all options in one object. */
export type PoolWindow = number | Pair | Pool2dOptions;

/** Both call forms, pool(x, 2, { stride }) and pool(x, { kernelSize: 2, stride }), as one options object. */
export function poolOptions(
  fn: string,
  size: PoolWindow | undefined,
  rest?: Omit<Pool2dOptions, 'kernelSize'>,
): Pool2dOptions {
  if (rest !== undefined && (rest === null || typeof rest !== 'object'))
    throw new TapegradError(fn, `options must be an object, got ${JSON.stringify(rest)}`);
  let o: Pool2dOptions;
  if (typeof size === 'number' || Array.isArray(size)) o = { ...rest, kernelSize: size };
  else if (size === undefined || size === null || typeof size !== 'object' || size.kernelSize === undefined) {
    throw new TapegradError(
      fn,
      `kernelSize is required: a size (2 or [2, 3]) or { kernelSize, stride, padding }, got ${JSON.stringify(size)}`,
    );
  } else o = { ...size, ...rest };
  pair(fn, 'kernelSize', o.kernelSize, 1);
  if (o.stride !== undefined) pair(fn, 'stride', o.stride, 1);
  return o;
}

function poolAttrs(fn: string, x: Tensor, opts: Pool2dOptions): PoolAttrs {
  if (x.rank !== 4)
    throw new TapegradError(
      fn,
      `the input must be NHWC [batch, height, width, channels], got shape ${fmtShape(x.shape)}`,
    );
  if (opts === undefined || opts.kernelSize === undefined) throw new TapegradError(fn, 'kernelSize is required');
  const filterSize = pair(fn, 'kernelSize', opts.kernelSize, 1);
  const strides = pair(fn, 'stride', opts.stride ?? filterSize, 1);
  const pad = opts.padding ?? 'valid';
  if (pad !== 'valid' && pad !== 'same')
    throw new TapegradError(fn, `padding must be 'valid' or 'same', got ${JSON.stringify(pad)}`);
  checkFits(fn, x.shape, filterSize, pad);
  return { filterSize, strides, pad };
}

/**
 * The maximum over each kernelSize window of x [N, H, W, C], per channel.
 * PyTorch `torch.nn.functional.max_pool2d`, JAX `flax.linen.max_pool`.
 */
export function maxPool2d(x: Tensor, window: PoolWindow, opts?: Omit<Pool2dOptions, 'kernelSize'>): Tensor {
  const t = asTensor('maxPool2d', x);
  return maxPool2dOp([t], poolAttrs('maxPool2d', t, poolOptions('maxPool2d', window, opts)));
}
maxPool2d.rule = maxPool2dOp.rule;

/**
 * The mean over each kernelSize window of x [N, H, W, C]. With 'same' padding, as tf.avgPool, a
 * border window averages its real entries only (PyTorch's count_include_pad: false).
 * PyTorch `torch.nn.functional.avg_pool2d`, JAX `flax.linen.avg_pool`.
 */
export function avgPool2d(x: Tensor, window: PoolWindow, opts?: Omit<Pool2dOptions, 'kernelSize'>): Tensor {
  const t = asTensor('avgPool2d', x);
  const a = poolAttrs('avgPool2d', t, poolOptions('avgPool2d', window, opts));
  const ph = samePadding(a.pad, t.shape[1], a.filterSize[0], a.strides[0]);
  const pw = samePadding(a.pad, t.shape[2], a.filterSize[1], a.strides[1]);
  if (ph[0] + ph[1] + pw[0] + pw[1] === 0) return avgPool2dOp([t], { ...a, pad: 'valid' });
  // zero padding, full windows, and a rescale (src/backend/defects.ts: avgPoolSameBorderScale)
  const padded = padOp(t, [[0, 0], ph, pw, [0, 0]]);
  const mean = avgPool2dOp([padded], { ...a, pad: 'valid' });
  const scale = new Tensor(avgPoolSameBorderScale(t.shape[1], t.shape[2], a.filterSize, a.strides, ph, pw));
  return owning(mul(mean, scale), [padded, mean, scale]);
}
avgPool2d.rule = avgPool2dOp.rule;

/** The backprop ops, for the gradcheck suite (their adjoints are what second order runs through). */
export const convInternals = {
  conv2dBackpropInput: (dy: Tensor, w: Tensor, xShape: number[], o: { stride?: number; padding?: Pad } = {}) =>
    conv2dBackpropInput(dy, w, xShape, {
      strides: pair('conv2dBackpropInput', 'stride', o.stride ?? 1, 1),
      pad: o.padding ?? 'valid',
    }),
  conv2dBackpropFilter: (x: Tensor, dy: Tensor, wShape: number[], o: { stride?: number; padding?: Pad } = {}) =>
    conv2dBackpropFilter(x, dy, wShape, {
      strides: pair('conv2dBackpropFilter', 'stride', o.stride ?? 1, 1),
      pad: o.padding ?? 'valid',
    }),
  avgPool2dBackprop: (dy: Tensor, x: Tensor, opts: Pool2dOptions) =>
    avgPool2dBackpropOp([dy, x], poolAttrs('avgPool2dBackprop', x, opts)),
};

// ---- argument checks

function pair(fn: string, what: string, v: number | Pair, min: number): Pair {
  const p: Pair = typeof v === 'number' ? [v, v] : Array.isArray(v) && v.length === 2 ? [v[0], v[1]] : [NaN, NaN];
  if (!p.every((n) => Number.isInteger(n) && n >= min)) {
    throw new TapegradError(fn, `${what} must be an integer ≥ ${min} or a pair of them, got ${JSON.stringify(v)}`);
  }
  return p;
}

/** A 'valid' window must fit inside the image. */
function checkFits(fn: string, xShape: number[], k: Pair, pad: Pad): void {
  if (pad === 'valid' && (k[0] > xShape[1] || k[1] > xShape[2])) {
    throw new TapegradError(
      fn,
      `a ${k[0]}×${k[1]} window does not fit in a ${xShape[1]}×${xShape[2]} image (input ${fmtShape(xShape)}) without padding`,
    );
  }
}

// the adjoints that are ops themselves (so that a backward can be differentiated again),
// registered under their own names
export {
  conv2dBackpropInputOp as conv2dBackpropInput,
  conv2dBackpropFilterOp as conv2dBackpropFilter,
  avgPool2dBackpropOp as avgPool2dBackprop,
};
