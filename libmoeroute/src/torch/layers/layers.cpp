#include "torch/layers/layers.h"

#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "moeroute/error.h"
#include "torch/layers/cpu_decode.h"
#include "torch/layers/cpu_matmul.h"

namespace moeroute::detail {

at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps, RmsNormKind kind) {
  if (cpu_fused_applies(x, {&weight}) && weight.dim() == 1 && weight.numel() == x.size(-1))
    return cpu_rms_norm(x, weight, eps);
  auto h = x.to(at::kFloat);
  const auto variance = h.pow(2).mean(-1, /*keepdim=*/true);
  h = h * at::rsqrt(variance + eps);
  if (kind == RmsNormKind::WeightThenCast) return (weight * h).to(x.scalar_type());
  return weight * h.to(x.scalar_type());
}

at::Tensor linear(const at::Tensor& x, const at::Tensor& w, const at::Tensor& bias) {
  if (cpu_linear_applies(x, w, bias)) return cpu_linear(x, w, bias);
  if (x.device().is_cpu()) return parallel_linear(x, w, bias);
  return bias.defined() ? at::linear(x, w, bias) : at::linear(x, w);
}

namespace {

// base ** (arange(0, dim, 2) / dim) in float32, as transformers writes it.
at::Tensor pos_freqs(double base, int64_t dim) {
  const auto exponent = at::arange(0, dim, 2, at::kLong).to(at::kFloat) / static_cast<double>(dim);
  return at::pow(at::Scalar(base), exponent);
}

// Python's `1.0 / t` is t.reciprocal() * 1.0.
at::Tensor one_over(const at::Tensor& t) { return t.reciprocal() * 1.0; }

constexpr double kPi = 3.141592653589793;  // Python's math.pi

double yarn_mscale(double scale, double mscale) { return scale <= 1 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0; }

}  // namespace

Rotary::Rotary(const RopeConfig& rope, int64_t head_dim, int64_t max_position_embeddings, const std::string& what) {
  if (rope.partial_rotary_factor != 1.0)
    throw UnsupportedError(fmt::format("{}: partial_rotary_factor {} is not supported (only 1)", what,
                                       rope.partial_rotary_factor));
  const int64_t dim = head_dim;
  const double base = rope.rope_theta;
  c10::InferenceMode guard;
  if (rope.rope_type == "default" || rope.rope_type == "linear") {
    inv_freq_ = one_over(pos_freqs(base, dim));
    if (rope.rope_type == "linear") inv_freq_ = inv_freq_ / rope.factor;
  } else if (rope.rope_type == "yarn") {
    // transformers' _compute_yarn_parameters.
    const double factor = rope.factor;
    if (rope.attention_factor) {
      attention_scaling_ = *rope.attention_factor;
    } else if (rope.mscale != 0 && rope.mscale_all_dim != 0) {
      attention_scaling_ = yarn_mscale(factor, rope.mscale) / yarn_mscale(factor, rope.mscale_all_dim);
    } else {
      attention_scaling_ = yarn_mscale(factor, 1.0);
    }
    const double original =
        static_cast<double>(rope.original_max_position_embeddings > 0 ? rope.original_max_position_embeddings
                                                                       : max_position_embeddings);
    auto correction_dim = [&](double rotations) {
      return (static_cast<double>(dim) * std::log(original / (rotations * 2 * kPi))) / (2 * std::log(base));
    };
    double low = correction_dim(rope.beta_fast), high = correction_dim(rope.beta_slow);
    if (rope.truncate) {
      low = std::floor(low);
      high = std::ceil(high);
    }
    low = std::max(low, 0.0);
    high = std::min(high, static_cast<double>(dim - 1));
    if (low == high) high += 0.001;  // transformers: prevent a singular ramp
    const auto freqs = pos_freqs(base, dim);
    const auto extrapolation = one_over(freqs);
    const auto interpolation = one_over(factor * freqs);
    const auto ramp = ((at::arange(dim / 2, at::kFloat) - low) / (high - low)).clamp(0, 1);
    const auto extrapolation_factor = 1 - ramp;
    inv_freq_ = interpolation * (1 - extrapolation_factor) + extrapolation * extrapolation_factor;
  } else {
    throw UnsupportedError(fmt::format("{}: rope_type '{}' is not supported", what, rope.rope_type));
  }
}

