// A character-level language model of English words (makemore-style) on the ~275,000 words of
// the `an-array-of-english-words` npm package, split 90/10 with a fixed seed.
//
//   node --import tsx examples/words.ts [--quick] [--steps N]
//
// Two models of the next letter: a bigram table of counts (add-one smoothing), and a small
// decoder-only transformer — token and position embeddings, 2 pre-norm TransformerEncoderLayers
// (4 heads, width 64, feed-forward 256, GELU) with causal self-attention, a final LayerNorm —
// trained with AdamW (lr 3e-3, annealed to 0 along a cosine) for 1,000 steps of 128 words.
// Reports the held-out negative log-likelihood per character (the end of the word included; the
// full run promises ≤ 2.10 nats) and samples twenty new words. --quick trains 30 steps and scores
// 1,000 held-out words. benchmarks/reference/torch_words.py is the same run in PyTorch.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as tg from 'tapegrad';
import {
  CONTEXT,
  HEADS,
  LAYERS,
  Transformer,
  VOCAB,
  WIDTH,
  decode,
  encode,
  maskedNll,
  rowTensors,
  wordSplit,
} from './lib/words.js';
import { mulberry32 } from './lib/split.js';
import { finiteLoss, orExit, trainingStep } from './lib/train.js';

const quick = process.argv.includes('--quick');
const stepsArg = process.argv.indexOf('--steps');
const STEPS = stepsArg > 0 ? Number(process.argv[stepsArg + 1]) : quick ? 30 : 1000;
const BATCH = 128;
const LR = 3e-3;
const QUICK_HELD_OUT = 1000;
/** The bigram model's log-probabilities log p(b | a), from counts with add-one smoothing. */
function bigram(words: string[]): number[][] {
  const counts = Array.from({ length: VOCAB }, () => new Array<number>(VOCAB).fill(1));
  for (const w of words) {
    const t = encode(w);
    for (let k = 0; k + 1 < t.length; k++) counts[t[k]][t[k + 1]]++;
  }
  return counts.map((row) => {
    const total = row.reduce((a, b) => a + b, 0);
    return row.map((c) => Math.log(c / total));
  });
}

function bigramNll(logp: number[][], words: string[]): number {
  let total = 0;
  let n = 0;
  for (const w of words) {
    const t = encode(w);
    for (let k = 0; k + 1 < t.length; k++, n++) total -= logp[t[k]][t[k + 1]];
  }
  return total / n;
}

/** The transformer's held-out negative log-likelihood per character (batches of 1,000 words). */
function heldOutNll(net: Transformer, words: string[]): number {
  let total = 0;
  let count = 0;
  for (let at = 0; at < words.length; at += 1000) {
    const r = rowTensors(words.slice(at, at + 1000));
    const sum = tg.noGrad(() =>
      tg.tidy(() => tg.nn.crossEntropy(net.forward(r.x), r.y, { reduction: 'none' }).mul(r.mask).sum()),
    );
    total += sum.item();
    count += r.count;
    tg.dispose([sum, r.x, r.y, r.mask]);
  }
  return total / count;
}

/** `n` words drawn letter by letter from the model (seeded), each from at most 16 tokens of context. */
function sample(net: Transformer, n: number, seed: number): string[] {
  const random = mulberry32(seed);
  const seqs = Array.from({ length: n }, () => [0]);
  const done = new Array<boolean>(n).fill(false);
  for (let t = 0; t < 30 && done.includes(false); t++) {
    const L = Math.min(seqs[0].length, CONTEXT);
    const probs = tg.noGrad(() =>
      tg.tidy(() => {
        const x = tg.tensor(
          seqs.map((s) => s.slice(-L)),
          { dtype: 'int32' },
        );
        return tg.softmax(tg.slice(net.forward(x), [0, L - 1, 0], [n, 1, VOCAB]).reshape([n, VOCAB]));
      }),
    );
    const p = probs.dataSync();
    probs.dispose();
    seqs.forEach((s, i) => {
      if (done[i]) return s.push(0);
      let u = random();
      let k = 0;
      while (k < VOCAB - 1 && u >= p[i * VOCAB + k]) u -= p[i * VOCAB + k++];
      s.push(k);
      if (k === 0) done[i] = true;
    });
  }
  return seqs.map((s) => {
    const end = s.indexOf(0, 1);
    return decode(s.slice(1, end < 0 ? undefined : end));
  });
}

