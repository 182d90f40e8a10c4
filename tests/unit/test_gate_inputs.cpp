// Gate-input distances (docs/metrics.md, "Gate-input distances") against SciPy/NumPy
// (tests/data/import/make_gate_input_fixture.py), and the log parser's errors.
#include <catch2/catch.hpp>

#include <cmath>

#include <nlohmann/json.hpp>

#include "fp_tolerance.h"
#include "import_test_util.h"
#include "moeroute/gate_inputs.h"

using namespace moeroute;

namespace {
const std::filesystem::path kData = std::filesystem::path(MOEROUTE_TEST_DATA_DIR) / "import";
}

TEST_CASE("distances per step and their aggregates match SciPy", "[gate_inputs]") {
  const GateInputAnalysis a = analyze_gate_inputs(kData / "gate_inputs.log");
  const auto want = nlohmann::json::parse(test::read_file(kData / "gate_inputs_expected.json"));
  CHECK(a.layers == want["layers"].get<std::vector<int>>());
  CHECK(a.dim == 48);
  REQUIRE(a.steps == 5);
  CHECK(a.read.prompt_passes == 1);
  CHECK(a.read.other_lines == 5 * 3 + 24);  // the expert lines interleaved in the log
  REQUIRE(a.pairs.size() == 4);
  // Each metric is a sum of 48 products of float32 values (exact in double) plus a few divisions
  // and square roots: ≤ 3·48 rounded operations, on either side (NumPy sums pairwise, we in
  // order), relative to the metric's scale — cosines and correlations are ≤ 1 in size, so that
  // bound is absolute there, and relative for the distances.
  const double tol = test::fp64_tolerance(3 * 48);
  for (size_t p = 0; p < a.pairs.size(); ++p) {
    const auto& wp = want["pairs"][p];
    CHECK(a.pairs[p].first == wp["layer_from"]);
    for (int m = 0; m < kGateMetrics; ++m) {
      const auto name = to_string(static_cast<GateMetric>(m));
      INFO("pair " << p << " " << name);
      const auto& w = wp[name];
      const auto& g = a.aggregates[p * kGateMetrics + static_cast<size_t>(m)];
      CHECK(g.count == w["count"]);
      CHECK(g.mean == Approx(w["mean"].get<double>()).epsilon(tol).margin(tol));
      // The std of 5 step values each off by ≤ tol·|x|: moved by at most that, however small the
      // std itself is (a difference of near-equal values).
      const double largest = std::max(std::fabs(w["min"].get<double>()), std::fabs(w["max"].get<double>()));
      CHECK(g.std == Approx(w["std"].get<double>()).epsilon(0).margin(2 * tol * std::max(largest, 1.0)));
      CHECK(g.min == Approx(w["min"].get<double>()).epsilon(tol).margin(tol));
      CHECK(g.max == Approx(w["max"].get<double>()).epsilon(tol).margin(tol));
      for (int64_t s = 0; s < a.steps; ++s) {
        const auto& v = w["per_step"][static_cast<size_t>(s)];
        const double got = a.value(s, p, static_cast<GateMetric>(m));
        if (v.is_null()) CHECK(std::isnan(got));
        else CHECK(got == Approx(v.get<double>()).epsilon(tol).margin(tol));
      }
    }
  }
  // The step without layer 22 gives NaN for 21→22 and 22→23 only.
  CHECK(std::isnan(a.value(3, 1, GateMetric::Euclidean)));
  CHECK_FALSE(std::isnan(a.value(3, 0, GateMetric::Euclidean)));
}

TEST_CASE("the distance definitions on hand-made vectors", "[gate_inputs]") {
  const float a[] = {1, 0, 0, 1}, b[] = {0, 1, 0, 1};
  const auto d = gate_distances(a, b, 4);
  // 4-element sums and a few √ and ÷ (≤ 3·4 operations on values ≤ 2).
  const double tol = test::fp64_tolerance(3 * 4, 2);
  CHECK(d[0] == Approx(0.5).epsilon(0).margin(tol));             // cos = 1 / (√2 √2)
  CHECK(d[1] == Approx(0.5).epsilon(0).margin(tol));
  CHECK(d[2] == Approx(std::sqrt(2.0)).epsilon(0).margin(tol));  // ‖a − b‖
  CHECK(d[3] == Approx(1.0).epsilon(0).margin(tol));             // ‖a/√2 − b/√2‖ = √(2 − 2·½)
  CHECK(d[4] == Approx(0.0).epsilon(0).margin(tol));             // centred (.5,−.5,−.5,.5)·(−.5,.5,−.5,.5) = 0
  CHECK(d[5] == Approx(0.5).epsilon(0).margin(tol));             // (1 + 1 + 0 + 0) / 4
  const float z[] = {0, 0, 0, 0};
  CHECK(std::isnan(gate_distances(a, z, 4)[0]));
  CHECK(std::isnan(gate_distances(a, z, 4)[4]));
}

