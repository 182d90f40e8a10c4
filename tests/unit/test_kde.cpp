// KernelDensity against SciPy's gaussian_kde (fixtures from tools/golden/make_kde_fixtures.py),
// the compact kernels against NumPy's closed forms, and the fast evaluators against the exact
// sums within their documented error bounds (docs/kde.md).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>

#include "io/json_input.h"
#include "moeroute/error.h"
#include "moeroute/kde.h"

using namespace moeroute;

namespace {

const detail::JsonField& reference() {
  static const detail::JsonField j = detail::read_json_file(std::string(MOEROUTE_TEST_DATA_DIR) + "/kde/kde_reference.json");
  return j;
}

std::vector<double> numbers(const detail::JsonField& f) {
  std::vector<double> v;
  for (const auto& e : f.elements()) v.push_back(e.number());
  return v;
}

std::vector<float> floats(const detail::JsonField& f) {
  std::vector<float> v;
  for (const auto& e : f.elements()) v.push_back(static_cast<float>(e.number()));  // decimals of float32 values
  return v;
}

BandwidthRule rule_of(const detail::JsonField& c) {
  const auto b = c.at("bandwidth");
  return b.is_string() ? parse_bandwidth_rule(b.string()) : BandwidthRule{BandwidthRule::Kind::Factor, b.number()};
}

// Both sides evaluate the same float32 data in double. They differ by the order of summation
// (≤ n·2⁻⁵³ relative for positive terms, n ≤ 500), 1-ulp differences in exp/erfc and in x/h
// vs x·(1/h), and the bandwidth's few-ulp rounding, which moves φ(u) by a relative u²·δh/h
// (≤ 40²·1e-13 at the far tails): 1e-9 relative covers all of it, well inside the required 1e-6.
constexpr double kRel = 1e-9;

bool agrees(double ours, double ref, double abs_floor = 0) {
  return std::abs(ours - ref) <= kRel * std::abs(ref) + abs_floor;
}

}  // namespace

TEST_CASE("bandwidth rules and numbers equal gaussian_kde's", "[kde]") {
  for (const auto& c : reference().at("cases").elements()) {
    INFO(c.at("name").string());
    const auto kde = KernelDensity::fit(floats(c.at("data")), KdeKernel::Gaussian, rule_of(c), "case");
    CHECK(agrees(kde.factor(), c.at("factor").number()));
    CHECK(agrees(kde.bandwidth() * kde.bandwidth(), c.at("covariance").number()));
    CHECK(agrees(static_cast<double>(kde.size()), c.at("neff").number()));
  }
}

TEST_CASE("exact density and upper tail equal SciPy's evaluate and integrate_box_1d", "[kde]") {
  for (const auto& c : reference().at("cases").elements()) {
    INFO(c.at("name").string());
    const auto kde = KernelDensity::fit(floats(c.at("data")), KdeKernel::Gaussian, rule_of(c), "case");
    const auto q = numbers(c.at("queries")), pdf = numbers(c.at("pdf")), tail = numbers(c.at("tail"));
    const auto tail_scipy = numbers(c.at("tail_scipy"));
    for (size_t i = 0; i < q.size(); ++i) {
      INFO("query " << q[i]);
      CHECK(agrees(kde_density_exact(kde, q[i]), pdf[i]));
      CHECK(agrees(kde_upper_tail_exact(kde, q[i]), tail[i]));
      // SciPy forms 1 − Φ(z) per point: absolute error up to 2⁻⁵³ per point, weights summing
      // to 1, so 4·2⁻⁵³ absolute on top (it returns 0 where the true tail is below ~1e-17).
      CHECK(agrees(kde_upper_tail_exact(kde, q[i]), tail_scipy[i], 4 * 0x1p-53));
    }
  }
}

TEST_CASE("compact kernels equal their closed forms", "[kde]") {
  for (const auto& c : reference().at("cases").elements()) {
    INFO(c.at("name").string());
    const auto q = numbers(c.at("queries"));
    for (KdeKernel kernel : {KdeKernel::Epanechnikov, KdeKernel::Tophat}) {
      INFO(to_string(kernel));
      const auto kde = KernelDensity::fit(floats(c.at("data")), kernel, rule_of(c), "case");
      const auto pdf = numbers(c.at(to_string(kernel) + "_pdf")), tail = numbers(c.at(to_string(kernel) + "_tail"));
      // NumPy sums in another order; the tail near 0 is a sum of tiny cubics: 1e-15 absolute.
      for (size_t i = 0; i < q.size(); ++i) {
        CHECK(agrees(kde_density_exact(kde, q[i]), pdf[i], 1e-15));
        CHECK(agrees(kde_upper_tail_exact(kde, q[i]), tail[i], 1e-15));
      }
    }
  }
}

