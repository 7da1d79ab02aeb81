#!/usr/bin/env bash
# Trains the Keras CNN on webgpu at batch 256 and 1024 on this machine's NVIDIA GPU and prints
# samples/s against the 1,741 samples/s H100 reference. Needs no Node: bench/gpu/pack.mjs (run
# where the repository is installed) carries one in bench/gpu/bundle/, with Dawn and the Vulkan
# loader. Needs the NVIDIA driver with its Vulkan ICD (in a container: the NVIDIA container
# toolkit with NVIDIA_DRIVER_CAPABILITIES including graphics, e.g. "all"; "compute,utility"
# alone gives CUDA but no Vulkan).
#   bench/gpu/run.sh [--batches 256,1024] [--allow-software]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bundle="${SYNCLINE_GPU_BUNDLE:-$here/bundle}"
[ -f "$bundle/bench.mjs" ] || { echo "bench/gpu: no bundle at $bundle: run 'node bench/gpu/pack.mjs' where the repository is installed, and copy bench/gpu/ here" >&2; exit 2; }

# Unpack what pack.mjs gzipped (once).
for f in "$bundle/node.gz" "$bundle/node_modules/webgpu/dist/linux-x64/dawn.node.gz"; do
  [ -f "$f" ] && [ ! -f "${f%.gz}" ] && gzip -dc "$f" > "${f%.gz}"
done
chmod +x "$bundle/node" 2>/dev/null || true

# Node: the carried one, else SYNCLINE_NODE, else one on PATH.
node="${SYNCLINE_NODE:-}"
if [ -z "$node" ] && [ -x "$bundle/node" ] && "$bundle/node" --version >/dev/null 2>&1; then node="$bundle/node"; fi
if [ -z "$node" ] && command -v node >/dev/null 2>&1; then node="$(command -v node)"; fi
[ -n "$node" ] || { echo "bench/gpu: no usable Node (the carried one did not run; set SYNCLINE_NODE)" >&2; exit 2; }

# The Vulkan loader: the system's, else the carried one.
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1 '; then export LD_LIBRARY_PATH="$bundle${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; fi

# NVIDIA's Vulkan driver: its ICD file where the driver installed one, else one written here
# for the driver's library (libGLX_nvidia carries the Vulkan entry points).
if [ -z "${VK_ICD_FILENAMES:-}" ]; then
  icd=""
  for f in /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.x86_64.json; do
    [ -f "$f" ] && icd="$f" && break
  done
  if [ -z "$icd" ]; then
    lib="$(ldconfig -p 2>/dev/null | awk '/libGLX_nvidia.so.0/ {print $NF; exit}')"
    if [ -n "$lib" ]; then
      icd="$(mktemp -d)/nvidia_icd.json"
      printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s","api_version":"1.3"}}\n' "$lib" > "$icd"
    fi
  fi
  if [ -n "$icd" ]; then export VK_ICD_FILENAMES="$icd"; else echo "bench/gpu: no NVIDIA Vulkan ICD found; Dawn will use whatever Vulkan driver it finds" >&2; fi
fi

command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >&2 || true
echo "bench/gpu: node $("$node" --version), VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-unset}" >&2
cd "$bundle"
exec "$node" bench.mjs "$@"
