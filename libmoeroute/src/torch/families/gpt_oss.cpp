// gpt-oss on the native framework: biased attention with per-head sinks and sliding/full layers,
// biased routers named mlp.router (top-k → softmax over the k), clamped-SwiGLU experts.
#include "torch/families/gpt_oss.h"

#include <fmt/format.h>

#include "torch/families/native_model.h"

namespace moeroute::detail {

namespace {

class GptOss final : public NativeModel {
 public:
  GptOss(const GptOssConfig& c, const WeightSource& w, NativeModelMeta meta, const ModelOptions& options)
      : NativeModel(c, w, std::move(meta), options) {
    const int64_t H = c.hidden_size, E = c.num_experts;
    std::vector<DecoderLayer> layers;
    for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
      DecoderLayer L = base_layer(w, i);
      const auto g = layer_loader(w, i);
      L.attention.sinks = g("self_attn.sinks", {c.num_attention_heads}, "num_attention_heads");
      if (c.is_sliding(i)) L.attention.window = c.sliding_window;
      MoeBlockWeights m;
      m.router = g("mlp.router.weight", {E, H}, "num_local_experts × hidden_size");
      m.router_bias = g("mlp.router.bias", {E}, "num_local_experts");
      const std::string experts = fmt::format("model.layers.{}.mlp.experts.", i);
      const std::string stored = w.contains(experts + "gate_up_proj_blocks") ? experts + "gate_up_proj_blocks"
                                                                              : experts + "gate_up_proj";
      m.experts = load_gpt_oss_experts(w, experts, c, L.device, setup_.dtype, matrix_dtype(w, stored, L.device));
      L.moe = std::move(m);
      layers.push_back(std::move(L));
    }
    DecoderSpec spec;
    spec.head_dim = c.head_dim;
    spec.rms_norm_eps = c.rms_norm_eps;
    spec.norm = RmsNormKind::WeightThenCast;  // GptOssRMSNorm
    spec.moe.rule = gpt_oss_rule(static_cast<int>(c.num_experts_per_tok));
    spec.moe.activation = clamped_swiglu_activation(c.swiglu_limit, c.swiglu_alpha);
    finish(std::move(layers), std::move(spec), "router");
  }
};

}  // namespace

std::unique_ptr<CausalLM> make_gpt_oss(const GptOssConfig& config, const WeightSource& weights, NativeModelMeta meta,
                                       const ModelOptions& options) {
  return std::make_unique<GptOss>(config, weights, std::move(meta), options);
}

}  // namespace moeroute::detail
