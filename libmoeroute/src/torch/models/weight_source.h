// Where a native model's weights come from: a checkpoint directory (memory-mapped safetensors)
// or tensors generated in memory (built-in demo models). Loaders only see this interface, so the
// built-in models run the same loading code as real checkpoints.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace moeroute::detail {

struct WeightSource {
  std::string what;                                        ///< how errors name the source (directory)
  std::function<bool(const std::string&)> contains;        ///< is tensor `name` stored?
  std::function<std::vector<int64_t>(const std::string&)> shape;  ///< stored shape (name must exist)
  std::function<std::string(const std::string&)> where;    ///< file holding `name`, for errors
  /// The tensor as stored (its own dtype), on the host or already on the target device.
  std::function<at::Tensor(const std::string&)> load;
};

}  // namespace moeroute::detail
