// Recurrent layers: RNN, GRU and LSTM over sequences, and their cells. Weights are [in, out] as
// Linear's (the transpose of PyTorch's [gates·H, in]); each forward computes the input projections
// of every time step in one matmul, then one matmul per step for all the gates of the hidden state.
import * as tf from '@tensorflow/tfjs-core';
import { TapegradError, checkOptions, fmtShape } from '../errors.js';
import { Tensor } from '../tensor.js';
import { asTensor, describe, composed } from '../op.js';
import { add, sub, mul, relu, tanh, sigmoid } from '../ops/elementwise.js';
import { reshape, transpose, slice, stack, concat, split, unbind } from '../ops/shape.js';
import { linear } from '../ops/matrix.js';
import { Module } from './module.js';
import { positiveInts, seedPlus } from './layers.js';
import { defaultUniform } from './init.js';

type Keep = <T extends Tensor>(t: T) => T;
type Kind = 'RNN' | 'GRU' | 'LSTM';
/** The activation of RNN and RNNCell. */
export type Nonlinearity = 'tanh' | 'relu';
const GATES: Record<Kind, number> = { RNN: 1, GRU: 3, LSTM: 4 };

/** Options of RNN, GRU and LSTM (PyTorch's, in camelCase). */
export interface RecurrentOptions {
  /** Stacked layers; layer l > 0 reads layer l − 1's output (default 1). */
  numLayers?: number;
  /** Input and output are [B, T, ·] rather than [T, B, ·]; the states stay [layers·directions, B, H]. */
  batchFirst?: boolean;
  /** A second pass over the reversed sequence; outputs are [forward, backward] along the last axis. */
  bidirectional?: boolean;
  /** The biases biasIh and biasHh (default true). */
  bias?: boolean;
  /** Dropout on the outputs of every layer but the last, in training (default 0). */
  dropout?: number;
  /** Seed of the initial weights (parameter k uses seed + k) and of the dropout masks. */
  seed?: number;
}
/** Options of RNN: RecurrentOptions and the nonlinearity. */
export interface RNNOptions extends RecurrentOptions {
  /** h' = act(x·Wih + bih + h·Whh + bhh) with act tanh (default) or relu. */
  nonlinearity?: Nonlinearity;
}
/** Options of the cells: bias and seed (and the nonlinearity for RNNCell). */
export interface RecurrentCellOptions {
  /** The biases biasIh and biasHh (default true). */
  bias?: boolean;
  /** Seed of the initial weights (parameter k uses seed + k). */
  seed?: number;
  /** RNNCell only: tanh (default) or relu. */
  nonlinearity?: Nonlinearity;
}

/**
 * What RNN and GRU return: `output` [T, B, D·H] (D = 2 if bidirectional; [B, T, D·H] with batchFirst,
 * [T, D·H] unbatched), the last layer's hidden state at every step, and `hN` [numLayers·D, B, H]
 * ([numLayers·D, H] unbatched), every layer's final hidden state. Both are the caller's and share
 * one graph: dispose both, after any backward through either.
 */
export interface RecurrentOutput {
  output: Tensor;
  hN: Tensor;
}
/** An LSTM's state: hidden h and cell c, each [B, H] in a cell, [numLayers·D, B, H] in LSTM. */
export interface LSTMState {
  h: Tensor;
  c: Tensor;
}
/** What LSTM returns: RNN's output and hN, and the final cell states cN (shaped as hN); all share one graph. */
export interface LSTMOutput extends RecurrentOutput {
  cN: Tensor;
}

/** One step's gate pre-activations: the input part xg (biases included, as initBias says), h·Whh. */
interface StepWeights {
  weightHh: Tensor;
  /** GRU's hidden bias, added inside the reset gate's product; null for RNN and LSTM (folded into xg). */
  biasHh: Tensor | null;
}

