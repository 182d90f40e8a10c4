#!/usr/bin/env bash
# The README's first command: installs the Debian packages, builds the CLI and runs the main
# job (compare) on the built-in demo model with examples/input.json, writing into out/, then
# its interactive report out/report.html.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/install-deps.sh
cmake --preset dev
cmake --build --preset dev --target moeroute_cli
rm -rf out
build/dev/apps/moeroute/moeroute compare examples/input.json --out out/
build/dev/apps/moeroute/moeroute report out/ -o out/report.html
