# Every dependency comes from a Debian package (scripts/install-deps.sh) or, for CUDA builds,
# from the LibTorch inside a Python torch install (docs/gpu.md).
find_package(fmt REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(CAIRO REQUIRED IMPORTED_TARGET cairo)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
# Debian's cpp-httplib is a compiled library; its pkg-config flags (CPPHTTPLIB_OPENSSL_SUPPORT,
# ZLIB, BROTLI) must be used so our view of its classes matches the build: that is also what
# turns HTTPS on. OpenSSL provides TLS underneath, the SHA-256 of download verification and of
# the report's scripts for its Content-Security-Policy (libssl-dev).
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
find_package(OpenSSL REQUIRED)
set(THREADS_PREFER_PTHREAD_FLAG ON)
find_package(Threads REQUIRED)
find_package(GIF 5 REQUIRED)      # GIF export (libgif-dev)

if(MOEROUTE_WITH_TORCH)
  find_package(Torch REQUIRED)
  message(STATUS "moeroute: LibTorch ${Torch_VERSION} at ${TORCH_INSTALL_PREFIX}")
  # A PyPI torch ships fmt headers of its own version (torch 2.15: fmt 12) in its include
  # directory, which then comes before Debian's for every torch-facing source, while the library
  # linked is Debian's libfmt (9): those sources use fmt header-only (moeroute_torch, PUBLIC).
  get_target_property(_fmt_includes fmt::fmt INTERFACE_INCLUDE_DIRECTORIES)
  set(MOEROUTE_TORCH_OWN_FMT OFF)
  if(EXISTS "${TORCH_INSTALL_PREFIX}/include/fmt/format.h" AND NOT "${TORCH_INSTALL_PREFIX}/include" IN_LIST _fmt_includes)
    set(MOEROUTE_TORCH_OWN_FMT ON)
    message(STATUS "moeroute: LibTorch's own fmt headers: torch-facing code uses fmt header-only")
  endif()
endif()
