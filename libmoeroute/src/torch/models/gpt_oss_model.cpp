// gpt-oss decoder stack: embeddings, RMSNorm, attention masks from positions, residuals.
#include "torch/models/gpt_oss_model.h"

#include <limits>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "moeroute/error.h"

namespace moeroute::detail {

namespace {

// transformers' GptOssRMSNorm: in float32, weight × normalised, back to the input dtype.
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  const auto h = x.to(at::kFloat);
  const auto normed = h * at::rsqrt(h.pow(2).mean(-1, /*keepdim=*/true) + eps);
  return (weight * normed).to(x.scalar_type());
}

// Additive mask [B, 1, T, S]: 0 where query (position q) may attend key (position k), the dtype's
// lowest value elsewhere. Causal in positions (columns of one row hold increasing positions);
// within `window` when set (q − k < window, transformers' sliding_window_overlay).
at::Tensor attention_mask(const at::Tensor& q_pos, const at::Tensor& k_pos, int64_t window, at::ScalarType dtype) {
  const auto q = q_pos.unsqueeze(2);  // [B, T, 1]
  const auto k = k_pos.unsqueeze(1);  // [B, 1, S]
  auto allowed = (k >= 0).logical_and(q >= 0).logical_and(k <= q);
  if (window > 0) allowed = allowed.logical_and((q - k) < window);
  auto zero = at::zeros({}, q_pos.options().dtype(dtype));
  auto low = at::full({}, at::Scalar(-std::numeric_limits<float>::max()), q_pos.options().dtype(at::kFloat)).to(dtype);
  if (dtype == at::kHalf) low = at::full({}, -65504.0, q_pos.options().dtype(dtype));
  return at::where(allowed, zero, low).unsqueeze(1);
}

}  // namespace

GptOssModel::GptOssModel(GptOssConfig config, GptOssWeights weights, const c10::Device& device, at::ScalarType dtype)
    : config_(std::move(config)),
      weights_(std::move(weights)),
      rotary_(rotary_tables(config_.rope, config_.head_dim, config_.max_position_embeddings, config_.what)),
      device_(device),
      dtype_(dtype) {
  rotary_.inv_freq = rotary_.inv_freq.to(device_);
}

at::Tensor GptOssModel::forward(const at::Tensor& ids, const at::Tensor& positions, GptOssCache* cache,
                                Recorder* recorder) {
  const int64_t L = config_.num_hidden_layers;
  const auto key_pos = cache && cache->key_pos.defined() ? at::cat({cache->key_pos, positions}, 1) : positions;
  const auto full_mask = attention_mask(positions, key_pos, 0, dtype_);
  const auto sliding_mask =
      config_.sliding_window ? attention_mask(positions, key_pos, *config_.sliding_window, dtype_) : full_mask;
  // Padding columns get position 0 for the rotary tables; the mask keeps them out of attention.
  const auto [cos, sin] = rotary_cos_sin(rotary_, positions.clamp_min(0), dtype_);
  auto h = at::embedding(weights_.embed, ids);
  for (int64_t l = 0; l < L; ++l) {
    const auto& w = weights_.layers[static_cast<size_t>(l)];
    const auto& mask = config_.is_sliding(l) ? sliding_mask : full_mask;
    h = h + attention(l, rms_norm(h, w.input_norm, config_.rms_norm_eps), cos, sin, mask, cache);
    h = h + moe(l, rms_norm(h, w.post_attention_norm, config_.rms_norm_eps), recorder);
  }
  if (cache) cache->key_pos = key_pos;
  return rms_norm(h, weights_.final_norm, config_.rms_norm_eps);
}

at::Tensor GptOssModel::logits(const at::Tensor& hidden) const { return at::linear(hidden, weights_.lm_head); }

}  // namespace moeroute::detail
