// MXFP4 dequantisation against values computed by hand from the E2M1 table and the E8M0 scale.
#include "torch_catch.h"

#include <cmath>
#include <limits>
#include <vector>

#include <ATen/ATen.h>

#include "moeroute/error.h"
#include "torch/weights/mxfp4.h"

using namespace moeroute;

namespace {
at::Tensor bytes(std::vector<uint8_t> v, std::vector<int64_t> shape) {
  return at::tensor(at::ArrayRef<uint8_t>(v), at::kByte).view(shape).clone();
}
}  // namespace

TEST_CASE("MXFP4: codes, nibble order and scales by hand", "[mxfp4]") {
  // One row, one block of 16 bytes. Byte j holds elements 2j (low nibble) and 2j+1 (high nibble).
  // Bytes 0..7: 0x10, 0x32, 0x54, 0x76, 0x98, 0xBA, 0xDC, 0xFE → codes 0,1,2,…,15 in order.
  // Bytes 8..15: 0x07 (6, then +0), 0x7F (−6, then 6), 0x91 (.5, then −.5), 0x00 × 5.
  std::vector<uint8_t> b = {0x10, 0x32, 0x54, 0x76, 0x98, 0xBA, 0xDC, 0xFE, 0x07, 0x7F, 0x91, 0, 0, 0, 0, 0};
  const std::vector<float> codes = {0, .5f, 1, 1.5f, 2, 3, 4, 6, -0.f, -.5f, -1, -1.5f, -2, -3, -4, -6,
                                    6, 0, -6, 6, .5f, -.5f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  for (int scale : {127, 128, 125, 0, 250}) {
    // scale 127 → ×1, 128 → ×2, 125 → ×¼, 0 → ×2^−127 (subnormal in float32), 250 → ×2^123 (6·2^123 near float32's top).
    const auto out = dequantize_mxfp4(bytes(b, {1, 1, 16}), bytes({static_cast<uint8_t>(scale)}, {1, 1}),
                                      at::kFloat, "test");
    REQUIRE(out.sizes() == at::IntArrayRef({1, 32}));
    const float* p = out.data_ptr<float>();
    for (size_t i = 0; i < codes.size(); ++i) {
      const double want = static_cast<double>(codes[i]) * std::pow(2.0, scale - 127);
      INFO("scale " << scale << " element " << i);
      CHECK(static_cast<double>(p[i]) == want);
    }
    CHECK(std::signbit(p[8]));  // code 8 is −0
  }
}

TEST_CASE("MXFP4: per-block scales, leading dimensions and dtypes", "[mxfp4]") {
  // [2 experts, 1 row, 2 blocks]: every byte 0x21 → elements .5 (code 1), 1 (code 2) alternating.
  std::vector<uint8_t> b(2 * 2 * 16, 0x21);
  // scales: expert 0 blocks (127, 129) → ×1, ×4; expert 1 blocks (126, 120) → ×½, ×2^−7.
  const auto scales = bytes({127, 129, 126, 120}, {2, 1, 2});
  const double factor[2][2] = {{1, 4}, {0.5, 1.0 / 128}};
  for (auto dtype : {at::kFloat, at::kBFloat16, at::kHalf}) {
    const auto out = dequantize_mxfp4(bytes(b, {2, 1, 2, 16}), scales, dtype, "test");
    REQUIRE(out.scalar_type() == dtype);
    REQUIRE(out.sizes() == at::IntArrayRef({2, 1, 64}));
    const auto f = out.to(at::kFloat).contiguous();
    for (int e = 0; e < 2; ++e)
      for (int k = 0; k < 64; ++k) {
        const double want = (k % 2 == 0 ? 0.5 : 1.0) * factor[e][k / 32];
        CHECK(static_cast<double>(f[e][0][k].item<float>()) == want);
      }
  }
}

TEST_CASE("MXFP4: a large tensor dequantises in slices like in one piece", "[mxfp4]") {
  // Slices hold 2^22 bytes of blocks: 8 × 64 × 16 = 8192 bytes per expert → 512 experts per
  // slice, so 600 experts take two. Checked against the per-element formula on a sample.
  at::manual_seed(7);
  const auto blocks = at::randint(0, 256, {600, 8, 64, 16}, at::kLong).to(at::kByte);
  const auto scales = at::randint(100, 140, {600, 8, 64}, at::kLong).to(at::kByte);
  const auto out = dequantize_mxfp4(blocks, scales, at::kFloat, "test");
  REQUIRE(out.sizes() == at::IntArrayRef({600, 8, 2048}));
  for (int64_t e : {0, 1, 300, 511, 512, 599}) {
    for (int64_t k : {0, 1, 30, 31, 32, 2047}) {
      const int64_t g = k / 32, j = (k % 32) / 2;
      const int byte = blocks[e][3][g][j].item<uint8_t>();
      const int code = k % 2 == 0 ? byte & 0xF : byte >> 4;
      const double want = kFp4E2M1Values[code] * std::pow(2.0, scales[e][3][g].item<uint8_t>() - 127);
      CHECK(static_cast<double>(out[e][3][k].item<float>()) == want);
    }
  }
}

TEST_CASE("MXFP4: bad dtypes and shapes are InputErrors", "[mxfp4]") {
  const auto b = at::zeros({2, 3, 16}, at::kByte);
  const auto s = at::zeros({2, 3}, at::kByte);
  CHECK_THROWS_AS(dequantize_mxfp4(b.to(at::kFloat), s, at::kFloat, "x"), InputError);
  CHECK_THROWS_AS(dequantize_mxfp4(b, s.to(at::kInt), at::kFloat, "x"), InputError);
  CHECK_THROWS_AS(dequantize_mxfp4(at::zeros({2, 3, 15}, at::kByte), s, at::kFloat, "x"), InputError);
  CHECK_THROWS_AS(dequantize_mxfp4(b, at::zeros({2, 4}, at::kByte), at::kFloat, "x"), InputError);
  CHECK_THROWS_WITH(dequantize_mxfp4(b, at::zeros({3}, at::kByte), at::kFloat, "model.layers.0.x"),
                    Catch::Contains("model.layers.0.x"));
}
