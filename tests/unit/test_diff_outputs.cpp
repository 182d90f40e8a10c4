// The diff job's files, field by field (docs/outputs.md), and the all-or-nothing guarantee.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "moeroute/diff.h"
#include "moeroute/error.h"
#include "temp_dir.h"
#include "trace_fixtures.h"

using namespace moeroute;

namespace {
std::string read_all(const std::filesystem::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}
std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string l; std::getline(ss, l);) out.push_back(l);
  return out;
}
}  // namespace

using test::top1_trace;

TEST_CASE("diff writes the seed tool's files with hand-computed contents", "[diff]") {
  test::TempDir dir;
  // base prompt 2 tokens + 3 generated; var prompt 1 token + 2 generated → 2 aligned steps,
  // base steps at positions 1, 2 and var steps at positions 0, 1.
  const RouterTrace base = top1_trace(3, {1, 0, 0, 2, 2}, 2);
  const RouterTrace var = top1_trace(3, {0, 2, 1}, 1);
  DiffOptions o;
  o.top_n = 2;
  o.plots = false;
  const auto files = write_diff(dir / "out", base, var, o);
  // The seed tool's files first, unchanged; then the top-k agreement files (docs/outputs.md).
  CHECK(files == std::vector<std::string>{"expert_shifts_per_layer_topN.csv", "meta.json", "layers.json", "jsd.csv",
                                          "jsd_layer_mean.csv", "topk_agreement.json", "topk_agreement_layers.csv",
                                          "topk_agreement_steps.csv", "topk_jaccard.csv"});

  // Step 0: base expert 0 vs var expert 0 → JSD 0; step 1: base 0 vs var 2 → JSD 1.
  const auto jsd = lines(read_all(dir / "out" / "jsd.csv"));
  REQUIRE(jsd.size() == 2);
  CHECK(jsd[0] == "layer,0,1");
  CHECK(jsd[1] == "model.layers.0.mlp.gate,0,1");
  CHECK(lines(read_all(dir / "out" / "jsd_layer_mean.csv"))[1] == "model.layers.0.mlp.gate,0.5");

  // base mass: expert 0 = 2; var mass: expert 0 = 1, expert 2 = 1.
  const auto csv = lines(read_all(dir / "out" / "expert_shifts_per_layer_topN.csv"));
  REQUIRE(csv.size() == 3);
  CHECK(csv[0] == "layer,expert,base_mass,var_mass,delta,abs_delta");
  CHECK(csv[1] == "model.layers.0.mlp.gate,0,2,1,-1,1");
  CHECK(csv[2] == "model.layers.0.mlp.gate,2,0,1,1,1");

  const auto meta = nlohmann::json::parse(read_all(dir / "out" / "meta.json"));
  CHECK(meta["input_len_base"] == 2);
  CHECK(meta["gen_len_base"] == 3);
  CHECK(meta["input_len_var"] == 1);
  CHECK(meta["gen_len_var"] == 2);
  CHECK(meta["gen_steps_aligned"] == 2);
  CHECK(meta["distribution"] == "topk");
  CHECK(meta["divergence"] == "jsd");
  CHECK(meta["log_base"] == 2);
  CHECK(meta["step_position_base"] == 1);
  CHECK(meta["step_position_var"] == 0);
  CHECK(meta["topn_per_layer"] == 2);
  CHECK(meta["mean_divergence"] == 0.5);

  CHECK(nlohmann::json::parse(read_all(dir / "out" / "layers.json")) ==
        nlohmann::json::array({"model.layers.0.mlp.gate"}));
  // Nothing else (no staging directory) remains.
  CHECK(std::distance(std::filesystem::directory_iterator(dir / "out"), {}) == 9);
}

TEST_CASE("layer names with commas are quoted in CSV", "[diff]") {
  test::TempDir dir;
  DiffOptions o;
  o.plots = false;
  write_diff(dir / "out", top1_trace(3, {0, 1}, 1, "gate,0"), top1_trace(3, {0, 1}, 1, "gate,0"), o);
  CHECK(lines(read_all(dir / "out" / "jsd.csv"))[1] == "\"gate,0\",0");
}

TEST_CASE("a failed diff leaves no output directory behind", "[diff]") {
  test::TempDir dir;
  RouterTrace other = top1_trace(3, {0, 1}, 1);
  other.num_experts = 4;
  DiffOptions o;
  o.plots = false;
  CHECK_THROWS_AS(write_diff(dir / "out", top1_trace(3, {0, 1}, 1), other, o), InputError);
  CHECK_FALSE(std::filesystem::exists(dir / "out"));
  // An existing directory keeps its contents and gains nothing.
  std::filesystem::create_directories(dir / "existing");
  std::ofstream(dir / "existing" / "keep.txt") << "x";
  CHECK_THROWS_AS(write_diff(dir / "existing", top1_trace(3, {0, 1}, 1), other, o), InputError);
  CHECK(std::distance(std::filesystem::directory_iterator(dir / "existing"), {}) == 1);
}

TEST_CASE("plots are written in every requested format", "[diff]") {
  test::TempDir dir;
  DiffOptions o;
  o.plot_formats = {"png", "svg"};
  o.routing.metric = Divergence::KL;
  const auto files = write_diff(dir / "out", top1_trace(3, {0, 1, 2}, 1), top1_trace(3, {0, 2, 1}, 1), o);
  for (const char* f : {"kl.csv", "kl_layer_mean.csv", "kl_heatmap.png", "kl_layer_mean.png", "kl_heatmap.svg",
                        "kl_layer_mean.svg"}) {
    CHECK(std::find(files.begin(), files.end(), f) != files.end());
    CHECK(std::filesystem::file_size(dir / "out" / f) > 0);
  }
  CHECK(read_all(dir / "out" / "kl_heatmap.svg").find("KL (bits)") != std::string::npos);
}

TEST_CASE("traces without aligned steps are refused", "[diff]") {
  test::TempDir dir;
  DiffOptions o;
  CHECK_THROWS_WITH(write_diff(dir / "out", top1_trace(3, {0, 1}, 2), top1_trace(3, {0, 2, 1}, 1), o),
                    Catch::Contains("nothing to compare") && Catch::Contains("0 generated positions"));
  CHECK_FALSE(std::filesystem::exists(dir / "out"));
}
