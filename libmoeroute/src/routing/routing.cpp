// Host reference implementation of the routing rules (docs/recording.md, "Routing rules").
#include "moeroute/routing.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "moeroute/error.h"

namespace moeroute {

RoutingRule qwen_moe_rule(int top_k, bool norm_topk_prob) {
  RoutingRule r;
  r.kind = RoutingKind::SoftmaxTopK;
  r.top_k = top_k;
  r.norm_topk_prob = norm_topk_prob;
  return r;
}

RoutingRule olmoe_rule(int top_k, bool norm_topk_prob) { return qwen_moe_rule(top_k, norm_topk_prob); }

RoutingRule mixtral_rule(int top_k) { return qwen_moe_rule(top_k, true); }

RoutingRule gpt_oss_rule(int top_k) {
  RoutingRule r;
  r.kind = RoutingKind::TopKSoftmax;
  r.top_k = top_k;
  r.norm_topk_prob = false;
  return r;
}

RoutingRule deepseek_v2_rule(int top_k, DeepSeekTopKMethod method, int n_group, int topk_group,
                             double routed_scaling_factor, bool norm_topk_prob) {
  RoutingRule r;
  r.kind = RoutingKind::DeepSeekV2;
  r.top_k = top_k;
  r.topk_method = method;
  r.n_group = n_group;
  r.topk_group = topk_group;
  r.routed_scaling_factor = routed_scaling_factor;
  r.norm_topk_prob = norm_topk_prob;
  return r;
}

bool RoutingRule::operator==(const RoutingRule& o) const {
  return kind == o.kind && top_k == o.top_k && norm_topk_prob == o.norm_topk_prob &&
         topk_method == o.topk_method && n_group == o.n_group && topk_group == o.topk_group &&
         routed_scaling_factor == o.routed_scaling_factor;
}

void RoutingRule::validate(int num_experts, const std::string& what) const {
  if (top_k < 1) throw InputError(fmt::format("{}: top_k must be ≥ 1, got {}", what, top_k));
  if (num_experts > 0 && top_k > num_experts)
    throw InputError(fmt::format("{}: top_k {} is larger than the model's {} experts", what, top_k, num_experts));
  if (kind != RoutingKind::DeepSeekV2) return;
  if (!(routed_scaling_factor > 0.0) || !std::isfinite(routed_scaling_factor))
    throw InputError(fmt::format("{}: routed_scaling_factor must be a positive number", what));
  if (topk_method != DeepSeekTopKMethod::GroupLimitedGreedy) return;
  if (n_group < 1 || topk_group < 1 || topk_group > n_group)
    throw InputError(fmt::format("{}: need 1 ≤ topk_group ≤ n_group, got topk_group={} n_group={}", what,
                                 topk_group, n_group));
  if (num_experts > 0 && num_experts % n_group != 0)
    throw InputError(fmt::format("{}: n_group {} does not divide the {} experts", what, n_group, num_experts));
  if (num_experts > 0 && top_k > topk_group * (num_experts / n_group))
    throw InputError(fmt::format("{}: top_k {} exceeds the {} experts in the {} kept groups", what, top_k,
                                 topk_group * (num_experts / n_group), topk_group));
}

namespace {

// torch.topk order: larger first, NaN above everything; ties here go to the lower index.
bool ranks_before(double a, size_t ia, double b, size_t ib) {
  const bool na = std::isnan(a), nb = std::isnan(b);
  if (na != nb) return na;
  if (!na && a != b) return a > b;
  return ia < ib;
}

std::vector<size_t> top_indices(const std::vector<double>& v, int k) {
  std::vector<size_t> idx(v.size());
  std::iota(idx.begin(), idx.end(), size_t{0});
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(),
                    [&](size_t a, size_t b) { return ranks_before(v[a], a, v[b], b); });
  idx.resize(static_cast<size_t>(k));
  return idx;
}

std::vector<double> softmax(const std::vector<double>& x) {
  double m = -INFINITY;
  for (double v : x) m = std::max(m, v);
  std::vector<double> p(x.size());
  double sum = 0.0;
  for (size_t i = 0; i < x.size(); ++i) sum += (p[i] = std::exp(x[i] - m));
  for (double& v : p) v /= sum;
  return p;
}

RoutedToken take(const std::vector<double>& scores, const std::vector<size_t>& chosen, double scale,
                 bool normalise) {
  double sum = 0.0;
  for (size_t i : chosen) sum += scores[i];
  RoutedToken t;
  for (size_t i : chosen) {
    t.ids.push_back(static_cast<int32_t>(i));
    t.weights.push_back(static_cast<float>(normalise ? scores[i] / sum : scores[i] * scale));
  }
  return t;
}

}  // namespace

std::vector<double> selection_scores(const RoutingRule& rule, const float* logits, int num_experts) {
  rule.validate(num_experts);
  std::vector<double> x(logits, logits + num_experts);
  switch (rule.kind) {
    case RoutingKind::SoftmaxTopK: return softmax(x);
    case RoutingKind::TopKSoftmax: return x;
    case RoutingKind::DeepSeekV2: {
      auto p = softmax(x);
      if (rule.topk_method == DeepSeekTopKMethod::GroupLimitedGreedy) {
        const size_t per_group = static_cast<size_t>(num_experts / rule.n_group);
        std::vector<double> group_max(static_cast<size_t>(rule.n_group), -INFINITY);
        for (size_t i = 0; i < p.size(); ++i) group_max[i / per_group] = std::max(group_max[i / per_group], p[i]);
        std::vector<bool> kept(group_max.size(), false);
        for (size_t g : top_indices(group_max, rule.topk_group)) kept[g] = true;
        for (size_t i = 0; i < p.size(); ++i)
          if (!kept[i / per_group]) p[i] = 0.0;
      }
      return p;
    }
  }
  throw Error("selection_scores: unknown routing kind");
}

double decision_margin(const RoutingRule& rule, const float* logits, int num_experts) {
  if (rule.top_k >= num_experts) return std::nan("");
  const auto v = selection_scores(rule, logits, num_experts);
  const auto top = top_indices(v, rule.top_k + 1);
  return v[top[static_cast<size_t>(rule.top_k) - 1]] - v[top[static_cast<size_t>(rule.top_k)]];
}

RoutedToken route(const RoutingRule& rule, const float* logits, int num_experts) {
  const std::vector<double> scores = selection_scores(rule, logits, num_experts);
  const auto chosen = top_indices(scores, rule.top_k);
  switch (rule.kind) {
    case RoutingKind::SoftmaxTopK: return take(scores, chosen, 1.0, rule.norm_topk_prob);
    case RoutingKind::TopKSoftmax: {
      std::vector<double> kept(scores.size(), -INFINITY);
      for (size_t i : chosen) kept[i] = scores[i];
      return take(softmax(kept), chosen, 1.0, false);
    }
    case RoutingKind::DeepSeekV2: {
      // Weights come from the unmasked softmax (masked experts are never chosen).
      const std::vector<double> p = softmax(std::vector<double>(logits, logits + num_experts));
      return take(p, chosen, rule.routed_scaling_factor, rule.top_k > 1 && rule.norm_topk_prob);
    }
  }
  throw Error("route: unknown routing kind");
}

}  // namespace moeroute
