#!/usr/bin/env python3
"""PyTorch's time for the training step benchmarks/gpu/gpu-check.ts times: the baseline.

One Adam step of an MLP D -> H -> 10 (Linear, ReLU, Linear) with mean cross-entropy against
integer labels, on B samples: zero_grad, forward, backward, step. Float32 on CUDA, TF32 off.
Sizes: B = 1024, 1024 -> 1024 -> 10 and B = 4096, 4096 -> 4096 -> 10 (--quick: 256 and 1024;
--sizes 64,256,1024,4096: B -> B -> 10 on B samples, as benchmarks/gpu/compiled-step.ts).
--graphs adds the step captured whole in a CUDA graph (Adam with capturable=True) and replayed,
where the torch version can capture it: the counterpart of tapegrad's compiled step.
Timed as gpu-check.ts times tapegrad:
  pipelined: 20 steps, then one sync(); median over 3 rounds, per step;
  synced:    the loss copied to the host after every step (loss.item()); median of 20 steps;
  steady:    pipelined again after 200 more steps.

usage: python3 benchmarks/gpu/torch_adam_mlp.py [--quick] [--sizes 64,256,...] [--graphs] [--out FILE] [--device cpu]
Prints a table on stderr and JSON on stdout (and to FILE).
"""
import argparse
import statistics
import time

import torch
from torch_gpu import float32_device, log, report, sync


def graphed(step, opt):
    """The step captured whole in a CUDA graph (after warm-up steps on a side stream, as PyTorch's
    documentation does it); the returned function replays it and returns the captured loss."""
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(3):
            step()
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    opt.zero_grad(set_to_none=True)
    with torch.cuda.graph(graph):
        loss = step()

    def replay():
        graph.replay()
        return loss

    return replay


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out")
    ap.add_argument("--sizes", help="comma-separated B, each timed as B -> B -> 10 on B samples")
    ap.add_argument("--graphs", action="store_true", help="also the step captured in a CUDA graph")
    ap.add_argument("--device", default="cuda", help="cpu: a dry run of the script without a GPU")
    args = ap.parse_args()
    dev, device = float32_device("torch_adam_mlp", args.device)
    sizes = [(256, 256, 256), (1024, 1024, 1024)] if args.quick else [(1024, 1024, 1024), (4096, 4096, 4096)]
    if args.sizes:
        sizes = [(int(b), int(b), int(b)) for b in args.sizes.split(",")]
    variants = [("pytorch", {})] + ([("pytorch fused Adam", {"fused": True})] if dev.type == "cuda" else [])
    if args.graphs and dev.type == "cuda":
        variants.append(("pytorch CUDA graph", {"capturable": True}))
    records = []
    # torch.optim.Adam's default on CUDA (foreach: a few multi-tensor kernels per step) and its
    # fused=True variant (one kernel for all parameters), the fastest PyTorch offers.
    for (B, D, H), (impl, adam_options) in [(s, v) for s in sizes for v in variants]:
        torch.manual_seed(1)
        net = torch.nn.Sequential(torch.nn.Linear(D, H), torch.nn.ReLU(), torch.nn.Linear(H, 10)).to(dev)
        opt = torch.optim.Adam(net.parameters(), lr=1e-3, **adam_options)
        X = torch.randn(B, D, device=dev)
        y = torch.arange(B, device=dev) * 7 % 10

        def step():
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(net(X), y)
            loss.backward()
            opt.step()
            return loss

        if impl == "pytorch CUDA graph":
            try:
                step = graphed(step, opt)
            except Exception as e:  # a torch that cannot capture the optimizer's step
                log(f"B={B}: CUDA graph capture failed ({type(e).__name__}: {e}); skipped")
                continue

        def pipelined_round():
            sync()
            t0 = time.perf_counter()
            for _ in range(20):
                step()
            sync()
            return (time.perf_counter() - t0) * 1000 / 20

        loss_first = step().item()
        for _ in range(5):
            step().item()
        pipelined = [pipelined_round() for _ in range(3)]
        synced = []
        loss_last = float("nan")
        for _ in range(20):
            t0 = time.perf_counter()
            loss_last = step().item()
            synced.append((time.perf_counter() - t0) * 1000)
        # steady: pipelined again after 200 more steps (as gpu-check.ts, whose JIT needs them)
        for _ in range(200):
            step()
        steady = [pipelined_round() for _ in range(3)]
        size = f"B={B} {D}\u2192{H}\u219210"
        rec = {"size": size, "impl": impl, "pipelinedMs": statistics.median(pipelined), "syncedMs": statistics.median(synced),
               "steadyPipelinedMs": statistics.median(steady), "lossFirst": loss_first, "lossLast": loss_last, "device": device}
        records.append(rec)
        log(f"{size:<22} {impl}: {rec['pipelinedMs']:.3f} ms/step pipelined, {rec['syncedMs']:.3f} ms synced, {rec['steadyPipelinedMs']:.3f} ms steady, loss {loss_first:.3f} -> {loss_last:.3f}")
    report("PyTorch Adam step of the gpu-check MLP (benchmarks/gpu/torch_adam_mlp.py), float32, TF32 off", device,
           args.out, records=records)


if __name__ == "__main__":
    main()
