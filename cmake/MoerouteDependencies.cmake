# Every dependency comes from a Debian package (scripts/install-deps.sh) or, for CUDA builds,
# from the LibTorch inside a Python torch install (docs/gpu.md).
find_package(fmt REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(CAIRO REQUIRED IMPORTED_TARGET cairo)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
find_package(GIF 5 REQUIRED)      # GIF export (libgif-dev)
find_package(OpenSSL REQUIRED)    # SHA-256 of the report's scripts for its Content-Security-Policy (libssl-dev)

if(MOEROUTE_WITH_TORCH)
  find_package(Torch REQUIRED)
  message(STATUS "moeroute: LibTorch ${Torch_VERSION} at ${TORCH_INSTALL_PREFIX}")
endif()
