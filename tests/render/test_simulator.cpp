// The routing simulator against tests/data/simulator/gating.json, which
// tools/make_simulator_fixture.py computes with NumPy from the definition in docs/simulator.md.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "fp_tolerance.h"
#include "moeroute/error.h"
#include "moeroute/simulator.h"

using namespace moeroute;

namespace {

nlohmann::json fixture() {
  std::ifstream in(std::string(MOEROUTE_TEST_DATA_DIR) + "/simulator/gating.json");
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str());
}

SimulatorConfig config_of(const nlohmann::json& c) {
  SimulatorConfig s;
  s.local_experts = c["local_experts"];
  s.shared_experts = c["shared_experts"];
  s.micro_experts = c["micro_experts"];
  s.top_k = c["top_k"];
  s.embedding_dim = c["embedding_dim"];
  s.noise = c["noise"];
  s.drift = c["drift"];
  s.seed = c["seed"].get<uint32_t>();
  return s;
}

// Tolerance: every value is a double computed through at most ~100 rounded operations on values
// ≤ 8 (d ≤ 32 products for z, Box–Muller's sqrt/log/cos for the noise, a contracting walk of 12
// steps); libm calls differ by ≤ 1 ulp between implementations, which the bound counts.
constexpr double kTol = moeroute::test::fp64_tolerance(100, 8);

}  // namespace

TEST_CASE("mulberry32 reproduces the reference stream", "[simulator]") {
  const auto f = fixture();
  Mulberry32 rng(42);
  for (const auto& want : f["mulberry32_seed42_first_u32"]) CHECK(rng.next_u32() == want.get<uint32_t>());
  Mulberry32 u(42);
  CHECK(u.uniform() == Approx(2581720956.0 / 4294967296.0).epsilon(0).margin(0));
}

TEST_CASE("the simulator matches the NumPy reference token by token", "[simulator]") {
  const auto f = fixture();
  for (const auto& c : f["cases"]) {
    RoutingSimulator sim(config_of(c["config"]));
    INFO("config " << c["config"].dump());
    for (const auto& want : c["tokens"]) {
      // The reference's smallest gap between chosen and unchosen noisy logits is ≫ kTol, so the
      // chosen set cannot legitimately differ.
      if (!want["gap"].is_null()) REQUIRE(want["gap"].get<double>() > 1e6 * kTol);
      const GatingResult g = sim.next();
      REQUIRE(g.logits.size() == want["logits"].size());
      for (size_t j = 0; j < g.logits.size(); ++j) {
        CHECK(std::abs(g.logits[j] - want["logits"][j].get<double>()) < kTol);
        CHECK(std::abs(g.noisy[j] - want["noisy"][j].get<double>()) < kTol);
      }
      CHECK(g.chosen == want["chosen"].get<std::vector<int>>());
      for (size_t k = 0; k < g.weights.size(); ++k) CHECK(std::abs(g.weights[k] - want["weights"][k].get<double>()) < kTol);
    }
  }
}

TEST_CASE("top-k gating: softmax over the chosen values, ties to the lower id", "[simulator]") {
  // Noisy logits ln 1, ln 3, ln 6, ln 3: top-2 = {2, 1} (id 1 beats id 3 on the tie), weights 6/9, 3/9.
  const GatingResult g = top_k_gate({0, 0, 0, 0}, {0, std::log(3.0), std::log(6.0), std::log(3.0)}, 2);
  CHECK(g.chosen == std::vector<int>{2, 1});
  REQUIRE(g.weights.size() == 2);
  // exp of the logs gives 6 and 3 within 2 roundings each, then one division.
  CHECK(g.weights[0] == Approx(2.0 / 3.0).epsilon(0).margin(kTol));
  CHECK(g.weights[1] == Approx(1.0 / 3.0).epsilon(0).margin(kTol));
  CHECK_THROWS_AS(top_k_gate({0}, {0}, 2), InputError);
}

TEST_CASE("simulator streams are independent and seeded", "[simulator]") {
  SimulatorConfig a;
  SimulatorConfig b = a;
  b.noise = 0.0;
  RoutingSimulator sa(a), sb(b), sa2(a);
  for (int t = 0; t < 20; ++t) {
    const GatingResult ga = sa.next(), gb = sb.next(), ga2 = sa2.next();
    CHECK(ga.logits == gb.logits);  // the noise level does not change the tokens or the router
    CHECK(gb.noisy == gb.logits);   // σ = 0: no noise at all
    CHECK(ga.noisy == ga2.noisy);   // same seed, same numbers
    double sum = 0;
    for (double w : ga.weights) sum += w;
    CHECK(sum == Approx(1.0).epsilon(0).margin(kTol));  // k weights of a softmax, each within a few roundings
    for (size_t k = 1; k < ga.weights.size(); ++k) CHECK(ga.weights[k - 1] >= ga.weights[k]);
  }
  SimulatorConfig c = a;
  c.seed = 43;
  CHECK(RoutingSimulator(c).router_weights() != RoutingSimulator(a).router_weights());
}

TEST_CASE("simulator configurations out of range are refused", "[simulator]") {
  SimulatorConfig c;
  c.top_k = c.local_experts * c.micro_experts + 1;
  CHECK_THROWS_WITH(c.validate(), Catch::Contains("top_k"));
  c = SimulatorConfig{};
  c.local_experts = 0;
  CHECK_THROWS_AS(RoutingSimulator(c), InputError);
  c = SimulatorConfig{};
  c.noise = -1;
  CHECK_THROWS_WITH(c.validate(), Catch::Contains("noise"));
}
