#!/usr/bin/env bash
# Every GPU check and figure in one command, run on the GPU machine from the project root, once
# `bash scripts/gpu-bundle.sh` has made .gpu/ (docs/gpu.md):
#
#   OUT=gpu-results bash benchmarks/gpu/run-all.sh [--quick] [--only a,b] [--skip a,b] [--budget s]
#
# The parts run in the order below, the issue's figures first. Each has its own time limit, and the
# whole run a budget (--budget, default 450 s; --quick: 4 times either): a part starts only with
# at least 20 s of the budget left, and is cut at what is left, so that the run ends within the
# budget and one that hangs cannot take the others' time. Each part writes its JSON records and its
# output (<part>.txt) straight into $OUT, so that a run cut short still brings back what it
# measured; $OUT/run-all.json records the device's name, the PyTorch found and each part's status
# and time, and $OUT/summary.txt the tail of each part's output (both rewritten as each part ends).
# --quick runs small sizes and short protocols (a dry run on Dawn over SwiftShader, where the full
# ones take far too long; its gradcheck checks random directions); --only and --skip take part names.
# The PyTorch baselines need python3 (or $PYTHON) with torch and CUDA: without torch (or without
# CUDA) their parts are skipped, saying why in the output and in run-all.json ("pytorch"), and the
# tables leave PyTorch's column empty; in a --quick dry run a torch without CUDA runs them on the
# CPU, so that the comparison is exercised (its figures say "CPU (dry run)"). The last table,
# $OUT/compare.txt (and compare.json), sets each of the issue's targets beside PyTorch's.
# RUN='node --import tsx' runs the TypeScript sources instead of the bundles (a bundle's name maps
# to benchmarks/gpu/<name>.ts, gpu to benchmarks/gpu.ts).
set -u
out=${OUT:?OUT must name the folder for the results}
quick=0
only=''
skip=''
budget=''
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1 ;;
    --only) only=,$2, && shift ;;
    --skip) skip=,$2, && shift ;;
    --budget) budget=$2 && shift ;;
    *) echo "run-all: unknown argument $1" >&2 && exit 2 ;;
  esac
  shift
done
# A dry run on a software GPU (Dawn over SwiftShader) is far slower than a GPU, even at small sizes.
scale=1
[ $quick = 1 ] && scale=4
budget=${budget:-$((450 * scale))}
mkdir -p "$out"
out=$(cd "$out" && pwd)
export OUT=$out PYTHONUNBUFFERED=1
python=${PYTHON:-python3}
start=$(date +%s)
device=$(nvidia-smi --query-gpu=name --format=csv,noheader 2> /dev/null | head -1)
device=${device:-${DEVICE_NAME:-no nvidia-smi: each record names the WebGPU adapter}}
records=()
ran=()

# Which PyTorch the baselines run on: torch_device cuda, cpu (a --quick dry run only) or none.
torch_probe=$($python -c 'import torch; print("torch", torch.__version__, torch.cuda.is_available())' 2>&1 | tail -1)
read -r _ torch_version _ <<< "$torch_probe"
case $torch_probe in
  'torch '*' True') torch_device=cuda pytorch="PyTorch $torch_version with CUDA" ;;
  'torch '*' False') torch_device=cpu pytorch="PyTorch $torch_version without CUDA" ;;
  *) torch_device='' pytorch="no PyTorch from $python (${torch_probe:-no output})" ;;
esac
if [ "$torch_device" = cpu ] && [ $quick = 1 ]; then
  pytorch="$pytorch: the PyTorch baselines run on the CPU (a dry run)"
elif [ "$torch_device" != cuda ]; then
  pytorch="$pytorch: the PyTorch baselines are skipped"
  torch_device=''
fi
echo "run-all: $pytorch" >&2

# One bundle of .gpu/ (or, with RUN set, its TypeScript source).
tg_run() {
  local name=${1%.mjs}
  shift
  if [ -n "${RUN:-}" ]; then
    local src=benchmarks/gpu/$name.ts
    [ "$name" = gpu ] && src=benchmarks/gpu.ts
    $RUN "$src" "$@"
  else
    bash .gpu/run.sh "$name.mjs" "$@"
  fi
}

export -f tg_run

json_string() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"; }
# write_manifest [RECORD]: run-all.json, with the records so far (and RECORD: the part running, so
# that a run killed mid-part says which).
write_manifest() {
  local all=(${records[@]+"${records[@]}"} "$@")
  {
    printf '{"device": %s, "pytorch": %s, "started": %s, "quick": %s, "budgetSeconds": %s, "parts": [' \
      "$(json_string "$device")" "$(json_string "$pytorch")" "$(json_string "$(date -u -d @"$start" +%FT%TZ)")" \
      "$([ $quick = 1 ] && echo true || echo false)" "$budget"
    local IFS=,
    printf '%s' "${all[*]}"
    printf ']}\n'
  } > "$out/run-all.json"
}

write_manifest

# The tail of a part's output, appended to $OUT/summary.txt as each part ends (a run cut short
# keeps the summary of the parts it finished).
: > "$out/summary.txt"
summarize() {
  { echo "=== $1"; grep -v '^\[gpu-check' "$out/$1.txt" | tail -60; } >> "$out/summary.txt"
}

selected() { { [ -z "$only" ] || [[ $only == *",$1,"* ]]; } && [[ $skip != *",$1,"* ]]; }

# skipped NAME WHY: records a part that does not run.
skipped() {
  echo "== $1: skipped, $2" >&2
  echo "skipped: $2" > "$out/$1.txt"
  records+=("{\"part\": \"$1\", \"status\": $(json_string "skipped: $2")}")
  write_manifest
  summarize "$1"
}

