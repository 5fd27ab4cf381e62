#!/usr/bin/env bash
# Installs Debian's redis-server (7.0) for the queue mode of @geolip/queue (BullMQ) and its tests, which start a
# private server on a free loopback port in a temp directory and stop it afterwards (the Debian service itself is not
# needed and not started here). Idempotent; root or sudo. Called by .ci/run. The queue tests skip, saying why, when
# redis-server is missing outside CI.
set -euo pipefail
"$(dirname "$0")/apt-install.sh" redis-server
redis-server --version
