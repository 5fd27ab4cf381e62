#!/usr/bin/env bash
# Installs Fashion-MNIST (70,000 28x28 grayscale images, 10 classes) from the Debian package
# dataset-fashion-mnist: IDX files under /usr/share/datasets/fashion-mnist/, read by
# `loadFashionMnist` of `@geolip/vision/io` (ARCHITECTURE.md "Data and experts"). The vision tests
# that read it are skipped when the directory is missing. Idempotent; run as root or with sudo.
set -euo pipefail
PKGS=(dataset-fashion-mnist)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then echo "fashion-mnist package present: ${PKGS[*]}"; exit 0; fi
SUDO=""; if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "installed: ${missing[*]}"
ls -l /usr/share/datasets/fashion-mnist/
