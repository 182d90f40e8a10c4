#include "torch/weights/checkpoint_tensor.h"

#include <cmath>
#include <cstring>
#include <cstdint>
#include <limits>

#include <fmt/format.h>

#include "moeroute/error.h"

namespace moeroute {

namespace {

// Sign, exponent and mantissa fields → value, with subnormals at exponent 0.
float decode_f8(uint8_t v, int exp_bits, int man_bits, int bias) {
  const int sign = v >> 7;
  const int exp = (v >> man_bits) & ((1 << exp_bits) - 1);
  const int man = v & ((1 << man_bits) - 1);
  const float mag = exp == 0 ? std::ldexp(static_cast<float>(man), 1 - bias - man_bits)
                             : std::ldexp(static_cast<float>(man + (1 << man_bits)), exp - bias - man_bits);
  return sign ? -mag : mag;
}

bool is_float8(Dtype d) { return d == Dtype::F8_E4M3 || d == Dtype::F8_E5M2; }

}  // namespace

float f8_e4m3_to_float(uint8_t v) {
  if ((v & 0x7f) == 0x7f) return std::numeric_limits<float>::quiet_NaN();
  return decode_f8(v, 4, 3, 7);
}

float f8_e5m2_to_float(uint8_t v) {
  if (((v >> 2) & 0x1f) == 0x1f) {
    if (v & 0x3) return std::numeric_limits<float>::quiet_NaN();
    return (v & 0x80) ? -std::numeric_limits<float>::infinity() : std::numeric_limits<float>::infinity();
  }
  return decode_f8(v, 5, 2, 15);
}

std::optional<at::ScalarType> torch_scalar_type(Dtype d) {
  switch (d) {
    case Dtype::BOOL: return at::kBool;
    case Dtype::U8: return at::kByte;
    case Dtype::I8: return at::kChar;
    case Dtype::I16: return at::kShort;
    case Dtype::I32: return at::kInt;
    case Dtype::I64: return at::kLong;
    case Dtype::F16: return at::kHalf;
    case Dtype::BF16: return at::kBFloat16;
    case Dtype::F32: return at::kFloat;
    case Dtype::F64: return at::kDouble;
    default: return std::nullopt;
  }
}

at::Tensor load_checkpoint_tensor(const std::shared_ptr<const Checkpoint>& checkpoint, const std::string& name,
                                  const c10::Device& device, std::optional<at::ScalarType> float_dtype) {
  const TensorInfo& info = checkpoint->info(name);
  const std::string_view bytes = checkpoint->bytes(name);
  const std::vector<int64_t> shape(info.shape.begin(), info.shape.end());
  at::Tensor host;
  if (is_float8(info.dtype)) {
    host = at::empty(shape, at::kFloat);
    float* out = host.data_ptr<float>();
    const auto* in = reinterpret_cast<const uint8_t*>(bytes.data());
    const bool e4m3 = info.dtype == Dtype::F8_E4M3;
    for (size_t i = 0; i < bytes.size(); ++i) out[i] = e4m3 ? f8_e4m3_to_float(in[i]) : f8_e5m2_to_float(in[i]);
  } else {
    const auto type = torch_scalar_type(info.dtype);
    if (!type)
      throw UnsupportedError(fmt::format("{}: tensor '{}' has dtype {}, which LibTorch cannot represent",
                                         checkpoint->file_of(name).path().string(), name, dtype_name(info.dtype)));
    const auto opts = at::TensorOptions().dtype(*type);
    auto* data = const_cast<char*>(bytes.data());  // only read: the mapping is PROT_READ
    if (reinterpret_cast<uintptr_t>(data) % dtype_size(info.dtype) == 0) {
      // The deleter holds the checkpoint, so views outlive the caller's reference.
      host = at::from_blob(data, shape, [keep = checkpoint](void*) {}, opts);
    } else {
      host = at::empty(shape, opts);
      std::memcpy(host.data_ptr(), data, bytes.size());
    }
  }
  at::ScalarType target = host.scalar_type();
  if (float_dtype && at::isFloatingType(target)) target = *float_dtype;
  return host.to(device, target);
}

}  // namespace moeroute
