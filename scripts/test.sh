#!/usr/bin/env bash
# The README's test command: installs everything (Debian packages, pinned reference packages),
# builds with the `dev` preset and runs the whole test suite. Safe to run again.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/install-deps.sh
scripts/setup-refs.sh
cmake --preset dev
cmake --build --preset dev
ctest --preset dev -j2 "$@"
