// Routing rules against hand-computed values (exact closed forms; see the comments).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include "fp_tolerance.h"
#include "moeroute/error.h"
#include "moeroute/routing.h"

using namespace moeroute;
using Catch::Matchers::WithinAbs;

namespace {
RoutedToken run(const RoutingRule& r, std::vector<float> logits) {
  return route(r, logits.data(), static_cast<int>(logits.size()));
}
void check_weights(const RoutedToken& t, std::vector<double> want) {
  REQUIRE(t.weights.size() == want.size());
  // The reference computes in double and rounds each weight to float once (≤ u32 relative); the
  // closed forms here are double. Four roundings' worth bounds it with the double arithmetic.
  for (size_t i = 0; i < want.size(); ++i)
    CHECK_THAT(t.weights[i], WithinAbs(want[i], test::fp32_tolerance(1, std::max(1.0, std::abs(want[i])))));
}
}  // namespace

TEST_CASE("softmax → top-k → renormalise (Qwen3-MoE, Mixtral)", "[routing]") {
  // softmax([1,2,0,3]) = e^(x-3)/Σ = [.0871443, .2368828, .0320586, .6439143]; top-2 = {3, 1};
  // renormalised: σ(3-2) = .7310586 and 1 − σ(1) = .2689414.
  const auto t = run(qwen_moe_rule(2, true), {1, 2, 0, 3});
  CHECK(t.ids == std::vector<int32_t>{3, 1});
  check_weights(t, {0.7310585786, 0.2689414214});
  CHECK(run(mixtral_rule(), {1, 2, 0, 3}).weights == t.weights);
}

TEST_CASE("softmax → top-k without renormalisation (OLMoE)", "[routing]") {
  const auto t = run(olmoe_rule(2), {1, 2, 0, 3});
  CHECK(t.ids == std::vector<int32_t>{3, 1});
  check_weights(t, {0.6439142599, 0.2368828181});
}

TEST_CASE("top-k over raw logits → softmax over the k (gpt-oss)", "[routing]") {
  // Raw logits (bias already added by the router) [.5, -1, 2, 1.5]; top-3 = {2, 3, 0};
  // softmax([2, 1.5, .5]) = [1, e^-.5, e^-1.5] / 1.8296609 = [.5465494, .3314990, .1219517].
  const auto t = run(gpt_oss_rule(3), {0.5f, -1.0f, 2.0f, 1.5f});
  CHECK(t.ids == std::vector<int32_t>{2, 3, 0});
  check_weights(t, {0.5465493873, 0.3314989604, 0.1219516523});
}

TEST_CASE("DeepSeek-V2 greedy and group-limited greedy", "[routing]") {
  // softmax([0,4,3,3.5,1,1,5,-1]): p6 = .5642727, p1 = .2075843, p3 = .1259063, p0 = .0038020.
  const std::vector<float> logits{0, 4, 3, 3.5f, 1, 1, 5, -1};
  const auto greedy = run(deepseek_v2_rule(3, DeepSeekTopKMethod::Greedy, 1, 1, 16.0, false), logits);
  CHECK(greedy.ids == std::vector<int32_t>{6, 1, 3});
  check_weights(greedy, {16 * 0.5642726713, 16 * 0.2075843150, 16 * 0.1259062515});
  // 4 groups of 2: {0,1} max p1, {2,3} max p3, {4,5}, {6,7} max p6 → keep groups {6,7} and {0,1};
  // top-3 inside them = {6, 1, 0} (expert 3 is outside the kept groups).
  const auto grouped = run(deepseek_v2_rule(3, DeepSeekTopKMethod::GroupLimitedGreedy, 4, 2, 16.0, false), logits);
  CHECK(grouped.ids == std::vector<int32_t>{6, 1, 0});
  check_weights(grouped, {9.028362741, 3.321349040, 0.06083262963});
  const auto normed = run(deepseek_v2_rule(3, DeepSeekTopKMethod::GroupLimitedGreedy, 4, 2, 16.0, true), logits);
  check_weights(normed, {0.7274751568, 0.2676231541, 0.004901689050});
}

