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
  # at::parallel_for is a header template; with LibTorch's OpenMP backend (Debian's and PyPI's)
  # it is a `#pragma omp parallel` in *our* objects, which without -fopenmp run every range on the
  # calling thread — no intra-op parallelism at all. So torch-facing code compiles with OpenMP;
  # the runtime (GOMP_parallel, omp_get_num_threads) is the libgomp LibTorch itself loads.
  set(MOEROUTE_TORCH_OPENMP_FLAGS "")
  find_file(_aten_config ATen/Config.h PATHS ${TORCH_INCLUDE_DIRS} NO_DEFAULT_PATH)
  if(_aten_config)
    file(STRINGS "${_aten_config}" _aten_openmp REGEX "^#define AT_PARALLEL_OPENMP 1")
    if(_aten_openmp)
      find_package(OpenMP REQUIRED COMPONENTS CXX)
      set(MOEROUTE_TORCH_OPENMP_FLAGS ${OpenMP_CXX_FLAGS})
      message(STATUS "moeroute: LibTorch's parallel backend is OpenMP: torch-facing code compiles with ${OpenMP_CXX_FLAGS}")
    endif()
  endif()
endif()