# part NAME LIMIT COMMAND...: runs COMMAND (output to $OUT/NAME.txt) within LIMIT seconds and the
# budget left, and records its exit status (124: cut by its time limit).
part() {
  local name=$1 limit=$(($2 * scale))
  shift 2
  local status
  selected "$name" || return 0
  local left=$((budget - ($(date +%s) - start)))
  if [ $left -lt 20 ]; then
    skipped "$name" "$left s of the budget left"
    return
  fi
  [ $limit -gt $left ] && limit=$left
  ran+=("$name")
  echo "== $name (limit $limit s, $(date -u +%T))" >&2
  write_manifest "{\"part\": \"$name\", \"status\": \"running since $(date -u +%T)\", \"limitSeconds\": $limit}"
  local t0=$(date +%s)
  timeout -k 5 "$limit" bash -c '"$@"' "$name" "$@" > "$out/$name.txt" 2>&1 &
  running=$! running_name=$name
  wait $running
  status=$?
  running=''
  local took=$(($(date +%s) - t0))
  echo "exit status $status after $took s$([ $status = 124 ] && echo ': cut at its time limit')" >> "$out/$name.txt"
  echo "   exit status $status after $took s" >&2
  records+=("{\"part\": \"$name\", \"status\": $status, \"seconds\": $took, \"limitSeconds\": $limit}")
  write_manifest
  summarize "$name"
}

# Stopped from outside (the machine's time limit): the part running is stopped too (timeout passes
# the signal on), and run-all.json says so.
running=''
running_name=''
stop() {
  if [ -n "$running" ]; then
    kill -TERM "$running" 2> /dev/null
    wait "$running"
    echo "stopped by a signal" >> "$out/$running_name.txt"
    records+=("{\"part\": \"$running_name\", \"status\": \"stopped by a signal\"}")
    summarize "$running_name"
  fi
  write_manifest
  echo "run-all: stopped by a signal after $(($(date +%s) - start)) s; records in $out" >&2
  exit 143
}
trap stop TERM INT HUP

# torch_part NAME LIMIT [--cuda-only] SCRIPT ARGS...: a PyTorch baseline, skipped without a usable
# torch (a CUDA one, with --cuda-only or outside a dry run); on the CPU it gets --device cpu.
torch_part() {
  local name=$1 limit=$2
  shift 2
  local cuda_only=0
  [ "$1" = --cuda-only ] && cuda_only=1 && shift
  selected "$name" || return 0
  if [ -z "$torch_device" ]; then
    skipped "$name" "$pytorch"
  elif [ $torch_device = cpu ] && [ $cuda_only = 1 ]; then
    skipped "$name" "$pytorch; this baseline needs CUDA"
  elif [ $torch_device = cpu ]; then
    part "$name" "$limit" "$python" "$@" --device cpu
  else
    part "$name" "$limit" "$python" "$@"
  fi
}

q() { [ $quick = 1 ] && echo "$1" || echo "$2"; } # q QUICK FULL: the argument for this run's sizes

part machine 15 bash -c 'nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv; nproc'

# The issue's figures: matmul TFLOP/s, the Adam step (compiled, eager, PyTorch), linear algebra.
# (Parts from the matmul and replay work go here, one `part` line each.)
torch_part torch-matmul 30 benchmarks/gpu/torch_matmul.py $(q '--sizes 128' '') --out "$out/torch-matmul.json"
part matmul 120 tg_run matmul-bench $(q --quick '') --torch "$out/torch-matmul.json"
torch_part torch-adam-mlp 45 benchmarks/gpu/torch_adam_mlp.py $(q '--sizes 64' '') --out "$out/torch-adam-mlp.json"
part gpu-check-step 90 tg_run gpu-check --parts fused,mlp $(q '--sizes 64x64x64' '')
mv -f "$out/gpu-check.json" "$out/gpu-check-step.json" 2> /dev/null
# the compiled Adam step (its GPU work replayed) beside eager at B = 64 … 4096, and PyTorch's (CUDA graph too)
part compiled-step 60 tg_run compiled-step $(q --quick '')
torch_part torch-adam-all 45 benchmarks/gpu/torch_adam_mlp.py --sizes $(q 64 64,256,1024,4096) --graphs --out "$out/torch-adam-all.json"
part linalg 75 tg_run linalg-gpu $(q --quick '') --seconds $(q 150 60)
torch_part torch-linalg 40 benchmarks/gpu/torch_linalg.py $(q --quick '') --out "$out/torch-linalg.json"

# The gradcheck suite with every kernel on the GPU; then the older figures and profiles.
part gradcheck 150 tg_run gpu-check --parts gradcheck --gradcheck-seconds $(q '300 --gradcheck-mode fast' 120)
mv -f "$out/gpu-check.json" "$out/gpu-check-gradcheck.json" 2> /dev/null
part bench 100 tg_run gpu --suite $(q 'matmul,chain,linalg --size small --reps 1' 'mlp,matmul,chain,linalg --size full') --out "$out/bench"
torch_part torch-mlp 30 --cuda-only benchmarks/reference/torch_mlp.py --size $(q small full) --out "$out/torch-mlp.json"
part step-profile 45 tg_run step-profile $(q '64 --quick' 1024)
part warmup 35 tg_run warmup $(q '64 --quick' 1024)
part dispatch-probe 30 tg_run dispatch-probe

write_manifest
# Each target beside PyTorch's, from the records above (no GPU; outside the budget: it takes a second).
timeout -k 5 30 bash -c 'tg_run compare' > "$out/compare.txt" 2>&1 ||
  echo "compare failed: exit status $?" >> "$out/compare.txt"
cat "$out/summary.txt"
cat "$out/compare.txt"
echo "run-all: $(($(date +%s) - start)) s on $device; $pytorch; records in $out" >&2