TEST_CASE("host top-k ranks ties by lower id and NaN first", "[routing]") {
  const auto tie = run(qwen_moe_rule(2, true), {1, 1, 1, 1});
  CHECK(tie.ids == std::vector<int32_t>{0, 1});
  check_weights(tie, {0.5, 0.5});
  CHECK(run(gpt_oss_rule(1), {1, NAN, 3}).ids == std::vector<int32_t>{1});
}

TEST_CASE("routing rules round-trip through their canonical text", "[routing]") {
  const std::vector<RoutingRule> rules = {
      qwen_moe_rule(8, true), olmoe_rule(8), gpt_oss_rule(4),
      deepseek_v2_rule(6, DeepSeekTopKMethod::GroupLimitedGreedy, 8, 3, 16.0, false),
      deepseek_v2_rule(6, DeepSeekTopKMethod::Greedy, 1, 1, 1.0, false)};
  for (const auto& r : rules) CHECK(parse_routing_rule(r.to_string()) == r);
  CHECK(qwen_moe_rule(8, true).to_string() == "softmax_topk(k=8,norm_topk_prob=true)");
  CHECK(gpt_oss_rule(4).to_string() == "topk_softmax(k=4)");
  CHECK(parse_routing_rule("qwen3_moe") == qwen_moe_rule(8, true));
  CHECK(parse_routing_rule(" olmoe( k = 4 ) ") == olmoe_rule(4));
  CHECK(parse_routing_rule("mixtral") == mixtral_rule(2));
  CHECK(parse_routing_rule("gpt_oss(k=2)") == gpt_oss_rule(2));
}

TEST_CASE("bad routing rule text names the problem", "[routing]") {
  CHECK_THROWS_WITH(parse_routing_rule("switch(k=1)"), Catch::Contains("unknown name 'switch'"));
  CHECK_THROWS_WITH(parse_routing_rule("gpt_oss(norm_topk_prob=true)"), Catch::Contains("no parameter 'norm_topk_prob'"));
  CHECK_THROWS_WITH(parse_routing_rule("qwen3_moe(k=x)"), Catch::Contains("k must be an integer"));
  CHECK_THROWS_WITH(parse_routing_rule("qwen3_moe(k=0)"), Catch::Contains("top_k must be"));
  CHECK_THROWS_WITH(parse_routing_rule("qwen3_moe(k=2"), Catch::Contains("missing ')'"));
  CHECK_THROWS_WITH(qwen_moe_rule(9, true).validate(8, "model"), Catch::Contains("larger than the model's 8 experts"));
  CHECK_THROWS_AS(deepseek_v2_rule(2, DeepSeekTopKMethod::GroupLimitedGreedy, 3, 1, 1.0, false).validate(8),
                  InputError);
}

TEST_CASE("routing rule from a Hugging Face config.json", "[routing]") {
  CHECK(routing_rule_from_hf_config(R"({"model_type":"qwen3_moe","num_experts_per_tok":8,"norm_topk_prob":true})",
                                    "config.json") == qwen_moe_rule(8, true));
  CHECK(routing_rule_from_hf_config(R"({"model_type":"olmoe","num_experts_per_tok":8})", "c") == olmoe_rule(8));
  CHECK(routing_rule_from_hf_config(R"({"model_type":"gpt_oss","num_experts_per_tok":4})", "c") == gpt_oss_rule(4));
  CHECK(routing_rule_from_hf_config(R"({"model_type":"mixtral","num_experts_per_tok":2})", "c") == mixtral_rule(2));
  CHECK(routing_rule_from_hf_config(R"({"model_type":"deepseek_v2","num_experts_per_tok":6,
      "topk_method":"group_limited_greedy","n_group":8,"topk_group":3,"routed_scaling_factor":16.0})", "c") ==
        deepseek_v2_rule(6, DeepSeekTopKMethod::GroupLimitedGreedy, 8, 3, 16.0, false));
  CHECK_THROWS_AS(routing_rule_from_hf_config(R"({"model_type":"llama"})", "c"), UnsupportedError);
  CHECK_THROWS_WITH(routing_rule_from_hf_config("{", "x/config.json"), Catch::Contains("x/config.json"));
  CHECK_THROWS_WITH(routing_rule_from_hf_config(R"({"model_type":"qwen3_moe","num_experts_per_tok":"8"})", "c"),
                    Catch::Contains("num_experts_per_tok"));
}