// h' = act(xg + h·Whh), where xg = x·Wih + bih + bhh
function rnnStep(keep: Keep, act: Nonlinearity, xg: Tensor, h: Tensor, w: StepWeights): Tensor {
  const pre = keep(add(xg, keep(linear(h, w.weightHh, null))));
  return act === 'relu' ? relu(pre) : tanh(pre);
}

// r, z = σ(xg[r, z] + hg[r, z]), n = tanh(xg[n] + r ⊙ hg[n]), h' = (1 − z) ⊙ n + z ⊙ h = n + z ⊙ (h − n),
// where xg = x·Wih + bih and hg = h·Whh + bhh (PyTorch's GRU: bhn inside the reset gate's product)
function gruStep(keep: Keep, xg: Tensor, h: Tensor, w: StepWeights): Tensor {
  const [B, H] = h.shape;
  const hg = keep(linear(h, w.weightHh, w.biasHh));
  const rz = keep(sigmoid(keep(slice(keep(add(xg, hg)), [0, 0], [B, 2 * H]))));
  const [r, z] = split(rz, 2, 1).map(keep);
  const hn = keep(mul(r, keep(slice(hg, [0, 2 * H], [B, H]))));
  const n = keep(tanh(keep(add(keep(slice(xg, [0, 2 * H], [B, H])), hn))));
  return add(n, keep(mul(z, keep(sub(h, n)))));
}

// i, f, o = σ(·), g = tanh(·) of xg + h·Whh (gate order i, f, g, o as PyTorch); c' = f ⊙ c + i ⊙ g,
// h' = o ⊙ tanh(c'). Returns c' unkept: the caller decides who owns it.
function lstmStep(keep: Keep, xg: Tensor, h: Tensor, c: Tensor, w: StepWeights): LSTMState {
  const [B, H] = h.shape;
  const gates = keep(add(xg, keep(linear(h, w.weightHh, null))));
  const s = keep(sigmoid(gates)); // the g quarter of it goes unused: one kernel instead of three
  const [i, f, , o] = split(s, 4, 1).map(keep);
  const g = keep(tanh(keep(slice(gates, [0, 2 * H], [B, H]))));
  const cNext = add(keep(mul(f, c)), keep(mul(i, g)));
  const hNext = mul(o, keep(tanh(cNext)));
  return { h: hNext, c: cNext };
}

/** The bias added to x·Wih: bih + bhh where the hidden bias sits outside any product (RNN, LSTM). */
function inputBias(keep: Keep, kind: Kind, biasIh: Tensor | null, biasHh: Tensor | null): Tensor | null {
  if (!biasIh || !biasHh) return null;
  return kind === 'GRU' ? biasIh : keep(add(biasIh, biasHh));
}

function checkDropout(layer: string, p: number): number {
  if (!(typeof p === 'number' && p >= 0 && p < 1))
    throw new TapegradError(layer, `dropout must be in [0, 1), got ${describe(p)}`);
  return p;
}
function checkNonlinearity(layer: string, act: unknown): Nonlinearity {
  if (act !== 'tanh' && act !== 'relu')
    throw new TapegradError(layer, `nonlinearity must be 'tanh' or 'relu', got ${describe(act)}`);
  return act;
}

/**
 * The multi-layer, optionally bidirectional recurrence shared by RNN, GRU and LSTM. Parameters per
 * layer l and direction (suffix `_reverse` for the backward one), in PyTorch's order and names:
 * weightIh_l{l} [in, G·H], weightHh_l{l} [H, G·H], biasIh_l{l} [G·H], biasHh_l{l} [G·H], with G = 1,
 * 3 (r, z, n) or 4 (i, f, g, o) gates; PyTorch's weight_ih_l{l} is [G·H, in], the transpose.
 */
