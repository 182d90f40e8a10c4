// Building blocks the native decoder families share, each written to compute exactly what the
// transformers modules compute (same op order, same float32 upcasts), so router logits match to
// float32 rounding: RMSNorm, rotary embeddings (default / linear / YaRN), grouped-query attention
// over the KV cache with causal, padding and sliding-window masks and optional sinks.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <utility>

#include <torch/torch.h>

#include "moeroute/hf_config.h"
#include "torch/layers/kv_cache.h"

namespace moeroute::detail {

/// Where an RMSNorm applies its weight: transformers' Qwen3/Llama norms cast back to x's dtype
/// first, GptOssRMSNorm multiplies in float32 and casts after.
enum class RmsNormKind { CastThenWeight, WeightThenCast };

/// transformers' RMSNorm: x in float32, x·rsqrt(mean(x²) + eps), × weight (before or after the cast
/// back to x's dtype, as `kind` says).
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps,
                    RmsNormKind kind = RmsNormKind::CastThenWeight);

/// linear(x, w) + optional bias (undefined tensor = none); float32 products of few rows on the CPU
/// go to the row kernels (layers/cpu_matmul.h), the rest to at::linear.
at::Tensor linear(const at::Tensor& x, const at::Tensor& w, const at::Tensor& bias = {});

/// Rotary embedding tables for one model: inv_freq and attention scaling as transformers'
/// ROPE_INIT_FUNCTIONS compute them (float32).
class Rotary {
 public:
  /// Throws UnsupportedError for partial rotary factors (neither family uses them).
  Rotary(const RopeConfig& rope, int64_t head_dim, int64_t max_position_embeddings, const std::string& what);
  /// cos and sin [B, T, head_dim] in `dtype` for positions [B, T] (int64, on their device). The
  /// frequencies are copied to a device once, so later calls only launch kernels there (a CUDA
  /// graph capture allows no copy from pageable host memory).
  std::pair<at::Tensor, at::Tensor> tables(const at::Tensor& positions, at::ScalarType dtype) const;
  const at::Tensor& inv_freq() const { return inv_freq_; }
  double attention_scaling() const { return attention_scaling_; }

 private:
  at::Tensor inv_freq_;  // [head_dim / 2] float32, CPU
  mutable std::map<std::string, at::Tensor> on_device_;  // inv_freq_ per device
  double attention_scaling_ = 1.0;
};

/// x·cos + rotate_half(x)·sin, with cos/sin [B, T, D] broadcast over heads (x: [B, H, T, D]).
at::Tensor apply_rotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

/// Per-forward inputs every layer needs, made once per device.
class ForwardContext {
 public:
  ForwardContext(const StepPlan& plan, at::Tensor positions, at::Tensor real, const Rotary& rotary,
                 at::ScalarType dtype);
  const StepPlan& plan() const { return plan_; }
  /// cos/sin tables [B, T, head_dim] on `device`.
  const std::pair<at::Tensor, at::Tensor>& rope(const c10::Device& device);
  /// Attention mask bool [B, 1, 1, T, keys] on `device`, true = hidden: a query attends to the keys
  /// its row holds, at or before it, within `window` positions when set. Padding queries see key
  /// 0 only (their outputs are discarded; this keeps softmax finite).
  const at::Tensor& mask(const c10::Device& device, std::optional<int64_t> window);

 private:
  const StepPlan& plan_;
  at::Tensor positions_;  // [B, T] int64 CPU: absolute position per grid column (padding: 0)
  at::Tensor real_;       // [B, T] bool CPU: column holds a new position of the row
  const Rotary& rotary_;
  at::ScalarType dtype_;
  std::map<std::string, std::pair<at::Tensor, at::Tensor>> rope_;
  std::map<std::string, at::Tensor> masks_;
};

/// Attention of q [B, H, T, D] over cached k, v [B, KV, keys, D] (H a multiple of KV; head h
/// reads kv head h / (H/KV), like transformers' repeat_kv), scores × scaling, masked, softmax in
/// float32 — or, with `sinks` [H], transformers' gpt-oss variant: the sink logit joins each row's
/// softmax (in the scores' dtype, after subtracting the row max) and is dropped after. Returns
/// [B, T, H·D].
at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask,
                     double scaling, const at::Tensor& sinks = {});

}  // namespace moeroute::detail
