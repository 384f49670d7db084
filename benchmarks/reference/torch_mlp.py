#!/usr/bin/env python3
"""The mlp suite's training steps in PyTorch (CUDA, float32, TF32 off), for the GPU table.

Same problem as benchmarks/suites/mlp.ts: X is B x B, relu(X W1) W2 with W1 B x B and W2 B x 10,
mean squared error against B x 10 targets, gradients of both weight matrices; B = 256 is the
mlp suite's main step (256 -> 256 -> 10). Prints a JSON list of records in the format of benchmarks/harness.ts
({suite, backend, impl, phase, size, medianMs, minMs, maxMs, reps, device, date, note}) on stdout,
progress on stderr.

Two synchronisations are reported, since they differ by the device-to-host copy:
  impl "pytorch":           every result copied to the host (.cpu()), as the JS harness awaits the
                            data of every result: the like-for-like figure;
  impl "pytorch sync-only": torch.cuda.synchronize() after the step, results left on the GPU.

usage: python3 benchmarks/reference/torch_mlp.py [--size small|full] [--reps N] [--out FILE]
"""
import argparse
import datetime
import json
import statistics
import sys
import time

import torch

SIZES = {"small": [64, 256], "full": [64, 256, 1024]}
OUT = 10


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def time_it(fn, reps, warmup):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    return times


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", choices=list(SIZES), default="full")
    ap.add_argument("--reps", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--out", help="also write the JSON records to this file")
    args = ap.parse_args()

    if not torch.cuda.is_available():
        log("torch_mlp: CUDA is not available")
        sys.exit(2)
    # float32 everywhere, no TF32 tensor-core shortcuts: the same arithmetic as the JS backends.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    dev = torch.device("cuda")
    device_name = f"{torch.cuda.get_device_name(0)} (PyTorch {torch.__version__}, CUDA {torch.version.cuda})"
    date = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    log(f"torch_mlp: {device_name}, TF32 off, float32")

    records = []

    def record(impl, phase, size, times, note):
        records.append({
            "suite": "mlp", "backend": "cuda", "impl": impl, "phase": phase, "size": size,
            "medianMs": statistics.median(times), "minMs": min(times), "maxMs": max(times),
            "reps": len(times), "device": device_name, "date": date, "note": note,
        })

    for B in SIZES[args.size]:
        D = H = B
        size = f"B={B} {D}\u2192{H}\u2192{OUT}"
        g = torch.Generator(device=dev).manual_seed(B)
        X = torch.randn(B, D, device=dev, dtype=torch.float32, generator=g)
        Y = torch.randn(B, OUT, device=dev, dtype=torch.float32, generator=g)
        W1 = (torch.randn(D, H, device=dev, dtype=torch.float32, generator=g) / D ** 0.5).requires_grad_()
        W2 = (torch.randn(H, OUT, device=dev, dtype=torch.float32, generator=g) / H ** 0.5).requires_grad_()

        def loss():
            return torch.nn.functional.mse_loss(torch.relu(X @ W1) @ W2, Y)

        def forward(read):
            with torch.no_grad():
                l = loss()
            if read:
                l.cpu()
            else:
                torch.cuda.synchronize()

        def step(read):
            W1.grad = None
            W2.grad = None
            l = loss()
            l.backward()
            if read:
                l.cpu(), W1.grad.cpu(), W2.grad.cpu()
            else:
                torch.cuda.synchronize()

        for read, impl, note in [(True, "pytorch", "results copied to the host, as the JS harness reads them"),
                                 (False, "pytorch sync-only", "torch.cuda.synchronize(); results stay on the GPU")]:
            for phase, fn in [("forward", lambda: forward(read)), ("grad", lambda: step(read))]:
                log(f"mlp {size} {impl} {phase} ...")
                record(impl, phase, size, time_it(fn, args.reps, args.warmup), note)

        # The gradients are right: compare with an independent float64 computation on the CPU.
        step(True)
        X64, Y64 = X.double().cpu(), Y.double().cpu()
        W1_64 = W1.detach().double().cpu().requires_grad_()
        W2_64 = W2.detach().double().cpu().requires_grad_()
        torch.nn.functional.mse_loss(torch.relu(X64 @ W1_64) @ W2_64, Y64).backward()
        err = max(((W1.grad.double().cpu() - W1_64.grad).abs().max() / W1_64.grad.abs().max()).item(),
                  ((W2.grad.double().cpu() - W2_64.grad).abs().max() / W2_64.grad.abs().max()).item())
        log(f"mlp {size}: float32 CUDA gradients vs float64 CPU: relative difference {err:.2e}")
        if err > 1e-3:
            log("torch_mlp: WARNING gradients differ more than float32 rounding explains")

    text = json.dumps(records, indent=1, ensure_ascii=False)
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    # The table a reader wants, on stderr so that stdout stays pure JSON.
    for r in records:
        log(f"{r['size']:<20} {r['impl']:<18} {r['phase']:<8} median {r['medianMs']:.3f} ms  (min {r['minMs']:.3f}, max {r['maxMs']:.3f}, {r['reps']} reps)")


if __name__ == "__main__":
    main()
