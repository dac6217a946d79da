#!/usr/bin/env bash
# Installs whatever Sluice needs that this Debian 12 machine lacks, then
# configures and builds the given targets into build/ (all when none given).
# Sourced by deploy/test.sh and deploy/quickstart.sh.
set -euo pipefail

SLUICE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# The packages (../shared/reference/deps.md), plus SQLite for the
# differential test oracle, Python 3 for the integration tests and bc for
# the benchmark scripts.
SLUICE_PACKAGES=(
  build-essential cmake ninja-build pkg-config
  librdkafka-dev libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev librocksdb-dev libgtest-dev libgmock-dev libbenchmark-dev libsimdjson-dev
  duktape-dev  # JavaScript user-defined functions (engine/expr/javascript/)
  kcat sqlite3 libsqlite3-dev python3 bc
  # API tokens and TLS: libcrypto (SHA-256, RAND_bytes, certificate checks);
  # the openssl command makes the security test's certificates.
  libssl-dev openssl
  # The independent gRPC client in the tests: Python with stubs from protoc.
  python3-grpcio python3-protobuf grpc-proto
  # The sanitizer build and the libFuzzer targets (tests/fuzz/): clang with
  # its sanitizer and libFuzzer runtimes, llvm-symbolizer for stack traces.
  clang libclang-rt-14-dev llvm-14
  # Charts of `sluice bench`.
  gnuplot-nox
  libs2-dev libgeographiclib-dev  # geospatial functions: S2 Geometry, GeographicLib geodesics
  # Checks deploy/docker-compose.yml (`docker-compose config`; no Docker
  # daemon needed).
  docker-compose
)

sluice_install_packages() {
  local missing=()
  for pkg in "${SLUICE_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$pkg")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return 0
  fi
  echo "setup: installing ${missing[*]}"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
  fi
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# sluice_build DIR BUILD_TYPE [extra cmake args...] -- [targets...]
sluice_build() {
  local dir="$1" type="$2"
  shift 2
  local cmake_args=() targets=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do cmake_args+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  targets=("$@")
  cmake -S "$SLUICE_ROOT" -B "$SLUICE_ROOT/$dir" -G Ninja -DCMAKE_BUILD_TYPE="$type" \
    "${cmake_args[@]}" > "$SLUICE_ROOT/$dir.configure.log" 2>&1 || {
    cat "$SLUICE_ROOT/$dir.configure.log"
    return 1
  }
  local jobs
  jobs="$(nproc 2>/dev/null || echo 2)"
  if [ ${#targets[@]} -gt 0 ]; then
    cmake --build "$SLUICE_ROOT/$dir" -j "$jobs" --target "${targets[@]}"
  else
    cmake --build "$SLUICE_ROOT/$dir" -j "$jobs"
  fi
}