abstract class Recurrent<Out> extends Module<Out> {
  readonly numLayers: number;
  readonly batchFirst: boolean;
  readonly bidirectional: boolean;
  readonly dropout: number;
  /** Per layer and direction (forward first): [weightIh, weightHh, biasIh, biasHh], PyTorch's all_weights. */
  readonly allWeights: Tensor[][] = [];
  private calls = 0;
  constructor(
    private readonly kind: Kind,
    readonly inputSize: number,
    readonly hiddenSize: number,
    private readonly opts: RecurrentOptions,
  ) {
    super();
    positiveInts(kind, { inputSize, hiddenSize });
    checkOptions(kind, opts, [
      ...(kind === 'RNN' ? ['nonlinearity'] : []),
      'numLayers',
      'batchFirst',
      'bidirectional',
      'bias',
      'dropout',
      'seed',
    ]);
    this.numLayers = opts.numLayers ?? 1;
    positiveInts(kind, { numLayers: this.numLayers });
    this.batchFirst = opts.batchFirst ?? false;
    this.bidirectional = opts.bidirectional ?? false;
    this.dropout = checkDropout(kind, opts.dropout ?? 0);
    const GH = GATES[kind] * hiddenSize;
    const D = this.bidirectional ? 2 : 1;
    let k = 0;
    // PyTorch's init for every weight and bias: U(−1/√H, 1/√H)
    const init = (shape: number[]) => defaultUniform(shape, hiddenSize, seedPlus(opts.seed, k++));
    for (let l = 0; l < this.numLayers; l++) {
      for (let d = 0; d < D; d++) {
        const sfx = `_l${l}${d ? '_reverse' : ''}`;
        const inW = l === 0 ? inputSize : D * hiddenSize;
        const ws = [
          this.registerParameter(`weightIh${sfx}`, init([inW, GH])),
          this.registerParameter(`weightHh${sfx}`, init([hiddenSize, GH])),
        ];
        if (opts.bias !== false) {
          ws.push(this.registerParameter(`biasIh${sfx}`, init([GH])));
          ws.push(this.registerParameter(`biasHh${sfx}`, init([GH])));
        }
        this.allWeights.push(ws);
      }
    }
  }
  override describe(): string {
    const extra = [
      this.numLayers > 1 ? `numLayers=${this.numLayers}` : '',
      this.bidirectional ? 'bidirectional' : '',
      this.batchFirst ? 'batchFirst' : '',
    ].filter(Boolean);
    return `${this.kind}(${this.inputSize}→${this.hiddenSize}${extra.map((e) => `, ${e}`).join('')})`;
  }

  /** The shape an initial state must have: [numLayers·D, B, H], or [numLayers·D, H] unbatched. */
  private stateShape(B: number | null): number[] {
    const LD = this.numLayers * (this.bidirectional ? 2 : 1);
    return B === null ? [LD, this.hiddenSize] : [LD, B, this.hiddenSize];
  }

