// Training logs (docs/training.md): the seed's log and affinity CSV, the diagnosis with
// hand-computed values, bad input, and the report's files.
#include <catch2/catch.hpp>

#include <cmath>

#include <nlohmann/json.hpp>

#include "fp_tolerance.h"
#include "import_test_util.h"
#include "moeroute/training.h"

using namespace moeroute;

namespace {

// Line 1 is the seed's example record (seed 001, "Training Log Format") on one line.
const char* kLog =
    R"({"epoch": 1, "routing_acc": 0.5841, "entropy": 1.4012, "utilization": [0.2257, 0.1031, 0.0735, 0.2797, 0.1871, 0.1309], "metrics": {"accuracy": 0.4356, "loss": 2.5902}})"
    "\n"
    R"({"epoch": 2, "routing_acc": 0.61, "entropy": 1.3, "utilization": [0.30, 0.10, 0.05, 0.30, 0.20, 0.05], "metrics": {"accuracy": 0.5, "loss": 2.2}})"
    "\n"
    R"({"epoch": 3, "routing_acc": 0.65, "entropy": 1.2, "utilization": [0.92, 0.02, 0.01, 0.03, 0.01, 0.01], "metrics": {"accuracy": 0.55, "loss": 2.0}})"
    "\n";

}  // namespace

TEST_CASE("the seed's training log reads field by field", "[training]") {
  test::TempDir dir;
  test::write_file(dir / "training_log.txt", kLog);
  const TrainingLog log = read_training_log(dir / "training_log.txt");
  REQUIRE(log.records.size() == 3);
  const TrainingRecord& r = log.records[0];
  CHECK(r.epoch == 1);
  CHECK(r.routing_acc == 0.5841);
  CHECK(r.entropy == 1.4012);
  CHECK(r.utilization == std::vector<double>{0.2257, 0.1031, 0.0735, 0.2797, 0.1871, 0.1309});
  CHECK(r.accuracy == 0.4356);
  CHECK(r.loss == 2.5902);
  CHECK(log.num_experts == 6);
}

TEST_CASE("the diagnosis finds the collapse, the under-used experts and the trends", "[training]") {
  test::TempDir dir;
  test::write_file(dir / "log.jsonl", kLog);
  const Diagnosis d = diagnose_training(read_training_log(dir / "log.jsonl"));
  // 1/E and ratio/E: one or two roundings each.
  CHECK(d.uniform_share == Approx(1.0 / 6).epsilon(0).margin(test::fp64_tolerance(2)));
  CHECK(d.underused_below == Approx(0.1 / 6).epsilon(0).margin(test::fp64_tolerance(2)));
  CHECK(d.collapse_epochs == std::vector<double>{3});
  CHECK(d.collapse_experts == std::vector<int>{0});
  CHECK(d.collapse_shares == std::vector<double>{0.92});
  CHECK(d.underused_final == std::vector<int>{2, 4, 5});  // 0.01 < 1/60; expert 1's 0.02 is not
  CHECK(d.underused_always.empty());
  const Trend& e = d.trends[0];
  CHECK(e.series == "entropy");
  // Least squares over epochs 1, 2, 3: slope = (1.2 − 1.4012) / 2; relative change = slope × 2 / mean.
  // Least squares over 3 points is ≤ 20 operations on values ≤ 2 (the log's decimals are parsed to
  // the nearest double, as the literals here are); the relative change adds a mean and 2 more.
  CHECK(e.slope == Approx(-0.1006).epsilon(0).margin(test::fp64_tolerance(20, 2)));
  CHECK(e.relative_change == Approx(-0.2012 / ((1.4012 + 1.3 + 1.2) / 3)).epsilon(0).margin(test::fp64_tolerance(26, 2)));
  CHECK(e.direction == "decreasing");
  CHECK(d.trends[1].direction == "increasing");  // routing accuracy
  CHECK(d.trends[2].direction == "decreasing");  // loss
  CHECK_THAT(d.findings[0], Catch::StartsWith("routing collapse: expert 0 receives 92.0 % of inputs at epoch 3"));
  // Thresholds are configurable.
  DiagnosisOptions o;
  o.collapse_share = 0.95;
  o.underused_fraction_of_uniform = 0.05;
  o.trend_tolerance = 0.2;
  const Diagnosis d2 = diagnose_training(read_training_log(dir / "log.jsonl"), o);
  CHECK(d2.collapse_epochs.empty());
  CHECK(d2.underused_final.empty());  // below 1/120
  CHECK(d2.trends[0].direction == "flat");  // |−15.5 %| < 20 %
}

