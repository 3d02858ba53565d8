#!/usr/bin/env bash
# Installs the Debian packages Enclave builds, tests and benchmarks with.
# Idempotent: packages already present are skipped, and nothing runs when all are.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git clang-format
  libtorch-dev libopenblas0-openmp libopenblas-dev libgloo-dev
  nlohmann-json3-dev libsimdjson-dev libyaml-cpp-dev libcli11-dev
  libfmt-dev libspdlog-dev libcpp-httplib-dev libssl-dev libxxhash-dev
  libzstd-dev libsodium-dev libsqlite3-dev libicu-dev libre2-dev
  libsentencepiece-dev libgtest-dev libgmock-dev libbenchmark-dev
  libpoppler-cpp-dev libzip-dev libpugixml-dev libgumbo-dev
  python3 python3-torch python3-numpy
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
