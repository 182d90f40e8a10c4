// P-value statistics against SciPy/NumPy (tools/golden/make_kde_fixtures.py), ranks and groups,
// and kde_pvalues end to end against p-values computed one by one.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>

#include "analysis/radix_sort.h"
#include "fp_tolerance.h"
#include "io/json_input.h"
#include "moeroute/error.h"
#include "moeroute/expert_usage.h"
#include "moeroute/kde_pvalues.h"
#include "trace_fixtures.h"

using namespace moeroute;

TEST_CASE("p-value statistics equal scipy.stats.kstest and numpy's", "[kde_pvalues]") {
  const auto ref = detail::read_json_file(std::string(MOEROUTE_TEST_DATA_DIR) + "/kde/pvalue_stats_reference.json");
  std::vector<float> p;
  for (const auto& v : ref.at("pvalues").elements()) p.push_back(static_cast<float>(v.number()));
  const PvalueStats s = pvalue_stats(p, 20);
  // The same float32 values in double; sums of 257 terms differ by ordering only (257 roundings
  // of partial sums ≤ the total), quantiles are one interpolation (a few roundings); the KS
  // statistic is a max over such values.
  const double tol = test::fp64_tolerance(257 + 4);
  CHECK(s.count == 257);
  CHECK(s.ks == Approx(ref.at("ks_statistic").number()).epsilon(tol));
  CHECK(s.mean == Approx(ref.at("mean").number()).epsilon(tol));
  CHECK(s.median == Approx(ref.at("median").number()).epsilon(tol));
  const auto q = ref.at("quantiles").elements();
  REQUIRE(q.size() == pvalue_qq_levels().size());
  for (size_t i = 0; i < q.size(); ++i) {
    CHECK(pvalue_qq_levels()[i] == Approx(ref.at("qq_levels").at(i).number()).epsilon(0));
    CHECK(s.quantiles[i] == Approx(q[i].number()).epsilon(tol).margin(test::fp64_tolerance(4)));
  }
  const auto h = ref.at("histogram").elements();
  for (size_t i = 0; i < h.size(); ++i) CHECK(s.histogram[i] == h[i].integer());
  CHECK(s.below_0001 == ref.at("fraction_below").at("0.001").number());
  CHECK(s.below_001 == ref.at("fraction_below").at("0.01").number());
  CHECK(s.below_005 == ref.at("fraction_below").at("0.05").number());
}

TEST_CASE("an empty group has a count of 0 and no statistics", "[kde_pvalues]") {
  std::vector<float> none;
  const PvalueStats s = pvalue_stats(none, 4);
  CHECK(s.count == 0);
  CHECK(std::isnan(s.median));
  CHECK(s.histogram == std::vector<int64_t>(4, 0));
  CHECK_THROWS_AS(pvalue_stats(none, 0), InputError);
  std::vector<float> bad{0.5f, 1.5f};
  CHECK_THROWS_WITH(pvalue_stats(bad, 4), Catch::Contains("1.5 is not in [0, 1]"));
}

TEST_CASE("the radix sort orders p-values like std::sort", "[kde_pvalues]") {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<float> v{0.0f, -0.0f, 1.0f, 1e-40f, 1e-30f, 0.5f, 0.5f};  // zeros, a subnormal, ties
  for (int i = 0; i < 5000; ++i) v.push_back(u(rng) * u(rng));
  std::vector<float> want = v;
  std::sort(want.begin(), want.end());
  detail::sort_nonnegative_floats(v);
  CHECK(v == want);  // −0 == 0
  CHECK_FALSE(std::signbit(v[0]));
}

TEST_CASE("logit ranks: 1 is the largest, ties go to the lower id", "[kde_pvalues]") {
  const float x[8] = {0.5f, 2.0f, -1.0f, 2.0f, /**/ 3.0f, 1.0f, 2.0f, 0.0f};
  uint16_t r[8];
  logit_ranks(x, 2, 4, r);
  CHECK(std::vector<uint16_t>(r, r + 8) == std::vector<uint16_t>{3, 1, 4, 2, 1, 3, 2, 4});
  CHECK(pvalue_group_names(2, 4) == std::vector<std::string>{"all", "rank1", "rank2", "rest", "popularity_d1",
                                                             "popularity_d2", "popularity_d3", "popularity_d4",
                                                             "popularity_d5", "popularity_d6", "popularity_d7",
                                                             "popularity_d8", "popularity_d9", "popularity_d10"});
}

