#!/usr/bin/env bash
# Installs Fashion-MNIST (70,000 28x28 grayscale images, 10 classes) from the Debian package
# dataset-fashion-mnist: IDX files under /usr/share/datasets/fashion-mnist/, read by
# `loadFashionMnist` of `@geolip/vision/io` (ARCHITECTURE.md "Data and experts"). The vision tests
# that read it are skipped when the directory is missing. Idempotent; run as root or with sudo.
set -euo pipefail
"$(dirname "$0")/apt-install.sh" dataset-fashion-mnist
ls -l /usr/share/datasets/fashion-mnist/
