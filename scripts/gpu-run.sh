#!/usr/bin/env bash
# Runs one bundle that scripts/gpu-bundle.sh made, on the GPU machine (it is copied to
# .gpu/run.sh):
#
#   bash .gpu/run.sh gpu-check.mjs [args]
#   bash .gpu/run.sh --probe                 # only says which GPU adapter Dawn finds (exit 3: none)
#
# Before running it, it supplies what a bare GPU host lacks: Node.js (the bundled one, when none of
# version 20 or later is on PATH), the Vulkan loader (the bundled Debian packages, unpacked when
# libvulkan.so.1 is not installed; that needs root), the NVIDIA Vulkan driver's manifest for the
# loader (VK_DRIVER_FILES, unless set) and XDG_RUNTIME_DIR, which Dawn expects.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 1 ] || { echo "usage: bash .gpu/run.sh BUNDLE.mjs [args]" >&2; exit 2; }

# The bundles are ES modules for Node.js 20 (top-level await): an older node on PATH is passed over.
if [ "$(node -p 'process.versions.node.split(".")[0]' 2> /dev/null || echo 0)" -lt 20 ]; then
  bin=${TMPDIR:-/tmp}/tapegrad-node
  mkdir -p "$bin"
  [ -x "$bin/node" ] || { xz -d -c "$here/node.xz" > "$bin/node.part" && chmod +x "$bin/node.part" &&
    mv "$bin/node.part" "$bin/node"; }
  export PATH=$bin:$PATH
fi

has_vulkan() {
  ldconfig -p 2> /dev/null | grep -q 'libvulkan\.so\.1' && return 0
  local dir
  local path=${LD_LIBRARY_PATH:-}
  for dir in ${path//:/ }; do [ -e "$dir/libvulkan.so.1" ] && return 0; done
  return 1
}
if ! has_vulkan; then
  if [ "$(id -u)" = 0 ] && ls "$here"/debs/*.deb > /dev/null 2>&1; then
    for deb in "$here"/debs/*.deb; do dpkg -x "$deb" /; done
    ldconfig
  else
    echo "run.sh: libvulkan.so.1 is not installed; install libvulkan1 (or run as root with .gpu/debs/)" >&2
  fi
fi

if [ -z "${VK_DRIVER_FILES:-}" ]; then
  for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json \
    /etc/vulkan/icd.d/nvidia_icd.json; do
    if [ -f "$icd" ]; then export VK_DRIVER_FILES=$icd; break; fi
  done
fi
# The driver's own libraries, where GPU containers mount them outside the loader's search path.
for dir in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do
  if [ -d "$dir" ] && [[ ":${LD_LIBRARY_PATH:-}:" != *":$dir:"* ]]; then
    export LD_LIBRARY_PATH=${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$dir
  fi
done
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}

if [ "$1" = --probe ]; then
  cd "$here"
  exec node --input-type=module -e "
    import { create } from './node_modules/webgpu/index.js';
    const adapter = await create([]).requestAdapter();
    if (!adapter) { console.log('run.sh: Dawn found no GPU adapter'); process.exit(3); }
    const { vendor, architecture, device, description } = adapter.info;
    console.log('run.sh: Dawn found', [vendor, architecture, device, description].filter(Boolean).join(' '));
    process.exit(0);"
fi

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2> /dev/null || true
bundle=$1
shift
exec node "$here/$bundle" "$@"
