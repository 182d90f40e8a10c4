#!/usr/bin/env bash
# Installs the pinned *reference* packages tests compare against (never run-time dependencies):
# a Python venv at .venv (with Debian's NumPy/SciPy visible) from tools/requirements-refs.txt,
# and npm packages from tools/package.json into tools/node_modules (tokenizer references,
# playwright-core for the browser tests: it drives Debian's chromium and downloads no browser).
# Safe to run twice.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if [ ! -x .venv/bin/python ]; then
  /usr/bin/python3 -m venv --system-site-packages .venv
fi
stamp=.venv/.requirements-refs.sha
want="$(sha256sum tools/requirements-refs.txt | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -r tools/requirements-refs.txt
  echo "$want" > "$stamp"
fi

if node -e 'process.exit(Object.keys(require("./tools/package.json").dependencies || {}).length ? 0 : 1)'; then
  stamp=tools/node_modules/.package-json.sha
  want="$(sha256sum tools/package.json | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    (cd tools && npm install --no-audit --no-fund --silent)
    mkdir -p tools/node_modules && echo "$want" > "$stamp"
  fi
fi
echo "setup-refs: reference packages ready"
