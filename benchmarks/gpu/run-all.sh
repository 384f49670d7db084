#!/usr/bin/env bash
# Every GPU benchmark in one command, run on the GPU machine from the project root, once
# `bash scripts/gpu-bundle.sh` has made .gpu/ (docs/gpu.md):
#
#   OUT=gpu-results bash benchmarks/gpu/run-all.sh
#
# Each part has its own time limit, so that one that hangs cannot take the others' time, and the
# results are packed into $OUT/results.tgz after each part, so that a run cut short still brings
# back what it measured. $OUT/summary.txt holds every table the parts printed. The PyTorch
# baselines need python3 with torch and CUDA; without them those parts only log their error.
set -u
out=${OUT:?OUT must name the folder for the results}
mkdir -p "$out"
r=/tmp/tapegrad-gpu-results
rm -rf "$r" && mkdir -p "$r"
export PYTHONUNBUFFERED=1
pack() { tar czf "$out/results.tgz" -C "$r" . ; }
part() { echo "== $1 ($(date -u +%T))" >&2; }

part 'the machine'
{ nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv; nproc; } > "$r/machine.txt" 2>&1

part 'PyTorch: the Adam step (benchmarks/gpu/torch_adam_mlp.py)'
timeout 60 python3 benchmarks/gpu/torch_adam_mlp.py --out "$r/torch-adam-mlp.json" > /dev/null 2> "$r/torch-adam-mlp.txt"
pack

part 'tapegrad: where the CPU time of a training step goes (benchmarks/gpu/step-profile.ts)'
{ OUT=$r timeout 60 bash .gpu/run.sh step-profile.mjs 1024; OUT=$r timeout 50 bash .gpu/run.sh step-profile.mjs 4096 --no-wrap; } > "$r/step-profile.txt" 2>&1
pack

part 'tapegrad: how a process warms up (benchmarks/gpu/warmup.ts)'
OUT=$r timeout 40 bash .gpu/run.sh warmup.mjs 1024 > "$r/warmup.txt" 2>&1
pack

part 'tapegrad: the GPU check (benchmarks/gpu/gpu-check.ts)'
OUT=$r timeout 190 bash .gpu/run.sh gpu-check.mjs --parts fused,mlp,gradcheck --gradcheck-seconds 120 > "$r/gpu-check.txt" 2>&1
echo "gpu-check exit status: $?" >> "$r/gpu-check.txt"
pack

part 'the CPU cost of a dispatch (benchmarks/gpu/dispatch-probe.ts)'
OUT=$r timeout 30 bash .gpu/run.sh dispatch-probe.mjs > "$r/dispatch-probe.txt" 2>&1
pack

part 'tapegrad: the benchmark suites mlp, matmul, chain (benchmarks/gpu.ts)'
timeout 100 bash .gpu/run.sh gpu.mjs --suite mlp,matmul,chain --size full --out "$r/bench" > "$r/bench.txt" 2> "$r/bench.err"
echo "bench exit status: $?" >> "$r/bench.txt"
pack

part 'PyTorch: the benchmark MLP step (benchmarks/reference/torch_mlp.py)'
timeout 45 python3 benchmarks/reference/torch_mlp.py --out "$r/torch-mlp.json" > /dev/null 2> "$r/torch-mlp.txt"
pack

for f in machine.txt torch-adam-mlp.txt step-profile.txt warmup.txt gpu-check.txt dispatch-probe.txt bench.txt torch-mlp.txt; do
  echo "=== $f"
  grep -v '^\[gpu-check' "$r/$f" | tail -60
done > "$out/summary.txt"
cat "$out/summary.txt"
