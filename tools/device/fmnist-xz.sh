#!/usr/bin/env bash
# Fashion-MNIST's IDX files, uncompressed then xz -9e (the training images: 26.4 MB gzip → 22.6 MB), for a GPU-machine
# call that must fit the 64 MiB carry (tools/device/train-fmnist-card.sh unpacks them there).
#   bash tools/device/fmnist-xz.sh /usr/share/datasets/fashion-mnist .tmp/fmxz            the training split
#   bash tools/device/fmnist-xz.sh /usr/share/datasets/fashion-mnist .tmp/fmxz --with-test  and the test split
set -euo pipefail
src="${1:?usage: fmnist-xz.sh <dir of the .gz IDX files> <out dir> [--with-test]}"
dst="${2:?usage: fmnist-xz.sh <dir of the .gz IDX files> <out dir> [--with-test]}"
mkdir -p "$dst"
names=(train-images-idx3-ubyte train-labels-idx1-ubyte)
if [ "${3:-}" = --with-test ]; then names+=(t10k-images-idx3-ubyte t10k-labels-idx1-ubyte); else rm -f "$dst"/t10k-*.xz; fi
for n in "${names[@]}"; do
  [ -f "$dst/$n.xz" ] && continue
  gunzip -c "$src/$n.gz" | xz -9e -T2 > "$dst/$n.xz.tmp"
  mv "$dst/$n.xz.tmp" "$dst/$n.xz"
done
du -sh "$dst"
