#!/usr/bin/env bash
# Every GPU check and figure in one command, run on the GPU machine from the project root, once
# `bash scripts/gpu-bundle.sh` has made .gpu/ (docs/gpu.md):
#
#   OUT=gpu-results bash benchmarks/gpu/run-all.sh [--quick] [--only a,b] [--skip a,b] [--budget s]
#
# The parts run in the order below, the issue's figures first. Each has its own time limit, and the
# whole run a budget (--budget, default 450 s; --quick: 4 times either): a part starts only with
# at least 20 s of the budget left, and is cut at what is left, so that the run ends within the
# budget and one that hangs cannot take the others' time. Each part writes its JSON records and its output (<part>.txt)
# straight into $OUT, so that a run cut short still brings back what it measured; $OUT/run-all.json
# records the device's name and each part's status and time (rewritten after each part), and
# $OUT/summary.txt every table the parts printed. --quick runs small sizes (a dry run on Dawn over
# SwiftShader, where the full sizes take far too long); --only and --skip take part names.
# The PyTorch baselines need python3 (or $PYTHON) with torch and CUDA; without them those parts
# only log their error. RUN='node --import tsx' runs the TypeScript sources instead of the bundles
# (a bundle's name maps to benchmarks/gpu/<name>.ts, gpu to benchmarks/gpu.ts).
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
write_manifest() {
  {
    printf '{"device": %s, "started": %s, "quick": %s, "budgetSeconds": %s, "parts": [' \
      "$(json_string "$device")" "$(json_string "$(date -u -d @"$start" +%FT%TZ)")" \
      "$([ $quick = 1 ] && echo true || echo false)" "$budget"
    local IFS=,
    printf '%s' "${records[*]}"
    printf ']}\n'
  } > "$out/run-all.json"
}

# part NAME LIMIT COMMAND...: runs COMMAND (output to $OUT/NAME.txt) within LIMIT seconds and the
# budget left, and records its exit status (124: cut by its time limit).
part() {
  local name=$1 limit=$(($2 * scale))
  shift 2
  local status
  if { [ -n "$only" ] && [[ $only != *",$name,"* ]]; } || [[ $skip == *",$name,"* ]]; then
    return
  fi
  local left=$((budget - ($(date +%s) - start)))
  if [ $left -lt 20 ]; then
    echo "== $name: skipped, $left s of the budget left" >&2
    records+=("{\"part\": \"$name\", \"status\": \"skipped: out of time\"}")
    write_manifest
    return
  fi
  [ $limit -gt $left ] && limit=$left
  ran+=("$name")
  echo "== $name (limit $limit s, $(date -u +%T))" >&2
  local t0=$(date +%s)
  timeout -k 5 "$limit" bash -c '"$@"' "$name" "$@" > "$out/$name.txt" 2>&1
  status=$?
  local took=$(($(date +%s) - t0))
  echo "exit status $status after $took s" >> "$out/$name.txt"
  echo "   exit status $status after $took s" >&2
  records+=("{\"part\": \"$name\", \"status\": $status, \"seconds\": $took, \"limitSeconds\": $limit}")
  write_manifest
}

q() { [ $quick = 1 ] && echo "$1" || echo "$2"; } # q QUICK FULL: the argument for this run's sizes

part machine 15 bash -c 'nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv; nproc'

# The issue's figures: matmul TFLOP/s, the Adam step (compiled, eager, PyTorch), linear algebra.
# (Parts from the matmul and replay work go here, one `part` line each.)
part torch-matmul 30 $python benchmarks/gpu/torch_matmul.py $(q '--sizes 256,512' '') --out "$out/torch-matmul.json"
part matmul 120 tg_run matmul-bench $(q --quick '') --torch "$out/torch-matmul.json"
part torch-adam-mlp 45 $python benchmarks/gpu/torch_adam_mlp.py $(q --quick '') --out "$out/torch-adam-mlp.json"
part gpu-check-step 90 tg_run gpu-check --parts fused,mlp $(q '--sizes 64x64x64' '')
mv -f "$out/gpu-check.json" "$out/gpu-check-step.json" 2> /dev/null
# the compiled Adam step (its GPU work replayed) beside eager at B = 64 … 4096, and PyTorch's (CUDA graph too)
part compiled-step 60 tg_run compiled-step $(q --quick '')
part torch-adam-all 45 $python benchmarks/gpu/torch_adam_mlp.py --sizes $(q 64,256 64,256,1024,4096) --graphs --out "$out/torch-adam-all.json"
part linalg 75 tg_run linalg-gpu $(q --quick '') --seconds $(q 40 60)
part torch-linalg 40 $python benchmarks/gpu/torch_linalg.py $(q --quick '') --out "$out/torch-linalg.json"

# The gradcheck suite with every kernel on the GPU; then the older figures and profiles.
part gradcheck 150 tg_run gpu-check --parts gradcheck --gradcheck-seconds $(q 60 120)
mv -f "$out/gpu-check.json" "$out/gpu-check-gradcheck.json" 2> /dev/null
part bench 100 tg_run gpu --suite mlp,matmul,chain,linalg --size $(q 'small --reps 2' full) --out "$out/bench"
part torch-mlp 30 $python benchmarks/reference/torch_mlp.py --size $(q small full) --out "$out/torch-mlp.json"
part step-profile 45 tg_run step-profile $(q 64 1024)
part warmup 35 tg_run warmup $(q 64 1024)
part dispatch-probe 30 tg_run dispatch-probe

write_manifest
for name in "${ran[@]}"; do
  echo "=== $name"
  grep -v '^\[gpu-check' "$out/$name.txt" | tail -60
done > "$out/summary.txt"
cat "$out/summary.txt"
echo "run-all: $(($(date +%s) - start)) s on $device; records in $out" >&2
