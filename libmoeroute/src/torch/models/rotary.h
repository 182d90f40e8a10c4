// Rotary position embeddings as transformers computes them (modeling_rope_utils.py): the inverse
// frequencies of "default", "linear" and "yarn" RoPE and the cos/sin multiplier (YaRN's
// attention factor), and their application to query/key heads.
#pragma once

#include <ATen/core/Tensor.h>

#include "moeroute/hf_config.h"

namespace moeroute::detail {

struct RotaryTables {
  at::Tensor inv_freq;            ///< float32 [rotary_dim / 2]
  double attention_scaling = 1.0;  ///< multiplies cos and sin (YaRN's mscale)
};

/// inv_freq and the cos/sin factor for `rope` over heads of `head_dim` (whole head rotated).
/// Throws UnsupportedError when partial_rotary_factor ≠ 1 (`what` names the config).
RotaryTables rotary_tables(const RopeConfig& rope, int64_t head_dim, int64_t max_position_embeddings,
                           const std::string& what);

/// cos and sin [B, 1, T, rotary_dim / 2] in `dtype` for positions [B, T] (int64, any device):
/// (position · inv_freq).cos() · attention_scaling, computed in float32.
std::pair<at::Tensor, at::Tensor> rotary_cos_sin(const RotaryTables& tables, const at::Tensor& positions,
                                                 at::ScalarType dtype);

/// x [B, H, T, D] with halves (x1, x2) → (x1·cos − x2·sin, x2·cos + x1·sin).
at::Tensor apply_rotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

}  // namespace moeroute::detail
