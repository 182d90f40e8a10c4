// gpt-oss on the native framework (NativeModel: KV cache, masks, rotary tables, recorder windows).
#include "torch/models/gpt_oss.h"

#include <cmath>

#include <fmt/format.h>

#include "torch/models/native_model.h"

namespace moeroute::detail {

namespace {

struct GptOssLayer : DecoderLayerWeights {
  at::Tensor sinks;  // [heads]
  at::Tensor router, router_bias;
  ExpertWeights experts;
  bool sliding = false;
};

// GptOssRMSNorm multiplies by the weight in float32 and only then casts back (Qwen3's casts first).
at::Tensor gpt_oss_rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  const auto h = x.to(at::kFloat);
  return (weight * (h * at::rsqrt(h.pow(2).mean(-1, /*keepdim=*/true) + eps))).to(x.scalar_type());
}

class GptOss final : public NativeModel {
 public:
  GptOss(const GptOssConfig& c, const WeightSource& w, NativeModelMeta meta, const ModelOptions& options)
      : NativeModel(c, resolve_native_setup(options, c), meta.what), c_(c) {
    tokenizer_ = meta.tokenizer;
    plan(w);
    load(w);
    std::vector<LayerInfo> routers;
    for (int64_t i = 0; i < c_.num_hidden_layers; ++i)
      routers.push_back({fmt::format("model.layers.{}.mlp.router", i), static_cast<int>(i)});
    finish_info(std::move(meta), std::move(routers), gpt_oss_rule(static_cast<int>(c_.num_experts_per_tok)));
  }

 protected:
  at::Tensor run(const at::Tensor& input_ids, ForwardContext& ctx, KvCache& cache, Recorder* recorder) override {
    auto h = at::embedding(embed_, input_ids);
    for (size_t i = 0; i < layers_.size(); ++i) {
      const auto& L = layers_[i];
      h = h.to(L.device);
      h = h + attention_block(L, static_cast<int>(i), gpt_oss_rms_norm(h, L.input_norm, c_.rms_norm_eps), ctx, cache);
      h = h + moe_block(L, static_cast<int>(i), gpt_oss_rms_norm(h, L.post_norm, c_.rms_norm_eps), recorder);
    }
    return h;
  }

  at::Tensor head(const at::Tensor& hidden) const override {
    return at::linear(gpt_oss_rms_norm(hidden, final_norm_, c_.rms_norm_eps), lm_head_);
  }

 private:
  // Devices from the weights' sizes in the run dtype (MXFP4 blocks dequantise to 2 values per
  // byte; scales vanish) + a KV allowance of 4096 positions × 2 rows.
  void plan(const WeightSource& w) {
    const auto esize = static_cast<int64_t>(c10::elementSize(setup_.dtype));
    std::vector<int64_t> layer_bytes(static_cast<size_t>(c_.num_hidden_layers),
                                     2 * 2 * 4096 * c_.num_key_value_heads * c_.head_dim * esize);
    for (const auto& name : w.names()) {
      const int index = layer_index_from_name(name);
      if (name.rfind("model.layers.", 0) != 0 || index < 0 || index >= c_.num_hidden_layers) continue;
      const auto shape = w.shape(name);
      int64_t numel = 1;
      for (int64_t d : shape) numel *= d;
      const bool blocks = shape.size() == 4 && name.size() > 7 && name.compare(name.size() - 7, 7, "_blocks") == 0;
      const bool scales = name.size() > 7 && name.compare(name.size() - 7, 7, "_scales") == 0;
      if (!scales) layer_bytes[static_cast<size_t>(index)] += numel * esize * (blocks ? 2 : 1);
    }
    const int64_t embed = c_.vocab_size * c_.hidden_size * esize;
    devices_ = plan_devices(setup_, embed, layer_bytes, embed + c_.hidden_size * esize);
  }

