// gpt-oss expert weights: MXFP4 blocks/scales dequantised on the device, or float tensors in
// transformers' parameter layout — both turned into nn.Linear layout for run_experts.
#include <fmt/format.h>

#include "moeroute/error.h"
#include "torch/weights/mxfp4.h"
#include "torch/families/gpt_oss.h"

namespace moeroute::detail {

namespace {

// One projection with `out` outputs and `in` inputs → [E, out, in].
at::Tensor projection(const WeightSource& w, const std::string& name, int64_t E, int64_t out, int64_t in,
                      const std::string& fields_out, const std::string& fields_in, const c10::Device& device,
                      at::ScalarType dtype) {
  const std::string blocks = name + "_blocks";
  if (w.contains(blocks) && w.shape(blocks).size() == 4) {  // MXFP4, as gpt-oss is published
    const std::string why = fmt::format("num_local_experts × {} × {}/32 × 16 (MXFP4)", fields_out, fields_in);
    if (in % 32 != 0)
      throw InputError(fmt::format("{}: tensor '{}' is MXFP4, which needs {} ({}) to be a multiple of 32",
                                   w.where(blocks), blocks, fields_in, in));
    const auto b = w.load_checked(blocks, {E, out, in / 32, 16}, why, device, std::nullopt);
    const auto s = w.load_checked(name + "_scales", {E, out, in / 32}, why, device, std::nullopt);
    return dequantize_mxfp4(b, s, dtype, w.where(blocks) + ": " + name);
  }
  // Floats in parameter layout [E, in, out]: under the parameter name, or under `*_blocks` as
  // transformers 5.x's save_pretrained writes a dequantised gpt-oss.
  const std::string stored = w.contains(blocks) ? blocks : name;
  const std::string why = fmt::format("num_local_experts × {} × {}", fields_in, fields_out);
  return w.load_checked(stored, {E, in, out}, why, device, dtype).transpose(1, 2).contiguous();
}

}  // namespace

ExpertWeights load_gpt_oss_experts(const WeightSource& w, const std::string& prefix, const GptOssConfig& c,
                                   const c10::Device& device, at::ScalarType dtype, at::ScalarType matrix_dtype) {
  const int64_t E = c.num_experts, H = c.hidden_size, I = c.intermediate_size;
  ExpertWeights ew;
  ew.gate_up = projection(w, prefix + "gate_up_proj", E, 2 * I, H, "2·intermediate_size", "hidden_size", device,
                          matrix_dtype);
  ew.down = projection(w, prefix + "down_proj", E, H, I, "hidden_size", "intermediate_size", device, matrix_dtype);
  ew.gate_up_bias = w.load_checked(prefix + "gate_up_proj_bias", {E, 2 * I}, "num_local_experts × 2·intermediate_size",
                                   device, dtype);
  ew.down_bias = w.load_checked(prefix + "down_proj_bias", {E, H}, "num_local_experts × hidden_size", device, dtype);
  return ew;
}

}  // namespace moeroute::detail