  /** Validates x and the initial states; runs the recurrence; returns output, hN and (LSTM) cN. */
  protected runSequence(
    x: unknown,
    initial: unknown[],
    stateNames: string[],
    act: Nonlinearity = 'tanh',
  ): { output: Tensor; finals: Tensor[] } {
    const fn = this.kind;
    const t = asTensor(fn, x, 'the input');
    const I = this.inputSize;
    const layout = this.batchFirst ? `[B, T, ${I}]` : `[T, B, ${I}]`;
    if ((t.rank !== 2 && t.rank !== 3) || t.shape[t.rank - 1] !== I) {
      throw new TapegradError(
        fn,
        `expected input of shape ${layout} or [T, ${I}] (unbatched), ` +
          `got ${fmtShape(t.shape)} (layer ${this.describe()})`,
      );
    }
    if (t.dtype !== 'float32') throw new TapegradError(fn, `the input must be float32, got ${t.dtype}`);
    const batched = t.rank === 3;
    const T = batched ? t.shape[this.batchFirst ? 1 : 0] : t.shape[0];
    const B = batched ? t.shape[this.batchFirst ? 0 : 1] : 1;
    if (T === 0 || B === 0)
      throw new TapegradError(fn, `needs at least one time step and one sequence, got input ${fmtShape(t.shape)}`);
    const want = this.stateShape(batched ? B : null);
    const states = initial.map((s, i) => {
      if (s === undefined || s === null) return null;
      const st = asTensor(fn, s, `the initial state ${stateNames[i]}`);
      if (st.shape.join() !== want.join() || st.rank !== want.length)
        throw new TapegradError(
          fn,
          `expected the initial state ${stateNames[i]} of shape ${fmtShape(want)}, ` +
            `got ${fmtShape(st.shape)} (layer ${this.describe()})`,
        );
      return st;
    });
    const H = this.hiddenSize;
    const D = this.bidirectional ? 2 : 1;
    const p = this.training ? this.dropout : 0;
    let finals: Tensor[] = [];
    const output = composed((keep) => {
      // time-major [T, B, I] throughout
      let seq = !batched ? keep(reshape(t, [T, 1, I])) : this.batchFirst ? keep(transpose(t, [1, 0, 2])) : t;
      let zero: Tensor | null = null;
      // each initial state as [numLayers·D, B, H], unbatched ones given their batch axis once
      const given = states.map((s) => (s && !batched ? keep(reshape(s, [s.shape[0], 1, H])) : s));
      const start = (i: number, k: number): Tensor => {
        const s = given[i];
        if (!s) return (zero ??= keep(new Tensor(tf.zeros([B, H]))));
        return keep(reshape(keep(slice(s, [k, 0, 0], [1, B, H])), [B, H]));
      };
      const last: Tensor[][] = states.map(() => []);
      for (let l = 0; l < this.numLayers; l++) {
        const inW = seq.shape[2];
        const rows = keep(reshape(seq, [T * B, inW]));
        const outs: Tensor[] = [];
        for (let d = 0; d < D; d++) {
          const k = l * D + d;
          const [weightIh, weightHh, biasIh = null, biasHh = null] = this.allWeights[k];
          // every step's input projection in one matmul: row t·B + b is step t of sequence b
          const xg = keep(linear(rows, weightIh, inputBias(keep, this.kind, biasIh, biasHh)));
          // each step's rows as one node: backward stacks the T gradients once (a slice per step
          // would pad each to xg's full size, T² entries)
          const xSteps = unbind(keep(reshape(xg, [T, B, xg.shape[1]])), 0).map(keep);
          const w = { weightHh, biasHh: this.kind === 'GRU' ? biasHh : null };
          let h = start(0, k);
          let c = this.kind === 'LSTM' ? start(1, k) : null;
          const hs: Tensor[] = new Array(T);
          for (let s = 0; s < T; s++) {
            const step = d === 0 ? s : T - 1 - s;
            const xt = xSteps[step];
            if (this.kind === 'LSTM') {
              const next = lstmStep(keep, xt, h, c!, w);
              h = keep(next.h);
              c = keep(next.c);
            } else h = keep(this.kind === 'GRU' ? gruStep(keep, xt, h, w) : rnnStep(keep, act, xt, h, w));
            hs[step] = h;
          }
          last[0].push(h);
          if (c) last[1].push(c);
          outs.push(keep(stack(hs, 0)));
        }
        seq = D === 1 ? outs[0] : keep(concat(outs, 2));
        if (p > 0 && l < this.numLayers - 1) {
          const seed = this.opts.seed === undefined ? undefined : this.opts.seed + 1000 + this.calls++;
          const mask = keep(
            new Tensor(
              tf.tidy(() =>
                tf.div(
                  tf.cast(tf.greaterEqual(tf.randomUniform(seq.shape, 0, 1, 'float32', seed), p), 'float32'),
                  1 - p,
                ),
              ),
            ),
          );
          seq = keep(mul(seq, mask));
        }
      }
      // the final states are the caller's (not owned by the output); made before owning() frees what no graph holds
      finals = last.map((hs) => {
        const all = stack(hs, 0);
        if (batched) return all;
        keep(all);
        return reshape(all, [hs.length, H]);
      });
      if (!batched) return reshape(seq, [T, D * H]);
      return this.batchFirst ? transpose(seq, [1, 0, 2]) : seq;
    });
    return { output, finals };
  }
}

