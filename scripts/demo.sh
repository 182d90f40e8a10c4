#!/usr/bin/env bash
# The README's first command: installs the Debian packages, builds the CLI and runs the main
# job on the shipped example, writing into out/.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/install-deps.sh
cmake --preset dev
cmake --build --preset dev --target moeroute_cli
build/dev/apps/moeroute/moeroute diff examples/synthetic/base.safetensors examples/synthetic/var.safetensors --out out/
