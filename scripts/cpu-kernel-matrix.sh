#!/usr/bin/env bash
# Runs the unit and torch test suites with the CPU kernels pinned lower as well as at the
# machine's best, because LibTorch, OpenBLAS and oneDNN pick kernels by CPU (AVX-512, AVX2,
# SSE4.1, NEON) and every numeric tolerance must hold for all of them (tests/fp_tolerance.h):
#
#   (default)                    what this machine picks
#   ATEN_CPU_CAPABILITY=default  LibTorch's own vectorised ops without SIMD dispatch
#   ATEN_CPU_CAPABILITY=avx2     … at AVX2
#   OPENBLAS_CORETYPE=Nehalem    OpenBLAS' GEMM kernels of an SSE4.2 core
#   OPENBLAS_CORETYPE=Haswell    … of an AVX2 core
#   ONEDNN_MAX_CPU_ISA=SSE41     oneDNN at most SSE4.1
#   ONEDNN_MAX_CPU_ISA=AVX2      … at most AVX2
#
# Usage: scripts/cpu-kernel-matrix.sh [BUILD_DIR] [ctest args…]   (default build/dev, built)
# Environment: LABELS (ctest -L regex, default 'unit|torch'), JOBS (ctest -j, default 2).
# Every setting runs even when one fails; the script exits 1 if any did. It writes
# BUILD_DIR/cpu-kernel-matrix/summary.md: per setting the result, the failed tests, and the worst
# measured/bound ratio the tolerance checks logged (tests/fp_tolerance.h, MOEROUTE_TOLERANCE_LOG)
# with the check that reached it.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build/dev}"
[ $# -gt 0 ] && shift
labels="${LABELS:-unit|torch}"
jobs="${JOBS:-2}"
if [ ! -f "$build/CTestTestfile.cmake" ]; then
  echo "cpu-kernel-matrix: $build is not a configured build directory (cmake --preset dev && cmake --build --preset dev)" >&2
  exit 2
fi
out="$build/cpu-kernel-matrix"
rm -rf "$out"
mkdir -p "$out"
# The settings furthest from the machine's own choice first, so that a run cut short has them.
settings=("" "ATEN_CPU_CAPABILITY=default" "OPENBLAS_CORETYPE=Nehalem" "ONEDNN_MAX_CPU_ISA=SSE41"
          "ATEN_CPU_CAPABILITY=avx2" "OPENBLAS_CORETYPE=Haswell" "ONEDNN_MAX_CPU_ISA=AVX2")
summary="$out/summary.md"
{
  echo "# CPU kernel matrix: ctest -L '$labels'"
  echo
  echo "Machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%F)"
  echo
  echo "| setting | result | tests | seconds | worst measured/bound | where |"
  echo "|---|---|---|---|---|---|"
} > "$summary"
status=0
for s in "${settings[@]}"; do
  name="${s:-default}"
  tag="${name//[^A-Za-z0-9]/_}"
  log="$out/$tag.log"
  tol="$out/$tag.tolerances"
  : > "$tol"
  start=$(date +%s)
  echo "== $name"
  # env with no assignment runs the command unchanged (the machine's own choice).
  env ${s:+"$s"} MOEROUTE_TOLERANCE_LOG="$tol" \
    ctest --test-dir "$build" -L "$labels" -j "$jobs" --output-on-failure "$@" > "$log" 2>&1
  rc=$?
  secs=$(( $(date +%s) - start ))
  tests=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\2/p' "$log" | tail -1)
  failed=$(sed -n 's/^ *[0-9]* - \(.*\) (Failed.*/\1/p' "$log" | tr '\n' ';')
  worst=$(awk -F'\t' '$3 > 0 { r = $2 / $3; if (r > m) { m = r; w = $1 } } END { if (m != "") printf "%.3g\t%s", m, w; else printf "–\t–" }' "$tol")
  if [ $rc -eq 0 ]; then result=pass; else result="FAIL: ${failed:-see $tag.log}"; status=1; fi
  echo "| $name | $result | ${tests:-?} | $secs | ${worst%%$'\t'*} | ${worst#*$'\t'} |" >> "$summary"
  tail -3 "$log"
done
echo
cat "$summary"
exit $status
