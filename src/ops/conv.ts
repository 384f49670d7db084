// 2-D convolution and pooling, NHWC like TF.js: images are [batch, height, width, channels] and
// conv filters are [kernelHeight, kernelWidth, inChannels, outChannels].
//
// The adjoints use TF.js's backprop kernels, each wrapped as a tapegrad op of its own
// (conv2dBackpropInput, conv2dBackpropFilter, avgPool2dBackprop) whose adjoint is again one of these
// ops, so a backward recorded with createGraph can be differentiated again. maxPool2d's adjoint is a
// scatterAdd at the argmaxes (see there), which is differentiable too.
//
// The rest is composed of these ops: dilated and grouped convolutions (a plain one with a spaced,
// block-diagonal filter), conv1d (conv2d on [N, 1, L, C]), convTranspose2d (conv2dBackpropInput,
// then padding and cropping), numeric pool padding and ceilMode (PyTorch's arithmetic as explicit
// padding), adaptiveAvgPool2d and interpolate (a constant matrix product along each axis).
import * as tf from '@tensorflow/tfjs-core';
import { defineOp, asTensor, owning, composed, type Op } from '../op.js';
import { TapegradError, checkOptions, fmtShape } from '../errors.js';
import { Tensor } from '../tensor.js';
import { isGradEnabled } from '../tape.js';
import { pad as padOp, reshape, scatterAddRows, broadcastTo, slice, transpose, unbroadcast } from './shape.js';
import { add, mul } from './elementwise.js';
import { matmul } from './matrix.js';
import {
  avgPoolSameBorderScale,
  conv2dBackpropFilterWithoutKernel,
  conv2dSamePaddingExplicit,
  maxPoolArgmaxWithoutKernel,
  samePadding,
} from '../backend/defects.js';
import { maxPoolGrad } from '../backend/fused.js';
import { assertFits } from '../backend/wasm-heap-limit.js';

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

const conv2dWithBiasOp = defineOp<ConvAttrs>({
  name: 'conv2dWithBias',
  forward: ([x, w, b], { strides, pad }) => conv2dSamePaddingExplicit(x, w, strides, pad, b),
  // x̄ = BI(g, w), w̄ = BF(x, g), b̄ = Σ_{n,i,j} g
  vjp: (g, [x, w, b], _y, a) => [
    () => conv2dBackpropInput(g, w, x.shape, a),
    () => conv2dBackpropFilter(x, g, w.shape, a),
    () => unbroadcast(g, b.shape),
  ],
});

const convAttrs = ({ strides, pad }: ConvAttrs): ConvAttrs => ({ strides, pad });
function conv2dBackpropInput(dy: Tensor, w: Tensor, xShape: number[], a: ConvAttrs): Tensor {
  return conv2dBackpropInputOp([dy, w], { ...convAttrs(a), xShape });
}
function conv2dBackpropFilter(x: Tensor, dy: Tensor, wShape: number[], a: ConvAttrs): Tensor {
  return conv2dBackpropFilterOp([x, dy], { ...convAttrs(a), wShape });
}

/** Options of conv2d: stride, padding, dilation and groups. */
export interface Conv2dOptions {
  /** One number for both axes, or [strideH, strideW]. Default 1. */
  stride?: number | Pair;
  /** 'valid' (none, the default), 'same' (output size ⌈in/stride⌉), or zeros on each side: n or [padH, padW]. */
  padding?: Pad | number | Pair;
  /** Spacing between the filter's taps: n or [dilationH, dilationW]. Default 1. */
  dilation?: number | Pair;
  /**
   * Channels split into this many groups, each convolved with its own filters (PyTorch's groups):
   * the filter is [kh, kw, inChannels/groups, outChannels]; groups = inChannels is a depthwise
   * convolution. Default 1.
   */
  groups?: number;
}

type Keep = <T extends Tensor>(t: T) => T;

/**
 * A grouped filter [kh, kw, a, b] as the block-diagonal filter [kh, kw, g·a, b] of one ungrouped
 * convolution: W[…, j·a + c, o] = w[…, c, o] where output channel o belongs to group j, else 0.
 * One convolution with zeros in place of g separate ones; the zeros get no gradient.
 */
function blockDiagonal(w: Tensor, g: number, keep: Keep): Tensor {
  if (g === 1) return w;
  const [kh, kw, a, b] = w.shape;
  const mask = new Float32Array(g * a * b);
  for (let r = 0; r < g * a; r++)
    for (let o = 0; o < b; o++) if (Math.floor(r / a) === Math.floor(o / (b / g))) mask[r * b + o] = 1;
  const M = keep(new Tensor(tf.tensor(mask, [g * a, b])));
  // rank 3 at most: webgl's shaders do not all take rank 5 or 6
  const repeated = keep(broadcastTo(keep(reshape(w, [kh * kw, 1, a * b])), [kh * kw, g, a * b]));
  return keep(mul(keep(reshape(repeated, [kh, kw, g * a, b])), M));
}

