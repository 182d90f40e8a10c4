// MXFP4 dequantisation with torch ops (a lookup-table gather), mirroring transformers'
// convert_moe_packed_tensors so the values match its dequantised load exactly.
#include "torch/weights/mxfp4.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "moeroute/error.h"

namespace moeroute {

const float kFp4E2M1Values[16] = {+0.0f, 0.5f,  1.0f,  1.5f,  2.0f,  3.0f,  4.0f,  6.0f,
                                  -0.0f, -0.5f, -1.0f, -1.5f, -2.0f, -3.0f, -4.0f, -6.0f};

namespace {

// Bytes of blocks dequantised per slice: bounds the int64 index temporaries (16× the bytes).
constexpr int64_t kSliceBytes = int64_t{1} << 22;

at::Tensor dequantize_slice(const at::Tensor& blocks, const at::Tensor& scales, const at::Tensor& lut,
                            const at::Tensor& powers) {
  const auto lo = at::bitwise_and(blocks, 0x0F).to(at::kLong);
  const auto hi = at::bitwise_right_shift(blocks, 4).to(at::kLong);
  // [..., G, 16, 2] → [..., G, 32]: low nibble first.
  auto values = at::stack({lut.index_select(0, lo.flatten()).view(lo.sizes()),
                           lut.index_select(0, hi.flatten()).view(hi.sizes())},
                          -1)
                    .flatten(-2);
  const auto factor = powers.index_select(0, scales.to(at::kLong).flatten()).view(scales.sizes()).unsqueeze(-1);
  return values.mul_(factor).flatten(-2);
}

}  // namespace

at::Tensor dequantize_mxfp4(const at::Tensor& blocks, const at::Tensor& scales, at::ScalarType dtype,
                            const std::string& what) {
  if (blocks.scalar_type() != at::kByte || scales.scalar_type() != at::kByte)
    throw InputError(fmt::format("{}: MXFP4 blocks and scales must be U8, got {} and {}", what,
                                 c10::toString(blocks.scalar_type()), c10::toString(scales.scalar_type())));
  if (blocks.dim() < 2 || blocks.size(-1) != 16 || scales.dim() != blocks.dim() - 1 ||
      scales.sizes() != blocks.sizes().slice(0, blocks.dim() - 1))
    throw InputError(fmt::format("{}: MXFP4 blocks {} and scales {} do not match ([..., G, 16] and [..., G])", what,
                                 c10::str(blocks.sizes()), c10::str(scales.sizes())));
  auto out_shape = scales.sizes().vec();
  out_shape.back() *= 32;
  auto out = at::empty(out_shape, blocks.options().dtype(dtype));
  if (out.numel() == 0) return out;
  const auto lut = at::tensor(at::ArrayRef<float>(kFp4E2M1Values, 16), at::kFloat).to(blocks.device());
  // 2^(s − 127) for every scale byte, exact in float32 (s = 0 is subnormal; s = 255 overflows to
  // inf, as transformers' ldexp does).
  std::vector<float> pow2(256);
  for (int s = 0; s < 256; ++s) pow2[static_cast<size_t>(s)] = std::ldexp(1.0f, s - 127);
  const auto powers = at::tensor(pow2, at::kFloat).to(blocks.device());
  // Slice the leading dimension (experts) so the temporaries stay bounded for 20B-sized tensors.
  const int64_t rows = blocks.size(0);
  const int64_t per_row = std::max<int64_t>(1, blocks.numel() / rows);
  const int64_t step = std::max<int64_t>(1, kSliceBytes / per_row);
  for (int64_t r = 0; r < rows; r += step) {
    const int64_t n = std::min(step, rows - r);
    out.narrow(0, r, n).copy_(dequantize_slice(blocks.narrow(0, r, n), scales.narrow(0, r, n), lut, powers));
  }
  return out;
}

}  // namespace moeroute
