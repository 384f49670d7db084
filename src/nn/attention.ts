// Attention: scaledDotProductAttention, MultiheadAttention and TransformerEncoderLayer, batch first
// ([N, L, E]) and composed of tapegrad ops; Linear weights are [in, out] as everywhere in tg.nn.
import * as tf from '@tensorflow/tfjs-core';
import { TapegradError, checkOptions, fmtShape } from '../errors.js';
import { Tensor } from '../tensor.js';
import { asTensor, describe, composed } from '../op.js';
import { add, mul, relu, gelu } from '../ops/elementwise.js';
import { reshape, transpose, slice, unbind } from '../ops/shape.js';
import { matmul, linear } from '../ops/matrix.js';
import { scaledSoftmax, selfAttention, softmax } from '../ops/nn.js';
import { hasFused } from '../backend/fused.js';
import { Module } from './module.js';
import { Linear, LayerNorm, Dropout, positiveInts, seedPlus } from './layers.js';
import { glorotUniform } from './init.js';

/** Options of scaledDotProductAttention: mask, causality, dropout. */
export interface AttentionOptions {
  /**
   * Added to the scores [..., L, S] (broadcast): a float tensor, or a bool tensor where true means
   * the position takes part and false that it is masked out (PyTorch's scaled_dot_product_attention).
   */
  mask?: Tensor;
  /** Mask out the future: query i attends to keys j ≤ i. */
  isCausal?: boolean;
  /** Dropout probability on the attention weights (default 0; applied whenever > 0). */
  dropout?: number;
  /** Seed of the dropout mask. */
  seed?: number;
  /** The scores' scale (default 1/√E). */
  scale?: number;
}

/**
 * softmax(q·kᵀ·scale + mask)·v: q [..., L, E], k [..., S, E], v [..., S, Ev]. `readWeights`, if
 * given, makes what the caller gets of the weights (a new TF.js tensor, the caller's): the weights
 * themselves belong to the output, which frees them at once when no graph holds them.
 */
export function attention(
  fn: string,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: AttentionOptions,
  readWeights?: (w: tf.Tensor) => tf.Tensor,
): { output: Tensor; weights: Tensor | null } {
  const [L, E] = q.shape.slice(-2);
  const S = k.shape[k.rank - 2];
  if (q.rank < 2 || k.rank !== q.rank || v.rank !== q.rank || k.shape[k.rank - 1] !== E || v.shape[v.rank - 2] !== S) {
    throw new TapegradError(
      fn,
      `expected query [..., L, E], key [..., S, E] and value [..., S, Ev] of one rank, got ${fmtShape(q.shape)}, ${fmtShape(k.shape)} and ${fmtShape(v.shape)}`,
    );
  }
  const p = opts.dropout ?? 0;
  if (!(p >= 0 && p < 1)) throw new TapegradError(fn, `dropout must be in [0, 1), got ${p}`);
  const scale = opts.scale ?? 1 / Math.sqrt(E);
  if (!(typeof scale === 'number' && Number.isFinite(scale)))
    throw new TapegradError(fn, `scale must be a finite number, got ${describe(scale)}`);
  const mask = opts.mask === undefined ? null : asTensor(fn, opts.mask, 'the mask');
  if (mask && (mask.rank < 2 || !broadcastsTo(mask.shape, [...q.shape.slice(0, -2), L, S]))) {
    throw new TapegradError(
      fn,
      `the mask of shape ${fmtShape(mask.shape)} does not broadcast to the scores' [..., ${L}, ${S}] (batch ${fmtShape(q.shape.slice(0, -2))})`,
    );
  }
  if (mask && mask.dtype === 'int32')
    throw new TapegradError(fn, 'the mask must be bool (true: take part) or float32 (added), got int32');
  let weights: Tensor | null = null;
  const output = composed((keep) => {
    const products = keep(matmul(q, k, { transposeB: true }));
    let w: Tensor;
    if (!mask && scale > 0 && q.dtype === 'float32') {
      // the scale and the causal mask inside the softmax: one op, one pass on cpu and wasm
      w = keep(scaledSoftmax(products, scale, opts.isCausal === true));
    } else {
      let scores = keep(mul(products, scale));
      // a float mask is an input like any other (differentiable); bool and causal masks are constants
      if (mask?.dtype === 'float32') scores = keep(add(scores, mask));
      const constant = additiveMask(mask?.dtype === 'bool' ? mask : null, opts.isCausal ? L : 0, S);
      if (constant) scores = keep(add(scores, keep(constant)));
      w = keep(softmax(scores, -1));
    }
    if (readWeights) weights = new Tensor(tf.tidy(() => readWeights(w.value)));
    if (p > 0) {
      const drop = keep(
        new Tensor(
          tf.tidy(() =>
            tf.div(
              tf.cast(tf.greaterEqual(tf.randomUniform(w.shape, 0, 1, 'float32', opts.seed), p), 'float32'),
              1 - p,
            ),
          ),
        ),
      );
      w = keep(mul(w, drop));
    }
    return matmul(w, v);
  });
  return { output, weights };
}

