// Same torch ops in the same order as transformers' _compute_default_rope_parameters,
// _compute_linear_scaling_rope_parameters and _compute_yarn_parameters, so inv_freq matches to
// the bit in float32.
#include "torch/models/rotary.h"

#include <algorithm>
#include <cmath>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "moeroute/error.h"

namespace moeroute::detail {

namespace {

// base ** (arange(0, dim, 2) / dim) in float32.
at::Tensor pos_freqs(double base, int64_t dim) {
  return at::pow(base, at::arange(0, dim, 2, at::kLong).to(at::kFloat) / static_cast<double>(dim));
}

double yarn_mscale(double scale, double mscale) { return scale <= 1 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0; }

RotaryTables yarn(const RopeConfig& r, int64_t dim, int64_t max_positions) {
  double factor = r.factor;
  const auto original = static_cast<double>(r.original_max_position_embeddings > 0 ? r.original_max_position_embeddings
                                                                                  : max_positions);
  RotaryTables t;
  if (r.attention_factor) t.attention_scaling = *r.attention_factor;
  else if (r.mscale != 0 && r.mscale_all_dim != 0)
    t.attention_scaling = yarn_mscale(factor, r.mscale) / yarn_mscale(factor, r.mscale_all_dim);
  else t.attention_scaling = yarn_mscale(factor, 1.0);
  const double base = r.rope_theta;
  auto correction_dim = [&](double rotations) {
    return (static_cast<double>(dim) * std::log(original / (rotations * 2 * M_PI))) / (2 * std::log(base));
  };
  double low = correction_dim(r.beta_fast);
  double high = correction_dim(r.beta_slow);
  if (r.truncate) {
    low = std::floor(low);
    high = std::ceil(high);
  }
  low = std::max(low, 0.0);
  high = std::min(high, static_cast<double>(dim - 1));
  if (low == high) high += 0.001;  // transformers: prevent a singular ramp
  const auto freqs = pos_freqs(base, dim);
  const auto extrapolation = at::reciprocal(freqs);
  const auto interpolation = at::reciprocal(factor * freqs);
  const auto ramp = ((at::arange(dim / 2, at::kFloat) - low) / (high - low)).clamp(0, 1);
  const auto extrapolation_factor = 1 - ramp;
  t.inv_freq = interpolation * (1 - extrapolation_factor) + extrapolation * extrapolation_factor;
  return t;
}

}  // namespace

RotaryTables rotary_tables(const RopeConfig& rope, int64_t head_dim, int64_t max_position_embeddings,
                           const std::string& what) {
  if (rope.partial_rotary_factor != 1.0)
    throw UnsupportedError(fmt::format("{}: partial_rotary_factor {} is not supported (whole heads are rotated)", what,
                                       rope.partial_rotary_factor));
  if (rope.rope_type == "yarn") return yarn(rope, head_dim, max_position_embeddings);
  RotaryTables t;
  t.inv_freq = at::reciprocal(pos_freqs(rope.rope_theta, head_dim));
  if (rope.rope_type == "linear") t.inv_freq = t.inv_freq / rope.factor;
  else if (rope.rope_type != "default")
    throw UnsupportedError(fmt::format("{}: rope_type '{}' is not supported", what, rope.rope_type));
  return t;
}

std::pair<at::Tensor, at::Tensor> rotary_cos_sin(const RotaryTables& tables, const at::Tensor& positions,
                                                 at::ScalarType dtype) {
  const auto freqs = positions.unsqueeze(-1).to(at::kFloat) * tables.inv_freq.to(positions.device());
  auto cos = (freqs.cos() * tables.attention_scaling).to(dtype).unsqueeze(1);
  auto sin = (freqs.sin() * tables.attention_scaling).to(dtype).unsqueeze(1);
  return {cos, sin};
}

at::Tensor apply_rotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  const auto halves = x.chunk(2, -1);
  const auto& x1 = halves[0];
  const auto& x2 = halves[1];
  return at::cat({x1 * cos - x2 * sin, x2 * cos + x1 * sin}, -1);
}

}  // namespace moeroute::detail
