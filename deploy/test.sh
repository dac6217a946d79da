#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and runs every test: the release build
# (build/, where build/sluice lives) with all ctest suites, then the unit and
# SQL suites again under AddressSanitizer + UndefinedBehaviorSanitizer, built
# with clang, and the libFuzzer targets (build-asan/, label `fuzz`).
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/setup.sh

start=$(date +%s)
sluice_install_packages

echo "== build (RelWithDebInfo) =="
sluice_build build RelWithDebInfo
echo "== tests =="
ctest --test-dir build --output-on-failure -j "$(nproc)" --timeout 300

echo "== build (Debug, clang, ASan + UBSan, libFuzzer targets) =="
CC=clang CXX=clang++ sluice_build build-asan Debug -DSLUICE_SANITIZE=ON -DSLUICE_FUZZ=ON \
  -DSLUICE_BUILD_BENCHMARKS=OFF
echo "== unit and SQL tests under sanitizers, then the fuzz targets =="
# Each fuzz target runs ${SLUICE_FUZZ_SECONDS:-20} s (tests/fuzz/run_fuzzer.py).
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j "$(nproc)" -L 'unit|sql|fuzz' --timeout 300

echo "== all tests passed in $(( $(date +%s) - start )) s =="
