// Native Qwen3-MoE (transformers' modeling_qwen3_moe.py): RMSNorm pre-norm decoder layers with
// GQA attention (per-head q/k RMSNorm, RoPE), sparse MoE blocks (router softmax in float32 →
// top-k → optional renormalisation; no shared experts) or dense SwiGLU MLPs on the layers
// decoder_sparse_step / mlp_only_layers select, final RMSNorm and lm_head (or tied embeddings).
#pragma once

#include <memory>
#include <string>

#include "moeroute/causal_lm.h"
#include "moeroute/hf_config.h"
#include "torch/families/native_model_meta.h"
#include "torch/weights/weight_source.h"

namespace moeroute::detail {

/// Loads the weights (shapes checked against `config`; errors name file, tensor and fields).
/// Experts may be stored per expert (`mlp.experts.E.{gate,up,down}_proj.weight`, the Hub layout)
/// or fused (`mlp.experts.gate_up_proj [E, 2I, H]`, `mlp.experts.down_proj [E, H, I]`).
std::unique_ptr<CausalLM> make_qwen3_moe(const Qwen3MoeConfig& config, const WeightSource& weights,
                                         NativeModelMeta meta, const ModelOptions& options);

}  // namespace moeroute::detail
