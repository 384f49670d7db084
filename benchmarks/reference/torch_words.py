#!/usr/bin/env python3
"""examples/words.ts in PyTorch: a character-level language model on the words of the
`an-array-of-english-words` npm package, the same seeded 90/10 split, the same bigram baseline and
the same decoder-only transformer (token and position embeddings, 2 pre-norm layers of 4 heads,
width 64, feed-forward 256, GELU, context 16, causal attention), AdamW lr 3e-3 (cosine to 0),
1,000 steps of 128 words.

Each word w is the tokens . w . ('.' = 0, a-z = 1-26): inputs `. w`, targets `w .`. Rows are 16
tokens; a word with more than 16 predictions gets a second row, its last 16 tokens, whose first
predictions (already counted) are masked out. The held-out figure is the mean negative
log-likelihood per predicted character (the final '.' included).

Prints `held-out nll: N.NNN nats/char (bigram N.NNN)` as the example, then the time per 100
training steps as JSON (records benchmarks/suites/workloads.ts reads; --json FILE writes them too).

usage: /usr/bin/python3 benchmarks/reference/torch_words.py [--steps 1000] [--json FILE] [--threads N] [--no-eval]
"""
import argparse
import json
import math
import time

import torch
from torch import nn

from examples_common import split_indices, package_file, log, timing_record, write_json

SPLIT_SEED = 2024  # examples/words.ts
CONTEXT = 16
VOCAB = 27
WIDTH = 64
HEADS = 4
LAYERS = 2
BATCH = 128
LR = 3e-3


def encode(word):
    return [0] + [ord(c) - 96 for c in word] + [0]


def rows_of(words):
    """Input, target and mask rows [R, 16] of the words."""
    xs, ys, ms = [], [], []
    for w in words:
        t = encode(w)
        n = len(t) - 1
        pad = CONTEXT - min(n, CONTEXT)
        xs.append(t[: min(n, CONTEXT)] + [0] * pad)
        ys.append(t[1 : min(n, CONTEXT) + 1] + [0] * pad)
        ms.append([1.0] * min(n, CONTEXT) + [0.0] * pad)
        if n > CONTEXT:
            s = n - CONTEXT
            xs.append(t[s : s + CONTEXT])
            ys.append(t[s + 1 : s + CONTEXT + 1])
            ms.append([0.0] * (CONTEXT - s) + [1.0] * s)
    return torch.tensor(xs), torch.tensor(ys), torch.tensor(ms)


class Transformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok = nn.Embedding(VOCAB, WIDTH)
        self.pos = nn.Embedding(CONTEXT, WIDTH)
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(
                WIDTH, HEADS, 4 * WIDTH, dropout=0.0, activation="gelu", batch_first=True, norm_first=True
            )
            for _ in range(LAYERS)
        )
        self.norm = nn.LayerNorm(WIDTH)
        self.head = nn.Linear(WIDTH, VOCAB)

    def forward(self, x):
        L = x.shape[1]
        h = self.tok(x) + self.pos(torch.arange(L))
        mask = torch.triu(torch.full((L, L), float("-inf")), diagonal=1)
        for layer in self.layers:
            h = layer(h, src_mask=mask)
        return self.head(self.norm(h))


def masked_nll(logits, y, m):
    losses = nn.functional.cross_entropy(logits.reshape(-1, VOCAB), y.reshape(-1), reduction="none")
    return (losses * m.reshape(-1)).sum() / m.sum()


def bigram_nll(train_words, test_words):
    counts = [[1] * VOCAB for _ in range(VOCAB)]  # add-one smoothing
    for w in train_words:
        t = encode(w)
        for a, b in zip(t, t[1:]):
            counts[a][b] += 1
    logp = [[math.log(c / sum(row)) for c in row] for row in counts]
    total, n = 0.0, 0
    for w in test_words:
        t = encode(w)
        for a, b in zip(t, t[1:]):
            total -= logp[a][b]
            n += 1
    return total / n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--json")
    ap.add_argument("--threads", type=int)
    ap.add_argument("--no-eval", action="store_true", help="time the training only (for the benchmark)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    with open(package_file("an-array-of-english-words", "index.json")) as f:
        words = json.load(f)
    train_idx, test_idx = split_indices(len(words), round(len(words) / 10), SPLIT_SEED)
    train_words = [words[i] for i in train_idx]
    test_words = [words[i] for i in test_idx]
    log(f"words: {len(train_words)} to train on, {len(test_words)} held out; first held out {test_words[:3]}")
    bigram = bigram_nll(train_words, test_words)
    print(f"bigram held-out nll {bigram:.3f} nats/char", flush=True)

    model = Transformer()
    opt = torch.optim.AdamW(model.parameters(), lr=LR)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.steps)
    order = torch.randperm(len(train_words), generator=torch.Generator().manual_seed(1)).tolist()
    block_ms, block_cpu = [], []
    t0, c0 = time.perf_counter(), time.process_time()
    for step in range(1, args.steps + 1):
        at = ((step - 1) * BATCH) % len(order)
        x, y, m = rows_of([train_words[i] for i in order[at : at + BATCH]])
        loss = masked_nll(model(x), y, m)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0:
            block_ms.append((time.perf_counter() - t0) * 1000)
            block_cpu.append((time.process_time() - c0) * 1000)
            print(f"step {step}  loss {loss.item():.4f}  ({block_ms[-1] / 1000:.1f} s per 100 steps)", flush=True)
            t0, c0 = time.perf_counter(), time.process_time()

    note = f"100 AdamW steps of {BATCH} words; {args.steps} steps"
    records = [timing_record("words", "100 steps", block_ms, block_cpu, note)]
    if args.no_eval:
        print(json.dumps(records))
        write_json(args.json, records)
        return
    model.eval()
    total, count = 0.0, 0.0
    with torch.no_grad():
        for at in range(0, len(test_words), 1000):
            x, y, m = rows_of(test_words[at : at + 1000])
            losses = nn.functional.cross_entropy(model(x).reshape(-1, VOCAB), y.reshape(-1), reduction="none")
            total += (losses * m.reshape(-1)).sum().item()
            count += m.sum().item()
    print(f"held-out nll: {total / count:.3f} nats/char (bigram {bigram:.3f})")
    print(json.dumps(records))
    write_json(args.json, records)


if __name__ == "__main__":
    main()
