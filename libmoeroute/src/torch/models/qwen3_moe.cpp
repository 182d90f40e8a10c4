#include "torch/models/qwen3_moe.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "moeroute/error.h"
#include "torch/models/native_model.h"

namespace moeroute::detail {

namespace {

struct Qwen3Layer : DecoderLayerWeights {
  at::Tensor q_norm, k_norm;
  bool moe = false;
  int slot = -1;  // recorder slot of a MoE layer
  at::Tensor gate;
  ExpertWeights experts;
  at::Tensor mlp_gate, mlp_up, mlp_down;  // dense layers
};

class Qwen3Moe final : public NativeModel {
 public:
  Qwen3Moe(const Qwen3MoeConfig& c, const WeightSource& w, NativeModelMeta meta, const ModelOptions& options)
      : NativeModel(c, resolve_native_setup(options, c), meta.what), c_(c) {
    tokenizer_ = meta.tokenizer;
    plan(w);
    load(w);
    std::vector<LayerInfo> gates;
    for (size_t i = 0; i < layers_.size(); ++i)
      if (layers_[i].moe) gates.push_back({fmt::format("model.layers.{}.mlp.gate", i), static_cast<int>(i)});
    finish_info(std::move(meta), std::move(gates),
                qwen_moe_rule(static_cast<int>(c_.num_experts_per_tok), c_.norm_topk_prob));
  }

 protected:
  at::Tensor run(const at::Tensor& input_ids, ForwardContext& ctx, KvCache& cache, Recorder* recorder) override {
    auto h = at::embedding(embed_, input_ids);
    for (size_t i = 0; i < layers_.size(); ++i) {
      const auto& L = layers_[i];
      h = h.to(L.device);
      auto x = rms_norm(h, L.input_norm, c_.rms_norm_eps);
      h = h + attention_block(L, static_cast<int>(i), x, ctx, cache);
      x = rms_norm(h, L.post_norm, c_.rms_norm_eps);
      h = h + (L.moe ? moe_block(L, x, recorder) : dense_block(L, x));
    }
    return h;
  }

  at::Tensor head(const at::Tensor& hidden) const override {
    return at::linear(rms_norm(hidden, final_norm_, c_.rms_norm_eps), lm_head_);
  }

 private:
  // Devices from the weights' sizes in the run dtype (+ a KV allowance of 4096 positions × 2 rows).
  void plan(const WeightSource& w) {
    const int64_t esize = static_cast<int64_t>(c10::elementSize(setup_.dtype));
    const auto names = w.names();
    auto bytes = [&](const std::string& prefix) {
      int64_t n = 0;
      for (auto it = std::lower_bound(names.begin(), names.end(), prefix);
           it != names.end() && it->compare(0, prefix.size(), prefix) == 0; ++it) {
        int64_t numel = 1;
        for (int64_t d : w.shape(*it)) numel *= d;
        n += numel * esize;
      }
      return n;
    };
    const int64_t kv = 2 * 2 * 4096 * c_.num_key_value_heads * c_.head_dim * esize;
    std::vector<int64_t> layer_bytes;
    for (int64_t i = 0; i < c_.num_hidden_layers; ++i)
      layer_bytes.push_back(bytes(fmt::format("model.layers.{}.", i)) + kv);
    const int64_t embed = c_.vocab_size * c_.hidden_size * esize;
    devices_ = plan_devices(setup_, embed, layer_bytes, embed + c_.hidden_size * esize);
  }

  at::Tensor get(const WeightSource& w, const std::string& name, const std::vector<int64_t>& shape,
                 const std::string& why, const c10::Device& device) const {
    w.check_float(name, shape, why);
    return w.load(name, device, setup_.dtype);
  }

