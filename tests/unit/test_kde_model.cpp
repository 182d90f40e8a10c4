// KdeModel: fitting from traces (trim, variants, choice counts), the model file round trip, damaged
// files, and the refusals: traces without raw logits, other models, degenerate layers.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>

#include "moeroute/error.h"
#include "moeroute/expert_usage.h"
#include "moeroute/kde_model.h"
#include "moeroute/safetensors.h"
#include "moeroute/trace_io.h"
#include "temp_dir.h"
#include "trace_fixtures.h"

using namespace moeroute;

namespace {

KdeModel fit_one(const RouterTrace& t, KdeFitOptions o = {}) { return fit_kde_model({{"train.safetensors", &t}}, o); }

// Reads a safetensors file, lets `edit` change its metadata and tensors, writes it back.
struct Tensors {
  std::map<std::string, std::string> meta;
  std::vector<std::tuple<std::string, Dtype, std::vector<int64_t>, std::string>> tensors;
};
void rewrite(const std::filesystem::path& p, const std::function<void(Tensors&)>& edit) {
  Tensors t;
  {
    SafetensorsFile f(p);
    t.meta = f.metadata();
    for (const auto& i : f.tensors()) t.tensors.emplace_back(i.name, i.dtype, i.shape, std::string(f.bytes(i.name)));
  }
  edit(t);
  SafetensorsWriter w;
  for (const auto& [name, dtype, shape, bytes] : t.tensors) w.add(name, dtype, shape, bytes);
  w.set_metadata(t.meta);
  const std::string s = w.serialize();
  FILE* f = std::fopen(p.c_str(), "wb");
  std::fwrite(s.data(), 1, s.size(), f);
  std::fclose(f);
}

std::string& tensor_bytes(Tensors& t, const std::string& name) {
  for (auto& e : t.tensors)
    if (std::get<0>(e) == name) return std::get<3>(e);
  throw std::runtime_error("no tensor " + name);
}

}  // namespace

TEST_CASE("trimmed_logits drops each row's largest logits", "[kde_model]") {
  const RouterTrace t = test::random_trace(2, 6, 2, 40, 0, 11);
  for (int trim : {0, 1, 3, 5}) {
    auto got = trimmed_logits(t, 1, trim);
    REQUIRE(got.size() == 40u * static_cast<size_t>(6 - trim));
    std::vector<float> want;
    for (int64_t p = 0; p < 40; ++p) {
      std::vector<float> row(t.router_logits_at(1, p), t.router_logits_at(1, p) + 6);
      std::sort(row.begin(), row.end(), std::greater<float>());
      want.insert(want.end(), row.begin() + trim, row.end());
    }
    std::sort(got.begin(), got.end());
    std::sort(want.begin(), want.end());
    CHECK(got == want);
  }
  CHECK_THROWS_WITH(trimmed_logits(t, 0, 6), Catch::Contains("trim 6 is outside 0 … 5"));
}

TEST_CASE("fit_kde_model pools the traces' rows per layer, one variant per kernel × trim", "[kde_model]") {
  const RouterTrace a = test::random_trace(3, 8, 2, 50, 5, 1), b = test::random_trace(3, 8, 2, 30, 5, 2);
  KdeFitOptions o;
  o.kernels = {KdeKernel::Gaussian, KdeKernel::Tophat};
  o.trims = {0, 2};
  o.bandwidth = parse_bandwidth_rule("silverman");
  const KdeModel m = fit_kde_model({{"a", &a}, {"b", &b}}, o);
  REQUIRE(m.variants.size() == 4);
  CHECK(m.variants[0].name == "gaussian");
  CHECK(m.variants[1].name == "gaussian_trim2");
  CHECK(m.variants[2].name == "tophat");
  CHECK(m.variants[3].name == "tophat_trim2");
  CHECK(m.training_rows == 80);
  CHECK(m.training_traces == std::vector<std::string>{"a", "b"});
  for (const KdeVariant& v : m.variants) {
    REQUIRE(v.layers.size() == 3);
    const size_t per_row = static_cast<size_t>(8 - v.trim);
    for (int l = 0; l < 3; ++l) {
      std::vector<float> want = trimmed_logits(a, l, v.trim), more = trimmed_logits(b, l, v.trim);
      want.insert(want.end(), more.begin(), more.end());
      std::sort(want.begin(), want.end());
      CHECK(v.layers[static_cast<size_t>(l)].sorted_data() == want);
      CHECK(want.size() == 80 * per_row);
      CHECK(v.layers[static_cast<size_t>(l)].kernel() == v.kernel);
    }
  }
  // Kernels of one trim share the data.
  CHECK(m.variants[0].layers[1].shared_data() == m.variants[2].layers[1].shared_data());
  ExpertUsage u = expert_usage(a);
  add_usage(u, expert_usage(b));
  CHECK(m.choice_counts == u.choice_counts);
}

