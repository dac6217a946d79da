#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds Sluice and runs the main job: the
# bundled sample (20 simulated devices, one overheating) through the sample
# job's per-device tumbling averages and threshold alert.
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/setup.sh

sluice_install_packages
echo "== building sluice =="
sluice_build build RelWithDebInfo -- sluice

out="${SLUICE_QUICKSTART_OUT:-$(mktemp -d -t sluice-quickstart-XXXXXX)}"
echo
echo "== running deploy/samples/job.sql over deploy/samples/telemetry.jsonl =="
sed 's/^/   /' deploy/samples/job.sql
echo
build/sluice run --query deploy/samples/job.sql \
  --input telemetry=deploy/samples/telemetry.jsonl --output-dir "$out"

echo
echo "== alerts ($(wc -l < "$out/alerts.jsonl") rows, $out/alerts.jsonl) =="
cat "$out/alerts.jsonl"
echo
echo "== aggregates ($(wc -l < "$out/aggregates.jsonl") rows, first 10, $out/aggregates.jsonl) =="
head -n 10 "$out/aggregates.jsonl"
echo
echo "== rejected events ($out/_errors.jsonl) =="
cat "$out/_errors.jsonl"