/**
 * An Elman RNN: h_t = act(x_t·Wih + bih + h_{t−1}·Whh + bhh), act tanh or relu, over a sequence,
 * numLayers deep, optionally bidirectional. forward(x, h0?) takes x [T, B, inputSize] ([B, T, ·]
 * with batchFirst, or [T, inputSize] unbatched) and h0 [numLayers·D, B, H] (zeros if omitted) and
 * returns { output, hN } (RecurrentOutput): PyTorch's (output, h_n) as an object.
 * Parameters weightIh_l0 [in, H], weightHh_l0 [H, H], biasIh_l0, biasHh_l0 (and _reverse):
 * PyTorch's weight_ih_l0 etc. transposed ([in, out], as Linear). Init U(−1/√H, 1/√H), as PyTorch.
 * PyTorch `torch.nn.RNN`.
 */
export class RNN extends Recurrent<RecurrentOutput> {
  readonly nonlinearity: Nonlinearity;
  constructor(inputSize: number, hiddenSize: number, opts: RNNOptions = {}) {
    const act = checkNonlinearity('RNN', opts.nonlinearity ?? 'tanh');
    super('RNN', inputSize, hiddenSize, opts);
    this.nonlinearity = act;
  }
  override forward(x: Tensor, h0?: Tensor): RecurrentOutput {
    const { output, finals } = this.runSequence(x, [h0], ['h0'], this.nonlinearity);
    return { output, hN: finals[0] };
  }
}

/**
 * A gated recurrent unit over a sequence (PyTorch's GRU): r = σ(x·Wir + bir + h·Whr + bhr),
 * z = σ(x·Wiz + biz + h·Whz + bhz), n = tanh(x·Win + bin + r ⊙ (h·Whn + bhn)), h' = (1 − z) ⊙ n + z ⊙ h.
 * Shapes, options and the returned { output, hN } as RNN's; the weights' 3H columns are the gates
 * r, z, n in PyTorch's order (weightIh_l0 [in, 3H] is PyTorch's weight_ih_l0 [3H, in] transposed).
 * PyTorch `torch.nn.GRU`.
 */
export class GRU extends Recurrent<RecurrentOutput> {
  constructor(inputSize: number, hiddenSize: number, opts: RecurrentOptions = {}) {
    super('GRU', inputSize, hiddenSize, opts);
  }
  override forward(x: Tensor, h0?: Tensor): RecurrentOutput {
    const { output, finals } = this.runSequence(x, [h0], ['h0']);
    return { output, hN: finals[0] };
  }
}

/**
 * A long short-term memory over a sequence (PyTorch's LSTM): gates i, f, o = σ(·), g = tanh(·) of
 * x·Wih + bih + h·Whh + bhh; c' = f ⊙ c + i ⊙ g, h' = o ⊙ tanh(c'). forward(x, { h, c }?) returns
 * { output, hN, cN } (LSTMOutput): PyTorch's (output, (h_n, c_n)) as one object. The weights' 4H
 * columns are the gates i, f, g, o in PyTorch's order ([in, 4H]: PyTorch's [4H, in] transposed).
 * No projections (PyTorch's proj_size). PyTorch `torch.nn.LSTM`.
 */
export class LSTM extends Recurrent<LSTMOutput> {
  constructor(inputSize: number, hiddenSize: number, opts: RecurrentOptions = {}) {
    super('LSTM', inputSize, hiddenSize, opts);
  }
  override forward(x: Tensor, state?: LSTMState): LSTMOutput {
    if (state !== undefined && (state === null || typeof state !== 'object' || state instanceof Tensor))
      throw new TapegradError('LSTM', `the initial state must be an object { h, c }, got ${describe(state)}`);
    if (state && (state.h === undefined) !== (state.c === undefined))
      throw new TapegradError('LSTM', 'give both h and c of the initial state, or neither');
    checkOptions('LSTM', state, ['h', 'c']);
    const { output, finals } = this.runSequence(x, [state?.h, state?.c], ['h', 'c']);
    return { output, hN: finals[0], cN: finals[1] };
  }
}