  void load(const WeightSource& w) {
    const int64_t H = c_.hidden_size, V = c_.vocab_size, D = c_.head_dim;
    embed_ = get(w, "model.embed_tokens.weight", {V, H}, "vocab_size × hidden_size", devices_.embed);
    final_norm_ = get(w, "model.norm.weight", {H}, "hidden_size", devices_.head);
    if (c_.tie_word_embeddings) {
      lm_head_ = embed_.to(devices_.head);
    } else {
      lm_head_ = get(w, "lm_head.weight", {V, H}, "vocab_size × hidden_size (tie_word_embeddings false)", devices_.head);
    }
    int slot = 0;
    for (int64_t i = 0; i < c_.num_hidden_layers; ++i) {
      Qwen3Layer L;
      L.device = devices_.layers[static_cast<size_t>(i)];
      const std::string p = fmt::format("model.layers.{}.", i);
      auto g = [&](const std::string& name, const std::vector<int64_t>& shape, const std::string& why) {
        return get(w, p + name, shape, why, L.device);
      };
      load_decoder_layer_weights(g, c_, L);
      L.q_norm = g("self_attn.q_norm.weight", {D}, "head_dim");
      L.k_norm = g("self_attn.k_norm.weight", {D}, "head_dim");
      L.moe = c_.is_moe_layer(i);
      if (L.moe) {
        L.slot = slot++;
        L.gate = g("mlp.gate.weight", {c_.num_experts, H}, "num_experts × hidden_size");
        L.experts = load_experts(w, p + "mlp.experts.", L.device);
      } else {
        const int64_t I = c_.intermediate_size;
        L.mlp_gate = g("mlp.gate_proj.weight", {I, H}, "intermediate_size × hidden_size (dense layer)");
        L.mlp_up = g("mlp.up_proj.weight", {I, H}, "intermediate_size × hidden_size (dense layer)");
        L.mlp_down = g("mlp.down_proj.weight", {H, I}, "hidden_size × intermediate_size (dense layer)");
      }
      layers_.push_back(std::move(L));
    }
  }

  ExpertWeights load_experts(const WeightSource& w, const std::string& p, const c10::Device& device) const {
    const int64_t E = c_.num_experts, H = c_.hidden_size, I = c_.moe_intermediate_size;
    ExpertWeights ew;
    if (w.contains(p + "gate_up_proj")) {  // fused layout (transformers 5 in memory)
      ew.gate_up = get(w, p + "gate_up_proj", {E, 2 * I, H}, "num_experts × 2·moe_intermediate_size × hidden_size", device);
      ew.down = get(w, p + "down_proj", {E, H, I}, "num_experts × hidden_size × moe_intermediate_size", device);
      return ew;
    }
    // Hub layout: one tensor per expert, copied straight from the mapping into the fused buffers.
    const auto opts = at::TensorOptions().dtype(setup_.dtype).device(device);
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

  at::Tensor attention_block(const Qwen3Layer& L, int index, const at::Tensor& x, ForwardContext& ctx,
                             KvCache& cache) const {
    const int64_t B = x.size(0), T = x.size(1), D = c_.head_dim;
    auto heads = [&](const at::Tensor& w, const at::Tensor& b) { return linear(x, w, b).view({B, T, -1, D}); };
    auto q = rms_norm(heads(L.q, L.q_bias), L.q_norm, c_.rms_norm_eps).transpose(1, 2);
    auto k = rms_norm(heads(L.k, L.k_bias), L.k_norm, c_.rms_norm_eps).transpose(1, 2);
    auto v = heads(L.v, L.v_bias).transpose(1, 2);
    const auto& [cos, sin] = ctx.rope(L.device);
    q = apply_rotary(q, cos, sin);
    k = apply_rotary(k, cos, sin);
    const auto [keys, values] = cache.update(index, k, v, ctx.plan());
    const auto out = attention(q, keys, values, ctx.mask(L.device, c_.sliding_window), 1.0 / std::sqrt(double(D)));
    return linear(out, L.o, L.o_bias);
  }

  at::Tensor moe_block(const Qwen3Layer& L, const at::Tensor& x, Recorder* recorder) const {
    const auto x2 = x.reshape({-1, c_.hidden_size});
    const auto logits = at::linear(x2, L.gate);  // [B·T, E]
    if (recorder && recorder->wants(L.slot)) recorder->observe(L.slot, logits);
    const auto probs = at::softmax(logits, -1, at::kFloat);
    auto [top, ids] = probs.topk(c_.num_experts_per_tok, -1);
    if (c_.norm_topk_prob) top = top / top.sum(-1, /*keepdim=*/true);
    static const ExpertActivation swiglu = [](const at::Tensor& h) {
      const int64_t half = h.size(-1) / 2;
      return at::silu(h.narrow(-1, 0, half)) * h.narrow(-1, half, half);
    };
    return run_experts(L.experts, x2, ids, top.to(x.scalar_type()), swiglu, setup_.experts).view(x.sizes());
  }

  at::Tensor dense_block(const Qwen3Layer& L, const at::Tensor& x) const {
    return at::linear(at::silu(at::linear(x, L.mlp_gate)) * at::linear(x, L.mlp_up), L.mlp_down);
  }

  Qwen3MoeConfig c_;
  at::Tensor embed_, final_norm_, lm_head_;
  std::vector<Qwen3Layer> layers_;
};

}  // namespace

std::unique_ptr<CausalLM> make_qwen3_moe(const Qwen3MoeConfig& config, const WeightSource& weights,
                                         NativeModelMeta meta, const ModelOptions& options) {
  return std::make_unique<Qwen3Moe>(config, weights, std::move(meta), options);
}

}  // namespace moeroute::detail
