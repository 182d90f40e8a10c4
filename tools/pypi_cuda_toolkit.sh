#!/usr/bin/env bash
# Make a CUDA-toolkit-shaped directory out of PyPI's nvidia-* wheels, so that CMake can use the
# LibTorch inside a PyPI `torch` (its TorchConfig.cmake insists on nvcc + CUDA headers + libs).
#   tools/pypi_cuda_toolkit.sh VENV OUTDIR
# VENV needs torch and "cuda-toolkit[nvcc]" matching torch's CUDA (docs/export.md). OUTDIR gets
# bin/ include/ nvvm/ lib64/ (lib -> lib64) with unversioned .so names that FindCUDA looks for.
set -euo pipefail
venv=${1:?usage: $0 VENV OUTDIR}
out=${2:?usage: $0 VENV OUTDIR}
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
[ -d "$site/nvidia" ] || { echo "$0: no nvidia packages in $site" >&2; exit 2; }
rm -rf "$out"
mkdir -p "$out/bin" "$out/include" "$out/lib64" "$out/nvvm"
ln -s lib64 "$out/lib"
# CUDA 13 wheels share nvidia/cu13/{bin,include,lib}; CUDA 12 wheels have one tree per package.
for tree in "$site"/nvidia/*/ "$site"/nvidia/*/*/; do
  for part in bin include nvvm; do
    [ -d "$tree$part" ] || continue
    for f in "$tree$part"/*; do [ -e "$out/$part/$(basename "$f")" ] || ln -s "$f" "$out/$part/"; done
  done
  [ -d "${tree}lib" ] || continue
  for f in "${tree}lib"/*; do
    name=$(basename "$f")
    [ -e "$out/lib64/$name" ] || ln -s "$f" "$out/lib64/$name"
    case $name in *.so.*) base=${name%%.so.*}.so; [ -e "$out/lib64/$base" ] || ln -s "$f" "$out/lib64/$base" ;; esac
  done
done
[ -x "$out/bin/nvcc" ] || { echo "$0: no nvcc: pip install \"cuda-toolkit[nvcc]==<torch's CUDA>\"" >&2; exit 2; }
[ -e "$out/lib64/libcudart.so" ] || { echo "$0: no libcudart in $site/nvidia" >&2; exit 2; }
echo "$out"