// ---- the run

const all: string[] = JSON.parse(
  readFileSync(createRequire(import.meta.url).resolve('an-array-of-english-words/index.json'), 'utf8'),
);
const split = wordSplit(all.length);
const train = split.train.map((i) => all[i]);
const heldOut = split.heldOut.map((i) => all[i]);
const scored = quick ? heldOut.slice(0, QUICK_HELD_OUT) : heldOut;
console.log(
  `words: ${train.length} to train on, ${heldOut.length} held out${quick ? ` (${scored.length} scored)` : ''}; ` +
    `transformer ${LAYERS} layers × ${HEADS} heads, width ${WIDTH}, context ${CONTEXT}; ` +
    `AdamW lr ${LR} (cosine), ${STEPS} steps of ${BATCH} words on ${tg.getBackend()}`,
);
const bigramHeldOut = bigramNll(bigram(train), scored);
console.log(`bigram: held-out nll ${bigramHeldOut.toFixed(3)} nats/char`);

const net = new Transformer();
const { nll, msPer100 } = orExit(() => {
  // the loader hands out word indices, shuffled; its collate makes the rows of a batch
  const loader = new tg.data.DataLoader(
    { length: train.length, get: (i: number) => i },
    {
      batchSize: BATCH,
      shuffle: true,
      seed: 1,
      collate: (idx: number[]) => rowTensors(idx.map((i) => train[i])),
    },
  );
  const opt = new tg.optim.AdamW(net.parameters(), { lr: new tg.optim.CosineAnnealing(LR, { tMax: STEPS }) });
  const msPer100: number[] = [];
  let start = performance.now();
  let window = 0;
  let windowSteps = 0;
  while (opt.stepCount < STEPS) {
    for (const { x, y, mask } of loader) {
      const loss = trainingStep(opt, () => maskedNll(net.forward(x), y, mask));
      window += finiteLoss(loss, opt.stepCount);
      windowSteps++;
      loss.dispose();
      const every = quick ? 20 : 100;
      if (opt.stepCount % every === 0 || opt.stepCount === STEPS) {
        const ms = ((performance.now() - start) / windowSteps) * 100;
        msPer100.push(ms);
        console.log(
          `step ${String(opt.stepCount).padStart(4)}  loss ${(window / windowSteps).toFixed(4)}  ` +
            `(${(ms / 1000).toFixed(1)} s per 100 steps)`,
        );
        window = 0;
        windowSteps = 0;
        start = performance.now();
      }
      if (opt.stepCount >= STEPS) break;
    }
  }
  opt.dispose();
  return { nll: heldOutNll(net, scored), msPer100 };
});

const words = sample(net, 20, 7);
const known = new Set(all);
console.log(`twenty sampled words (* = not in the list): ${words.map((w) => (known.has(w) ? w : `${w}*`)).join(' ')}`);
net.dispose();
msPer100.sort((a, b) => a - b);
console.log(`time per 100 steps: ${(msPer100[msPer100.length >> 1] / 1000).toFixed(1)} s (median)`);
console.log(`held-out nll: ${nll.toFixed(3)} nats/char (bigram ${bigramHeldOut.toFixed(3)})`);
const promise = quick ? 3.0 : 2.1;
if (!(nll <= promise)) {
  console.error(
    `✗ the held-out nll is above the ${promise.toFixed(2)} nats/char ` +
      `this ${quick ? 'quick run' : 'example'} promises`,
  );
  process.exit(1);
}