/** A constant mask to add to the scores: a bool mask (true → 0, false → −∞) plus the causal one. */
function additiveMask(mask: Tensor | null, causalL: number, S: number): Tensor | null {
  if (!mask && !causalL) return null;
  return new Tensor(
    tf.tidy(() => {
      let m: tf.Tensor | null = null;
      if (mask) m = tf.where(mask.value, tf.zeros(mask.shape), tf.fill(mask.shape, -Infinity));
      if (causalL) {
        const causal = causalMask(causalL, S);
        m = m ? tf.add(m, causal) : causal;
      }
      return m!;
    }),
  );
}

/** [L, S]: 0 where key j ≤ query i, −∞ after (raw TF.js, for a tidy). */
function causalMask(L: number, S: number): tf.Tensor {
  const allowed = tf.lessEqual(
    tf.reshape(tf.range(0, S, 1, 'int32'), [1, S]),
    tf.reshape(tf.range(0, L, 1, 'int32'), [L, 1]),
  );
  return tf.where(allowed, tf.zeros([L, S]), tf.fill([L, S], -Infinity));
}

function broadcastsTo(shape: number[], target: number[]): boolean {
  if (shape.length > target.length) return false;
  return shape.every((d, i) => d === 1 || d === target[target.length - shape.length + i]);
}

/**
 * softmax(q·kᵀ/√E + mask)·v (PyTorch's scaled_dot_product_attention): q [..., L, E], k [..., S, E],
 * v [..., S, Ev] → [..., L, Ev]. A bool mask says which positions take part (true); a float one is
 * added; isCausal masks out keys after each query. A row with every key masked out is NaN, as PyTorch.
 */
export function scaledDotProductAttention(
  query: Tensor,
  key: Tensor,
  value: Tensor,
  opts: AttentionOptions = {},
): Tensor {
  const fn = 'scaledDotProductAttention';
  checkOptions(fn, opts, ['mask', 'isCausal', 'dropout', 'seed', 'scale']);
  const q = asTensor(fn, query, 'the query');
  const k = asTensor(fn, key, 'the key');
  const v = asTensor(fn, value, 'the value');
  if (opts === null || typeof opts !== 'object')
    throw new TapegradError(fn, `options must be an object, got ${describe(opts)}`);
  if (opts.isCausal && opts.mask) throw new TapegradError(fn, 'give a mask or isCausal, not both (as PyTorch)');
  return attention(fn, q, k, v, opts).output;
}

/** Options of MultiheadAttention: biases, dropout, seed. */
export interface MultiheadAttentionOptions {
  /** Biases on the input and output projections (default true). */
  bias?: boolean;
  /** Dropout on the attention weights in training (default 0). */
  dropout?: number;
  /** Seed of the initial weights and of the dropout masks. */
  seed?: number;
}