  void load(const WeightSource& w) {
    const int64_t H = c_.hidden_size, V = c_.vocab_size, E = c_.num_experts;
    auto get = [&](const std::string& name, const std::vector<int64_t>& shape, const std::string& why,
                   const c10::Device& device) { return w.load_checked(name, shape, why, device, setup_.dtype); };
    embed_ = get("model.embed_tokens.weight", {V, H}, "vocab_size × hidden_size", devices_.embed);
    final_norm_ = get("model.norm.weight", {H}, "hidden_size", devices_.head);
    lm_head_ = c_.tie_word_embeddings
                   ? embed_.to(devices_.head)
                   : get("lm_head.weight", {V, H}, "vocab_size × hidden_size (tie_word_embeddings false)", devices_.head);
    for (int64_t i = 0; i < c_.num_hidden_layers; ++i) {
      GptOssLayer L;
      L.device = devices_.layers[static_cast<size_t>(i)];
      L.sliding = c_.is_sliding(i);
      const std::string p = fmt::format("model.layers.{}.", i);
      auto g = [&](const std::string& name, const std::vector<int64_t>& shape, const std::string& why) {
        return get(p + name, shape, why, L.device);
      };
      load_decoder_layer_weights(g, c_, L);
      L.sinks = g("self_attn.sinks", {c_.num_attention_heads}, "num_attention_heads");
      L.router = g("mlp.router.weight", {E, H}, "num_local_experts × hidden_size");
      L.router_bias = g("mlp.router.bias", {E}, "num_local_experts");
      L.experts = load_gpt_oss_experts(w, p + "mlp.experts.", c_, L.device, setup_.dtype);
      layers_.push_back(std::move(L));
    }
  }

  at::Tensor attention_block(const GptOssLayer& L, int index, const at::Tensor& x, ForwardContext& ctx,
                             KvCache& cache) const {
    const int64_t B = x.size(0), T = x.size(1), D = c_.head_dim;
    auto heads = [&](const at::Tensor& w, const at::Tensor& b) {
      return linear(x, w, b).view({B, T, -1, D}).transpose(1, 2);
    };
    const auto& [cos, sin] = ctx.rope(L.device);
    const auto q = apply_rotary(heads(L.q, L.q_bias), cos, sin);
    const auto k = apply_rotary(heads(L.k, L.k_bias), cos, sin);
    const auto [keys, values] = cache.update(index, k, heads(L.v, L.v_bias), ctx.plan());
    const auto& mask = ctx.mask(L.device, L.sliding ? c_.sliding_window : std::nullopt);
    return linear(attention(q, keys, values, mask, 1.0 / std::sqrt(double(D)), L.sinks), L.o, L.o_bias);
  }

  at::Tensor moe_block(const GptOssLayer& L, int slot, const at::Tensor& x, Recorder* recorder) const {
    const auto x2 = x.reshape({-1, c_.hidden_size});
    const auto logits = at::linear(x2, L.router, L.router_bias);  // [B·T, E], bias included
    if (recorder && recorder->wants(slot)) recorder->observe(slot, logits);
    const auto [top, ids] = logits.topk(c_.num_experts_per_tok, -1);
    const auto weights = at::softmax(top, -1, top.scalar_type());
    const double limit = c_.swiglu_limit, alpha = c_.swiglu_alpha;
    // GptOssExperts._apply_gate: columns 2j gate, 2j+1 up; gate ≤ limit, |up| ≤ limit.
    const ExpertActivation clamped_swiglu = [limit, alpha](const at::Tensor& h) {
      const int64_t last = h.dim() - 1, n = h.size(last);
      const auto gate = h.slice(last, 0, n, 2).clamp_max(limit);
      const auto up = h.slice(last, 1, n, 2).clamp(-limit, limit);
      return (up + 1) * (gate * at::sigmoid(gate * alpha));
    };
    return run_experts(L.experts, x2, ids, weights, clamped_swiglu, setup_.experts).view(x.sizes());
  }

  GptOssConfig c_;
  at::Tensor embed_, final_norm_, lm_head_;
  std::vector<GptOssLayer> layers_;
};

}  // namespace

std::unique_ptr<CausalLM> make_gpt_oss(const GptOssConfig& config, const WeightSource& weights, NativeModelMeta meta,
                                       const ModelOptions& options) {
  return std::make_unique<GptOss>(config, weights, std::move(meta), options);
}

}  // namespace moeroute::detail
