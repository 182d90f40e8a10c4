// MXFP4 (OCP Microscaling: FP4 E2M1 elements sharing one E8M0 scale per 32) dequantisation, the
// format of gpt-oss expert weights: `*_blocks` u8 [..., G, 16] (two 4-bit codes per byte, low
// nibble first) and `*_scales` u8 [..., G]. For LibTorch users only (includes ATen). Formula:
// docs/models.md, "gpt-oss".
#pragma once

#include <string>

#include <ATen/core/Tensor.h>

namespace moeroute {

/// The 16 E2M1 values, indexed by code: +0, .5, 1, 1.5, 2, 3, 4, 6, −0, −.5, −1, −1.5, −2, −3, −4, −6.
extern const float kFp4E2M1Values[16];

/// blocks u8 [..., G, 16] and scales u8 [..., G] → [..., G·32] in `dtype` on blocks' device:
/// element 2j of a block is the low nibble of byte j, element 2j+1 the high nibble, and each value
/// is kFp4E2M1Values[code] · 2^(scale − 127). Runs as table lookups on the device, over the
/// leading dimension in slices so temporary index tensors stay small. Throws InputError naming
/// `what` for wrong dtypes or shapes.
at::Tensor dequantize_mxfp4(const at::Tensor& blocks, const at::Tensor& scales, at::ScalarType dtype,
                            const std::string& what);

}  // namespace moeroute
