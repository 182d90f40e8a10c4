// Checkpoint bytes → at::Tensor: every dtype the checkpoints use, zero-copy views, float8
// decoding against hand-computed values.
#include "torch_catch.h"

#include <cmath>
#include <fstream>

#include "torch/weights/checkpoint_tensor.h"
#include "moeroute/error.h"
#include "unit/temp_dir.h"

using namespace moeroute;

namespace {

template <class T>
std::string raw(std::initializer_list<T> v) {
  return {reinterpret_cast<const char*>(v.begin()), v.size() * sizeof(T)};
}

std::shared_ptr<const Checkpoint> make_checkpoint(const test::TempDir& dir) {
  SafetensorsWriter w;
  w.add("f32", Dtype::F32, {2, 2}, raw<float>({1.f, -2.f, 3.5f, 0.25f}));
  w.add("bf16", Dtype::BF16, {3}, raw<uint16_t>({float_to_bf16(1.5f), float_to_bf16(-0.125f), float_to_bf16(300.f)}));
  w.add("f16", Dtype::F16, {2}, raw<uint16_t>({float_to_f16(0.5f), float_to_f16(-65504.f)}));
  w.add("u8", Dtype::U8, {4}, raw<uint8_t>({0, 1, 127, 255}));
  w.add("i8", Dtype::I8, {2}, raw<int8_t>({-128, 5}));
  // E4M3FN: 1.0, 448 (max), 2^-9 (smallest subnormal), -1.0; E5M2: 1.0, 57344, +inf, 2^-16.
  w.add("f8e4m3", Dtype::F8_E4M3, {4}, raw<uint8_t>({0x38, 0x7e, 0x01, 0xb8}));
  w.add("f8e5m2", Dtype::F8_E5M2, {4}, raw<uint8_t>({0x3c, 0x7b, 0x7c, 0x01}));
  w.add("u16", Dtype::U16, {1}, raw<uint16_t>({7}));
  std::ofstream(dir / "model.safetensors", std::ios::binary) << w.serialize();
  return std::make_shared<const Checkpoint>(dir.path());
}

std::vector<float> values(const at::Tensor& t) {
  const auto f = t.to(at::kFloat).contiguous();
  return {f.data_ptr<float>(), f.data_ptr<float>() + f.numel()};
}

}  // namespace

TEST_CASE("checkpoint tensors load with their dtype and values", "[checkpoint_tensor]") {
  test::TempDir dir;
  auto ckpt = make_checkpoint(dir);
  const c10::Device cpu("cpu");
  auto f32 = load_checkpoint_tensor(ckpt, "f32", cpu, std::nullopt);
  CHECK(f32.scalar_type() == at::kFloat);
  CHECK(f32.sizes() == at::IntArrayRef({2, 2}));
  CHECK(values(f32) == std::vector<float>{1.f, -2.f, 3.5f, 0.25f});
  auto bf16 = load_checkpoint_tensor(ckpt, "bf16", cpu, std::nullopt);
  CHECK(bf16.scalar_type() == at::kBFloat16);
  CHECK(values(bf16) == std::vector<float>{1.5f, -0.125f, 300.f});
  CHECK(values(load_checkpoint_tensor(ckpt, "f16", cpu, at::kFloat)) == std::vector<float>{0.5f, -65504.f});
  auto u8 = load_checkpoint_tensor(ckpt, "u8", cpu, at::kBFloat16);  // integers keep their type
  CHECK(u8.scalar_type() == at::kByte);
  CHECK(values(u8) == std::vector<float>{0.f, 1.f, 127.f, 255.f});
  CHECK(values(load_checkpoint_tensor(ckpt, "i8", cpu, std::nullopt)) == std::vector<float>{-128.f, 5.f});
  auto e4m3 = load_checkpoint_tensor(ckpt, "f8e4m3", cpu, at::kFloat);
  CHECK(values(e4m3) == std::vector<float>{1.f, 448.f, std::ldexp(1.f, -9), -1.f});
  auto e5m2 = values(load_checkpoint_tensor(ckpt, "f8e5m2", cpu, std::nullopt));
  CHECK(e5m2[0] == 1.f);
  CHECK(e5m2[1] == 57344.f);
  CHECK(std::isinf(e5m2[2]));
  CHECK(e5m2[3] == std::ldexp(1.f, -16));
  CHECK(std::isnan(f8_e4m3_to_float(0x7f)));
  CHECK(std::isnan(f8_e5m2_to_float(0xfd)));
  // Converted to the requested float dtype.
  auto as_bf16 = load_checkpoint_tensor(ckpt, "f32", cpu, at::kBFloat16);
  CHECK(as_bf16.scalar_type() == at::kBFloat16);
  CHECK(values(as_bf16) == std::vector<float>{1.f, -2.f, 3.5f, 0.25f});
  CHECK_THROWS_AS(load_checkpoint_tensor(ckpt, "u16", cpu, std::nullopt), UnsupportedError);
  CHECK_THROWS_WITH(load_checkpoint_tensor(ckpt, "u16", cpu, std::nullopt),
                    Catch::Contains("model.safetensors") && Catch::Contains("'u16'") && Catch::Contains("U16"));
  CHECK_THROWS_AS(load_checkpoint_tensor(ckpt, "absent", cpu, std::nullopt), InputError);
}

TEST_CASE("same dtype on the CPU is a zero-copy view that keeps the checkpoint alive", "[checkpoint_tensor]") {
  test::TempDir dir;
  auto ckpt = make_checkpoint(dir);
  auto t = load_checkpoint_tensor(ckpt, "f32", c10::Device("cpu"), at::kFloat);
  const char* mapped = ckpt->bytes("f32").data();
  CHECK(static_cast<const char*>(t.data_ptr()) == mapped);
  std::weak_ptr<const Checkpoint> weak = ckpt;
  ckpt.reset();
  CHECK_FALSE(weak.expired());  // the tensor holds it
  CHECK(values(t) == std::vector<float>{1.f, -2.f, 3.5f, 0.25f});
  t = at::Tensor();
  CHECK(weak.expired());
}
