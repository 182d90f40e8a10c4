// gpt-oss MoE block: router (Linear with bias) → top-k over raw logits → softmax over the k →
// clamped SwiGLU experts with biases, weighted and summed over the k (transformers'
// grouped_mm_experts_forward order), without a per-expert host loop.
#include <ATen/ATen.h>

#include "torch/models/gpt_oss_model.h"

namespace moeroute::detail {

namespace {

// transformers' GptOssExperts._apply_gate: interleaved gate/up columns, clamps, (up + 1)·glu.
at::Tensor clamped_swiglu(const at::Tensor& gate_up, double limit, double alpha) {
  const int64_t last = gate_up.dim() - 1;
  auto gate = gate_up.slice(last, 0, gate_up.size(last), 2).clamp_max(limit);
  auto up = gate_up.slice(last, 1, gate_up.size(last), 2).clamp(-limit, limit);
  const auto glu = gate * at::sigmoid(gate * alpha);
  return (up + 1) * glu;
}

}  // namespace

at::Tensor GptOssModel::moe(int64_t layer, const at::Tensor& x, Recorder* recorder) const {
  const auto& w = weights_.layers[static_cast<size_t>(layer)];
  const auto flat = x.reshape({-1, x.size(-1)});
  const auto logits = at::linear(flat, w.router_w, w.router_b);
  if (recorder && recorder->wants(static_cast<int>(layer))) recorder->observe(static_cast<int>(layer), logits);
  const auto top = at::topk(logits, config_.num_experts_per_tok, -1);
  const auto scores = at::softmax(std::get<0>(top), 1, logits.scalar_type());
  return experts(w, flat, std::get<1>(top), scores).view(x.sizes());
}

at::Tensor GptOssModel::experts(const GptOssLayerWeights& w, const at::Tensor& x, const at::Tensor& ids,
                                const at::Tensor& weights) const {
  const int64_t N = x.size(0), K = ids.size(1), H = x.size(1), E = config_.num_experts;
  const int64_t S = N * K;
  const double limit = config_.swiglu_limit, alpha = config_.swiglu_alpha;
  const auto flat_ids = ids.reshape({S});
  // Gathering copies S expert matrices (then reads them twice); the grouped batch reads all E once.
  const bool gather = 3 * S <= E;
  at::Tensor y;  // [S, H], row s = (token s / K, slot s % K)
  if (gather) {
    const auto xs = x.unsqueeze(1).expand({N, K, H}).reshape({S, 1, H});
    auto gu = at::bmm(xs, w.gate_up.index_select(0, flat_ids)) + w.gate_up_b.index_select(0, flat_ids).unsqueeze(1);
    auto act = clamped_swiglu(gu, limit, alpha);
    y = (at::bmm(act, w.down.index_select(0, flat_ids)) + w.down_b.index_select(0, flat_ids).unsqueeze(1)).squeeze(1);
  } else {
    const auto sorted = at::sort(flat_ids, /*stable=*/true, 0, false);
    const auto& expert = std::get<0>(sorted);
    const auto& perm = std::get<1>(sorted);
    const auto counts = at::bincount(flat_ids, {}, E);
    const int64_t capacity = counts.max().item<int64_t>();  // the one host sync of this path
    const auto starts = counts.cumsum(0) - counts;
    const auto slot = at::arange(S, flat_ids.options()) - starts.index_select(0, expert);
    auto xin = at::zeros({E, capacity, H}, x.options());
    xin.index_put_({expert, slot}, x.index_select(0, at::div(perm, K, "floor")));
    auto gu = at::bmm(xin, w.gate_up) + w.gate_up_b.unsqueeze(1);
    auto act = clamped_swiglu(gu, limit, alpha);
    const auto down = at::bmm(act, w.down) + w.down_b.unsqueeze(1);
    y = at::empty({S, H}, x.options()).index_copy_(0, perm, down.index({expert, slot}));
  }
  return (y * weights.reshape({S, 1})).view({N, K, H}).sum(1).to(x.scalar_type());
}

}  // namespace moeroute::detail
