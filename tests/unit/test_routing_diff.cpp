// Routing distributions, alignment, per-layer divergence and expert shifts (docs/metrics.md).
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "fp_tolerance.h"
#include "moeroute/error.h"
#include "moeroute/routing_diff.h"
#include "trace_fixtures.h"

using namespace moeroute;
using test::fp64_tolerance;

using test::top1_trace;

namespace {
// Both distributions × every divergence.
std::vector<RoutingDiffOptions> every_distribution_and_metric() {
  std::vector<RoutingDiffOptions> out;
  for (DistKind kind : {DistKind::Full, DistKind::TopK})
    for (Divergence m : {Divergence::JSD, Divergence::KL, Divergence::TotalVariation, Divergence::Hellinger}) {
      RoutingDiffOptions o;
      o.dist = kind;
      o.metric = m;
      out.push_back(o);
    }
  return out;
}
}  // namespace

TEST_CASE("full distribution is the softmax of the logits", "[routing_diff]") {
  RouterTrace t = top1_trace(2, {0}, 1);
  t.router_logits = {0.0f, static_cast<float>(std::log(3.0))};
  std::vector<double> p(2);
  routing_distribution(t, DistKind::Full, 0, 0, p.data());
  // The logit ln 3 is stored as float32 (relative error ≤ u32, absolute ≤ u32·ln 3): exp turns it
  // into a relative error ≤ u32·ln 3 of 3, and p = 3/4 moves by ≤ ¼·¾·u32·ln 3 < u32; the double
  // arithmetic after that adds ~1e-16.
  CHECK(p[0] == Approx(0.25).epsilon(0).margin(test::fp32_tolerance(1)));
  CHECK(p[1] == Approx(0.75).epsilon(0).margin(test::fp32_tolerance(1)));
}

TEST_CASE("topk distribution renormalises the gate weights", "[routing_diff]") {
  RouterTrace t;
  t.layers = {{"l.0", 0}};
  t.num_experts = 3;
  t.top_k = 2;
  t.num_positions = 1;
  t.allocate(true, false);
  t.topk_ids = {2, 0};
  t.gate_weights = {0.6f, 0.2f};
  std::vector<double> p(3);
  routing_distribution(t, DistKind::TopK, 0, 0, p.data());
  // 0.6f and 0.2f are float32 (relative error ≤ u32 each); w / Σw has condition ≤ 2 in each.
  CHECK(p[0] == Approx(0.25).epsilon(0).margin(test::fp32_tolerance(2)));
  CHECK(p[1] == 0.0);
  CHECK(p[2] == Approx(0.75).epsilon(0).margin(test::fp32_tolerance(2)));
  CHECK_THROWS_WITH(routing_distribution(t, DistKind::Full, 0, 0, p.data()), Catch::Contains("router_logits"));
}

TEST_CASE("generation step t is routed at prompt_length - 1 + t", "[routing_diff]") {
  const RouterTrace b = test::random_trace(1, 4, 2, 9, 5, 1);  // 4 generated
  const RouterTrace v = test::random_trace(1, 4, 2, 10, 7, 2);  // 3 generated
  const Alignment a = align_generation(b, v);
  CHECK(a.base_start == 4);
  CHECK(a.var_start == 6);
  CHECK(a.steps == 3);
  RouterTrace no_prompt = b;
  no_prompt.prompt_length = 0;
  CHECK(align_generation(no_prompt, v).steps == 0);
}

TEST_CASE("fast full-JSD path equals the reference formula", "[routing_diff]") {
  const RouterTrace b = test::random_trace(3, 16, 4, 20, 6, 11);
  const RouterTrace v = test::random_trace(3, 16, 4, 18, 4, 12);
  const RoutingDiff d = diff_routing(b, v, {});
  REQUIRE(d.dist == DistKind::Full);
  REQUIRE(d.alignment.steps == 14);
  std::vector<double> p(16), q(16);
  for (int l = 0; l < 3; ++l) {
    double mean = 0, mass0_base = 0;
    for (int64_t s = 0; s < 14; ++s) {
      routing_distribution(b, DistKind::Full, l, 5 + s, p.data());
      routing_distribution(v, DistKind::Full, l, 3 + s, q.data());
      const double expected = jsd(p.data(), q.data(), 16);
      // Two double evaluations of a JSD over 16 experts (the fast path via entropies H(m) −
      // ½(H(p)+H(q)), the direct sum): ≤ 6 operations per expert, terms ≤ log2(16) = 4 in size,
      // the entropy identity subtracting terms of that size.
      CHECK(d.divergence[static_cast<size_t>(l * 14 + s)] == Approx(expected).epsilon(0).margin(fp64_tolerance(6 * 16, 4)));
      mean += expected / 14;
      mass0_base += p[0];
    }
    CHECK(d.layer_mean[static_cast<size_t>(l)] == Approx(mean).epsilon(0).margin(fp64_tolerance(6 * 16 + 14, 4)));
    // 14 probabilities (each ≤ 1, ≤ 3·16 operations: softmax) summed: scale 14.
    CHECK(d.base_mass[static_cast<size_t>(l * 16)] == Approx(mass0_base).epsilon(0).margin(fp64_tolerance(3 * 16 + 14, 14)));
  }
}

