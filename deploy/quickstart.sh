#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds Sluice and runs the main job
# live: `sluice dev` starts the embedded Kafka broker, two workers and the
# device simulator, runs the sample job (per-device 10-second averages and
# a threshold alert) and prints aggregates and alerts as they arrive, until
# Ctrl-C. Extra arguments go to `sluice dev` (e.g. --duration 60s).
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/setup.sh

sluice_install_packages
echo "== building sluice =="
sluice_build build RelWithDebInfo -- sluice
echo
exec build/sluice dev "$@"
