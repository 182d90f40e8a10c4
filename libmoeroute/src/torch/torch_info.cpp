#include "moeroute/torch/torch_info.h"

#include <fmt/format.h>

namespace moeroute {

bool built_with_torch() { return true; }

bool cuda_available() { return torch::cuda::is_available(); }

std::string torch_build_info() {
  return fmt::format("LibTorch {}, CUDA available: {}", TORCH_VERSION, cuda_available() ? "yes" : "no");
}

}  // namespace moeroute
