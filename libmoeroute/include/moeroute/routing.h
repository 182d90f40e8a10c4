// Routing rules: how a model family turns one token's router logits into the chosen experts and
// their gate weights. The formulas are in docs/recording.md ("Routing rules"). This header is
// host-only (no LibTorch); the recorder applies the same rules with torch ops on the device.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace moeroute {

/// The shape of a rule; each model family maps onto one kind (see the factory functions below).
enum class RoutingKind {
  SoftmaxTopK,  ///< softmax over all experts (fp32) → top-k → optional renormalisation
  TopKSoftmax,  ///< top-k over the raw logits → softmax over the k chosen logits (gpt-oss)
  DeepSeekV2,   ///< softmax → greedy or group-limited greedy top-k → norm or × routed_scaling_factor
};

/// Top-k selection of DeepSeek-V2 (`topk_method` in its config.json).
enum class DeepSeekTopKMethod {
  Greedy,              ///< plain top-k over all experts
  GroupLimitedGreedy,  ///< keep the topk_group groups with the largest max score, then top-k in them
};

/// One family's rule with its parameters. Build it with a factory below or parse_routing_rule().
struct RoutingRule {
  RoutingKind kind = RoutingKind::SoftmaxTopK;  ///< formula family
  int top_k = 2;                                ///< experts chosen per token
  bool norm_topk_prob = true;  ///< SoftmaxTopK/DeepSeekV2: divide the chosen weights by their sum
  DeepSeekTopKMethod topk_method = DeepSeekTopKMethod::Greedy;  ///< DeepSeekV2 only
  int n_group = 1;                     ///< DeepSeekV2 group_limited_greedy: expert groups
  int topk_group = 1;                  ///< DeepSeekV2 group_limited_greedy: groups kept
  double routed_scaling_factor = 1.0;  ///< DeepSeekV2: weight multiplier when not renormalised

  /// Canonical text form, stored in RouterTrace.meta.routing_rule, e.g.
  /// "softmax_topk(k=8,norm_topk_prob=true)" or "topk_softmax(k=4)". parse_routing_rule() reads it.
  std::string to_string() const;

  /// Throws InputError naming `what` when the rule cannot route `num_experts` experts (k out of
  /// range, groups that do not divide the experts, …). num_experts ≤ 0 checks only the rule.
  void validate(int num_experts = 0, const std::string& what = "routing rule") const;

  bool operator==(const RoutingRule& o) const;
  bool operator!=(const RoutingRule& o) const { return !(*this == o); }
};

/// Qwen3-MoE / Qwen2-MoE: softmax → top-k → renormalise when norm_topk_prob (Qwen3-30B-A3B: true).
RoutingRule qwen_moe_rule(int top_k, bool norm_topk_prob);
/// OLMoE: softmax → top-k, no renormalisation (norm_topk_prob false in its config).
RoutingRule olmoe_rule(int top_k, bool norm_topk_prob = false);
/// Mixtral: softmax → top-k (2) → renormalise.
RoutingRule mixtral_rule(int top_k = 2);
/// gpt-oss: top-k over the raw logits (router Linear has a bias) → softmax over the k values.
RoutingRule gpt_oss_rule(int top_k = 4);
/// DeepSeek-V2: softmax → greedy / group-limited greedy → norm or × routed_scaling_factor.
RoutingRule deepseek_v2_rule(int top_k, DeepSeekTopKMethod method, int n_group, int topk_group,
                             double routed_scaling_factor, bool norm_topk_prob);

/// Parses the canonical form or a family alias with optional parameters:
/// "qwen3_moe(k=8)", "qwen2_moe(k=4,norm_topk_prob=false)", "olmoe(k=8)", "mixtral", "gpt_oss",
/// "deepseek_v2(k=6,topk_method=group_limited_greedy,n_group=8,topk_group=3,
/// routed_scaling_factor=16)". Throws InputError naming the unknown name, key or bad value.
RoutingRule parse_routing_rule(const std::string& text);

/// The rule a Hugging Face config.json describes (`model_type`, `num_experts_per_tok`,
/// `norm_topk_prob`, DeepSeek's `topk_method`/`n_group`/`topk_group`/`routed_scaling_factor`).
/// `what` names the file in errors. Throws UnsupportedError for a model_type without a known rule.
RoutingRule routing_rule_from_hf_config(const std::string& config_json, const std::string& what);

/// One token's routing: expert ids best first and their gate weights (what the experts' outputs
/// are multiplied by).
struct RoutedToken {
  std::vector<int32_t> ids;
  std::vector<float> weights;
};

/// The scores `rule` takes its top-k of, for one token's logits[0..num_experts), in double: the
/// softmax over all experts (SoftmaxTopK, DeepSeekV2 — group-limited greedy sets the experts of
/// dropped groups to 0) or the raw logits (TopKSoftmax). docs/metrics.md, "Decision margins".
std::vector<double> selection_scores(const RoutingRule& rule, const float* logits, int num_experts);

/// How close one token's top-k decision was: the k-th largest selection score minus the (k+1)-th
/// (≥ 0; 0 = a tie). NaN when k = num_experts (there is no decision to make).
double decision_margin(const RoutingRule& rule, const float* logits, int num_experts);

/// Host reference implementation of `rule` for one token's logits[0..num_experts). Ties rank the
/// lower expert id first and NaN above every number (torch.topk leaves tie order unspecified;
/// docs/recording.md). Softmax is computed in double and rounded to float.
RoutedToken route(const RoutingRule& rule, const float* logits, int num_experts);

}  // namespace moeroute
