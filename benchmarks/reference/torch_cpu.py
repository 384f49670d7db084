#!/usr/bin/env python3
"""The `--suite cpu` workloads in PyTorch on the CPU (float32), for the side-by-side ratios.

Same problems, shapes and seeds' roles as benchmarks/suites/cpu.ts:
  adam   one Adam step (lr 1e-3) of Linear(B, B) -> ReLU -> Linear(B, 10), mean cross-entropy
         against labels (7 i mod 10), X of shape B x B: zero_grad, forward, backward, step;
  mlp    relu(X W1) W2, mean squared error against B x 10 targets: forward, and forward + the
         gradients of W1 and W2 (no biases);
  chain  1,000 chained ops (sin, then x 1.001, alternately) on a scalar and on a 1,000-vector,
         summed: forward, and forward + gradient;
  matmul 1024 x 1024 times 1024 x 1024, forward only, on 1 thread and on every core.
Each workload is timed on every core and on one thread, and the faster is recorded (the other in
the note): on a machine shared with other processes, OpenMP's threads can wait on each other far
longer than the work takes, and the comparison is with the best PyTorch does here.
Every timed call ends with the values on the host (the JS harness awaits every result's data).
Prints a JSON list of records in the format of benchmarks/harness.ts on stdout, progress on stderr.

Run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (the suite does): they force older kernels.

usage: /usr/bin/python3 benchmarks/reference/torch_cpu.py [--size small|full] [--threads N] [--budget S]
"""
import argparse
import datetime
import json
import math
import os
import statistics
import sys
import time

import torch

SIZES = {"small": [64, 256], "full": [64, 256, 1024]}
OUT = 10
OPS = 1000
SCALE = 1.001


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def time_it(fn, budget_s, reps=15, warmup_s=0.25):
    """Warm-up for warmup_s (at least 2 runs), then up to `reps` runs within budget_s (at least 3)."""
    start = time.perf_counter()
    runs = 0
    while runs < 2 or (time.perf_counter() - start < warmup_s and runs < 200):
        fn()
        runs += 1
    one = (time.perf_counter() - start) / runs
    n = max(3, min(reps, int(budget_s / max(one, 1e-6))))
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    return times


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", choices=list(SIZES), default="small")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--budget", type=float, default=2.0, help="seconds of timed runs per measurement")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    device = f"PyTorch {torch.__version__} CPU, {args.threads} threads"
    date = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    records = []

    def record(phase, size, times, note=device):
        if callable(times):
            # the faster of every core and one thread
            runs = {}
            for threads in sorted({args.threads, 1}, reverse=True):
                torch.set_num_threads(threads)
                runs[threads] = times()
            torch.set_num_threads(args.threads)
            best = min(runs, key=lambda k: statistics.median(runs[k]))
            others = ", ".join(f"{k} threads {statistics.median(v):.3f} ms" for k, v in runs.items() if k != best)
            times = runs[best]
            note = f"PyTorch {torch.__version__} CPU, {best} thread{'s' if best > 1 else ''} ({others})"
        records.append({
            "suite": "cpu", "impl": "pytorch", "phase": phase, "size": size,
            "medianMs": statistics.median(times), "minMs": min(times), "maxMs": max(times),
            "reps": len(times), "date": date, "note": note,
        })
        log(f"{size:<28} pytorch {phase:<8} median {statistics.median(times):.3f} ms")

    for B in SIZES[args.size]:
        # ---- the Adam step
        torch.manual_seed(1)
        net = torch.nn.Sequential(torch.nn.Linear(B, B), torch.nn.ReLU(), torch.nn.Linear(B, OUT))
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        X = torch.randn(B, B)
        y = torch.arange(B) * 7 % OUT

        def adam_step():
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(net(X), y)
            loss.backward()
            opt.step()
            return loss.item()

        def adam_forward():
            with torch.no_grad():
                return torch.nn.functional.cross_entropy(net(X), y).item()

        size = f"Adam step B={B} {B}→{B}→{OUT}"
        record("forward", size, lambda: time_it(adam_forward, args.budget))
        record("grad", size, lambda: time_it(adam_step, args.budget))

        # ---- forward + gradient of the relu MLP, mse
        W1 = (torch.randn(B, B) / math.sqrt(B)).requires_grad_()
        W2 = (torch.randn(B, OUT) / math.sqrt(B)).requires_grad_()
        Y = torch.randn(B, OUT)

        def mlp_loss():
            return torch.nn.functional.mse_loss(torch.relu(X @ W1) @ W2, Y)

        def mlp_forward():
            with torch.no_grad():
                return mlp_loss().item()

        def mlp_grad():
            g1, g2 = torch.autograd.grad(mlp_loss(), [W1, W2])
            return g1[0, 0].item() + g2[0, 0].item()

        size = f"mlp B={B} {B}→{B}→{OUT}"
        record("forward", size, lambda: time_it(mlp_forward, args.budget))
        record("grad", size, lambda: time_it(mlp_grad, args.budget))

    # ---- the 1,000-op chain
    for n in [1, 1000]:
        x = torch.randn(n if n > 1 else ()).requires_grad_()

        def chain(v):
            for _ in range(OPS // 2):
                v = torch.sin(v) * SCALE
            return v.sum()

        def chain_forward():
            with torch.no_grad():
                return chain(x).item()

        def chain_grad():
            (g,) = torch.autograd.grad(chain(x), [x])
            return g.reshape(-1)[0].item()

        size = f"chain scalar, {OPS} ops" if n == 1 else f"chain {n}-vector, {OPS} ops"
        record("forward", size, lambda: time_it(chain_forward, args.budget))
        record("grad", size, lambda: time_it(chain_grad, args.budget))

    # ---- matmul 1024, one thread and every thread
    a = torch.randn(1024, 1024)
    b = torch.randn(1024, 1024)
    for threads in sorted({1, args.threads}):
        torch.set_num_threads(threads)
        times = time_it(lambda: (a @ b)[0, 0].item(), args.budget)
        gflops = 2 * 1024**3 / (statistics.median(times) / 1000) / 1e9
        record("forward", f"matmul n=1024, {threads} thread{'s' if threads > 1 else ''}", times,
               f"PyTorch {torch.__version__} CPU, {threads} threads: {gflops:.0f} GFLOP/s")
    torch.set_num_threads(args.threads)

    print(json.dumps(records, ensure_ascii=False))


if __name__ == "__main__":
    main()