TEST_CASE("bandwidth parsing", "[kde]") {
  CHECK(parse_bandwidth_rule("scott").kind == BandwidthRule::Kind::Scott);
  CHECK(parse_bandwidth_rule("silverman").kind == BandwidthRule::Kind::Silverman);
  CHECK(parse_bandwidth_rule("0.25").factor == 0.25);
  CHECK(to_string(parse_bandwidth_rule("0.25")) == "0.25");
  for (const char* bad : {"", "0", "-1", "nan", "inf", "0.5x", "scot"}) CHECK_THROWS_AS(parse_bandwidth_rule(bad), InputError);
  CHECK_THROWS_WITH(parse_kde_kernel("cosine"), Catch::Contains("gaussian, epanechnikov, tophat"));
}

TEST_CASE("degenerate samples are refused with the reason", "[kde]") {
  CHECK_THROWS_WITH(KernelDensity::fit({1.5f, 1.5f, 1.5f}, KdeKernel::Gaussian, {}, "layer 3"),
                    Catch::Contains("layer 3") && Catch::Contains("all 3 values equal 1.5") &&
                        Catch::Contains("bandwidth are 0"));
  CHECK_THROWS_WITH(KernelDensity::fit({2.0f}, KdeKernel::Gaussian, {}, "layer 0"), Catch::Contains("at least 2"));
  CHECK_THROWS_WITH(KernelDensity::fit({1.0f, NAN}, KdeKernel::Gaussian, {}, "layer 0"), Catch::Contains("finite"));
  CHECK_THROWS_WITH(KernelDensity::fit({1.0f, INFINITY}, KdeKernel::Gaussian, {}, "layer 0"), Catch::Contains("finite"));
}

namespace {

// Logit-like data: a bimodal bulk, a heavy right tail and a few isolated outliers (sparse
// cells), with exact ties.
std::vector<float> awkward_sample(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> a(-2.0f, 0.8f), b(1.5f, 1.6f);
  std::student_t_distribution<float> t(2.5f);
  std::vector<float> v;
  for (size_t i = 0; i < n; ++i) v.push_back(i % 3 == 0 ? b(rng) : i % 7 == 0 ? 3 + t(rng) : a(rng));
  v.insert(v.end(), {40.0f, 40.0f, -35.5f, 12.25f});
  return v;
}

// Queries: data points, random points, points at and next to cell edges, far tails.
std::vector<double> awkward_queries(const KernelDensity& kde, unsigned seed) {
  const auto& d = kde.sorted_data();
  std::vector<double> q;
  for (size_t i = 0; i < d.size(); i += 23) q.push_back(d[i]);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(d.front() - 5 * kde.bandwidth(), d.back() + 5 * kde.bandwidth());
  for (int i = 0; i < 1000; ++i) q.push_back(u(rng));
  for (double x : {d.front() - 11.0 * kde.bandwidth(), d.back() + 9.99 * kde.bandwidth(), 1e30, -1e30}) q.push_back(x);
  for (double f : {0.0, 0.5, 1.0, 1.5, 2.0, 16.0, 18.0})  // multiples of h/16: compact cell edges
    q.push_back(d[d.size() / 2] + f * kde.bandwidth() / 16), q.push_back(std::nextafter(q.back(), -1e9));
  return q;
}

// The exact values at the queries, computed once per sample.
struct Exact {
  std::vector<double> q, tail, density;
  Exact(const KernelDensity& kde, std::vector<double> queries) : q(std::move(queries)) {
    for (double x : q) {
      tail.push_back(kde_upper_tail_exact(kde, x));
      density.push_back(kde_density_exact(kde, x));
    }
  }
};

struct Errors {
  double tail = 0, density = 0;
};

Errors max_errors(const KdeEvaluator& fast, const Exact& exact) {
  std::vector<double> t(exact.q.size()), f(exact.q.size());
  fast.upper_tail(exact.q.data(), exact.q.size(), t.data());
  fast.density(exact.q.data(), exact.q.size(), f.data());
  Errors e;
  for (size_t i = 0; i < exact.q.size(); ++i) {
    e.tail = std::max(e.tail, std::abs(t[i] - exact.tail[i]));
    e.density = std::max(e.density, std::abs(f[i] - exact.density[i]));
  }
  return e;
}

}  // namespace

TEST_CASE("the fast Gaussian stays within its documented error bound", "[kde][fast]") {
  const auto kde = KernelDensity::fit(awkward_sample(10000, 7), KdeKernel::Gaussian, {}, "sample");
  const Exact exact(kde, awkward_queries(kde, 8));
  for (double tol : {1e-4, 1e-7, 1e-10, 1e-13}) {
    INFO("tolerance " << tol);
    KdeEvalOptions o;
    o.method = KdeMethod::Fast;
    o.tolerance = tol;
    const KdeEvaluator fast(kde, o, 0);
    REQUIRE(fast.method() == KdeMethod::Fast);
    // The bound is the tolerance (its Taylor part) plus truncation and rounding terms of about
    // 1e-16 · (span/h + cells in reach · terms): negligible down to 1e-10, dominant at 1e-13.
    CHECK(fast.tail_error_bound() <= (tol >= 1e-10 ? 1.01 * tol : 1e-12));
    const Errors e = max_errors(fast, exact);
    CHECK(e.tail <= fast.tail_error_bound());
    CHECK(e.density <= fast.density_error_bound());
    if (tol >= 1e-7) CHECK(e.tail > tol / 1e5);  // a real approximation, bounded within 10⁵ of its error
  }
}

