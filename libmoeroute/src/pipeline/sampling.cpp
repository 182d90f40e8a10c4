#include "moeroute/sampling.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include <fmt/format.h>

#include "moeroute/error.h"

namespace moeroute {

void SamplingOptions::validate() const {
  if (!std::isfinite(temperature) || temperature < 0.0)
    throw InputError(fmt::format("temperature must be ≥ 0 (0 = greedy), got {}", temperature));
  if (!std::isfinite(top_p) || top_p <= 0.0 || top_p > 1.0)
    throw InputError(fmt::format("top_p must be in (0, 1], got {}", top_p));
}

Sampler::Sampler(const SamplingOptions& options) : options_(options), rng_(options.seed) { options_.validate(); }

int64_t Sampler::next(const float* logits, int64_t vocab) {
  if (vocab <= 0) throw Error("Sampler::next: empty logits");
  if (options_.temperature == 0.0) {
    int64_t best = 0;  // first maximum, as torch.argmax; NaN is never chosen over a number
    for (int64_t i = 1; i < vocab; ++i)
      if (logits[i] > logits[best] || (std::isnan(logits[best]) && !std::isnan(logits[i]))) best = i;
    return best;
  }
  std::vector<double> p(static_cast<size_t>(vocab));
  double m = -INFINITY;
  for (int64_t i = 0; i < vocab; ++i) m = std::max(m, static_cast<double>(logits[i]) / options_.temperature);
  if (!std::isfinite(m)) throw Error("Sampler::next: logits have no finite maximum");
  double sum = 0.0;
  for (int64_t i = 0; i < vocab; ++i) {
    const double v = std::exp(static_cast<double>(logits[i]) / options_.temperature - m);
    p[static_cast<size_t>(i)] = std::isnan(v) ? 0.0 : v;
    sum += p[static_cast<size_t>(i)];
  }
  std::vector<int64_t> order(p.size());
  std::iota(order.begin(), order.end(), int64_t{0});
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return p[a] > p[b]; });
  size_t kept = 0;
  double mass = 0.0;
  while (kept < order.size()) {
    mass += p[static_cast<size_t>(order[kept++])];
    if (mass >= options_.top_p * sum) break;
  }
  // 53 random bits → u ∈ [0, 1); defined bit for bit by the standard mt19937_64.
  const double u = static_cast<double>(rng_() >> 11) * (1.0 / 9007199254740992.0) * mass;
  double cum = 0.0;
  for (size_t i = 0; i < kept; ++i) {
    cum += p[static_cast<size_t>(order[i])];
    if (cum > u) return order[i];
  }
  return order[kept - 1];
}

}  // namespace moeroute
