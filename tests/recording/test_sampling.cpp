// Host sampler: greedy, nucleus filtering and temperature against closed-form expectations.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <vector>

#include "moeroute/error.h"
#include "moeroute/sampling.h"

using namespace moeroute;

namespace {
// A frequency over n independent draws has standard deviation √(p(1 − p)/n) ≤ √(1/(4n)); the
// draws are a fixed seeded stream, so the check is deterministic, and six standard deviations
// (a one-in-10⁸ event for a correct sampler) keep it independent of the seed chosen.
double frequency_tolerance(int n) { return 6 * std::sqrt(0.25 / n); }

std::map<int64_t, int> histogram(const SamplingOptions& o, const std::vector<float>& logits, int draws) {
  Sampler s(o);
  std::map<int64_t, int> h;
  for (int i = 0; i < draws; ++i) ++h[s.next(logits.data(), static_cast<int64_t>(logits.size()))];
  return h;
}
}  // namespace

TEST_CASE("greedy takes the first maximum", "[sampling]") {
  Sampler s({});
  const std::vector<float> l{0.5f, 2.0f, -1.0f, 2.0f};
  CHECK(s.next(l.data(), 4) == 1);
  const std::vector<float> nan_first{NAN, 1.0f, 0.0f};
  CHECK(s.next(nan_first.data(), 3) == 1);
}

TEST_CASE("temperature sampling follows softmax(logits / T)", "[sampling]") {
  // logits = log([.5, .3, .2]) at T = 1 → frequencies .5/.3/.2; at T = .5 → p² normalised
  // = [.25, .09, .04] / .38 = [.6579, .2368, .1053].
  const std::vector<float> l{std::log(0.5f), std::log(0.3f), std::log(0.2f)};
  const int n = 40000;
  const double tol = frequency_tolerance(n);  // 0.015 (the 4-decimal expectations are off by ≤ 5e-5)
  auto h = histogram({1.0, 1.0, 7}, l, n);
  CHECK(std::abs(h[0] / double(n) - 0.5) < tol);
  CHECK(std::abs(h[1] / double(n) - 0.3) < tol);
  CHECK(std::abs(h[2] / double(n) - 0.2) < tol);
  h = histogram({0.5, 1.0, 7}, l, n);
  CHECK(std::abs(h[0] / double(n) - 0.6579) < tol);
  CHECK(std::abs(h[2] / double(n) - 0.1053) < tol);
}

TEST_CASE("top-p keeps the shortest prefix reaching the mass", "[sampling]") {
  // p = [.5, .3, .2]: top_p .75 keeps {0, 1} (.5 < .75 ≤ .8) renormalised to .625/.375;
  // top_p .5 keeps only token 0.
  const std::vector<float> l{std::log(0.5f), std::log(0.3f), std::log(0.2f)};
  const int n = 40000;
  auto h = histogram({1.0, 0.75, 11}, l, n);
  CHECK(h.count(2) == 0);
  CHECK(std::abs(h[0] / double(n) - 0.625) < frequency_tolerance(n));
  h = histogram({1.0, 0.5, 11}, l, n);
  CHECK(h.size() == 1);
  CHECK(h[0] == n);
}

TEST_CASE("a seed fixes the stream; different seeds differ", "[sampling]") {
  std::vector<float> l(50);
  for (size_t i = 0; i < l.size(); ++i) l[i] = static_cast<float>(std::sin(double(i)));
  auto draw = [&](uint64_t seed) {
    Sampler s({1.0, 0.9, seed});
    std::vector<int64_t> out;
    for (int i = 0; i < 64; ++i) out.push_back(s.next(l.data(), 50));
    return out;
  };
  CHECK(draw(3) == draw(3));
  CHECK(draw(3) != draw(4));
}

TEST_CASE("invalid sampling options are input errors", "[sampling]") {
  CHECK_THROWS_WITH(Sampler(SamplingOptions{-1.0, 1.0, 0}), Catch::Contains("temperature"));
  CHECK_THROWS_WITH(Sampler(SamplingOptions{1.0, 0.0, 0}), Catch::Contains("top_p"));
  CHECK_THROWS_AS(Sampler(SamplingOptions{1.0, 1.5, 0}), InputError);
}
