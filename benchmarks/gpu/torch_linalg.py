#!/usr/bin/env python3
"""PyTorch's times for the cases benchmarks/gpu/linalg-gpu.ts times: the baseline.

On CUDA, float32 (TF32 off): torch.linalg.lu_factor and cholesky of one n x n matrix
(n = 64, 256, 1024, 2048, 4096) and of batches of small ones (4096 of 8, 256 of 64, 16 of 256);
solve_triangular of a lower-triangular n x n T with 256 right-hand columns (n = 1024, 2048);
solve (4 right-hand columns), inv, slogdet, and the gradient of sum(solve(A, B)) for n = 256, 1024.
Each case: one warm-up call, then the median of 5 calls, each followed by torch.cuda.synchronize().

usage: python3 benchmarks/gpu/torch_linalg.py [--quick] [--out FILE] [--device cpu]
Prints a table on stderr and JSON on stdout (and to FILE).
"""
import argparse
import statistics

import torch
from torch_gpu import float32_device, log, report, timed


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out")
    ap.add_argument("--device", default="cuda", help="cpu: a dry run of the script without a GPU")
    args = ap.parse_args()
    dev, device = float32_device("torch_linalg", args.device)
    single = [48, 96, 160] if args.quick else [64, 256, 1024, 2048, 4096]
    batches = [(64, 8), (4, 40)] if args.quick else [(4096, 8), (256, 64), (16, 256)]
    ops = [32] if args.quick else [256, 1024]
    triangular = [96, 160] if args.quick else [1024, 2048]
    columns = 64 if args.quick else 256
    gen = torch.Generator(device="cpu").manual_seed(1)
    records = []

    def record(what, n, batch, ms):
        records.append({"impl": "pytorch", "what": what, "n": n, "batch": batch,
                        "medianMs": statistics.median(ms), "ms": ms})
        log(f"{what} n={n} batch={batch}: {statistics.median(ms):.3f} ms")

    for batch, n in [(1, n) for n in single] + batches:
        g = torch.randn(batch, n, n, generator=gen).to(dev)
        spd = g.transpose(-1, -2) @ g / n + torch.eye(n, device=dev)
        record("LinalgLu", n, batch, timed(lambda: torch.linalg.lu_factor(g)))
        record("LinalgCholesky", n, batch, timed(lambda: torch.linalg.cholesky(spd)))
    for n in triangular:
        t = torch.tril(torch.randn(n, n, generator=gen)) / n ** 0.5 + torch.eye(n)
        t = t.to(dev)
        b = torch.randn(n, columns, generator=gen).to(dev)
        record("LinalgTriangularSolve", n, 1, timed(lambda: torch.linalg.solve_triangular(t, b, upper=False)))
    for n in ops:
        a = (torch.randn(n, n, generator=gen) + n * torch.eye(n)).to(dev)
        b = torch.randn(n, 4, generator=gen).to(dev)
        record("solve", n, 1, timed(lambda: torch.linalg.solve(a, b)))
        record("inv", n, 1, timed(lambda: torch.linalg.inv(a)))
        record("det", n, 1, timed(lambda: torch.linalg.slogdet(a)))
        ag = a.clone().requires_grad_(True)
        record("grad sum(solve)", n, 1, timed(lambda: torch.autograd.grad(torch.linalg.solve(ag, b).sum(), ag)))
    report("PyTorch linear algebra on CUDA, float32 (benchmarks/gpu/torch_linalg.py)", device, args.out, records=records)


if __name__ == "__main__":
    main()
