// The gpt-oss decoder (transformers' GptOssForCausalLM, eager attention) over weights already on
// the device: embeddings → per layer [RMSNorm → attention with sinks (sliding or full) →
// residual → RMSNorm → router + experts → residual] → RMSNorm → lm_head. Formulas:
// docs/models.md, "gpt-oss".
#pragma once

#include <vector>

#include <ATen/core/Tensor.h>

#include "moeroute/hf_config.h"
#include "moeroute/recorder.h"
#include "torch/models/gpt_oss_weights.h"
#include "torch/models/rotary.h"

namespace moeroute::detail {

/// Keys and values of the tokens run so far, per layer, for a batch of rows. Column c of row r
/// holds the token at position key_pos[r][c] (−1: a padding column nothing attends to).
struct GptOssCache {
  std::vector<at::Tensor> k, v;  ///< per layer [B, kv_heads, S, D]; empty until the first forward
  at::Tensor key_pos;            ///< [B, S] int64 on the model's device
  int64_t columns() const { return key_pos.defined() ? key_pos.size(1) : 0; }
  void clear() {
    k.clear();
    v.clear();
    key_pos = at::Tensor();
  }
};

class GptOssModel {
 public:
  GptOssModel(GptOssConfig config, GptOssWeights weights, const c10::Device& device, at::ScalarType dtype);

  /// Runs new tokens ids [B, T] at positions [B, T] (int64 on the device; −1 marks a padding
  /// column). With `cache`, attends to its keys too and appends the new ones. Router logits go to
  /// `recorder` (slot = layer index) when it wants them. Returns the final-normed hidden states
  /// [B, T, hidden].
  at::Tensor forward(const at::Tensor& ids, const at::Tensor& positions, GptOssCache* cache, Recorder* recorder);

  /// lm_head over hidden states [..., hidden] → logits [..., vocab] in the model dtype.
  at::Tensor logits(const at::Tensor& hidden) const;

  const GptOssConfig& config() const { return config_; }
  const c10::Device& device() const { return device_; }
  at::ScalarType dtype() const { return dtype_; }
  const GptOssWeights& weights() const { return weights_; }

 private:
  at::Tensor attention(int64_t layer, const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                       const at::Tensor& mask, GptOssCache* cache) const;
  at::Tensor moe(int64_t layer, const at::Tensor& x, Recorder* recorder) const;
  /// Experts without a per-expert host loop: few routed (token, slot) pairs (decode) gather the
  /// chosen experts' weights into one batched matmul; many (prefill) are sorted by expert into a
  /// padded [E, capacity, hidden] batch for one batched matmul over all experts.
  at::Tensor experts(const GptOssLayerWeights& w, const at::Tensor& x, const at::Tensor& ids,
                     const at::Tensor& weights) const;

  GptOssConfig config_;
  GptOssWeights weights_;
  RotaryTables rotary_;
  c10::Device device_;
  at::ScalarType dtype_;
};

}  // namespace moeroute::detail
