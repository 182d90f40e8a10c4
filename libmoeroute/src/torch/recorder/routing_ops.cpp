#include "torch/recorder/routing_ops.h"

namespace moeroute::detail {

namespace {

// Orders DeepSeek's unsorted top-k by score; the chosen set is what its topk(sorted=False) gave.
RoutedTensors sort_desc(const at::Tensor& values, const at::Tensor& ids) {
  auto [sorted, order] = at::sort(values, /*stable=*/true, /*dim=*/-1, /*descending=*/true);
  return {ids.gather(-1, order), sorted};
}

}  // namespace

RoutedTensors route_tensor(const RoutingRule& rule, const at::Tensor& logits) {
  const int64_t k = rule.top_k;
  switch (rule.kind) {
    case RoutingKind::SoftmaxTopK: {
      // transformers: softmax(router_logits, dim=1, dtype=torch.float) → topk → optional renorm.
      auto probs = at::softmax(logits, -1, at::kFloat);
      auto [w, ids] = at::topk(probs, k, -1, /*largest=*/true, /*sorted=*/true);
      if (rule.norm_topk_prob) w = w / w.sum(-1, /*keepdim=*/true);
      return {ids, w};
    }
    case RoutingKind::TopKSoftmax: {
      // gpt-oss: topk over the raw logits and softmax over the k values, both in the logits'
      // dtype (GptOssTopKRouter: softmax(top, dim=1, dtype=top.dtype)); float32 after.
      auto [v, ids] = at::topk(logits, k, -1, true, true);
      return {ids, at::softmax(v, -1, v.scalar_type()).to(at::kFloat)};
    }
    case RoutingKind::DeepSeekV2: {
      auto scores = at::softmax(logits.to(at::kFloat), -1);
      at::Tensor candidates = scores;
      if (rule.topk_method == DeepSeekTopKMethod::GroupLimitedGreedy) {
        const int64_t n = scores.size(0), groups = rule.n_group, e = scores.size(1);
        auto group_scores = std::get<0>(scores.view({n, groups, e / groups}).max(-1));
        auto group_idx = std::get<1>(at::topk(group_scores, rule.topk_group, -1, true, /*sorted=*/false));
        auto group_mask = at::zeros_like(group_scores).scatter_(1, group_idx, 1.0);
        auto score_mask = group_mask.unsqueeze(-1).expand({n, groups, e / groups}).reshape({n, e});
        candidates = scores.masked_fill(score_mask.logical_not(), 0.0);
      }
      auto [w, ids] = at::topk(candidates, k, -1, true, /*sorted=*/false);
      if (rule.top_k > 1 && rule.norm_topk_prob)
        w = w / (w.sum(-1, true) + 1e-20);
      else
        w = w * rule.routed_scaling_factor;
      return sort_desc(w, ids);
    }
  }
  TORCH_CHECK(false, "route_tensor: unknown routing kind");
}

}  // namespace moeroute::detail
