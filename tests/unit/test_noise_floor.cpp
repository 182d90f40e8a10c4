// The noise floor of two computation paths and the top-k decision margins (docs/metrics.md,
// "Noise floor" and "Decision margins"), against values computed here by hand.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include "fp_tolerance.h"
#include "moeroute/error.h"
#include "moeroute/noise_floor.h"
#include "trace_fixtures.h"

using namespace moeroute;
using test::fp64_tolerance;

TEST_CASE("decision margins are the k-th minus the (k+1)-th selection score", "[noise_floor]") {
  // softmax(ln 4, ln 3, ln 2, ln 1) = (.4, .3, .2, .1); float32 logits: ln x is rounded to float,
  // which moves each probability by ≤ 2·u32 relative.
  const std::vector<float> z{std::log(4.0f), std::log(3.0f), std::log(2.0f), 0.0f};
  const double tol = test::fp32_tolerance(2);
  CHECK(decision_margin(qwen_moe_rule(1, true), z.data(), 4) == Approx(0.1).epsilon(0).margin(tol));
  CHECK(decision_margin(qwen_moe_rule(2, true), z.data(), 4) == Approx(0.1).epsilon(0).margin(tol));
  CHECK(decision_margin(qwen_moe_rule(3, false), z.data(), 4) == Approx(0.1).epsilon(0).margin(tol));
  CHECK(std::isnan(decision_margin(qwen_moe_rule(4, true), z.data(), 4)));  // no decision to make
  // gpt-oss selects on raw logits: 3 > 2 > 1 > 0, k = 2 → 2 − 1.
  const std::vector<float> raw{3.0f, 1.0f, 2.0f, 0.0f};
  CHECK(decision_margin(gpt_oss_rule(2), raw.data(), 4) == 1.0);
  const auto s = selection_scores(gpt_oss_rule(2), raw.data(), 4);
  CHECK(s == std::vector<double>{3, 1, 2, 0});
  // A tie has margin 0.
  const std::vector<float> tie{1.0f, 1.0f, 0.0f};
  CHECK(decision_margin(qwen_moe_rule(1, true), tie.data(), 3) == 0.0);
  // Group-limited greedy: 2 groups of 2, keep 1: the dropped group's experts score 0.
  const std::vector<float> g{2.0f, 0.0f, 1.0f, 1.5f};
  const auto ds = selection_scores(deepseek_v2_rule(1, DeepSeekTopKMethod::GroupLimitedGreedy, 2, 1, 1.0, false),
                                   g.data(), 4);
  CHECK(ds[2] == 0.0);
  CHECK(ds[3] == 0.0);
  CHECK(ds[0] > ds[1]);
}

TEST_CASE("the noise floor of identical paths is zero, of perturbed ones what was moved", "[noise_floor]") {
  const RouterTrace a = test::random_trace(2, 8, 2, 12, 4, 3);
  const RoutingRule rule = qwen_moe_rule(2, true);
  const NoiseFloor same = measure_noise_floor(a, a, rule);
  CHECK(same.steps == 8);
  CHECK(same.mean == 0.0);
  for (size_t l = 0; l < 2; ++l) {
    CHECK(same.layer_mean[l] == 0.0);
    CHECK(same.score_delta[l] == 0.0);
    CHECK(same.mass_delta[l] == 0.0);
    CHECK(same.flip_rate[l] == 0.0);
  }
  // Move one logit of layer 1 at step 2 (position 3 + 2): only that layer's floor moves, and
  // its score change is that position's largest probability change.
  RouterTrace b = a;
  b.router_logits[(1 * 12 + 5) * 8 + 0] += 0.01f;
  const NoiseFloor f = measure_noise_floor(a, b, rule);
  CHECK(f.layer_mean[0] == 0.0);
  CHECK(f.layer_mean[1] > 0.0);
  std::vector<double> p(8), q(8);
  routing_distribution(a, DistKind::Full, 1, 5, p.data());
  routing_distribution(b, DistKind::Full, 1, 5, q.data());
  double worst = 0;
  for (int e = 0; e < 8; ++e) worst = std::max(worst, std::fabs(p[e] - q[e]));
  // The same softmax on the same floats in double, twice (≤ 3·8 operations each).
  CHECK(f.score_delta[1] == Approx(worst).epsilon(0).margin(fp64_tolerance(2 * 3 * 8)));
  CHECK(f.mass_delta[1] == Approx(worst).epsilon(0).margin(fp64_tolerance(2 * 3 * 8 + 8, 8)));
  // Different tokens are not two paths of one run.
  RouterTrace c = a;
  c.token_ids[0] += 1;
  CHECK_THROWS_AS(measure_noise_floor(a, c, rule), Error);
}

TEST_CASE("decision margins need router logits", "[noise_floor]") {
  RouterTrace t = test::random_trace(1, 4, 2, 3, 1, 9);
  const auto m = decision_margins(t, qwen_moe_rule(2, true), {0, 2});
  REQUIRE(m.size() == 2);
  CHECK(m[1] == decision_margin(qwen_moe_rule(2, true), t.router_logits_at(0, 2), 4));
  t.router_logits.clear();
  CHECK_THROWS_WITH(decision_margins(t, qwen_moe_rule(2, true), {0}, "base run"),
                    Catch::Contains("base run: decision margins need router_logits"));
}
