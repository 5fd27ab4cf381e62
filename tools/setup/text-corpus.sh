#!/usr/bin/env bash
# Installs the Debian packages of the unlabeled English text that `geolip-train run text-consensus`
# adds to its corpus (ARCHITECTURE.md "Data and experts"): WordNet 3.0 glosses and examples
# (wordnet-base, /usr/share/wordnet/data.{noun,verb,adj,adv}) and quotations (fortunes,
# /usr/share/games/fortunes). Not needed by the test suite. Idempotent; run as root or with sudo.
set -euo pipefail
exec "$(dirname "$0")/apt-install.sh" wordnet-base fortunes
