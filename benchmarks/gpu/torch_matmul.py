#!/usr/bin/env python3
"""PyTorch's float32 matmul on CUDA (TF32 off): the baseline of benchmarks/gpu/matmul-bench.ts.

n x n times n x n for n = 1024, 2048, 4096, timed as matmul-bench.ts times tapegrad: 3 warm-up
products, then 5 rounds of R products enqueued back to back and one sync();
the median round, per product. TFLOP/s = 2 n^3 / time.

usage: python3 benchmarks/gpu/torch_matmul.py [--sizes 1024,2048,4096] [--out FILE] [--device cpu]
Prints a table on stderr and JSON on stdout (and to FILE).
"""
import argparse
import statistics
import time

import torch
from torch_gpu import device_name, float32_device, log, report, sync


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1024,2048,4096")
    ap.add_argument("--out")
    ap.add_argument("--device", default="cuda", help="cpu: a dry run of the script without a GPU")
    args = ap.parse_args()
    dev, device = float32_device("torch_matmul", args.device)
    results = []
    for n in [int(s) for s in args.sizes.split(",")]:
        g = torch.Generator(device=dev).manual_seed(n)
        a = torch.randn(n, n, device=dev, generator=g)
        b = torch.randn(n, n, device=dev, generator=g)
        for _ in range(3):
            a @ b
        sync()
        reps = max(3, min(50, round(0.2 * 20e12 / (2 * n**3))))
        rounds = []
        for _ in range(5):
            t = time.perf_counter()
            for _ in range(reps):
                a @ b
            sync()
            rounds.append((time.perf_counter() - t) / reps)
        s = statistics.median(rounds)
        results.append({"n": n, "ms": s * 1e3, "tflops": 2 * n**3 / s / 1e12})
        log(f"n = {n}: {s * 1e3:.3f} ms, {2 * n**3 / s / 1e12:.2f} TFLOP/s")
    report("PyTorch float32 matmul n x n . n x n on CUDA, TF32 off (benchmarks/gpu/torch_matmul.py)", device, args.out,
           gpu=device_name(dev), torch=torch.__version__, results=results)


if __name__ == "__main__":
    main()
