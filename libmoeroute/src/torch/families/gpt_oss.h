// Native gpt-oss (transformers' modeling_gpt_oss.py): RMSNorm pre-norm decoder layers with GQA
// attention (q/k/v/o biases, YaRN RoPE, one learned sink logit per head, sliding-window or full
// per layer_types), MoE blocks with a biased router (top-k over raw logits → softmax over the k)
// and clamped-SwiGLU experts with biases (gate/up interleaved; MXFP4 or float weights), final
// RMSNorm and lm_head. docs/native-models.md, "gpt-oss".
#pragma once

#include <memory>

#include "moeroute/causal_lm.h"
#include "moeroute/hf_config.h"
#include "torch/families/native_model_meta.h"
#include "torch/layers/moe_experts.h"
#include "torch/weights/weight_source.h"

namespace moeroute::detail {

/// Loads the weights (shapes checked against `config`; errors name file, tensor and fields).
/// Experts: MXFP4 (`*_blocks` u8 [E, out, K/32, 16] + `*_scales` u8 [E, out, K/32], dequantised
/// on the device) or floats in transformers' parameter layout (`gate_up_proj` [E, H, 2I],
/// `down_proj` [E, I, H]; transformers 5's dequantised save keeps the `*_blocks` names for them).
std::unique_ptr<CausalLM> make_gpt_oss(const GptOssConfig& config, const WeightSource& weights, NativeModelMeta meta,
                                       const ModelOptions& options);

/// One layer's experts in nn.Linear layout (gate_up [E, 2I, H] with gate/up interleaved rows,
/// down [E, H, I]) on `device`, the matrices as `matrix_dtype` and the biases as `dtype`, from
/// `prefix` ("model.layers.N.mlp.experts.").
ExpertWeights load_gpt_oss_experts(const WeightSource& w, const std::string& prefix, const GptOssConfig& config,
                                   const c10::Device& device, at::ScalarType dtype, at::ScalarType matrix_dtype);

}  // namespace moeroute::detail
