#!/usr/bin/env bash
# Builds llama.cpp's llama-bench (CPU only, Release, GGML_NATIVE) from the vendored source in the
# pinned llama-cpp-python sdist, for the native decode side by side
# (tools/bench/bench_native_side_by_side.py, docs/performance.md "Native models").
# llama.cpp is a reference tool here, never a dependency of moeroute.
#
#   tools/bench/build_llama_cpp.sh [CACHE_DIR]     (default: build/llama.cpp)
#
# Idempotent: the sdist is downloaded (sha256-checked) only if absent, unpacked once, and
# llama-bench is built once; prints the source directory (converter, gguf-py) on the last line
# but one and the llama-bench path on the last line.
set -euo pipefail

VERSION=0.3.36
# sha256 as PyPI's simple index lists it for this file.
SHA256=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e
URL=https://files.pythonhosted.org/packages/ec/e9/e7de2b0463ea3ffbf0ede6cb21b58c1258a8f6521aae45ca773a59fe7cf3/llama_cpp_python-${VERSION}.tar.gz

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${1:-$ROOT/build/llama.cpp}
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
TARBALL=$CACHE/llama_cpp_python-${VERSION}.tar.gz
SRC=$CACHE/llama_cpp_python-${VERSION}/vendor/llama.cpp
BUILD=$CACHE/build-${VERSION}
BENCH=$BUILD/bin/llama-bench

if [[ ! -f $TARBALL ]]; then
    # Another local copy of the same sdist (LLAMA_CPP_SDIST) saves the download; the hash decides.
    if [[ -n ${LLAMA_CPP_SDIST:-} && -f $LLAMA_CPP_SDIST ]]; then
        cp "$LLAMA_CPP_SDIST" "$TARBALL.part"
    else
        curl -fL --retry 3 -o "$TARBALL.part" "$URL"
    fi
    echo "$SHA256  $TARBALL.part" | sha256sum -c - >&2
    mv "$TARBALL.part" "$TARBALL"
fi
if [[ ! -f $SRC/CMakeLists.txt ]]; then
    echo "$SHA256  $TARBALL" | sha256sum -c - >&2
    tar xzf "$TARBALL" -C "$CACHE" "llama_cpp_python-${VERSION}/vendor/llama.cpp"
fi
if [[ ! -x $BENCH ]]; then
    # Only what llama-bench needs: no server, tests, examples, HTTPS. GGML_NATIVE = -march=native,
    # as a CPU user building llama.cpp would get by default.
    cmake -S "$SRC" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON \
        -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF \
        -DLLAMA_OPENSSL=OFF -DGGML_CUDA=OFF -DGGML_VULKAN=OFF -DGGML_METAL=OFF >&2
    nice -n 10 cmake --build "$BUILD" --target llama-bench -j "${JOBS:-2}" >&2
fi
echo "$SRC"
echo "$BENCH"
