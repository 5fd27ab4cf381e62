#!/usr/bin/env bash
# Installs the Debian packages of the unlabeled English text that `geolip-train run text-consensus`
# adds to its corpus (ARCHITECTURE.md "Data and experts"): WordNet 3.0 glosses and examples
# (wordnet-base, /usr/share/wordnet/data.{noun,verb,adj,adv}) and quotations (fortunes,
# /usr/share/games/fortunes). Not needed by the test suite. Idempotent; run as root or with sudo.
set -euo pipefail
PKGS=(wordnet-base fortunes)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then echo "text corpus packages present: ${PKGS[*]}"; exit 0; fi
SUDO=""; if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "installed: ${missing[*]}"