TEST_CASE("affinity matrices: pandas' to_csv and numpy's savetxt", "[training]") {
  test::TempDir dir;
  test::write_file(dir / "pandas.csv", ",0,1,2\n0,0.1,0.2,0.7\n1,0.5,0.25,0.25\n");
  AffinityMatrix m = read_affinity_csv(dir / "pandas.csv");
  CHECK(m.rows == 2);
  CHECK(m.cols == 3);
  CHECK(m.col_labels == std::vector<std::string>{"0", "1", "2"});
  CHECK(m.row_labels == std::vector<std::string>{"0", "1"});
  CHECK(m.values == std::vector<double>{0.1, 0.2, 0.7, 0.5, 0.25, 0.25});
  test::write_file(dir / "numpy.csv", "1.000000000000000056e-01,2.5e-01\r\n3e-01,4e-01\r\n");
  m = read_affinity_csv(dir / "numpy.csv");
  CHECK(m.rows == 2);
  CHECK(m.values == std::vector<double>{0.1, 0.25, 0.3, 0.4});
  CHECK(m.col_labels == std::vector<std::string>{"0", "1"});
  test::write_file(dir / "bad.csv", ",0,1\n0,0.1,0.2\n1,0.5\n");
  CHECK_THROWS_WITH(read_affinity_csv(dir / "bad.csv"), Catch::Contains("bad.csv:3: 2 fields, but the header has 3 (ragged rows)"));
  test::write_file(dir / "bad.csv", "0.1,0.2\n0.3,abc\n");
  CHECK_THROWS_WITH(read_affinity_csv(dir / "bad.csv"), Catch::Contains("bad.csv:2:5: expected a number, got 'abc'"));
  test::write_file(dir / "bad.csv", "");
  CHECK_THROWS_WITH(read_affinity_csv(dir / "bad.csv"), Catch::Contains("the file is empty"));
}

TEST_CASE("bad training logs fail with the line and field", "[training]") {
  test::TempDir dir;
  const auto file = dir / "log.jsonl";
  const auto expect = [&](const std::string& text, const std::string& fragment) {
    test::write_file(file, text);
    CHECK_THROWS_WITH(read_training_log(file), Catch::Contains(fragment));
  };
  expect("{\"epoch\": 2}\n{\"epoch\": 1}\n", "log.jsonl:2:11: field 'epoch': epoch 1 does not follow epoch 2 of line 1: epochs must increase");
  expect("{\"epoch\": 1, \"utilization\": [0.5, 0.5]}\n{\"epoch\": 2, \"utilization\": [1]}\n",
         "log.jsonl:2:29: field 'utilization': has 1 experts but earlier lines have 2 (ragged utilization)");
  expect("{\"epoch\": 1, \"entropy\": \"high\"}\n", "log.jsonl:1:25: field 'entropy': expected a number, got string \"high\"");
  expect("{\"epoch\": 1, \"utilization\": [25, 75]}\n", "utilization 25 is above 1: percentages need --utilization-percent");
  expect("{\"epoch\": 1}\n{\"epoch\": 2, \"entr", "log.jsonl:2:19: invalid JSON");
  expect("{\"epoch\": 1}\n{\"epoch\": 2, \"entr", "(the file ends in the middle of this line: truncated?)");
  expect("{\"routing_acc\": 0.5}\n", "required field 'epoch' is missing");
  expect("", "the file is empty");
  test::write_file(file, "{\"epoch\": 1, \"utilization\": [25, 75]}\r\n{\"epoch\": 2, \"utilization\": [50, 50]}\r\n");
  TrainingReadOptions pct;
  pct.utilization_percent = true;
  CHECK(read_training_log(file, pct).records[1].utilization == std::vector<double>{0.5, 0.5});
  test::write_file(file, "{\"epoch\": 1}\nnot json\n{\"epoch\": 2}\n");
  TrainingReadOptions skip;
  skip.skip_bad_lines = true;
  const TrainingLog log = read_training_log(file, skip);
  CHECK(log.records.size() == 2);
  CHECK(log.bad_lines == 1);
}

TEST_CASE("the training report writes the seed's plots and diagnosis.json", "[training]") {
  test::TempDir dir;
  test::write_file(dir / "log.jsonl", kLog);
  test::write_file(dir / "router_affinity_matrix.csv", ",0,1,2,3,4,5\n0,0.9,0.02,0.02,0.02,0.02,0.02\n1,0.1,0.5,0.1,0.1,0.1,0.1\n");
  TrainingReportOptions o;
  o.affinity_csv = dir / "router_affinity_matrix.csv";
  const TrainingReport r = run_training_report(dir / "log.jsonl", dir / "out", o);
  CHECK(r.files == std::vector<std::string>{"router_affinity_matrix_heatmap.png", "expert_utilization.png",
                                            "router_entropy.png", "routing_accuracy.png", "loss_accuracy.png",
                                            "diagnosis.json"});
  const auto j = nlohmann::json::parse(test::read_file(dir / "out" / "diagnosis.json"));
  CHECK(j["collapse"]["detected"] == true);
  CHECK(j["underused_final"] == nlohmann::json::array({2, 4, 5}));
  CHECK(j["trends"]["entropy"]["direction"] == "decreasing");
  CHECK(j["thresholds"]["collapse_share"] == 0.9);
  CHECK(j["affinity_matrix"]["rows"] == 2);
  o.diagnosis.collapse_share = 0;
  CHECK_THROWS_WITH(run_training_report(dir / "log.jsonl", dir / "bad", o), Catch::Contains("--collapse-share"));
  CHECK_FALSE(std::filesystem::exists(dir / "bad"));
}
