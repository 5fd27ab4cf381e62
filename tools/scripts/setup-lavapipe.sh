#!/usr/bin/env bash
# Optional, for developers: a software Vulkan driver (Mesa's lavapipe) so that Dawn — and with it tfjs's webgpu
# backend — runs on a machine without a GPU. Debian bookworm's Mesa 22 lacks a Vulkan feature Dawn requires
# (shaderUniform*ArrayDynamicIndexing); Mesa 25 from bookworm-backports works. Needs root and Debian's mirror.
# WGSL kernels can then be checked for correctness here (timings on lavapipe mean nothing):
#
#   export XDG_RUNTIME_DIR=/tmp VK_DRIVER_FILES=/usr/share/vulkan/icd.d/lvp_icd.json
#   node tools/device/pack.mjs tools/device/gpu-suite.mjs --out /tmp/pack-suite
#   GEOLIP_PACK_SKIP_DEBS=1 GEOLIP_NODE=$(command -v node) bash /tmp/pack-suite/run.sh --out /tmp/suite
#
# (initBackend() refuses a software adapter by default, so the suite's first check reports "chose cpu"; every
# parity check still runs webgpu against cpu.)
set -euo pipefail
. /etc/os-release
if [ "${VERSION_CODENAME:-}" != bookworm ]; then
  echo "setup-lavapipe: written for Debian bookworm (found ${PRETTY_NAME:-unknown}); install Mesa >= 24's mesa-vulkan-drivers" >&2
  exit 1
fi
list=/etc/apt/sources.list.d/geolip-bookworm-backports.list
[ -f "$list" ] || echo 'deb http://deb.debian.org/debian bookworm-backports main' > "$list"
apt-get update -q
DEBIAN_FRONTEND=noninteractive apt-get install -y -q -t bookworm-backports mesa-vulkan-drivers libvulkan1
ls /usr/share/vulkan/icd.d/lvp_icd*.json
