// One pre-norm decoder layer of the native families, op for op as transformers computes it:
//   h  = x + o_proj(Attn(RMSNorm₁(x)))
//   x' = h + MLP(RMSNorm₂(h))          MLP = the MoE block, or a dense SwiGLU
// The families differ only in data: which norm, which weights exist (q/k norms, sinks, biases),
// the sliding window per layer, and the MoE block's rule and activation.
#pragma once

#include <cstdint>
#include <optional>

#include <torch/torch.h>

#include "moeroute/hf_config.h"
#include "torch/layers/kv_cache.h"
#include "torch/layers/layers.h"
#include "torch/layers/moe_block.h"

namespace moeroute::detail {

/// Weight matrices are in the run dtype or, on the CPU in float32, in a 16-bit storage dtype
/// (NativeModel::matrix_dtype); norms, biases, routers and sinks are always in the run dtype.
struct AttentionWeights {
  at::Tensor qkv, qkv_bias;        ///< q, k, v projections stacked [Q + 2·KV, H] (one product, x read once)
  at::Tensor o, o_bias;            ///< biases only with attention_bias
  at::Tensor q_norm, k_norm;       ///< per-head RMSNorm before RoPE (Qwen3), or undefined
  at::Tensor sinks;                ///< [heads] sink logits (gpt-oss), or undefined
  std::optional<int64_t> window;   ///< this layer's sliding window, or none
};

struct DenseMlpWeights {
  at::Tensor gate, up, down;  ///< down(silu(gate(x)) · up(x))
};

struct DecoderLayer {
  c10::Device device{c10::kCPU};
  at::Tensor input_norm, post_norm;
  AttentionWeights attention;
  std::optional<MoeBlockWeights> moe;  ///< none: the dense MLP
  DenseMlpWeights dense;
};

/// What every layer of a model shares.
struct DecoderSpec {
  int64_t head_dim = 0;
  double rms_norm_eps = 1e-6;
  RmsNormKind norm = RmsNormKind::CastThenWeight;  ///< the layer and final norms' kind
  MoeBlockSpec moe;
};

/// Loads the norms and attention projections every layer has through `get(name, shape, why)`
/// (run dtype) and `get.matrix(name, shape, why)` (the projections, in their storage dtype) —
/// names relative to the layer, shapes from `c`, `why` naming the config fields a mismatch
/// contradicts.
template <typename Get>
void load_attention_weights(const Get& get, const DecoderConfig& c, DecoderLayer& L) {
  const int64_t H = c.hidden_size, Q = c.num_attention_heads * c.head_dim, KV = c.num_key_value_heads * c.head_dim;
  L.input_norm = get("input_layernorm.weight", {H}, "hidden_size");
  L.post_norm = get("post_attention_layernorm.weight", {H}, "hidden_size");
  auto& a = L.attention;
  a.qkv = at::cat({get.matrix("self_attn.q_proj.weight", {Q, H}, "num_attention_heads·head_dim × hidden_size"),
                   get.matrix("self_attn.k_proj.weight", {KV, H}, "num_key_value_heads·head_dim × hidden_size"),
                   get.matrix("self_attn.v_proj.weight", {KV, H}, "num_key_value_heads·head_dim × hidden_size")});
  a.o = get.matrix("self_attn.o_proj.weight", {H, Q}, "hidden_size × num_attention_heads·head_dim");
  if (c.attention_bias) {
    a.qkv_bias = at::cat({get("self_attn.q_proj.bias", {Q}, "attention_bias"),
                          get("self_attn.k_proj.bias", {KV}, "attention_bias"),
                          get("self_attn.v_proj.bias", {KV}, "attention_bias")});
    a.o_bias = get("self_attn.o_proj.bias", {H}, "attention_bias");
  }
}

/// The residual stream h [B, T, H] through layer `index` (on the layer's device).
at::Tensor decoder_layer(const DecoderLayer& L, int index, const DecoderSpec& spec, at::Tensor h,
                         ForwardContext& ctx, KvCache& cache, Recorder* recorder);

}  // namespace moeroute::detail