TEST_CASE("fit refuses what it cannot fit, saying why", "[kde_model]") {
  RouterTrace t = test::random_trace(2, 4, 1, 20, 0, 3);
  SECTION("no logits") {
    t.router_logits.clear();
    CHECK_THROWS_WITH(fit_one(t), Catch::Contains("train.safetensors") && Catch::Contains("no router logits") &&
                                      Catch::Contains("moeroute record") && Catch::Contains("--no-logits"));
  }
  SECTION("probabilities instead of raw logits") {
    t.logits_kind = LogitsKind::Probabilities;
    CHECK_THROWS_WITH(fit_one(t), Catch::Contains("probabilities, not raw logits"));
  }
  SECTION("a degenerate layer") {
    std::fill(t.router_logits.begin() + 80, t.router_logits.end(), 0.25f);  // layer 1
    CHECK_THROWS_WITH(fit_one(t), Catch::Contains("layer 'model.layers.1.mlp.gate'") &&
                                      Catch::Contains("all 80 values equal 0.25"));
  }
  SECTION("traces of two models") {
    const RouterTrace other = test::random_trace(2, 6, 1, 20, 0, 4);
    CHECK_THROWS_WITH(fit_kde_model({{"a", &t}, {"b", &other}}, {}), Catch::Contains("b: 2 layers × 6 experts"));
  }
  SECTION("bad options") {
    KdeFitOptions o;
    o.trims = {4};
    CHECK_THROWS_WITH(fit_one(t, o), Catch::Contains("trim 4 is outside 0 … 3"));
    o.trims = {1, 1};
    CHECK_THROWS_WITH(fit_one(t, o), Catch::Contains("trim is given twice"));
  }
}

TEST_CASE("check_same_model names what differs", "[kde_model]") {
  const RouterTrace t = test::random_trace(2, 4, 1, 20, 0, 3);
  const KdeModel m = fit_one(t);
  CHECK_NOTHROW(check_same_model(m, t, "x"));
  RouterTrace other = test::random_trace(2, 6, 1, 20, 0, 3);
  CHECK_THROWS_WITH(check_same_model(m, other, "x.safetensors"),
                    Catch::Contains("x.safetensors: 6 experts per layer") && Catch::Contains("fitted on 4"));
  other = t;
  other.layers[1].name = "model.layers.9.mlp.gate";
  CHECK_THROWS_WITH(check_same_model(m, other, "x"), Catch::Contains("router layer 1 is 'model.layers.9.mlp.gate'"));
  other = test::random_trace(3, 4, 1, 20, 0, 3);
  CHECK_THROWS_WITH(check_same_model(m, other, "x"), Catch::Contains("3 router layers"));
}

