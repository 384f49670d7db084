#!/usr/bin/env python3
"""PyTorch's float32 matmul on CUDA (TF32 off): the baseline of benchmarks/gpu/matmul-bench.ts.

n x n times n x n for n = 1024, 2048, 4096, timed as matmul-bench.ts times tapegrad: 3 warm-up
products, then 5 rounds of R products enqueued back to back and one torch.cuda.synchronize();
the median round, per product. TFLOP/s = 2 n^3 / time.

usage: python3 benchmarks/gpu/torch_matmul.py [--sizes 1024,2048,4096] [--out FILE]
Prints a table on stderr and JSON on stdout (and to FILE).
"""
import argparse
import datetime
import json
import statistics
import sys
import time

import torch


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1024,2048,4096")
    ap.add_argument("--out")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        log("torch_matmul: CUDA is not available")
        sys.exit(2)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    dev = torch.device("cuda")
    results = []
    for n in [int(s) for s in args.sizes.split(",")]:
        g = torch.Generator(device=dev).manual_seed(n)
        a = torch.randn(n, n, device=dev, generator=g)
        b = torch.randn(n, n, device=dev, generator=g)
        for _ in range(3):
            a @ b
        torch.cuda.synchronize()
        reps = max(3, min(50, round(0.2 * 20e12 / (2 * n**3))))
        rounds = []
        for _ in range(5):
            t = time.perf_counter()
            for _ in range(reps):
                a @ b
            torch.cuda.synchronize()
            rounds.append((time.perf_counter() - t) / reps)
        s = statistics.median(rounds)
        results.append({"n": n, "ms": s * 1e3, "tflops": 2 * n**3 / s / 1e12})
        log(f"n = {n}: {s * 1e3:.3f} ms, {2 * n**3 / s / 1e12:.2f} TFLOP/s")
    report = {
        "what": "PyTorch float32 matmul n x n . n x n on CUDA, TF32 off (benchmarks/gpu/torch_matmul.py)",
        "gpu": torch.cuda.get_device_name(0),
        "torch": torch.__version__,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "results": results,
    }
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
