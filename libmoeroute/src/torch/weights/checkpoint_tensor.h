// Checkpoint tensors → at::Tensor, for LibTorch users (this header includes <torch/torch.h>):
// zero-copy views of the memory-mapped bytes where the stored dtype, device and alignment allow,
// one conversion (.to(device, dtype)) otherwise.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <torch/torch.h>

#include "moeroute/checkpoint.h"

namespace moeroute {

/// The LibTorch scalar type of a safetensors dtype; nullopt for those LibTorch lacks (U16, U32,
/// U64) and for F8 (converted on the host instead, see load_checkpoint_tensor).
std::optional<at::ScalarType> torch_scalar_type(Dtype d);

/// Loads tensor `name` onto `device`. Floating tensors (F32/F16/BF16/F64/F8_*) become
/// `float_dtype` when it is set; integer tensors (U8 MXFP4 blocks, …) keep their type. On the CPU
/// with no dtype change the result aliases the mapping (read-only memory: never modify it in
/// place) and keeps `checkpoint` alive. F8_E4M3/F8_E5M2 are decoded on the host to float32
/// first (LibTorch 1.13 has no float8 types). Throws UnsupportedError naming the file and tensor
/// for U16/U32/U64.
at::Tensor load_checkpoint_tensor(const std::shared_ptr<const Checkpoint>& checkpoint, const std::string& name,
                                  const c10::Device& device, std::optional<at::ScalarType> float_dtype);

/// Host decoders of the two float8 formats (E4M3FN: bias 7, no infinities, S.1111.111 = NaN;
/// E5M2: bias 15, IEEE specials).
float f8_e4m3_to_float(uint8_t v);
float f8_e5m2_to_float(uint8_t v);

}  // namespace moeroute