/** Options of MultiheadAttention's forward: the attention and key-padding masks, causality. */
export interface MultiheadForwardOptions {
  /**
   * [L, S] or [N·numHeads, L, S]: bool, where true means *not allowed to attend* (PyTorch's
   * MultiheadAttention convention, the opposite of scaledDotProductAttention's), or float, added.
   */
  attnMask?: Tensor;
  /** Shape [N, S]: bool, true for keys to ignore (padding), or float, added. */
  keyPaddingMask?: Tensor;
  /** Query i attends to keys j ≤ i. */
  isCausal?: boolean;
  /** Average the weights over the heads (default true) or keep them per head. */
  averageAttnWeights?: boolean;
}

/**
 * Multi-head attention (PyTorch's MultiheadAttention with batch_first=True): query [N, L, E], key
 * and value [N, S, E] → [N, L, E]. forward(x) is self-attention; attend() also gives the weights
 * [N, L, S] (or [N, heads, L, S]). Parameters: inProjWeight [E, 3E] (PyTorch's in_proj_weight
 * transposed, [in, out]), inProjBias [3E], outProj (a Linear E → E).
 */
export class MultiheadAttention extends Module {
  readonly inProjWeight: Tensor;
  readonly inProjBias: Tensor | null;
  readonly outProj: Linear;
  readonly headDim: number;
  readonly dropout: number;
  private calls = 0;
  constructor(
    readonly embedDim: number,
    readonly numHeads: number,
    readonly opts: MultiheadAttentionOptions = {},
  ) {
    super();
    positiveInts('MultiheadAttention', { embedDim, numHeads });
    checkOptions('MultiheadAttention', opts, ['bias', 'dropout', 'seed']);
    if (embedDim % numHeads !== 0)
      throw new TapegradError('MultiheadAttention', `embedDim ${embedDim} must be divisible by numHeads ${numHeads}`);
    this.dropout = opts.dropout ?? 0;
    if (!(this.dropout >= 0 && this.dropout < 1))
      throw new TapegradError('MultiheadAttention', `dropout must be in [0, 1), got ${opts.dropout}`);
    this.headDim = embedDim / numHeads;
    // PyTorch's init: Xavier-uniform in_proj_weight (fans of the [3E, E] matrix), zero biases
    this.inProjWeight = this.registerParameter(
      'inProjWeight',
      glorotUniform([embedDim, 3 * embedDim], { seed: opts.seed }),
    );
    this.inProjBias = opts.bias === false ? null : this.registerParameter('inProjBias', tf.zeros([3 * embedDim]));
    this.outProj = this.registerModule(
      'outProj',
      new Linear(embedDim, embedDim, { bias: opts.bias, seed: seedPlus(opts.seed, 1) }),
    );
    if (this.outProj.bias) {
      const zero = tf.keep(tf.zerosLike(this.outProj.bias.value));
      this.outProj.bias.value.dispose();
      this.outProj.bias.value = zero;
    }
  }
  override describe(): string {
    return `MultiheadAttention(${this.embedDim}, heads=${this.numHeads})`;
  }
  override forward(query: Tensor, key?: Tensor, value?: Tensor, opts: MultiheadForwardOptions = {}): Tensor {
    return this.attention(query, key ?? query, value ?? key ?? query, opts, false).output;
  }
  /** The output and the attention weights (averaged over the heads unless told): both the caller's. */
  attend(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    opts: MultiheadForwardOptions = {},
  ): { output: Tensor; weights: Tensor } {
    const { output, weights } = this.attention(query, key, value, opts, true);
    return { output, weights: weights! };
  }
  /** The output, and the weights when asked (forward does not read them: they are not computed). */
  private attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    opts: MultiheadForwardOptions,
    withWeights: boolean,
  ): { output: Tensor; weights: Tensor | null } {
    const fn = 'MultiheadAttention';
    checkOptions(fn, opts, ['attnMask', 'keyPaddingMask', 'isCausal', 'averageAttnWeights']);
    const q = asTensor(fn, query, 'the query');
    const k = asTensor(fn, key, 'the key');
    const v = asTensor(fn, value, 'the value');
    const E = this.embedDim;
    const H = this.numHeads;
    for (const [what, t] of [
      ['query', q],
      ['key', k],
      ['value', v],
    ] as const) {
      if (t.rank !== 3 || t.shape[2] !== E)
        throw new TapegradError(
          fn,
          `expected the ${what} of shape [N, L, ${E}] (batch first), got ${fmtShape(t.shape)} (layer ${this.describe()})`,
        );
    }
    const [N, L] = q.shape;
    const S = k.shape[1];
    if (k.shape[0] !== N || v.shape[0] !== N || v.shape[1] !== S) {
      throw new TapegradError(
        fn,
        `query ${fmtShape(q.shape)}, key ${fmtShape(k.shape)} and value ${fmtShape(v.shape)} must share N, and key and value S (layer ${this.describe()})`,
      );
    }
    let weights: Tensor | null = null;
    // the causal mask alone goes into the softmax (attention's isCausal), not added as a tensor
    const causalOnly = opts.isCausal === true && opts.attnMask === undefined && opts.keyPaddingMask === undefined;
    const unmasked = opts.attnMask === undefined && opts.keyPaddingMask === undefined;
    const dropout = this.training ? this.dropout : 0;
    // the dropout masks' seed, one per call
    const nextSeed = () => (this.opts.seed === undefined ? undefined : this.opts.seed + 2 + this.calls++);
    if (
      q === k &&
      k === v &&
      unmasked &&
      dropout === 0 &&
      !withWeights &&
      q.dtype === 'float32' &&
      hasFused('selfAttention')
    ) {
      // self-attention as one op from the projection to the heads side by side (src/ops/nn.ts)
      nextSeed();
      const output = composed((keep) => {
        const y = keep(linear(keep(reshape(q, [-1, E])), this.inProjWeight, this.inProjBias));
        const o = keep(selfAttention(keep(reshape(y, [N, L, 3 * E])), H, 1 / Math.sqrt(this.headDim), causalOnly));
        return reshape(keep(this.outProj.forward(keep(reshape(o, [N * L, E])))), [N, L, E]);
      });
      return { output, weights: null };
    }
    const output = composed((keep) => {
      const proj = (x: Tensor, part: number) => {
        const w = keep(slice(this.inProjWeight, [0, part * E], [E, E]));
        const b = this.inProjBias ? keep(slice(this.inProjBias, [part * E], [E])) : null;
        const y = keep(linear(keep(reshape(x, [-1, E])), w, b));
        // [N, T, E] → [N, H, T, D]
        return keep(transpose(keep(reshape(y, [x.shape[0], x.shape[1], H, this.headDim])), [0, 2, 1, 3]));
      };
      // self-attention: the three projections as one product, [N, L, 3E] → [3, N, H, L, D] by one
      // transpose, then its three slices (one node on the tape, whose adjoint stacks them back)
      const fused = (x: Tensor) => {
        const y = keep(linear(keep(reshape(x, [-1, E])), this.inProjWeight, this.inProjBias));
        const heads = keep(transpose(keep(reshape(y, [N, L, 3, H, this.headDim])), [2, 0, 3, 1, 4]));
        return unbind(heads, 0).map(keep);
      };
      const [qh, kh, vh] = q === k && k === v ? fused(q) : [proj(q, 0), proj(k, 1), proj(v, 2)];
      const mask = causalOnly ? null : this.combinedMask(opts, N, L, S, keep);
      const seed = nextSeed();
      const att = attention(
        fn,
        qh,
        kh,
        vh,
        { mask: mask ?? undefined, isCausal: causalOnly, dropout, seed },
        withWeights ? (w) => (opts.averageAttnWeights === false ? w.clone() : tf.mean(w, 1)) : undefined,
      );
      keep(att.output);
      weights = att.weights;
      const merged = keep(reshape(keep(transpose(att.output, [0, 2, 1, 3])), [N * L, E]));
      return reshape(keep(this.outProj.forward(merged)), [N, L, E]);
    });
    return { output, weights };
  }
  /**
   * attnMask, keyPaddingMask and isCausal as one float mask (broadcasting to [N, H, L, S]), or null.
   * Bool masks and the causal one are constants; float masks are inputs (differentiable), as PyTorch.
   */
  private combinedMask(
    opts: MultiheadForwardOptions,
    N: number,
    L: number,
    S: number,
    keep: <T extends Tensor>(t: T) => T,
  ): Tensor | null {
    const fn = 'MultiheadAttention';
    const H = this.numHeads;
    const asFloat = (m: Tensor, what: string, shape: number[]): Tensor => {
      if (m.dtype === 'bool')
        return keep(
          new Tensor(
            tf.tidy(() => tf.reshape(tf.where(m.value, tf.fill(m.shape, -Infinity), tf.zeros(m.shape)), shape)),
          ),
        );
      if (m.dtype === 'float32') return keep(reshape(m, shape));
      throw new TapegradError(fn, `${what} must be bool or float32, got ${m.dtype}`);
    };
    const parts: Tensor[] = [];
    if (opts.attnMask !== undefined) {
      const m = asTensor(fn, opts.attnMask, 'attnMask');
      if (m.rank === 2 && m.shape[0] === L && m.shape[1] === S) parts.push(asFloat(m, 'attnMask', [L, S]));
      else if (m.rank === 3 && m.shape.join() === [N * H, L, S].join())
        parts.push(asFloat(m, 'attnMask', [N, H, L, S]));
      else {
        throw new TapegradError(
          fn,
          `attnMask must be [L, S] = [${L}, ${S}] or [N·heads, L, S] = [${N * H}, ${L}, ${S}], got ${fmtShape(m.shape)}`,
        );
      }
    }
    if (opts.keyPaddingMask !== undefined) {
      const m = asTensor(fn, opts.keyPaddingMask, 'keyPaddingMask');
      if (m.rank !== 2 || m.shape[0] !== N || m.shape[1] !== S) {
        throw new TapegradError(fn, `keyPaddingMask must be [N, S] = [${N}, ${S}], got ${fmtShape(m.shape)}`);
      }
      parts.push(asFloat(m, 'keyPaddingMask', [N, 1, 1, S]));
    }
    if (opts.isCausal) parts.push(keep(new Tensor(tf.tidy(() => causalMask(L, S)))));
    if (!parts.length) return null;
    return parts.reduce((a, b) => keep(add(a, b)));
  }
}

