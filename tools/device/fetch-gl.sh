#!/usr/bin/env bash
# Downloads (does not install) the Debian amd64 packages of the Vulkan loader and the GL/EGL libraries into
# .gl/ (git-ignored through .git/info/exclude), for tools/device/pack.mjs. Needs apt-get and Debian's mirror;
# run once per checkout.
set -euo pipefail
cd "$(dirname "$0")/../.."
grep -qx '/.gl/' .git/info/exclude 2>/dev/null || echo /.gl/ >> .git/info/exclude
mkdir -p .gl /tmp/amd64/partial
o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
apt-get $o update >/dev/null
(cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
ls -la .gl