/**
 * A filter with d − 1 zeros between its taps ([kh, kw] → [(kh−1)·dh + 1, (kw−1)·dw + 1]): a dilated
 * convolution is the plain convolution with this filter, on every backend (TF.js's dilated conv2d
 * refuses strides > 1 and has no dilated backprop kernels).
 */
function dilateFilter(w: Tensor, [dh, dw]: Pair, keep: Keep): Tensor {
  if (dh === 1 && dw === 1) return w;
  const [kh, kw, a, b] = w.shape;
  // f [n, m, inner] → [n, (m − 1)·d + 1, inner], d − 1 zeros between neighbours along m; in rank 3,
  // since webgl's pad does not compile for rank 6
  const spread = (f: Tensor, [n, m, inner]: number[], d: number): Tensor => {
    if (d === 1) return f;
    const padded = keep(
      padOp(keep(reshape(f, [n * m, 1, inner])), [
        [0, 0],
        [0, d - 1],
        [0, 0],
      ]),
    );
    return keep(slice(keep(reshape(padded, [n, m * d, inner])), [0, 0, 0], [n, (m - 1) * d + 1, inner]));
  };
  const [kh2, kw2] = effectiveKernel([kh, kw], [dh, dw]);
  const tall = spread(w, [1, kh, kw * a * b], dh);
  return keep(reshape(spread(tall, [kh2, kw, a * b], dw), [kh2, kw2, a, b]));
}

/** The window a dilated filter covers: (k − 1)·d + 1 per axis. */
const effectiveKernel = ([kh, kw]: Pair, [dh, dw]: Pair): Pair => [(kh - 1) * dh + 1, (kw - 1) * dw + 1];

function checkGroups(fn: string, groups: unknown): number {
  if (!(Number.isInteger(groups) && (groups as number) >= 1))
    throw new TapegradError(fn, `groups must be a positive integer, got ${JSON.stringify(groups)}`);
  return groups as number;
}

/**
 * 2-D convolution (cross-correlation, as in PyTorch and TF.js) of images x [N, H, W, Cin] with a
 * filter w [kh, kw, Cin/groups, Cout]; the result is [N, H', W', Cout], with
 * H' = ⌊(H + 2·pad − dilation·(kh − 1) − 1)/stride⌋ + 1 for numeric padding (PyTorch's formula).
 * A dilated or grouped convolution runs as one plain convolution with a dilated, block-diagonal
 * filter (groups times the work of separate ones, one kernel instead of groups).
 * PyTorch `torch.nn.functional.conv2d`, JAX `jax.lax.conv_general_dilated`.
 */
export function conv2d(x: Tensor, w: Tensor, opts: Conv2dOptions = {}): Tensor {
  checkOptions('conv2d', opts, ['stride', 'padding', 'dilation', 'groups']);
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
      `the filter must be [kh, kw, inChannels/groups, outChannels], got shape ${fmtShape(f.shape)}`,
    );
  const groups = checkGroups('conv2d', opts.groups ?? 1);
  if (groups === 1 && t.shape[3] !== f.shape[2]) {
    throw new TapegradError(
      'conv2d',
      `the input has ${t.shape[3]} channels but the filter expects ${f.shape[2]}: input ${fmtShape(t.shape)}, filter ${fmtShape(f.shape)}`,
    );
  }
  if (groups > 1 && (t.shape[3] !== f.shape[2] * groups || f.shape[3] % groups !== 0)) {
    throw new TapegradError(
      'conv2d',
      `with ${groups} groups the filter must be [kh, kw, inChannels/${groups}, outChannels] with outChannels divisible by ${groups}: input ${fmtShape(t.shape)} has ${t.shape[3]} channels, filter ${fmtShape(f.shape)} expects ${f.shape[2]}·${groups} = ${f.shape[2] * groups}`,
    );
  }
  const strides = pair('conv2d', 'stride', opts.stride ?? 1, 1);
  const dilation = pair('conv2d', 'dilation', opts.dilation ?? 1, 1);
  const padding = opts.padding ?? 'valid';
  const k = effectiveKernel(f.shape.slice(0, 2) as Pair, dilation);
  const explicit = padding === 'valid' || padding === 'same' ? null : pair('conv2d', 'padding', padding, 0);
  const plain = groups === 1 && dilation[0] === 1 && dilation[1] === 1;
  if (explicit === null) {
    checkFits('conv2d', t.shape, k, padding as Pad);
    if (plain) return conv2dOp([t, f], { strides, pad: padding as Pad });
  } else {
    const [ph, pw] = explicit;
    checkFits('conv2d', [t.shape[0], t.shape[1] + 2 * ph, t.shape[2] + 2 * pw], k, 'valid');
    // the padded input is a tensor of its own: refused here, not by pad under its own name
    assertFits('conv2d', [t.shape[0], t.shape[1] + 2 * ph, t.shape[2] + 2 * pw, t.shape[3]], t.dtype);
  }
  return composed((keep) => {
    const W = plain ? f : dilateFilter(blockDiagonal(f, groups, keep), dilation, keep);
    if (explicit === null) return conv2dOp([t, W], { strides, pad: padding as Pad });
    // explicit zero padding is a pad op before a 'valid' convolution (its adjoint slices it off)
    const [ph, pw] = explicit;
    const padded =
      ph + pw === 0
        ? t
        : keep(
            padOp(t, [
              [0, 0],
              [ph, ph],
              [pw, pw],
              [0, 0],
            ]),
          );
    return conv2dOp([padded, W], { strides, pad: 'valid' });
  });
}
conv2d.rule = conv2dOp.rule;

