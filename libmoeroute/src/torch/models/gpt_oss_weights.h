// gpt-oss weights in the layout the forward uses, loaded from a WeightSource with transformers'
// tensor names. Expert weights are stored either as MXFP4 (`*_blocks` u8 [E, out, K/32, 16] +
// `*_scales` u8 [E, out, K/32], dequantised here) or as floats in transformers' parameter layout
// (`gate_up_proj` [E, H, 2I] with gate/up interleaved columns, `down_proj` [E, I, H]; a
// dequantised save by transformers 5.x keeps the `*_blocks` names for these float tensors).
#pragma once

#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "moeroute/hf_config.h"
#include "torch/models/weight_source.h"

namespace moeroute::detail {

struct GptOssLayerWeights {
  at::Tensor input_norm, post_attention_norm;  ///< [H]
  at::Tensor q_w, q_b, k_w, k_b, v_w, v_b;     ///< [heads·D, H], [heads·D] (biases undefined without attention_bias)
  at::Tensor o_w, o_b;                         ///< [H, heads·D], [H]
  at::Tensor sinks;                            ///< [heads] per-head sink logits
  at::Tensor router_w, router_b;               ///< [E, H], [E]
  at::Tensor gate_up, gate_up_b;               ///< [E, H, 2I] (columns 2j gate, 2j+1 up), [E, 2I]
  at::Tensor down, down_b;                     ///< [E, I, H], [E, H]
};

struct GptOssWeights {
  at::Tensor embed;       ///< [V, H]
  at::Tensor final_norm;  ///< [H]
  at::Tensor lm_head;     ///< [V, H] (embed when tie_word_embeddings)
  std::vector<GptOssLayerWeights> layers;
  std::string expert_format;  ///< "mxfp4" or the stored float dtype ("bfloat16", …)
};

/// Loads every tensor onto `device` as `dtype`. Throws InputError naming the source, file and
/// tensor for a missing tensor, a shape that disagrees with the config (naming the fields) or an
/// unexpected dtype.
GptOssWeights load_gpt_oss_weights(const WeightSource& source, const GptOssConfig& config, const c10::Device& device,
                                   at::ScalarType dtype);

}  // namespace moeroute::detail
