#!/usr/bin/env bash
# Packs tapegrad's GPU scripts into .gpu/, a folder that runs on a Linux x86-64 machine with an
# NVIDIA GPU and its driver, even one without Node.js, npm or network access (a typical rented GPU
# host). Run it from the project root after `npm ci` on a Linux x86-64 machine (the optional
# `webgpu` package must be installed):
#
#   bash scripts/gpu-bundle.sh                      # the default entries, listed below
#   bash scripts/gpu-bundle.sh path/to/entry.ts ... # or your own
#
# Then copy the project folder (or .gpu/ together with benchmarks/, for the PyTorch baselines)
# to the GPU machine and run, from the project root there:
#
#   bash .gpu/run.sh gpu-check.mjs [args]    # one bundle
#   bash benchmarks/gpu/run-all.sh           # every GPU benchmark (OUT=folder for the results)
#
# What .gpu/ holds (about 47 MB; it is in .gitignore):
#   <entry>.mjs           each entry, bundled by esbuild (everything it imports except Dawn)
#   chunk-*.mjs           the code the entries share, imported by them
#   *.wasm                the TF.js wasm backend's binaries, which the bundles load from beside them
#   node_modules/@tensorflow/tfjs-backend-wasm   its threads' glue and worker scripts (require()d)
#   node_modules/webgpu   Dawn's Node binding (its native dawn.node for linux-x64)
#   node.xz               the Node.js that ran this script, used there when the machine has none
#   debs/                 the Vulkan loader and GL dispatch libraries Dawn needs, when apt can fetch them
#   run.sh                scripts/gpu-run.sh: prepares the machine, then runs one bundle
#
# An entry must set navigator.gpu from `webgpu` before it imports @tensorflow/tfjs-backend-webgpu,
# which registers its backend at import time only when navigator.gpu exists (see
# benchmarks/gpu/gpu-check.ts).
set -euo pipefail
cd "$(dirname "$0")/.."

entries=("$@")
if [ ${#entries[@]} -eq 0 ]; then
  entries=(benchmarks/gpu.ts benchmarks/gpu/gpu-check.ts benchmarks/gpu/step-profile.ts
    benchmarks/gpu/warmup.ts benchmarks/gpu/dispatch-probe.ts benchmarks/gpu/linalg-gpu.ts
    benchmarks/gpu/matmul-bench.ts benchmarks/gpu/compiled-step.ts benchmarks/gpu/compare.ts)
fi
if [ "$(uname -sm)" != 'Linux x86_64' ]; then
  echo "gpu-bundle: run this on Linux x86-64 (the bundle carries this machine's Node.js)" >&2
  exit 2
fi
if [ ! -d node_modules/webgpu/dist/linux-x64 ]; then
  echo "gpu-bundle: node_modules/webgpu is missing: run npm ci (webgpu is an optional dependency)" >&2
  exit 2
fi

out=.gpu
mkdir -p "$out/debs" "$out/node_modules/webgpu/dist"

# The bundles are ES modules; some packages inside them still call require() or read __dirname.
banner="import { createRequire } from 'node:module'; import { fileURLToPath } from 'node:url';\
 import { dirname } from 'node:path'; const require = createRequire(import.meta.url);\
 const __filename = fileURLToPath(import.meta.url); const __dirname = dirname(__filename);"
# One esbuild run for every entry, with the code they share split into chunks (chunk-*.mjs) that
# each entry imports, so that the library is carried once, not once per entry; minified (names
# kept, for error messages and stack traces). Together with the project it must fit a 64 MiB copy.
rm -f "$out"/*.mjs
npx --no-install esbuild "${entries[@]}" --bundle --splitting --platform=node --format=esm --target=node20 --main-fields=module,main \
  --minify --keep-names --external:webgpu --banner:js="$banner" --outdir="$out" --entry-names='[name]' \
  --chunk-names='chunk-[hash]' --out-extension:.js=.mjs --log-level=warning

cp node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm "$out/"
# The wasm backend's threads load the Emscripten glue and its worker by require() from beside the bundles.
wasm_out=$out/node_modules/@tensorflow/tfjs-backend-wasm/wasm-out
mkdir -p "$wasm_out"
cp node_modules/@tensorflow/tfjs-backend-wasm/package.json "$wasm_out/.."
cp node_modules/@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd{.js,.worker.js} "$wasm_out/"
cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$out/node_modules/webgpu/"
rm -rf "$out/node_modules/webgpu/dist/linux-x64"
cp -r node_modules/webgpu/dist/linux-x64 "$out/node_modules/webgpu/dist/"
if [ ! -s "$out/node.xz" ]; then
  xz -T0 -6 -c "$(readlink -f "$(command -v node)")" > "$out/node.xz"
fi

# Dawn opens libvulkan.so.1, and NVIDIA's Vulkan driver needs the GL dispatch libraries; GPU hosts
# often have the driver without them. Debian and Ubuntu packages, fetched here, unpacked there.
if ! ls "$out"/debs/libvulkan1_*.deb > /dev/null 2>&1; then
  if command -v apt-get > /dev/null; then
    (cd "$out/debs" && apt-get download libvulkan1 libglvnd0 libegl1 libgl1 libglx0 libopengl0 libgles2 2>&1 |
      grep -v 'unsandboxed' || true)
  fi
  ls "$out"/debs/libvulkan1_*.deb > /dev/null 2>&1 ||
    echo "gpu-bundle: no apt here: the GPU machine must have libvulkan1 and libglvnd0 installed" >&2
fi

cp scripts/gpu-run.sh "$out/run.sh"
chmod +x "$out/run.sh"
du -sh "$out"
echo "bundled: $(cd "$out" && ls ./*.mjs | sed 's#^\./##' | tr '\n' ' ')"