/**
 * conv2d(x, w, opts) plus a bias b [Cout] on every output pixel (PyTorch's `F.conv2d(x, w, b)`): one
 * op, and on wasm one kernel, where the convolution is plain ('valid' or 'same', no groups or
 * dilation); otherwise conv2d, then add.
 */
export function conv2dWithBias(x: Tensor, w: Tensor, b: Tensor, opts: Conv2dOptions = {}): Tensor {
  const t = asTensor('conv2d', x, 'the input');
  const f = asTensor('conv2d', w, 'the filter');
  const bias = asTensor('conv2d', b, 'the bias');
  const { stride, padding = 'valid', dilation = 1, groups = 1 } = opts;
  const plain =
    groups === 1 &&
    (dilation === 1 || (Array.isArray(dilation) && dilation[0] === 1 && dilation[1] === 1)) &&
    (padding === 'valid' || padding === 'same') &&
    t.rank === 4 &&
    f.rank === 4 &&
    t.shape[3] === f.shape[2] &&
    bias.rank === 1 &&
    bias.shape[0] === f.shape[3];
  if (!plain) return composed((keep) => add(keep(conv2d(t, f, opts)), bias));
  checkOptions('conv2d', opts, ['stride', 'padding', 'dilation', 'groups']);
  checkFits('conv2d', t.shape, f.shape.slice(0, 2) as Pair, padding);
  return conv2dWithBiasOp([t, f, bias], { strides: pair('conv2d', 'stride', stride ?? 1, 1), pad: padding });
}
conv2dWithBias.rule = conv2dWithBiasOp.rule;

/** Options of conv1d: stride, padding, dilation and groups, each one number. */
export interface Conv1dOptions {
  /** Default 1. */
  stride?: number;
  /** 'valid' (none, the default), 'same' (output length ⌈L/stride⌉), or n zeros on each side. */
  padding?: Pad | number;
  /** Spacing between the filter's taps. Default 1. */
  dilation?: number;
  /** As conv2d's: the filter is [k, inChannels/groups, outChannels]. Default 1. */
  groups?: number;
}