TEST_CASE("bad gate-input lines name the line and column", "[gate_inputs]") {
  test::TempDir dir;
  const auto file = dir / "g.log";
  const auto expect = [&](const std::string& text, const std::string& fragment) {
    test::write_file(file, text);
    CHECK_THROWS_WITH(analyze_gate_inputs(file), Catch::Contains(fragment));
  };
  expect("gate_input,20,0,1 2\ngate_input,21,0,1 x\n", "g.log:2:19: expected a number, got 'x'");
  expect("gate_input,20,0,1 2\ngate_input,21,0,1 2 3\n", "g.log:2:22: 3 values, but the first gate_input line has 2");
  expect("gate_input,20,0,1 2\ngate_input,a,0,1 2\n", "g.log:2:12: expected the layer_id");
  expect("gate_input,20,0,1 2\ngate_input,21;0,1 2\n", "g.log:2:14: expected ',' after the layer_id");
  expect("gate_input,20,0,1 2\ngate_input,21,0,1 nan\n", "g.log:2:19: value is not finite");
  expect("gate_input,20,0,1 2\ngate_input,21,0,", "no values after token_id (the file ends in the middle of this line: truncated?)");
  expect("", "the file is empty");
  expect("3,1 2\n", "no gate_input lines");
  expect("gate_input,20,0,1 2\ngate_input,20,1,1 2\n", "no generation step");
  expect("gate_input,20,0,1 2\ngate_input,20,0,1 2\n", "gate inputs of one layer (20)");
  // CRLF and skipped bad lines.
  test::write_file(file, "gate_input,20,0,1 2\r\ngate_input,21,0,2 1\r\n");
  CHECK(analyze_gate_inputs(file).steps == 1);
  test::write_file(file, "gate_input,20,0,1 2\ngate_input,21,0,x\ngate_input,20,0,1 2\ngate_input,21,0,3 4\n");
  GateInputReadOptions skip;
  skip.skip_bad_lines = true;
  const auto a = analyze_gate_inputs(file, skip);
  CHECK(a.read.bad_lines == 1);
  CHECK(a.steps == 1);  // the pass with the bad line is dropped
}

TEST_CASE("gate-input outputs: CSV, JSON and the plot", "[gate_inputs]") {
  test::TempDir dir;
  const GateInputAnalysis a = analyze_gate_inputs(kData / "gate_inputs.log");
  const auto files = write_gate_inputs(dir / "out", a, {"png", "svg"});
  CHECK(files == std::vector<std::string>{"gate_inputs.csv", "gate_inputs.json", "gate_inputs.png", "gate_inputs.svg"});
  const std::string csv = test::read_file(dir / "out" / "gate_inputs.csv");
  CHECK(csv.rfind("step,layer_from,layer_to,cosine_similarity,cosine_distance,euclidean,l2_normalized,pearson,mean_abs_diff\n0,20,21,", 0) == 0);
  const auto j = nlohmann::json::parse(test::read_file(dir / "out" / "gate_inputs.json"));
  CHECK(j["steps"] == 5);
  CHECK(j["pairs"][1]["euclidean"]["per_step"][3].is_null());
  CHECK(gate_inputs_table(a).find("20→21") != std::string::npos);
  CHECK(std::filesystem::file_size(dir / "out" / "gate_inputs.png") > 1000);
}

TEST_CASE("mutated gate-input logs parse or fail cleanly", "[gate_inputs][fuzz]") {
  test::TempDir dir;
  const std::string good = test::read_file(kData / "gate_inputs.log").substr(0, 20000);
  std::mt19937 rng(3);
  const auto file = dir / "f.log";
  for (int i = 0; i < 200; ++i) {
    std::string s = good;
    for (int e = 0; e < 3; ++e) s[rng() % s.size()] = "0123456789 ,.-e\nx"[rng() % 17];
    if (rng() % 4 == 0) s.resize(rng() % s.size());
    test::write_file(file, s);
    for (bool skip : {false, true}) {
      GateInputReadOptions o;
      o.skip_bad_lines = skip;
      try {
        analyze_gate_inputs(file, o);
      } catch (const InputError&) {
      }
    }
  }
}
