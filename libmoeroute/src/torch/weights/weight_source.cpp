#include "torch/weights/weight_source.h"

#include <fmt/format.h>

#include "torch/weights/checkpoint_tensor.h"
#include "moeroute/error.h"

namespace moeroute::detail {

void WeightSource::check_shape(const std::string& name, const std::vector<int64_t>& expected,
                               const std::string& why) const {
  if (!contains(name))
    throw InputError(fmt::format("{}: tensor '{}' is missing (expected shape {} from {})", where(name), name,
                                 shape_string(expected), why));
  const auto got = shape(name);
  if (got != expected)
    throw InputError(fmt::format("{}: tensor '{}' has shape {}, expected {} ({})", where(name), name,
                                 shape_string(got), shape_string(expected), why));
}

void WeightSource::check_float(const std::string& name, const std::vector<int64_t>& expected,
                               const std::string& why) const {
  check_shape(name, expected, why);
  if (!stored_float(name))
    throw InputError(fmt::format("{}: tensor '{}' has dtype {}, expected a floating-point type (F32, F16, BF16, F8)",
                                 where(name), name, stored_dtype(name)));
}

at::Tensor WeightSource::load_checked(const std::string& name, const std::vector<int64_t>& expected,
                                      const std::string& why, const c10::Device& device,
                                      std::optional<at::ScalarType> float_dtype) const {
  // A float weight stored as integers would silently promote in the forward.
  if (float_dtype) check_float(name, expected, why);
  else check_shape(name, expected, why);
  return load(name, device, float_dtype);
}

bool CheckpointWeights::stored_float(const std::string& name) const {
  switch (checkpoint_->info(name).dtype) {
    case Dtype::F16:
    case Dtype::BF16:
    case Dtype::F32:
    case Dtype::F64:
    case Dtype::F8_E4M3:
    case Dtype::F8_E5M2: return true;
    default: return false;
  }
}

std::optional<at::ScalarType> CheckpointWeights::stored_type(const std::string& name) const {
  return torch_scalar_type(checkpoint_->info(name).dtype);
}

int64_t CheckpointWeights::stored_bytes(const std::string& name) const {
  const auto& t = checkpoint_->info(name);
  return static_cast<int64_t>(t.end - t.begin);
}

at::Tensor CheckpointWeights::load(const std::string& name, const c10::Device& device,
                                   std::optional<at::ScalarType> float_dtype) const {
  return load_checkpoint_tensor(checkpoint_, name, device, float_dtype);
}

std::string CheckpointWeights::where(const std::string& name) const {
  return checkpoint_->contains(name) ? checkpoint_->file_of(name).path().string() : checkpoint_->dir().string();
}

const at::Tensor& TensorMapWeights::get(const std::string& name) const {
  const auto it = tensors_.find(name);
  if (it == tensors_.end()) throw InputError(fmt::format("{}: no tensor '{}'", name_, name));
  return it->second;
}

std::vector<std::string> TensorMapWeights::names() const {
  std::vector<std::string> out;
  for (const auto& [name, t] : tensors_) out.push_back(name);
  return out;
}

std::vector<int64_t> TensorMapWeights::shape(const std::string& name) const {
  const auto s = get(name).sizes();
  return {s.begin(), s.end()};
}

int64_t TensorMapWeights::stored_bytes(const std::string& name) const {
  const auto& t = get(name);
  return t.numel() * static_cast<int64_t>(t.element_size());
}

at::Tensor TensorMapWeights::load(const std::string& name, const c10::Device& device,
                                  std::optional<at::ScalarType> float_dtype) const {
  const auto& t = get(name);
  at::ScalarType target = t.scalar_type();
  if (float_dtype && at::isFloatingType(target)) target = *float_dtype;
  return t.to(device, target);
}

}  // namespace moeroute::detail