TEST_CASE("kde_pvalues equals p-values computed one by one, grouped by rank and popularity", "[kde_pvalues]") {
  const RouterTrace train = test::random_trace(2, 10, 2, 80, 0, 21), a = test::random_trace(2, 10, 2, 30, 0, 22),
                    b = test::random_trace(2, 10, 2, 20, 0, 23);
  const KdeModel m = fit_kde_model({{"train", &train}}, {});
  PvalueOptions o;
  o.eval.method = KdeMethod::Exact;
  o.keep_pvalues = true;
  const PvalueReport r = kde_pvalues(m, {{"a", &a}, {"b", &b}}, o);
  CHECK(r.rows == std::vector<int64_t>{30, 20});
  REQUIRE(r.variants.size() == 1);
  const VariantPvalues& v = r.variants[0];
  REQUIRE(v.layers.size() == 3);
  CHECK(v.layers[2].layer == "all");
  CHECK(v.error_bound == 0);

  std::vector<float> pooled_rank1, pooled_all;
  for (int l = 0; l < 2; ++l) {
    const KernelDensity& kde = m.variants[0].layers[static_cast<size_t>(l)];
    const auto decile = popularity_deciles(&m.choice_counts[static_cast<size_t>(l) * 10], 10);
    std::vector<float> all, rank1, rest, d10;
    size_t at = 0;
    for (const RouterTrace* t : {&a, &b})
      for (int64_t p = 0; p < t->num_positions; ++p) {
        const float* x = t->router_logits_at(l, p);
        const int top = static_cast<int>(std::max_element(x, x + 10) - x);
        std::vector<float> sorted(x, x + 10);
        std::sort(sorted.begin(), sorted.end(), std::greater<float>());
        for (int e = 0; e < 10; ++e, ++at) {
          const float pv = static_cast<float>(kde_upper_tail_exact(kde, x[e]));
          CHECK(v.pvalues[static_cast<size_t>(l)][at] == pv);
          all.push_back(pv);
          if (e == top) rank1.push_back(pv);
          if (x[e] < sorted[1]) rest.push_back(pv);
          if (decile[static_cast<size_t>(e)] == 10) d10.push_back(pv);
        }
      }
    pooled_all.insert(pooled_all.end(), all.begin(), all.end());
    pooled_rank1.insert(pooled_rank1.end(), rank1.begin(), rank1.end());
    const auto& g = v.layers[static_cast<size_t>(l)].groups;
    CHECK(g[0].count == 500);
    CHECK(g[0].ks == pvalue_stats(all, 20).ks);
    CHECK(g[1].count == 50);
    CHECK(g[1].median == pvalue_stats(rank1, 20).median);
    CHECK(g[3].count == 400);  // rest: ranks 3 … 10
    // The same 400 values summed in another order.
    CHECK(g[3].mean == Approx(pvalue_stats(rest, 20).mean).epsilon(test::fp64_tolerance(400)));
    CHECK(g.back().count == static_cast<int64_t>(d10.size()));
    int64_t deciles = 0;
    for (size_t i = 4; i < g.size(); ++i) deciles += g[i].count;
    CHECK(deciles == 500);
  }
  CHECK(v.layers[2].groups[0].count == 1000);
  CHECK(v.layers[2].groups[0].quantiles == pvalue_stats(pooled_all, 20).quantiles);
  CHECK(v.layers[2].groups[1].ks == pvalue_stats(pooled_rank1, 20).ks);
  // Logits of the training trace's top choices are unusual: small p-values.
  CHECK(v.layers[2].groups[1].median < 0.2);
}

TEST_CASE("kde_pvalues refuses traces of another model or without logits", "[kde_pvalues]") {
  const RouterTrace train = test::random_trace(2, 10, 2, 80, 0, 21);
  const KdeModel m = fit_kde_model({{"train", &train}}, {});
  RouterTrace other = test::random_trace(2, 12, 2, 30, 0, 22);
  CHECK_THROWS_WITH(kde_pvalues(m, {{"other.safetensors", &other}}, {}),
                    Catch::Contains("other.safetensors: 12 experts per layer"));
  other = train;
  other.router_logits.clear();
  CHECK_THROWS_WITH(kde_pvalues(m, {{"ids.safetensors", &other}}, {}),
                    Catch::Contains("ids.safetensors: the trace has no router logits"));
  CHECK_THROWS_AS(kde_pvalues(m, {}, {}), InputError);
}