TEST_CASE("every metric and both distributions agree with direct evaluation", "[routing_diff]") {
  const RouterTrace b = test::random_trace(2, 8, 2, 12, 3, 21);
  const RouterTrace v = test::random_trace(2, 8, 2, 12, 3, 22);
  std::vector<double> p(8), q(8);
  for (const RoutingDiffOptions& o : every_distribution_and_metric()) {
    const RoutingDiff d = diff_routing(b, v, o);
    for (int l = 0; l < 2; ++l)
      for (int64_t s = 0; s < d.alignment.steps; ++s) {
        routing_distribution(b, o.dist, l, 2 + s, p.data());
        routing_distribution(v, o.dist, l, 2 + s, q.data());
        // The same formula on the same doubles: only the distribution's rounding differs
        // (≤ 3·8 operations each), carried through ≤ 6·8 more; KL's log2 of ratios down to
        // ε = 1e-10 reaches 34 in size; Hellinger's √ near 0 turns δ into √δ.
        const double tol = o.metric == Divergence::Hellinger ? std::sqrt(fp64_tolerance(9 * 8, 34))
                                                             : fp64_tolerance(9 * 8, 34);
        CHECK(d.divergence[static_cast<size_t>(l * d.alignment.steps + s)] ==
              Approx(divergence(o.metric, p.data(), q.data(), 8)).epsilon(0).margin(tol));
      }
  }
}

TEST_CASE("identical traces give exactly zero divergence", "[routing_diff]") {
  const RouterTrace b = test::random_trace(4, 32, 4, 30, 10, 5);
  const RoutingDiff d = diff_routing(b, b, {});
  for (double x : d.divergence) CHECK(x == 0.0);
  CHECK(d.base_mass == d.var_mass);
  // Every metric on both distributions, not only the fast JSD path: KL's ε smoothing and
  // Hellinger's 1 − Σ√(p·p) leave residue unless identical distributions are recognised.
  for (const RoutingDiffOptions& o : every_distribution_and_metric())
    for (double x : diff_routing(b, b, o).divergence) CHECK(x == 0.0);
}

TEST_CASE("expert shifts rank by |delta| with ties by expert id", "[routing_diff]") {
  // Prompt of 1; steps routed at positions 0 and 1. base: expert 0 twice; var: expert 0 then 2.
  const RouterTrace b = top1_trace(3, {0, 0, 1}, 1);
  const RouterTrace v = top1_trace(3, {0, 2, 1}, 1);
  const RoutingDiff d = diff_routing(b, v, {});
  REQUIRE(d.dist == DistKind::TopK);
  REQUIRE(d.alignment.steps == 2);
  CHECK(d.divergence[0] == 0.0);
  CHECK(d.divergence[1] == Approx(1.0).epsilon(0).margin(fp64_tolerance(6 * 3, 4)));  // disjoint one-hots
  const auto shifts = top_expert_shifts(d, 2);
  REQUIRE(shifts.size() == 2);
  CHECK(shifts[0].expert == 0);
  CHECK(shifts[0].base_mass == 2.0);
  CHECK(shifts[0].var_mass == 1.0);
  CHECK(shifts[0].delta == -1.0);
  CHECK(shifts[0].abs_delta == 1.0);
  CHECK(shifts[1].expert == 2);
  CHECK(shifts[1].delta == 1.0);
  CHECK(top_expert_shifts(d, 10).size() == 3);  // capped at the expert count
  CHECK_THROWS_AS(top_expert_shifts(d, 0), InputError);
}

TEST_CASE("incomparable traces are rejected naming both files", "[routing_diff]") {
  const RouterTrace b = test::random_trace(2, 8, 2, 6, 2, 1);
  RoutingDiffOptions o;
  o.base_name = "a.safetensors";
  o.var_name = "b.safetensors";
  CHECK_THROWS_WITH(diff_routing(b, test::random_trace(3, 8, 2, 6, 2, 1), o),
                    Catch::Contains("a.safetensors has 2 router layers") && Catch::Contains("b.safetensors has 3"));
  CHECK_THROWS_WITH(diff_routing(b, test::random_trace(2, 16, 2, 6, 2, 1), o), Catch::Contains("experts"));
  RouterTrace no_logits = b;
  no_logits.router_logits.clear();
  o.dist = DistKind::Full;
  CHECK_THROWS_WITH(diff_routing(b, no_logits, o), Catch::Contains("b.safetensors") && Catch::Contains("router_logits"));
  RouterTrace nan_logits = b;
  nan_logits.router_logits[static_cast<size_t>(1 * 6 * 8 + 3 * 8 + 5)] = NAN;  // layer 1, position 3, expert 5
  CHECK_THROWS_WITH(diff_routing(b, nan_logits, o), Catch::Contains("position 3, expert 5"));
}