/** The parameters and checks shared by the cells: weightIh [I, G·H], weightHh [H, G·H], biases [G·H]. */
abstract class RecurrentCell<Out> extends Module<Out> {
  readonly weightIh: Tensor;
  readonly weightHh: Tensor;
  readonly biasIh: Tensor | null;
  readonly biasHh: Tensor | null;
  constructor(
    protected readonly kind: Kind,
    readonly inputSize: number,
    readonly hiddenSize: number,
    opts: RecurrentCellOptions,
  ) {
    super();
    const name = `${kind}Cell`;
    positiveInts(name, { inputSize, hiddenSize });
    checkOptions(name, opts, kind === 'RNN' ? ['bias', 'seed', 'nonlinearity'] : ['bias', 'seed']);
    const GH = GATES[kind] * hiddenSize;
    let k = 0;
    const init = (shape: number[]) => defaultUniform(shape, hiddenSize, seedPlus(opts.seed, k++));
    this.weightIh = this.registerParameter('weightIh', init([inputSize, GH]));
    this.weightHh = this.registerParameter('weightHh', init([hiddenSize, GH]));
    const bias = opts.bias !== false;
    this.biasIh = bias ? this.registerParameter('biasIh', init([GH])) : null;
    this.biasHh = bias ? this.registerParameter('biasHh', init([GH])) : null;
  }
  override describe(): string {
    return `${this.kind}Cell(${this.inputSize}→${this.hiddenSize})`;
  }
  /** x as [B, I] (a [I] input is one unbatched sample) and the states, checked, as [B, H]. */
  protected checked(
    x: unknown,
    states: [string, unknown][],
  ): { x: Tensor; states: (Tensor | null)[]; batched: boolean } {
    const fn = `${this.kind}Cell`;
    const t = asTensor(fn, x, 'the input');
    const I = this.inputSize;
    if ((t.rank !== 1 && t.rank !== 2) || t.shape[t.rank - 1] !== I)
      throw new TapegradError(
        fn,
        `expected input of shape [B, ${I}] or [${I}] (unbatched), got ${fmtShape(t.shape)} (layer ${this.describe()})`,
      );
    if (t.dtype !== 'float32') throw new TapegradError(fn, `the input must be float32, got ${t.dtype}`);
    const batched = t.rank === 2;
    const want = batched ? [t.shape[0], this.hiddenSize] : [this.hiddenSize];
    const out = states.map(([what, s]) => {
      if (s === undefined || s === null) return null;
      const st = asTensor(fn, s, `the state ${what}`);
      if (st.shape.join() !== want.join() || st.rank !== want.length)
        throw new TapegradError(
          fn,
          `expected the state ${what} of shape ${fmtShape(want)}, got ${fmtShape(st.shape)} (layer ${this.describe()})`,
        );
      return st;
    });
    return { x: t, states: out, batched };
  }
  /** Runs one step in tapegrad's [B, ·] layout: step(keep, x·Wih + bias, states) → next states. */
  protected stepOf(
    keep: Keep,
    x: Tensor,
    batched: boolean,
    states: (Tensor | null)[],
    step: (xg: Tensor, states: Tensor[]) => Tensor[],
  ): Tensor[] {
    const H = this.hiddenSize;
    const rows = batched ? x : keep(reshape(x, [1, this.inputSize]));
    const B = rows.shape[0];
    let zero: Tensor | null = null;
    const st = states.map((s) => {
      if (!s) return (zero ??= keep(new Tensor(tf.zeros([B, H]))));
      return batched ? s : keep(reshape(s, [1, H]));
    });
    const xg = keep(linear(rows, this.weightIh, inputBias(keep, this.kind, this.biasIh, this.biasHh)));
    const next = step(xg, st);
    if (batched) return next;
    return next.map((n) => reshape(keep(n), [H]));
  }
}

