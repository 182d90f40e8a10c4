#!/usr/bin/env bash
# The GPU checks (docs/gpu.md) in one go, for a machine with an NVIDIA GPU and PyPI's CUDA torch:
# builds moeroute against the LibTorch inside that wheel, runs the `gpu` tests, the recorder and
# native-model benchmarks on the GPU, and `compare` on every built-in model on the GPU (the noise
# floor of each in float32 and bfloat16), and writes the figures to OUT/gpu-check.md (default
# build/cuda/gpu-check/). Meant to finish in under 8 minutes on a 16-core machine.
#
#   scripts/gpu-check.sh [OUT]
# Environment: PYTHON (an interpreter whose torch has CUDA; default .venv-torch/bin/python, then
# python3), CUDA_TOOLKIT (a CUDA toolkit root with nvcc; default: nvcc on PATH, /usr/local/cuda, or
# one made from the wheel's nvidia-* packages by tools/pypi_cuda_toolkit.sh), JOBS (default nproc).
# Needs no network: every step uses what is installed. Exits 2 naming what is missing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build="$root/build/cuda"
out="${1:-$build/gpu-check}"
jobs="${JOBS:-$(nproc)}"
start=$(date +%s)
mkdir -p "$out"
report="$out/gpu-check.md"
log() { echo "[$(( $(date +%s) - start )) s] $*"; }
die() { echo "gpu-check: $*" >&2; exit 2; }

command -v nvidia-smi > /dev/null || die "no nvidia-smi: not an NVIDIA machine"
gpu=$(nvidia-smi --query-gpu=name,memory.total,compute_cap --format=csv,noheader | head -1)
arch=$(echo "$gpu" | awk -F', ' '{print $3}')

python="${PYTHON:-}"
if [ -z "$python" ]; then
  for p in "$root/.venv-torch/bin/python" python3; do
    if "$p" -c 'import torch' 2> /dev/null; then python=$p; break; fi
  done
fi
[ -n "$python" ] || die "no Python with torch (set PYTHON)"
read -r torch_version torch_cuda cxx11 torch_dir < <("$python" -c '
import os, torch
print(torch.__version__, torch.version.cuda, torch.compiled_with_cxx11_abi(), os.path.dirname(torch.__file__))')
[ "$torch_cuda" != "None" ] || die "$python: torch $torch_version has no CUDA"
[ "$cxx11" = "True" ] || die "$python: torch $torch_version is not built with the C++11 ABI (docs/gpu.md)"
"$python" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' || die "torch sees no GPU"

toolkit="${CUDA_TOOLKIT:-}"
if [ -z "$toolkit" ]; then
  if command -v nvcc > /dev/null; then toolkit=$(dirname "$(dirname "$(command -v nvcc)")")
  elif [ -x /usr/local/cuda/bin/nvcc ]; then toolkit=/usr/local/cuda
  else toolkit=$(tools/pypi_cuda_toolkit.sh "$(dirname "$(dirname "$python")")" "$build-toolkit") ||
    die "no CUDA toolkit: set CUDA_TOOLKIT, or pip install \"cuda-toolkit[nvcc]==$torch_cuda.*\" into the torch venv"
  fi
fi
log "GPU $gpu; torch $torch_version (CUDA $torch_cuda) from $torch_dir; toolkit $toolkit"

log "configure + build (-j$jobs)"
cmake --preset dev -B "$build" -DCMAKE_PREFIX_PATH="$torch_dir;$torch_dir/share/cmake" \
  -DCUDA_TOOLKIT_ROOT_DIR="$toolkit" -DCMAKE_CUDA_COMPILER="$toolkit/bin/nvcc" \
  -DTORCH_CUDA_ARCH_LIST="$arch" > "$out/configure.log" 2>&1 || { tail -30 "$out/configure.log"; die "configure failed"; }
cmake --build "$build" -j "$jobs" --target moeroute_cli test_gpu_recording test_gpt_oss_gpu test_cuda_graph_decode bench_recorder \
  bench_native > "$out/build.log" 2>&1 || { tail -30 "$out/build.log"; die "build failed"; }

status=0
{
  echo "# GPU check, $(date -u +%F)"
  echo
  echo "GPU: $gpu; driver $(nvidia-smi --query-gpu=driver_version --format=csv,noheader | head -1);"
  echo "torch $torch_version (CUDA $torch_cuda); CPU $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores."
  echo
  echo "## gpu tests"
  echo
  echo '```'
} > "$report"
log "ctest -L gpu"
if ! ctest --test-dir "$build" -L gpu --output-on-failure --timeout 120 >> "$report" 2>&1; then status=1; fi
echo '```' >> "$report"

bench() {  # title, command…
  local title=$1; shift
  log "$title"
  { echo; echo "## $title"; echo; echo '```'; echo "\$ ${*#$build/}"; } >> "$report"
  if ! timeout 120 "$@" >> "$report" 2>&1; then status=1; echo "(failed or timed out)" >> "$report"; fi
  echo '```' >> "$report"
}
bench "recorder, tiny-moe, float32" "$build/bench/bench_recorder" --device cuda --repeats 15
bench "recorder, tiny-moe, bfloat16" "$build/bench/bench_recorder" --device cuda --dtype bfloat16 --repeats 15
bench "native, tiny-qwen3-moe, bfloat16" "$build/bench/bench_native" --device cuda --dtype bfloat16 --repeats 5
bench "native, tiny-qwen3-moe, bfloat16, no CUDA graphs" "$build/bench/bench_native" --device cuda --dtype bfloat16 \
  --cuda-graphs 0 --repeats 5
bench "native, tiny-gpt-oss, bfloat16" "$build/bench/bench_native" --model builtin:tiny-gpt-oss --device cuda \
  --dtype bfloat16 --repeats 5

{ echo; echo "## compare on the GPU: noise floor per built-in model"; echo
  echo "| model | dtype | mean JSD | noise floor (mean JSD) | verdict | decisions within floor (base) |"
  echo "|---|---|---|---|---|---|"; } >> "$report"
for model in builtin:tiny-moe builtin:tiny-qwen3-moe builtin:tiny-gpt-oss; do
  for dtype in float32 bfloat16; do
    dir="$out/compare-${model#builtin:}-$dtype"
    log "compare $model $dtype"
    if timeout 120 "$build/apps/moeroute/moeroute" compare examples/input.json --out "$dir" --model "$model" \
         --device-map cuda --dtype "$dtype" --max-new-tokens 32 > "$dir.log" 2>&1; then
      "$python" - "$dir" "$model" "$dtype" >> "$report" << 'PY'
import json, sys
d, model, dtype = sys.argv[1:]
n = json.load(open(f"{d}/noise_floor.json"))
share = n.get("share_within_floor_base")
print(f"| {model} | {dtype} | {n['mean_divergence']:.3g} | {n['floor_mean']:.3g} | {n['verdict']} | "
      f"{'–' if share is None else f'{share:.3f}'} |")
PY
    else
      status=1
      echo "| $model | $dtype | failed: $(tail -1 "$dir.log") | | | |" >> "$report"
    fi
  done
done
log "done: $report (status $status)"
cat "$report"
exit $status
