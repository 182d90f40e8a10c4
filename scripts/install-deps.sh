#!/usr/bin/env bash
# Installs every Debian package that building, testing and benchmarking moeroute needs.
# Safe to run twice: apt-get install is idempotent. Run as root (or with sudo available).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libtorch-dev                      # LibTorch 1.13 (CPU) for recorder/torchscript/models
  nlohmann-json3-dev libfmt-dev libcli11-dev
  libcpp-httplib-dev libssl-dev     # Hub downloads
  libcairo2-dev fonts-dejavu-core   # plots (PNG/SVG)
  libpcre2-dev libgif-dev libjs-chart.js
  catch2 libbenchmark-dev           # tests (Catch2 v2) and micro benchmarks
  python3 python3-numpy python3-scipy   # reference checks and the NumPy side of bench/
  chromium                          # browser tests of the HTML report (driven by playwright-core, tests/browser)
)

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
