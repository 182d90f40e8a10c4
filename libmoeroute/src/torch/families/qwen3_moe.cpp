// Qwen3-MoE on the native framework: per-head q/k norms, softmax → top-k routers named mlp.gate,
// SwiGLU experts stored per expert or fused, dense MLPs where the config says.
#include "torch/families/qwen3_moe.h"

#include <fmt/format.h>

#include "torch/families/native_model.h"

namespace moeroute::detail {

namespace {

class Qwen3Moe final : public NativeModel {
 public:
  Qwen3Moe(const Qwen3MoeConfig& c, const WeightSource& w, NativeModelMeta meta, const ModelOptions& options)
      : NativeModel(c, w, std::move(meta), options), c_(c) {
    const int64_t H = c.hidden_size, D = c.head_dim;
    std::vector<DecoderLayer> layers;
    for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
      DecoderLayer L = base_layer(w, i);
      const auto g = layer_loader(w, i);
      L.attention.q_norm = g("self_attn.q_norm.weight", {D}, "head_dim");
      L.attention.k_norm = g("self_attn.k_norm.weight", {D}, "head_dim");
      L.attention.window = c.sliding_window;
      if (c.is_moe_layer(i)) {
        MoeBlockWeights m;
        m.router = g("mlp.gate.weight", {c.num_experts, H}, "num_experts × hidden_size");
        m.experts = load_experts(w, fmt::format("model.layers.{}.mlp.experts.", i), L.device);
        L.moe = std::move(m);
      } else {
        const int64_t I = c.intermediate_size;
        L.dense.gate = g.matrix("mlp.gate_proj.weight", {I, H}, "intermediate_size × hidden_size (dense layer)");
        L.dense.up = g.matrix("mlp.up_proj.weight", {I, H}, "intermediate_size × hidden_size (dense layer)");
        L.dense.down = g.matrix("mlp.down_proj.weight", {H, I}, "hidden_size × intermediate_size (dense layer)");
      }
      layers.push_back(std::move(L));
    }
    DecoderSpec spec;
    spec.head_dim = D;
    spec.rms_norm_eps = c.rms_norm_eps;
    spec.norm = RmsNormKind::CastThenWeight;
    spec.moe.rule = qwen_moe_rule(static_cast<int>(c.num_experts_per_tok), c.norm_topk_prob);
    spec.moe.activation = swiglu_activation();
    finish(std::move(layers), std::move(spec), "gate");
  }

 private:
  ExpertWeights load_experts(const WeightSource& w, const std::string& p, const c10::Device& device) const {
    const int64_t E = c_.num_experts, H = c_.hidden_size, I = c_.moe_intermediate_size;
    ExpertWeights ew;
    if (w.contains(p + "gate_up_proj")) {  // fused layout (transformers 5 in memory)
      ew.gate_up = load_matrix(w, p + "gate_up_proj", {E, 2 * I, H}, "num_experts × 2·moe_intermediate_size × hidden_size", device);
      ew.down = load_matrix(w, p + "down_proj", {E, H, I}, "num_experts × hidden_size × moe_intermediate_size", device);
      return ew;
    }
    // Hub layout: one tensor per expert, copied straight from the mapping into the fused buffers.
    const auto opts = at::TensorOptions().dtype(matrix_dtype(w, p + "0.gate_proj.weight", device)).device(device);
    ew.gate_up = at::empty({E, 2 * I, H}, opts);
    ew.down = at::empty({E, H, I}, opts);
    const c10::Device cpu(c10::kCPU);
    for (int64_t e = 0; e < E; ++e) {
      const std::string q = fmt::format("{}{}.", p, e);
      const std::string why = "moe_intermediate_size × hidden_size";
      w.check_float(q + "gate_proj.weight", {I, H}, why);
      w.check_float(q + "up_proj.weight", {I, H}, why);
      w.check_float(q + "down_proj.weight", {H, I}, "hidden_size × moe_intermediate_size");
      ew.gate_up[e].narrow(0, 0, I).copy_(w.load(q + "gate_proj.weight", cpu, std::nullopt));
      ew.gate_up[e].narrow(0, I, I).copy_(w.load(q + "up_proj.weight", cpu, std::nullopt));
      ew.down[e].copy_(w.load(q + "down_proj.weight", cpu, std::nullopt));
    }
    return ew;
  }

  Qwen3MoeConfig c_;
};

}  // namespace

std::unique_ptr<CausalLM> make_qwen3_moe(const Qwen3MoeConfig& config, const WeightSource& weights,
                                         NativeModelMeta meta, const ModelOptions& options) {
  return std::make_unique<Qwen3Moe>(config, weights, std::move(meta), options);
}

}  // namespace moeroute::detail