function single(fn: string, what: string, v: unknown, min: number): number {
  if (!(Number.isInteger(v) && (v as number) >= min))
    throw new TapegradError(fn, `${what} must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  return v as number;
}

/**
 * 1-D convolution of sequences x [N, L, Cin] (NWC, channels last) with a filter w [k, Cin/groups,
 * Cout]; the result is [N, L', Cout], L' = ⌊(L + 2·pad − dilation·(k − 1) − 1)/stride⌋ + 1. It is
 * conv2d on [N, 1, L, Cin].
 * PyTorch `torch.nn.functional.conv1d` (which takes [N, Cin, L] and a filter [Cout, Cin/groups, k]).
 */
export function conv1d(x: Tensor, w: Tensor, opts: Conv1dOptions = {}): Tensor {
  checkOptions('conv1d', opts, ['stride', 'padding', 'dilation', 'groups']);
  const fn = 'conv1d';
  const t = asTensor(fn, x, 'the input');
  const f = asTensor(fn, w, 'the filter');
  if (t.rank !== 3)
    throw new TapegradError(fn, `the input must be NWC [batch, length, channels], got shape ${fmtShape(t.shape)}`);
  if (f.rank !== 3)
    throw new TapegradError(
      fn,
      `the filter must be [k, inChannels/groups, outChannels], got shape ${fmtShape(f.shape)}`,
    );
  const groups = checkGroups(fn, opts.groups ?? 1);
  if (t.shape[2] !== f.shape[1] * groups || f.shape[2] % groups !== 0)
    throw new TapegradError(
      fn,
      `the input has ${t.shape[2]} channels but the filter expects ${f.shape[1]}${groups > 1 ? `·${groups} groups = ${f.shape[1] * groups} (and outChannels divisible by ${groups})` : ''}: input ${fmtShape(t.shape)}, filter ${fmtShape(f.shape)}`,
    );
  const stride = single(fn, 'stride', opts.stride ?? 1, 1);
  const dilation = single(fn, 'dilation', opts.dilation ?? 1, 1);
  const padding = opts.padding ?? 'valid';
  const p = padding === 'valid' || padding === 'same' ? 0 : single(fn, 'padding', padding, 0);
  const k = (f.shape[0] - 1) * dilation + 1;
  if (padding !== 'same' && t.shape[1] + 2 * p < k)
    throw new TapegradError(
      fn,
      `a window of ${k} does not fit in a length of ${t.shape[1]}${p ? ` padded by ${p} on each side` : ''} (input ${fmtShape(t.shape)})`,
    );
  return composed((keep) => {
    const x4 = keep(reshape(t, [t.shape[0], 1, t.shape[1], t.shape[2]]));
    const w4 = keep(reshape(f, [1, ...f.shape]));
    const y = keep(
      conv2d(x4, w4, {
        stride: [1, stride],
        padding: typeof padding === 'number' ? [0, p] : padding,
        dilation: [1, dilation],
        groups,
      }),
    );
    return reshape(y, [y.shape[0], y.shape[2], y.shape[3]]);
  });
}

/** Options of convTranspose2d. */
export interface ConvTranspose2dOptions {
  /** n or [strideH, strideW]. Default 1. */
  stride?: number | Pair;
  /** Removed from each side of the full result (PyTorch's padding): n or [padH, padW]. Default 0. */
  padding?: number | Pair;
  /** Added to the bottom and right of the result, to pick among the sizes a stride allows: smaller than the stride or the dilation. Default 0. */
  outputPadding?: number | Pair;
  /** Spacing between the filter's taps. Default 1. */
  dilation?: number | Pair;
  /** As conv2d's: the filter is [kh, kw, inChannels, outChannels/groups]. Default 1. */
  groups?: number;
}

/**
 * Transposed 2-D convolution (the adjoint of conv2d in its input, sometimes called deconvolution) of
 * x [N, H, W, Cin] with a filter w [kh, kw, Cin, Cout/groups]; the result is [N, H', W', Cout] with
 * H' = (H − 1)·stride − 2·padding + dilation·(kh − 1) + outputPadding + 1 (PyTorch's formula).
 * PyTorch `torch.nn.functional.conv_transpose2d` (its weight [Cin, Cout/groups, kh, kw] is this
 * filter with the kernel axes moved first).
 */
export function convTranspose2d(x: Tensor, w: Tensor, opts: ConvTranspose2dOptions = {}): Tensor {
  checkOptions('convTranspose2d', opts, ['stride', 'padding', 'outputPadding', 'dilation', 'groups']);
  const fn = 'convTranspose2d';
  const t = asTensor(fn, x, 'the input');
  const f = asTensor(fn, w, 'the filter');
  if (t.rank !== 4)
    throw new TapegradError(
      fn,
      `the input must be NHWC [batch, height, width, channels], got shape ${fmtShape(t.shape)}`,
    );
  if (f.rank !== 4)
    throw new TapegradError(
      fn,
      `the filter must be [kh, kw, inChannels, outChannels/groups], got shape ${fmtShape(f.shape)}`,
    );
  const groups = checkGroups(fn, opts.groups ?? 1);
  if (t.shape[3] !== f.shape[2] || t.shape[3] % groups !== 0)
    throw new TapegradError(
      fn,
      `the input has ${t.shape[3]} channels but the filter expects ${f.shape[2]}${groups > 1 ? ` (divisible by ${groups} groups)` : ''}: input ${fmtShape(t.shape)}, filter ${fmtShape(f.shape)}`,
    );
  const strides = pair(fn, 'stride', opts.stride ?? 1, 1);
  const dilation = pair(fn, 'dilation', opts.dilation ?? 1, 1);
  const padding = pair(fn, 'padding', opts.padding ?? 0, 0);
  const outPad = pair(fn, 'outputPadding', opts.outputPadding ?? 0, 0);
  for (const i of [0, 1])
    if (outPad[i] >= strides[i] && outPad[i] >= dilation[i])
      throw new TapegradError(
        fn,
        `outputPadding ${JSON.stringify(opts.outputPadding)} must be smaller than the stride or the dilation (stride ${JSON.stringify(strides)}, dilation ${JSON.stringify(dilation)})`,
      );
  const k = effectiveKernel(f.shape.slice(0, 2) as Pair, dilation);
  const [N, H, W] = t.shape;
  const full: Pair = [(H - 1) * strides[0] + k[0], (W - 1) * strides[1] + k[1]];
  const out: Pair = [full[0] + outPad[0] - 2 * padding[0], full[1] + outPad[1] - 2 * padding[1]];
  if (out[0] < 1 || out[1] < 1)
    throw new TapegradError(
      fn,
      `padding ${JSON.stringify(padding)} leaves no output: the full result is ${full[0]}×${full[1]} (input ${fmtShape(t.shape)}, filter ${fmtShape(f.shape)})`,
    );
  const Cout = f.shape[3] * groups;
  // the full result is made before the padding is cut off: refused here, not by TF.js's kernel
  assertFits(fn, [N, full[0], full[1], Cout], 'float32');
  return composed((keep) => {
    // the filter of the convolution this one transposes: [kh, kw, Cout, Cin] (TF.js's layout)
    const grouped = blockDiagonal(keep(transpose(f, [0, 1, 3, 2])), groups, keep);
    const F = dilateFilter(grouped, dilation, keep);
    let y = keep(conv2dBackpropInput(t, F, [N, full[0], full[1], Cout], { strides, pad: 'valid' }));
    if (outPad[0] + outPad[1] > 0)
      y = keep(
        padOp(y, [
          [0, 0],
          [0, outPad[0]],
          [0, outPad[1]],
          [0, 0],
        ]),
      );
    if (padding[0] + padding[1] === 0) return y;
    return slice(y, [0, padding[0], padding[1], 0], [N, out[0], out[1], Cout]);
  });
}

// ---- pooling

const maxPool2dOp = defineOp<PoolAttrs>({
  name: 'maxPool2d',
  forward: ([x], { filterSize, strides, pad }) => tf.maxPool(x as tf.Tensor4D, filterSize, strides, pad),
  // x̄ = g added at each window's argmax (the first maximum, as PyTorch): one fused pass where not
  // recorded; recorded, a scatterAdd, whose adjoint (gather) gives second order, at the argmaxes of
  // src/backend/defects.ts.
  vjp: (g, [x], y, a) => [
    () => {
      if (!isGradEnabled()) return new Tensor(maxPoolGrad(g.value, x.value, y.value, a));
      const idx = new Tensor(maxPoolArgmaxWithoutKernel(x.value, y.value, a.filterSize, a.strides, a.pad));
      const flat = reshape(g, [-1]);
      const summed = scatterAddRows(flat, idx, 0, x.size);
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

/** Options of maxPool2d and avgPool2d: kernelSize, stride, padding, ceilMode (and countIncludePad). */
export interface Pool2dOptions {
  /** Window size: n or [kh, kw]. */
  kernelSize: number | Pair;
  /** Default: the kernel size (non-overlapping windows), as PyTorch. */
  stride?: number | Pair;
  /**
   * 'valid' (default), 'same' (TF's: output ⌈in/stride⌉), or n or [padH, padW] on each side, at most
   * half the window (PyTorch's padding: −∞ for the max, zeros for the mean).
   */
  padding?: Pad | number | Pair;
  /** Round the output size up rather than down (PyTorch's ceil_mode); each window still starts inside the input or its left padding. */
  ceilMode?: boolean;
  /** avgPool2d with numeric padding: the padding zeros count in each window's mean (PyTorch's count_include_pad; default true). */
  countIncludePad?: boolean;
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
  checkOptions(fn, o, ['kernelSize', 'stride', 'padding', 'ceilMode', 'countIncludePad']);
  pair(fn, 'kernelSize', o.kernelSize, 1);
  if (o.stride !== undefined) pair(fn, 'stride', o.stride, 1);
  return o;
}

function poolAttrs(fn: string, x: Tensor, opts: Pool2dOptions): PoolAttrs {
  // TF.js's pooling kernels take float32 only, and would refuse another dtype in their own words
  if (x.dtype !== 'float32') throw new TapegradError(fn, `the input must be float32, got ${x.dtype}`);
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

/** A pool with numeric padding or ceilMode: the padding on each side of each axis and the output size. */
interface PoolPlan {
  attrs: PoolAttrs;
  before: Pair;
  after: Pair;
  out: Pair;
}

/** PyTorch's pooling arithmetic, per axis: out = ⌊ or ⌈(n + 2p − k)/s⌉ + 1, less one if the last window would start in the right padding. */
function poolPlan(fn: string, x: Tensor, opts: Pool2dOptions): PoolPlan | null {
  const padding = opts.padding ?? 'valid';
  if (padding === 'same') {
    if (opts.ceilMode) throw new TapegradError(fn, "ceilMode needs numeric padding, not 'same'");
    return null;
  }
  if (padding === 'valid' && !opts.ceilMode) return null;
  if (typeof padding === 'string' && padding !== 'valid')
    throw new TapegradError(
      fn,
      `padding must be 'valid' or 'same', got ${JSON.stringify(padding)} (numbers pad each side: n or [padH, padW])`,
    );
  if (x.rank !== 4)
    throw new TapegradError(
      fn,
      `the input must be NHWC [batch, height, width, channels], got shape ${fmtShape(x.shape)}`,
    );
  const filterSize = pair(fn, 'kernelSize', opts.kernelSize, 1);
  const strides = pair(fn, 'stride', opts.stride ?? filterSize, 1);
  const p = padding === 'valid' ? ([0, 0] as Pair) : pair(fn, 'padding', padding, 0);
  const before: Pair = [0, 0];
  const after: Pair = [0, 0];
  const out: Pair = [0, 0];
  for (const i of [0, 1]) {
    const [n, k, s] = [x.shape[i + 1], filterSize[i], strides[i]];
    if (2 * p[i] > k)
      throw new TapegradError(
        fn,
        `padding ${JSON.stringify(padding)} must be at most half the window ${JSON.stringify(filterSize)} (as PyTorch)`,
      );
    if (n + 2 * p[i] < k)
      throw new TapegradError(
        fn,
        `a ${filterSize[0]}×${filterSize[1]} window does not fit in a ${x.shape[1]}×${x.shape[2]} image padded by ${JSON.stringify(p)} (input ${fmtShape(x.shape)})`,
      );
    let o = (opts.ceilMode ? Math.ceil : Math.floor)((n + 2 * p[i] - k) / s) + 1;
    if (opts.ceilMode && (o - 1) * s >= n + p[i]) o--;
    out[i] = o;
    before[i] = p[i];
    after[i] = Math.max(0, (o - 1) * s + k - n - p[i]);
  }
  return { attrs: { filterSize, strides, pad: 'valid' }, before, after, out };
}

/** x padded with `value` as a plan says. */
function padFor(x: Tensor, plan: PoolPlan, value: number, keep: Keep): Tensor {
  const { before: b, after: a } = plan;
  if (b[0] + b[1] + a[0] + a[1] === 0) return x;
  return keep(
    padOp(
      x,
      [
        [0, 0],
        [b[0], a[0]],
        [b[1], a[1]],
        [0, 0],
      ],
      value,
    ),
  );
}

/**
 * The maximum over each kernelSize window of x [N, H, W, C], per channel.
 * PyTorch `torch.nn.functional.max_pool2d`, JAX `flax.linen.max_pool`.
 * Departure: on wasm a window holding NaN gives a number where PyTorch gives NaN (XNNPACK's
 * comparisons: a NaN first in the window counts as −∞, a later one is passed over).
 */
export function maxPool2d(x: Tensor, window: PoolWindow, opts?: Omit<Pool2dOptions, 'kernelSize'>): Tensor {
  const t = asTensor('maxPool2d', x);
  const o = poolOptions('maxPool2d', window, opts);
  const plan = poolPlan('maxPool2d', t, o);
  if (!plan) return maxPool2dOp([t], poolAttrs('maxPool2d', t, o));
  // −∞ padding never wins a window: every window holds at least one entry of x
  return composed((keep) => maxPool2dOp([padFor(t, plan, -Infinity, keep)], plan.attrs));
}
maxPool2d.rule = maxPool2dOp.rule;

/**
 * The mean over each kernelSize window of x [N, H, W, C]. With 'same' padding, as tf.avgPool, a
 * border window averages its real entries only (PyTorch's count_include_pad: false); with numeric
 * padding, as PyTorch: the padding zeros count (countIncludePad, default true) but a ceilMode
 * window's part beyond the padding does not.
 * PyTorch `torch.nn.functional.avg_pool2d`, JAX `flax.linen.avg_pool`.
 */
export function avgPool2d(x: Tensor, window: PoolWindow, opts?: Omit<Pool2dOptions, 'kernelSize'>): Tensor {
  const t = asTensor('avgPool2d', x);
  const o = poolOptions('avgPool2d', window, opts);
  const plan = poolPlan('avgPool2d', t, o);
  if (plan) {
    return composed((keep) => {
      const mean = avgPool2dOp([padFor(t, plan, 0, keep)], plan.attrs);
      const scale = poolDivisorScale(t.shape, plan, o.countIncludePad ?? true);
      if (!scale) return mean;
      keep(mean);
      return mul(mean, keep(new Tensor(tf.tensor(scale, [plan.out[0], plan.out[1], 1]))));
    });
  }
  const a = poolAttrs('avgPool2d', t, o);
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

/**
 * kh·kw / PyTorch's divisor for each output of a padded average pool ([Ho·Wo]), or null where every
 * one is 1. The divisor counts a window's entries inside the padded input (countIncludePad) or
 * inside x only; it is a product of per-axis counts.
 */
function poolDivisorScale(shape: number[], plan: PoolPlan, includePad: boolean): Float32Array | null {
  const counts = [0, 1].map((i) => {
    const [n, k, s, p] = [shape[i + 1], plan.attrs.filterSize[i], plan.attrs.strides[i], plan.before[i]];
    return Array.from({ length: plan.out[i] }, (_, j) => {
      const start = j * s - p;
      const end = Math.min(start + k, n + p);
      return includePad ? end - start : Math.min(end, n) - Math.max(start, 0);
    });
  });
  const full = plan.attrs.filterSize[0] * plan.attrs.filterSize[1];
  const scale = new Float32Array(plan.out[0] * plan.out[1]);
  let trivial = true;
  counts[0].forEach((ch, i) =>
    counts[1].forEach((cw, j) => {
      scale[i * plan.out[1] + j] = full / (ch * cw);
      if (ch * cw !== full) trivial = false;
    }),
  );
  return trivial ? null : scale;
}

// ---- adaptive pooling and resampling: linear maps along the height and the width, applied as two
// matrix products with constant [out, in] matrices (their adjoints are the transposed products)

/** x [N, H, W, C] mapped along H by A [Ho, H] and along W by B [Wo, W] (null: unchanged). */
/** Refuses a resampling of a non-float input, or whose output or matrices cannot be made, before the matrices are built in JavaScript. */
function assertResampledFits(fn: string, x: Tensor, Ho: number, Wo: number): void {
  // the resampling matrices are float32: an int32 input would reach matmul's dtype check under its name
  if (x.dtype !== 'float32') throw new TapegradError(fn, `the input must be float32, got ${x.dtype}`);
  const [N, H, W, C] = x.shape;
  assertFits(fn, [N, Ho, Wo, C], 'float32');
  assertFits(fn, [Ho, H], 'float32');
  assertFits(fn, [Wo, W], 'float32');
}
function separable(x: Tensor, A: Float32Array | null, Ho: number, B: Float32Array | null, Wo: number): Tensor {
  const [N, H, W, C] = x.shape;
  return composed((keep) => {
    let y = x;
    if (A) {
      const a = keep(new Tensor(tf.tensor(A, [Ho, H])));
      const rows = keep(matmul(a, keep(reshape(y, [N, H, W * C])))); // [N, Ho, W·C]
      y = keep(reshape(rows, [N, Ho, W, C]));
    }
    if (B) {
      const b = keep(new Tensor(tf.tensor(B, [Wo, W])));
      const cols = keep(matmul(b, keep(reshape(y, [N * Ho, W, C])))); // [N·Ho, Wo, C]
      y = keep(reshape(cols, [N, Ho, Wo, C]));
    }
    return y === x ? reshape(x, x.shape) : y;
  });
}

/** PyTorch's adaptive average: output i averages entries ⌊i·n/o⌋ … ⌈(i+1)·n/o⌉ − 1. [o, n], or null for o = n. */
function adaptiveMatrix(n: number, o: number): Float32Array | null {
  if (n === o) return null;
  const m = new Float32Array(o * n);
  for (let i = 0; i < o; i++) {
    const start = Math.floor((i * n) / o);
    const end = Math.ceil(((i + 1) * n) / o);
    for (let j = start; j < end; j++) m[i * n + j] = 1 / (end - start);
  }
  return m;
}

/**
 * The mean over windows that divide x [N, H, W, C] into an outputSize grid (PyTorch's windows:
 * output i covers ⌊i·H/Ho⌋ … ⌈(i+1)·H/Ho⌉ − 1, so windows may overlap); outputSize is n, [Ho, Wo],
 * with null for a size kept as it is. The result is [N, Ho, Wo, C].
 * PyTorch `torch.nn.functional.adaptive_avg_pool2d`.
 */
export function adaptiveAvgPool2d(x: Tensor, outputSize: number | [number | null, number | null]): Tensor {
  const fn = 'adaptiveAvgPool2d';
  const t = asTensor(fn, x);
  if (t.rank !== 4)
    throw new TapegradError(
      fn,
      `the input must be NHWC [batch, height, width, channels], got shape ${fmtShape(t.shape)}`,
    );
  const sizes = typeof outputSize === 'number' ? [outputSize, outputSize] : outputSize;
  if (!Array.isArray(sizes) || sizes.length !== 2 || !sizes.every((v) => v === null || (Number.isInteger(v) && v >= 1)))
    throw new TapegradError(
      fn,
      `outputSize must be a positive integer or a pair of them (null keeps a size), got ${JSON.stringify(outputSize)}`,
    );
  const [Ho, Wo] = [sizes[0] ?? t.shape[1], sizes[1] ?? t.shape[2]];
  assertResampledFits(fn, t, Ho, Wo);
  return separable(t, adaptiveMatrix(t.shape[1], Ho), Ho, adaptiveMatrix(t.shape[2], Wo), Wo);
}

/** Options of interpolate (and nn.Upsample): one of size and scaleFactor, mode and alignCorners. */
export interface InterpolateOptions {
  /** The output's [height, width] (or one number for both). */
  size?: number | Pair;
  /** The output is ⌊in·scaleFactor⌋ per axis: n or [sh, sw]. */
  scaleFactor?: number | Pair;
  /** 'nearest' (the default) or 'bilinear'. */
  mode?: 'nearest' | 'bilinear';
  /** bilinear only: the corner pixels' centres of input and output coincide (PyTorch's align_corners; default false). */
  alignCorners?: boolean;
}

/**
 * [out, n]: output j reads input positions as PyTorch does. nearest: ⌊j·scale⌋; bilinear: the
 * two neighbours of (j + ½)·scale − ½ (clamped at 0), or of j·(n − 1)/(out − 1) with alignCorners;
 * scale is 1/scaleFactor when given, else n/out. Null where the map is the identity.
 */
function interpolationMatrix(
  n: number,
  out: number,
  mode: 'nearest' | 'bilinear',
  alignCorners: boolean,
  scaleFactor: number | null,
): Float32Array | null {
  const scale = scaleFactor ? 1 / scaleFactor : n / out;
  const m = new Float32Array(out * n);
  let identity = n === out;
  for (let j = 0; j < out; j++) {
    if (mode === 'nearest') {
      const i = Math.min(Math.floor(j * scale), n - 1);
      m[j * n + i] = 1;
      if (i !== j) identity = false;
      continue;
    }
    const src = alignCorners ? (out > 1 ? (j * (n - 1)) / (out - 1) : 0) : Math.max((j + 0.5) * scale - 0.5, 0);
    const i0 = Math.min(Math.floor(src), n - 1);
    const i1 = Math.min(i0 + 1, n - 1);
    const l1 = src - i0;
    m[j * n + i0] += 1 - l1;
    m[j * n + i1] += l1;
    if (i0 !== j || l1 !== 0) identity = false;
  }
  return identity ? null : m;
}

/**
 * Resizes images x [N, H, W, C] to a size or by a scale factor, by nearest neighbour or bilinear
 * interpolation, with PyTorch's coordinate conventions (so results match torch's, which differ from
 * TF.js's resizeBilinear at the borders).
 * PyTorch `torch.nn.functional.interpolate` (modes 'nearest' and 'bilinear').
 */
export function interpolate(x: Tensor, opts: InterpolateOptions): Tensor {
  checkOptions('interpolate', opts, ['size', 'scaleFactor', 'mode', 'alignCorners']);
  const fn = 'interpolate';
  const t = asTensor(fn, x);
  if (t.rank !== 4)
    throw new TapegradError(
      fn,
      `the input must be NHWC [batch, height, width, channels], got shape ${fmtShape(t.shape)}`,
    );
  if (opts === null || typeof opts !== 'object')
    throw new TapegradError(fn, `options { size } or { scaleFactor } are required, got ${JSON.stringify(opts)}`);
  const mode = opts.mode ?? 'nearest';
  if (mode !== 'nearest' && mode !== 'bilinear')
    throw new TapegradError(fn, `mode must be 'nearest' or 'bilinear', got ${JSON.stringify(mode)}`);
  if (mode === 'nearest' && opts.alignCorners !== undefined)
    throw new TapegradError(fn, "alignCorners applies to mode 'bilinear' only (as PyTorch)");
  if ((opts.size === undefined) === (opts.scaleFactor === undefined))
    throw new TapegradError(fn, 'give one of size and scaleFactor');
  let out: Pair;
  let factors: [number | null, number | null] = [null, null];
  if (opts.size !== undefined) out = pair(fn, 'size', opts.size, 1);
  else {
    const f = opts.scaleFactor!;
    const fs = typeof f === 'number' ? [f, f] : Array.isArray(f) && f.length === 2 ? f : [NaN, NaN];
    if (!fs.every((v) => v > 0 && Number.isFinite(v)))
      throw new TapegradError(fn, `scaleFactor must be a positive number or a pair of them, got ${JSON.stringify(f)}`);
    out = [Math.floor(t.shape[1] * fs[0]), Math.floor(t.shape[2] * fs[1])];
    if (out[0] < 1 || out[1] < 1)
      throw new TapegradError(fn, `scaleFactor ${JSON.stringify(f)} leaves no output for input ${fmtShape(t.shape)}`);
    factors = [fs[0], fs[1]];
  }
  const align = !!opts.alignCorners;
  assertResampledFits(fn, t, out[0], out[1]);
  return separable(
    t,
    interpolationMatrix(t.shape[1], out[0], mode, align, factors[0]),
    out[0],
    interpolationMatrix(t.shape[2], out[1], mode, align, factors[1]),
    out[1],
  );
}

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
