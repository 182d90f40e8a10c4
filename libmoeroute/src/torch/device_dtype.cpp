#include "torch/device_dtype.h"

#include <fmt/format.h>

#include "moeroute/error.h"
#include "moeroute/torch_info.h"

namespace moeroute::detail {

c10::Device parse_device(const std::string& text) {
  std::optional<c10::Device> device;
  try {
    device.emplace(text);
  } catch (const c10::Error&) {
    throw InputError(fmt::format("device '{}' is not a torch device (cpu, cuda, cuda:N)", text));
  }
  if (device->is_cuda() && !cuda_available())
    throw InputError(fmt::format("device '{}': LibTorch sees no CUDA device ({})", text, torch_build_info()));
  if (!device->is_cpu() && !device->is_cuda())
    throw UnsupportedError(fmt::format("device '{}': only cpu and cuda are supported", text));
  return *device;
}

std::optional<at::ScalarType> parse_dtype(const std::string& s) {
  if (s == "auto") return std::nullopt;
  if (s == "float32" || s == "fp32" || s == "f32") return at::kFloat;
  if (s == "bfloat16" || s == "bf16") return at::kBFloat16;
  if (s == "float16" || s == "fp16" || s == "f16" || s == "half") return at::kHalf;
  throw InputError(fmt::format("dtype '{}' is not one of auto, float32 (f32), bfloat16 (bf16), float16 (f16)", s));
}

std::string dtype_name(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "float32";
    case at::kBFloat16: return "bfloat16";
    case at::kHalf: return "float16";
    case at::kDouble: return "float64";
    default: return c10::toString(t);
  }
}

}  // namespace moeroute::detail