/**
 * One step of an Elman RNN: forward(x, h?) → h' = act(x·Wih + bih + h·Whh + bhh), x [B, inputSize]
 * or [inputSize], h [B, H] or [H] (zeros if omitted). Parameters weightIh [in, H], weightHh [H, H],
 * biasIh, biasHh: PyTorch's weight_ih etc., the weights transposed. PyTorch `torch.nn.RNNCell`.
 */
export class RNNCell extends RecurrentCell<Tensor> {
  readonly nonlinearity: Nonlinearity;
  constructor(inputSize: number, hiddenSize: number, opts: RecurrentCellOptions = {}) {
    const act = checkNonlinearity('RNNCell', opts.nonlinearity ?? 'tanh');
    super('RNN', inputSize, hiddenSize, opts);
    this.nonlinearity = act;
  }
  override forward(x: Tensor, h?: Tensor): Tensor {
    const c = this.checked(x, [['h', h]]);
    const w = { weightHh: this.weightHh, biasHh: null };
    return composed(
      (keep) =>
        this.stepOf(keep, c.x, c.batched, c.states, (xg, [h0]) => [rnnStep(keep, this.nonlinearity, xg, h0, w)])[0],
    );
  }
}

/**
 * One GRU step: forward(x, h?) → h' (the gates as GRU's; shapes as RNNCell's). weightIh [in, 3H],
 * weightHh [H, 3H] with the gates r, z, n in PyTorch's order (PyTorch's [3H, in] transposed).
 * PyTorch `torch.nn.GRUCell`.
 */
export class GRUCell extends RecurrentCell<Tensor> {
  constructor(inputSize: number, hiddenSize: number, opts: { bias?: boolean; seed?: number } = {}) {
    super('GRU', inputSize, hiddenSize, opts);
  }
  override forward(x: Tensor, h?: Tensor): Tensor {
    const c = this.checked(x, [['h', h]]);
    const w = { weightHh: this.weightHh, biasHh: this.biasHh };
    return composed((keep) => this.stepOf(keep, c.x, c.batched, c.states, (xg, [h0]) => [gruStep(keep, xg, h0, w)])[0]);
  }
}

/**
 * One LSTM step: forward(x, { h, c }?) → { h, c }, the next state (zeros if omitted), x [B, inputSize]
 * or [inputSize]. weightIh [in, 4H], weightHh [H, 4H] with the gates i, f, g, o in PyTorch's order
 * (PyTorch's [4H, in] transposed). The two returned tensors share one graph: dispose both.
 * PyTorch `torch.nn.LSTMCell` (which returns the tuple (h, c)).
 */
export class LSTMCell extends RecurrentCell<LSTMState> {
  constructor(inputSize: number, hiddenSize: number, opts: { bias?: boolean; seed?: number } = {}) {
    super('LSTM', inputSize, hiddenSize, opts);
  }
  override forward(x: Tensor, state?: LSTMState): LSTMState {
    if (state !== undefined && (state === null || typeof state !== 'object' || state instanceof Tensor))
      throw new TapegradError('LSTMCell', `the state must be an object { h, c }, got ${describe(state)}`);
    if (state && (state.h === undefined) !== (state.c === undefined))
      throw new TapegradError('LSTMCell', 'give both h and c of the state, or neither');
    checkOptions('LSTMCell', state, ['h', 'c']);
    const chk = this.checked(x, [
      ['h', state?.h],
      ['c', state?.c],
    ]);
    const w = { weightHh: this.weightHh, biasHh: null };
    let cNext!: Tensor;
    const h = composed((keep) => {
      const [hn, cn] = this.stepOf(keep, chk.x, chk.batched, chk.states, (xg, [h0, c0]) => {
        const next = lstmStep(keep, xg, h0, c0, w);
        return [next.h, next.c];
      });
      cNext = cn; // the caller's, not owned by h
      return hn;
    });
    return { h, c: cNext };
  }
}