TEST_CASE("the model file round-trips and is checked on load", "[kde_model]") {
  test::TempDir dir;
  const RouterTrace t = test::random_trace(3, 8, 2, 60, 0, 5);
  KdeFitOptions o;
  o.kernels = {KdeKernel::Gaussian, KdeKernel::Epanechnikov};
  o.trims = {0, 3};
  o.bandwidth = parse_bandwidth_rule("0.4");
  const KdeModel m = fit_one(t, o);
  const auto path = dir / "m.kde.safetensors";
  save_kde_model(m, path);
  const KdeModel r = load_kde_model(path);
  CHECK(r.source == path.string());
  CHECK(r.model_id == m.model_id);
  CHECK(r.num_experts == 8);
  CHECK(r.top_k == 2);
  CHECK(r.training_rows == 60);
  CHECK(r.choice_counts == m.choice_counts);
  REQUIRE(r.variants.size() == m.variants.size());
  for (size_t v = 0; v < m.variants.size(); ++v) {
    CHECK(r.variants[v].name == m.variants[v].name);
    CHECK(r.variants[v].trim == m.variants[v].trim);
    CHECK(r.variants[v].kernel == m.variants[v].kernel);
    CHECK(to_string(r.variants[v].bandwidth) == "0.4");
    for (size_t l = 0; l < 3; ++l) {
      CHECK(r.variants[v].layers[l].sorted_data() == m.variants[v].layers[l].sorted_data());
      CHECK(r.variants[v].layers[l].bandwidth() == m.variants[v].layers[l].bandwidth());
    }
  }

  SECTION("a newer version is unsupported") {
    rewrite(path, [](Tensors& x) { x.meta["moeroute.format_version"] = "2"; });
    CHECK_THROWS_AS(load_kde_model(path), UnsupportedError);
  }
  SECTION("a trace is not a model") {
    save_trace(t, dir / "t.safetensors");
    CHECK_THROWS_WITH(load_kde_model(dir / "t.safetensors"), Catch::Contains("this is a moeroute.trace file, not a KDE model"));
  }
  SECTION("edited numbers are caught") {
    rewrite(path, [](Tensors& x) {
      double* bw = reinterpret_cast<double*>(tensor_bytes(x, "gaussian_trim3.bandwidth").data());
      bw[1] *= 1.01;
    });
    CHECK_THROWS_WITH(load_kde_model(path), Catch::Contains("variant 'gaussian_trim3', layer 'model.layers.1.mlp.gate'") &&
                                                Catch::Contains("disagree"));
  }
  SECTION("unsorted data are caught") {
    rewrite(path, [](Tensors& x) {
      float* d = reinterpret_cast<float*>(tensor_bytes(x, "logits.trim0").data());
      std::swap(d[0], d[5]);
    });
    CHECK_THROWS_WITH(load_kde_model(path), Catch::Contains("not sorted"));
  }
  SECTION("a bad kernel name points at the field") {
    rewrite(path, [](Tensors& x) {
      auto& j = x.meta["moeroute.kde"];
      const std::string kernel = "\"kernel\":\"epanechnikov\"";
      j.replace(j.find(kernel), kernel.size(), "\"kernel\":\"cosine\"");
    });
    CHECK_THROWS_WITH(load_kde_model(path), Catch::Contains("field 'variants[2].kernel'") && Catch::Contains("cosine"));
  }
  SECTION("a missing tensor is named") {
    rewrite(path, [](Tensors& x) {
      x.tensors.erase(std::remove_if(x.tensors.begin(), x.tensors.end(),
                                     [](const auto& e) { return std::get<0>(e) == "choice_counts"; }),
                      x.tensors.end());
    });
    CHECK_THROWS_WITH(load_kde_model(path), Catch::Contains("choice_counts"));
  }
}

TEST_CASE("popularity deciles rank experts by choice count", "[kde_model]") {
  const int64_t counts[10] = {5, 1, 9, 0, 3, 3, 7, 2, 8, 4};
  // Ascending: e3 (0), e1, e7, e4, e5 (3, 3: lower id first), e9, e0, e6, e8, e2 (9).
  CHECK(popularity_deciles(counts, 10) == std::vector<int>{7, 2, 10, 1, 4, 5, 8, 3, 9, 6});
  const int64_t eight[8] = {0, 0, 0, 0, 1, 1, 1, 1};  // ties: lower id ranks lower
  CHECK(popularity_deciles(eight, 8) == std::vector<int>{1, 2, 3, 4, 6, 7, 8, 9});
}