/** Options of TransformerEncoderLayer: feed-forward width, dropout, activation, norm placement. */
export interface TransformerEncoderLayerOptions {
  /** Width of the feed-forward block (default 2048). */
  dimFeedforward?: number;
  /** Dropout after attention, inside and after the feed-forward block (default 0.1). */
  dropout?: number;
  activation?: 'relu' | 'gelu';
  /** LayerNorm before each block (pre-norm) rather than after (default false, as PyTorch). */
  normFirst?: boolean;
  layerNormEps?: number;
  bias?: boolean;
  /** Seed of the initial weights and the dropout masks. */
  seed?: number;
}

/**
 * One transformer encoder block (PyTorch's TransformerEncoderLayer, batch_first=True): x [N, L, d] →
 * [N, L, d]. Post-norm: x = norm1(x + sa(x)), x = norm2(x + ff(x)); pre-norm (normFirst):
 * x = x + sa(norm1(x)), x = x + ff(norm2(x)); ff(x) = linear2(dropout(act(linear1(x)))).
 */
export class TransformerEncoderLayer extends Module {
  readonly selfAttn: MultiheadAttention;
  readonly linear1: Linear;
  readonly linear2: Linear;
  readonly norm1: LayerNorm;
  readonly norm2: LayerNorm;
  readonly dropout: Dropout;
  readonly dropout1: Dropout;
  readonly dropout2: Dropout;
  readonly activation: 'relu' | 'gelu';
  readonly normFirst: boolean;
  constructor(
    readonly dModel: number,
    readonly nHead: number,
    opts: TransformerEncoderLayerOptions = {},
  ) {
    super();
    positiveInts('TransformerEncoderLayer', { dModel, nHead });
    checkOptions('TransformerEncoderLayer', opts, [
      'dimFeedforward',
      'dropout',
      'activation',
      'normFirst',
      'layerNormEps',
      'bias',
      'seed',
    ]);
    const ff = opts.dimFeedforward ?? 2048;
    positiveInts('TransformerEncoderLayer', { dimFeedforward: ff });
    const p = opts.dropout ?? 0.1;
    if (!(p >= 0 && p < 1))
      throw new TapegradError('TransformerEncoderLayer', `dropout must be in [0, 1), got ${opts.dropout}`);
    this.activation = opts.activation ?? 'relu';
    if (this.activation !== 'relu' && this.activation !== 'gelu')
      throw new TapegradError(
        'TransformerEncoderLayer',
        `activation must be 'relu' or 'gelu', got ${describe(opts.activation)}`,
      );
    this.normFirst = opts.normFirst ?? false;
    const s = opts.seed;
    this.selfAttn = this.registerModule(
      'selfAttn',
      new MultiheadAttention(dModel, nHead, { dropout: p, bias: opts.bias, seed: s }),
    );
    this.linear1 = this.registerModule('linear1', new Linear(dModel, ff, { bias: opts.bias, seed: seedPlus(s, 10) }));
    this.dropout = this.registerModule('dropout', new Dropout(p, { seed: seedPlus(s, 20) }));
    this.linear2 = this.registerModule('linear2', new Linear(ff, dModel, { bias: opts.bias, seed: seedPlus(s, 30) }));
    this.norm1 = this.registerModule('norm1', new LayerNorm(dModel, { eps: opts.layerNormEps }));
    this.norm2 = this.registerModule('norm2', new LayerNorm(dModel, { eps: opts.layerNormEps }));
    this.dropout1 = this.registerModule('dropout1', new Dropout(p, { seed: seedPlus(s, 40) }));
    this.dropout2 = this.registerModule('dropout2', new Dropout(p, { seed: seedPlus(s, 50) }));
  }
  override describe(): string {
    return `TransformerEncoderLayer(d=${this.dModel}, heads=${this.nHead}${this.normFirst ? ', normFirst' : ''})`;
  }
  override forward(
    src: Tensor,
    opts: { srcMask?: Tensor; srcKeyPaddingMask?: Tensor; isCausal?: boolean } = {},
  ): Tensor {
    checkOptions('TransformerEncoderLayer', opts, ['srcMask', 'srcKeyPaddingMask', 'isCausal']);
    const x = asTensor('TransformerEncoderLayer', src, 'the input');
    if (x.rank !== 3 || x.shape[2] !== this.dModel) {
      throw new TapegradError(
        'TransformerEncoderLayer',
        `expected input of shape [N, L, ${this.dModel}] (batch first), got ${fmtShape(x.shape)} (layer ${this.describe()})`,
      );
    }
    return composed((keep) => {
      const sa = (h: Tensor) =>
        keep(
          this.dropout1.forward(
            keep(
              this.selfAttn.forward(h, h, h, {
                attnMask: opts.srcMask,
                keyPaddingMask: opts.srcKeyPaddingMask,
                isCausal: opts.isCausal,
              }),
            ),
          ),
        );
      const ff = (h: Tensor) => {
        const a = keep(this.linear1.forward(h));
        const act = keep(this.activation === 'relu' ? relu(a) : gelu(a));
        return keep(this.dropout2.forward(keep(this.linear2.forward(keep(this.dropout.forward(act))))));
      };
      if (this.normFirst) {
        const h = keep(add(x, sa(keep(this.norm1.forward(x)))));
        return add(h, ff(keep(this.norm2.forward(h))));
      }
      const h = keep(this.norm1.forward(keep(add(x, sa(x)))));
      return this.norm2.forward(keep(add(h, ff(h))));
    });
  }
}
