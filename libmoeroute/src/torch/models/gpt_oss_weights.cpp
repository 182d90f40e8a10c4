// Loads gpt-oss weights by transformers' names, checks every shape against the config and
// dequantises MXFP4 experts on the target device.
#include "torch/models/gpt_oss_weights.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "moeroute/error.h"
#include "moeroute/mxfp4.h"

namespace moeroute::detail {

namespace {

class Loader {
 public:
  Loader(const WeightSource& source, const c10::Device& device, at::ScalarType dtype)
      : src_(source), device_(device), dtype_(dtype) {}

  bool has(const std::string& name) const { return src_.contains(name); }

  // A floating tensor of exactly `shape`, converted to the model dtype on the device.
  at::Tensor floating(const std::string& name, const std::vector<int64_t>& shape, const char* why) const {
    auto t = raw(name, shape, why);
    if (!t.is_floating_point())
      throw InputError(fmt::format("{}: tensor '{}' has dtype {}, expected a floating type", src_.where(name), name,
                                   c10::toString(t.scalar_type())));
    return t.to(device_, dtype_);
  }

  // A U8 tensor of exactly `shape` on the device.
  at::Tensor bytes(const std::string& name, const std::vector<int64_t>& shape, const char* why) const {
    auto t = raw(name, shape, why);
    if (t.scalar_type() != at::kByte)
      throw InputError(fmt::format("{}: tensor '{}' has dtype {}, expected U8 (MXFP4)", src_.where(name), name,
                                   c10::toString(t.scalar_type())));
    return t.to(device_);
  }

  void require(const std::string& name, const char* why) const {
    if (!src_.contains(name))
      throw InputError(fmt::format("{}: tensor '{}' is missing (needed for {})", src_.what, name, why));
  }

  std::vector<int64_t> shape(const std::string& name) const { return src_.shape(name); }
  at::ScalarType dtype() const { return dtype_; }
  const c10::Device& device() const { return device_; }

 private:
  at::Tensor raw(const std::string& name, const std::vector<int64_t>& shape, const char* why) const {
    require(name, why);
    const auto stored = src_.shape(name);
    if (stored != shape)
      throw InputError(fmt::format("{}: tensor '{}' has shape [{}], expected [{}] (from config.json: {})",
                                   src_.where(name), name, fmt::join(stored, ", "), fmt::join(shape, ", "), why));
    return src_.load(name);
  }

  const WeightSource& src_;
  c10::Device device_;
  at::ScalarType dtype_;
};

// One expert projection with output width `out` and input width `in`, in parameter layout
// [E, in, out]: MXFP4 blocks/scales, a float `*_blocks` (transformers' dequantised save) or a
// float tensor under the parameter name.
at::Tensor load_experts(const Loader& l, const std::string& name, int64_t E, int64_t in, int64_t out,
                        const char* why_blocks, const char* why_param, std::string& format) {
  const std::string blocks = name + "_blocks";
  if (l.has(blocks) && l.shape(blocks).size() == 4) {
    if (in % 32 != 0)
      throw InputError(fmt::format("{}: MXFP4 needs a multiple of 32 input features, config.json gives {}", name, in));
    const auto b = l.bytes(blocks, {E, out, in / 32, 16}, why_blocks);
    const auto s = l.bytes(name + "_scales", {E, out, in / 32}, why_blocks);
    format = "mxfp4";
    return dequantize_mxfp4(b, s, l.dtype(), name).transpose(1, 2).contiguous();
  }
  const std::string param = l.has(blocks) ? blocks : name;
  format = "float";
  return l.floating(param, {E, in, out}, why_param).contiguous();
}

}  // namespace

GptOssWeights load_gpt_oss_weights(const WeightSource& source, const GptOssConfig& c, const c10::Device& device,
                                   at::ScalarType dtype) {
  const Loader l(source, device, dtype);
  const int64_t H = c.hidden_size, V = c.vocab_size, E = c.num_experts, I = c.intermediate_size, D = c.head_dim;
  const int64_t Hq = c.num_attention_heads * D, Hkv = c.num_key_value_heads * D;
  GptOssWeights w;
  w.embed = l.floating("model.embed_tokens.weight", {V, H}, "vocab_size, hidden_size");
  w.final_norm = l.floating("model.norm.weight", {H}, "hidden_size");
  if (c.tie_word_embeddings) w.lm_head = w.embed;
  else w.lm_head = l.floating("lm_head.weight", {V, H}, "vocab_size, hidden_size (tie_word_embeddings is false)");
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = fmt::format("model.layers.{}.", i);
    GptOssLayerWeights L;
    L.input_norm = l.floating(p + "input_layernorm.weight", {H}, "hidden_size");
    L.post_attention_norm = l.floating(p + "post_attention_layernorm.weight", {H}, "hidden_size");
    const std::string a = p + "self_attn.";
    L.q_w = l.floating(a + "q_proj.weight", {Hq, H}, "num_attention_heads·head_dim, hidden_size");
    L.k_w = l.floating(a + "k_proj.weight", {Hkv, H}, "num_key_value_heads·head_dim, hidden_size");
    L.v_w = l.floating(a + "v_proj.weight", {Hkv, H}, "num_key_value_heads·head_dim, hidden_size");
    L.o_w = l.floating(a + "o_proj.weight", {H, Hq}, "hidden_size, num_attention_heads·head_dim");
    if (c.attention_bias) {
      L.q_b = l.floating(a + "q_proj.bias", {Hq}, "num_attention_heads·head_dim (attention_bias)");
      L.k_b = l.floating(a + "k_proj.bias", {Hkv}, "num_key_value_heads·head_dim (attention_bias)");
      L.v_b = l.floating(a + "v_proj.bias", {Hkv}, "num_key_value_heads·head_dim (attention_bias)");
      L.o_b = l.floating(a + "o_proj.bias", {H}, "hidden_size (attention_bias)");
    }
    L.sinks = l.floating(a + "sinks", {c.num_attention_heads}, "num_attention_heads");
    const std::string m = p + "mlp.";
    L.router_w = l.floating(m + "router.weight", {E, H}, "num_local_experts, hidden_size");
    L.router_b = l.floating(m + "router.bias", {E}, "num_local_experts");
    std::string fmt_gu, fmt_down;
    L.gate_up = load_experts(l, m + "experts.gate_up_proj", E, H, 2 * I,
                             "num_local_experts, 2·intermediate_size, hidden_size/32, 16",
                             "num_local_experts, hidden_size, 2·intermediate_size", fmt_gu);
    L.down = load_experts(l, m + "experts.down_proj", E, I, H, "num_local_experts, hidden_size, intermediate_size/32, 16",
                          "num_local_experts, intermediate_size, hidden_size", fmt_down);
    L.gate_up_b = l.floating(m + "experts.gate_up_proj_bias", {E, 2 * I}, "num_local_experts, 2·intermediate_size");
    L.down_b = l.floating(m + "experts.down_proj_bias", {E, H}, "num_local_experts, hidden_size");
    if (i == 0) w.expert_format = fmt_gu;
    w.layers.push_back(std::move(L));
  }
  return w;
}

}  // namespace moeroute::detail