std::pair<at::Tensor, at::Tensor> Rotary::tables(const at::Tensor& positions, at::ScalarType dtype) const {
  auto& inv_freq = on_device_[positions.device().str()];
  if (!inv_freq.defined()) inv_freq = inv_freq_.to(positions.device());
  const auto freqs = positions.unsqueeze(-1).to(at::kFloat) * inv_freq;
  const auto emb = at::cat({freqs, freqs}, -1);
  return {(emb.cos() * attention_scaling_).to(dtype), (emb.sin() * attention_scaling_).to(dtype)};
}

at::Tensor apply_rotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  const int64_t half = x.size(-1) / 2;
  const auto rotated = at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
  return x * cos.unsqueeze(1) + rotated * sin.unsqueeze(1);
}

ForwardContext::ForwardContext(const StepPlan& plan, at::Tensor positions, at::Tensor real, const Rotary& rotary,
                               at::ScalarType dtype)
    : plan_(plan), positions_(std::move(positions)), real_(std::move(real)), rotary_(rotary), dtype_(dtype) {}

const std::pair<at::Tensor, at::Tensor>& ForwardContext::rope(const c10::Device& device) {
  auto& slot = rope_[device.str()];
  if (!slot.first.defined()) slot = rotary_.tables(positions_.to(device), dtype_);
  return slot;
}

const at::Tensor& ForwardContext::mask(const c10::Device& device, std::optional<int64_t> window) {
  auto& m = masks_[device.str() + "/" + (window ? std::to_string(*window) : "full")];
  if (m.defined()) return m;
  const auto qpos = positions_.to(device).unsqueeze(-1);  // [B, T, 1]
  const auto real = real_.to(device).unsqueeze(-1);
  const auto j = at::arange(plan_.keys, at::TensorOptions().dtype(at::kLong).device(device)).view({1, 1, -1});
  auto ok = j.le(qpos).logical_and(real);
  if (window) ok = ok.logical_and((qpos - j).lt(*window));
  ok = ok.logical_or(real.logical_not().logical_and(j.eq(0)));
  m = ok.logical_not().view({plan_.rows, 1, 1, plan_.columns, plan_.keys});
  return m;
}

at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask,
                     double scaling, const at::Tensor& sinks) {
  const int64_t B = q.size(0), H = q.size(1), T = q.size(2), D = q.size(3);
  const int64_t KV = k.size(1), G = H / KV, keys = k.size(2);
  // Group the query heads that share a kv head, instead of copying k/v G times (repeat_kv).
  const auto qg = q.reshape({B, KV, G * T, D});
  auto scores = (at::matmul(qg, k.transpose(-1, -2)) * scaling).view({B, KV, G, T, keys});
  scores = scores.masked_fill(mask, -std::numeric_limits<double>::infinity());
  at::Tensor probs;
  if (!sinks.defined()) {
    probs = at::softmax(scores, -1, at::kFloat).to(q.scalar_type());
  } else {
    const auto s = sinks.to(scores.scalar_type()).view({1, KV, G, 1, 1}).expand({B, KV, G, T, 1});
    auto combined = at::cat({scores, s}, -1);
    combined = combined - std::get<0>(combined.max(-1, /*keepdim=*/true));
    probs = at::softmax(combined, -1, combined.scalar_type()).narrow(-1, 0, keys).to(v.scalar_type());
  }
  const auto out = at::matmul(probs.reshape({B, KV, G * T, keys}), v);  // [B, KV, G·T, D]
  return out.view({B, H, T, D}).transpose(1, 2).reshape({B, T, H * D});
}

}  // namespace moeroute::detail
