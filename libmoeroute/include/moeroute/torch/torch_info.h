// What the LibTorch that moeroute was built against can do, for --version and GPU test skips.
#pragma once

#include <string>

namespace moeroute {

/// True when libmoeroute was built with its LibTorch parts.
bool built_with_torch();

/// "LibTorch 1.13.1, CUDA available: no" — or "without LibTorch".
std::string torch_build_info();

/// True when LibTorch sees at least one CUDA device.
bool cuda_available();

}  // namespace moeroute
