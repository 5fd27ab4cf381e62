#!/usr/bin/env bash
# On the GPU machine (no Node, no network). Needs, carried from the dev machine:
#   .device/node.xz               xz of a linux-x64 node binary (xz -c $(which node) > .device/node.xz)
#   .device/node_modules.tar.xz   tfjs-core/-cpu/-wasm/-webgpu/-layers 4.22.0 + webgpu (linux-x64 dawn.node only)
#   .gl/libvulkan1_*.deb          the Vulkan loader (see the device README)
#   packages/geometry/dist        npm run build -w @geolip/geometry
set -euo pipefail
for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
work=/tmp/geolip-webgpu
mkdir -p "$work/node_modules/@geolip/geometry"
xz -dc .device/node.xz > "$work/node" && chmod +x "$work/node"
tar -C "$work" -xJf .device/node_modules.tar.xz
cp -r packages/geometry/dist packages/geometry/package.json "$work/node_modules/@geolip/geometry/"
cp tools/device/webgpu-check.mjs "$work/"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true
cd "$work" && ./node webgpu-check.mjs
