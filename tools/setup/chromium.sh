#!/usr/bin/env bash
# Installs Chromium from Debian (package `chromium`, /usr/bin/chromium) for the browser tests, which drive it headless
# through playwright-core (a Playwright browser download at install time fails on machines without internet).
# Idempotent; root or sudo. Called by .ci/run. The browser tests skip, saying why, when Chromium is missing outside CI.
set -euo pipefail
"$(dirname "$0")/apt-install.sh" chromium
chromium --version
