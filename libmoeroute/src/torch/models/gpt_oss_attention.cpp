// gpt-oss attention (transformers' eager_attention_forward): GQA, q/k/v/o biases, rotary, one
// learned sink logit per head that joins the softmax and is then dropped.
#include <ATen/ATen.h>

#include "torch/models/gpt_oss_model.h"

namespace moeroute::detail {

at::Tensor GptOssModel::attention(int64_t layer, const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                                  const at::Tensor& mask, GptOssCache* cache) const {
  const auto& w = weights_.layers[static_cast<size_t>(layer)];
  const int64_t B = x.size(0), T = x.size(1), D = config_.head_dim;
  const int64_t Hq = config_.num_attention_heads, Hkv = config_.num_key_value_heads, rep = Hq / Hkv;
  auto q = at::linear(x, w.q_w, w.q_b).view({B, T, Hq, D}).transpose(1, 2);
  auto k = at::linear(x, w.k_w, w.k_b).view({B, T, Hkv, D}).transpose(1, 2);
  auto v = at::linear(x, w.v_w, w.v_b).view({B, T, Hkv, D}).transpose(1, 2);
  q = apply_rotary(q, cos, sin);
  k = apply_rotary(k, cos, sin);
  if (cache) {
    const auto l = static_cast<size_t>(layer);
    if (cache->k.size() <= l) {
      cache->k.resize(l + 1);
      cache->v.resize(l + 1);
    }
    if (cache->k[l].defined()) {
      k = at::cat({cache->k[l], k}, 2);
      v = at::cat({cache->v[l], v}, 2);
    }
    cache->k[l] = k;
    cache->v[l] = v;
  }
  const int64_t S = k.size(2);
  // Query heads h = g·rep + r share key/value head g (transformers' repeat_kv order): group the
  // rep query heads of each kv head as rows instead of repeating the keys.
  const auto qg = q.reshape({B, Hkv, rep * T, D});
  const double scaling = 1.0 / std::sqrt(static_cast<double>(D));
  auto scores = at::matmul(qg, k.transpose(2, 3)).view({B, Hq, T, S}) * scaling;
  scores = scores + mask;
  const auto sinks = w.sinks.view({1, Hq, 1, 1}).expand({B, Hq, T, 1});
  auto combined = at::cat({scores, sinks}, -1);
  combined = combined - std::get<0>(combined.max(-1, /*keepdim=*/true));
  const auto probs = at::softmax(combined, -1, combined.scalar_type()).narrow(-1, 0, S).to(v.scalar_type());
  const auto out = at::matmul(probs.reshape({B, Hkv, rep * T, S}), v).view({B, Hq, T, D});
  return at::linear(out.transpose(1, 2).reshape({B, T, Hq * D}), w.o_w, w.o_b);
}

}  // namespace moeroute::detail
