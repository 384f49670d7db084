// The character-level language model of examples/words.ts (shared with the workloads benchmark):
// words as tokens — '.' (0) marks a word's start and end, a–z are 1–26 — in rows of 16 with a mask
// of the predictions that count, and the decoder-only transformer.
import * as tg from 'tapegrad';
import { splitIndices } from './split.js';

export const VOCAB = 27;
export const CONTEXT = 16;
export const SPLIT_SEED = 2024;

/** The tokens of `. word .`. */
export function encode(word: string): number[] {
  return [0, ...Array.from(word, (c) => c.charCodeAt(0) - 96), 0];
}

export const decode = (tokens: number[]): string => String.fromCharCode(...tokens.map((t) => t + 96));

/**
 * Input, target and mask rows of the words, each [rows, 16] flat: inputs `. w`, targets `w .`,
 * zero-padded. A word with more than 16 predictions gets a second row, its last 16 tokens, whose
 * first predictions (counted in the first row) are masked out: every prediction counts once, with
 * at most 16 tokens of context.
 */
export function wordRows(words: string[]): { x: Int32Array; y: Int32Array; mask: Float32Array; rows: number } {
  const xs: number[] = [];
  const ys: number[] = [];
  const ms: number[] = [];
  const push = (t: number[], from: number, counted: number) => {
    for (let k = 0; k < CONTEXT; k++) {
      const inside = from + k + 1 < t.length;
      xs.push(inside ? t[from + k] : 0);
      ys.push(inside ? t[from + k + 1] : 0);
      ms.push(inside && k >= counted ? 1 : 0);
    }
  };
  for (const w of words) {
    const t = encode(w);
    const n = t.length - 1;
    push(t, 0, 0);
    if (n > CONTEXT) push(t, n - CONTEXT, 2 * CONTEXT - n);
  }
  return { x: Int32Array.from(xs), y: Int32Array.from(ys), mask: Float32Array.from(ms), rows: xs.length / CONTEXT };
}

/** The seeded 90/10 split of the word list: indices to train on and held out. */
export function wordSplit(n: number): { train: number[]; heldOut: number[] } {
  return splitIndices(n, Math.round(n / 10), SPLIT_SEED);
}

export const WIDTH = 64;
export const HEADS = 4;
export const LAYERS = 2;

/** The decoder-only transformer: logits [N, L, 27] of the next token from tokens [N, L], L ≤ 16. */
export class Transformer extends tg.nn.Module {
  readonly tok = this.registerModule('tok', new tg.nn.Embedding(VOCAB, WIDTH, { seed: 1 }));
  readonly pos = this.registerModule('pos', new tg.nn.Embedding(CONTEXT, WIDTH, { seed: 2 }));
  readonly layers = Array.from({ length: LAYERS }, (_, i) =>
    this.registerModule(
      `layers.${i}`,
      new tg.nn.TransformerEncoderLayer(WIDTH, HEADS, {
        dimFeedforward: 4 * WIDTH,
        dropout: 0,
        activation: 'gelu',
        normFirst: true,
        seed: 10 + 100 * i,
      }),
    ),
  );
  readonly norm = this.registerModule('norm', new tg.nn.LayerNorm(WIDTH));
  readonly head = this.registerModule('head', new tg.nn.Linear(WIDTH, VOCAB, { seed: 3 }));
  override forward(tokens: tg.Tensor): tg.Tensor {
    // intermediates are freed by the caller's tidy (after backward, when training)
    const L = tokens.shape[1];
    const positions = tg.tensor(
      Array.from({ length: L }, (_, i) => i),
      { dtype: 'int32' },
    );
    let h = this.tok.forward(tokens).add(this.pos.forward(positions));
    for (const layer of this.layers) h = layer.forward(h, { isCausal: true });
    return this.head.forward(this.norm.forward(h));
  }
}

/** Rows of words as tensors (the caller's to free). */
export function rowTensors(words: string[]): { x: tg.Tensor; y: tg.Tensor; mask: tg.Tensor; count: number } {
  const r = wordRows(words);
  return {
    x: tg.tensor(r.x, { shape: [r.rows, CONTEXT], dtype: 'int32' }),
    y: tg.tensor(r.y, { shape: [r.rows, CONTEXT], dtype: 'int32' }),
    mask: tg.tensor(r.mask, { shape: [r.rows, CONTEXT] }),
    count: r.mask.reduce((a, b) => a + b, 0),
  };
}

/** The mean negative log-likelihood of the predictions the mask counts. */
export const maskedNll = (logits: tg.Tensor, y: tg.Tensor, mask: tg.Tensor) =>
  tg.nn.crossEntropy(logits, y, { reduction: 'none' }).mul(mask).sum().div(mask.sum());