TEST_CASE("the fast compact kernels equal the exact sums up to rounding", "[kde][fast]") {
  for (KdeKernel kernel : {KdeKernel::Epanechnikov, KdeKernel::Tophat}) {
    INFO(to_string(kernel));
    const auto kde = KernelDensity::fit(awkward_sample(10000, 9), kernel, parse_bandwidth_rule("silverman"), "sample");
    KdeEvalOptions o;
    o.method = KdeMethod::Fast;
    const KdeEvaluator fast(kde, o, 0);
    CHECK(fast.tail_error_bound() < 1e-11);
    const Errors e = max_errors(fast, Exact(kde, awkward_queries(kde, 10)));
    CHECK(e.tail <= fast.tail_error_bound());
    CHECK(e.density <= fast.density_error_bound());
  }
}

TEST_CASE("the fast method agrees with SciPy on the fixture cases", "[kde][fast]") {
  for (const auto& c : reference().at("cases").elements()) {
    INFO(c.at("name").string());
    const auto kde = KernelDensity::fit(floats(c.at("data")), KdeKernel::Gaussian, rule_of(c), "case");
    KdeEvalOptions o;
    o.method = KdeMethod::Fast;
    const KdeEvaluator fast(kde, o, 0);
    const auto q = numbers(c.at("queries")), tail = numbers(c.at("tail")), pdf = numbers(c.at("pdf"));
    std::vector<double> t(q.size()), f(q.size());
    fast.upper_tail(q.data(), q.size(), t.data());
    fast.density(q.data(), q.size(), f.data());
    for (size_t i = 0; i < q.size(); ++i) {
      // The fast method's own bound plus the exact sums' disagreement with SciPy (kRel, above).
      CHECK(std::abs(t[i] - tail[i]) <= fast.tail_error_bound() + kRel * tail[i]);
      CHECK(std::abs(f[i] - pdf[i]) <= fast.density_error_bound() + kRel * pdf[i]);
    }
  }
}

TEST_CASE("the evaluator handles infinities, NaN and the method choice", "[kde]") {
  const auto kde = KernelDensity::fit({0.0f, 1.0f, 2.0f, 4.0f}, KdeKernel::Gaussian, {}, "t");
  KdeEvalOptions o;
  const KdeEvaluator small(kde, o, 10);
  CHECK(small.method() == KdeMethod::Exact);
  CHECK(small.tail_error_bound() == 0);
  const double x[3] = {INFINITY, -INFINITY, 1.0};
  double t[3];
  small.upper_tail(x, 3, t);
  CHECK(t[0] == 0.0);
  CHECK(t[1] == 1.0);
  CHECK(agrees(t[2], kde_upper_tail_exact(kde, 1.0)));  // the exact method: the same sums
  const double nan = NAN;
  CHECK_THROWS_AS(small.upper_tail(&nan, 1, t), InputError);
  o.exact_limit = 1;
  CHECK(KdeEvaluator(kde, o, 10).method() == KdeMethod::Fast);
  o.tolerance = 0;
  CHECK_THROWS_AS(KdeEvaluator(kde, o, 10), InputError);
}

TEST_CASE("large batches give the same values as one query at a time", "[kde][fast]") {
  // Batches of ≥ 4096 queries for the compact kernels are evaluated in value order.
  std::mt19937 rng(12);
  std::normal_distribution<float> nd(0.0f, 3.0f);
  std::vector<float> q(6000);
  for (auto& v : q) v = nd(rng);
  q[17] = -0.0f;
  for (KdeKernel kernel : {KdeKernel::Gaussian, KdeKernel::Epanechnikov, KdeKernel::Tophat}) {
    INFO(to_string(kernel));
    const auto kde = KernelDensity::fit(awkward_sample(3000, 13), kernel, {}, "sample");
    KdeEvalOptions o;
    o.method = KdeMethod::Fast;
    const KdeEvaluator fast(kde, o, 0);
    std::vector<float> batch(q.size());
    fast.upper_tail(q.data(), q.size(), batch.data());
    for (size_t i = 0; i < q.size(); ++i) {
      float one = 0;
      fast.upper_tail(&q[i], 1, &one);
      REQUIRE(batch[i] == one);
    }
    q[100] = NAN;
    CHECK_THROWS_AS(fast.upper_tail(q.data(), q.size(), batch.data()), InputError);
    q[100] = 0.5f;
  }
}
