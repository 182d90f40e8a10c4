// KdeEvaluator: picks the exact sum or a fast evaluator and handles values at ±∞ and NaN.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include "analysis/kde_fast.h"
#include "moeroute/error.h"
#include "moeroute/kde.h"

namespace moeroute {

struct KdeEvaluator::Impl {
  KernelDensity kde;
  KdeMethod method = KdeMethod::Exact;
  std::unique_ptr<detail::FastKde> fast;

  double tail(double x) const {
    if (std::isnan(x)) throw InputError("KDE upper tail: the value is NaN");
    if (std::isinf(x)) return x > 0 ? 0.0 : 1.0;
    return fast ? fast->upper_tail(x) : kde_upper_tail_exact(kde, x);
  }
  double density(double x) const {
    if (std::isnan(x)) throw InputError("KDE density: the value is NaN");
    if (std::isinf(x)) return 0.0;
    return fast ? fast->density(x) : kde_density_exact(kde, x);
  }
};

namespace {

// x's float bit patterns made monotone (negative values flipped), in the high half of a key
// whose low half is the index: sorting the keys orders the queries by value.
uint32_t monotone_bits(float f) {
  uint32_t b = 0;
  std::memcpy(&b, &f, sizeof b);
  return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}
float from_monotone_bits(uint32_t b) {
  b = (b & 0x80000000u) ? (b & 0x7fffffffu) : ~b;
  float f = 0;
  std::memcpy(&f, &b, sizeof f);
  return f;
}

// Evaluates f at every x into out. The compact kernels' fast method binary-searches the data
// around each query, so it visits large batches in value order: neighbouring queries then
// search neighbouring data, which stays in cache (4× faster on 10⁶ queries in trace order).
// Float queries are read back from their keys, saving a random access each.
template <typename T, typename F>
void evaluate_all(const KdeEvaluator::Impl& impl, const T* x, std::size_t count, T* out, F f) {
  const bool ordered = impl.fast && impl.kde.kernel() != KdeKernel::Gaussian && count >= 4096 && count < 0xffffffffu;
  if (!ordered) {
    for (std::size_t i = 0; i < count; ++i) out[i] = static_cast<T>(f(static_cast<double>(x[i])));
    return;
  }
  std::vector<uint64_t> keyed(count);
  for (std::size_t i = 0; i < count; ++i)
    keyed[i] = (static_cast<uint64_t>(monotone_bits(static_cast<float>(x[i]))) << 32) | i;
  std::sort(keyed.begin(), keyed.end());
  for (uint64_t k : keyed) {
    const std::size_t i = static_cast<uint32_t>(k);
    const double v = std::is_same_v<T, float> ? from_monotone_bits(static_cast<uint32_t>(k >> 32)) : x[i];
    out[i] = static_cast<T>(f(v));
  }
}

}  // namespace

KdeEvaluator::KdeEvaluator(const KernelDensity& kde, const KdeEvalOptions& options, int64_t expected_queries)
    : impl_(std::make_unique<Impl>(Impl{kde, KdeMethod::Exact, nullptr})) {
  if (!(options.tolerance >= 1e-14 && options.tolerance <= 0.1))
    throw InputError(fmt::format("KDE tolerance {} is outside [1e-14, 0.1]", options.tolerance));
  KdeMethod m = options.method;
  if (m == KdeMethod::Auto)
    m = static_cast<double>(kde.size()) * static_cast<double>(expected_queries) <= options.exact_limit
            ? KdeMethod::Exact
            : KdeMethod::Fast;
  impl_->method = m;
  if (m == KdeMethod::Fast)
    impl_->fast = kde.kernel() == KdeKernel::Gaussian ? detail::make_fast_gaussian(impl_->kde, options.tolerance)
                                                      : detail::make_fast_compact(impl_->kde);
}

KdeEvaluator::~KdeEvaluator() = default;
KdeEvaluator::KdeEvaluator(KdeEvaluator&&) noexcept = default;
KdeEvaluator& KdeEvaluator::operator=(KdeEvaluator&&) noexcept = default;

void KdeEvaluator::upper_tail(const float* x, std::size_t count, float* out) const {
  evaluate_all(*impl_, x, count, out, [this](double v) { return impl_->tail(v); });
}

void KdeEvaluator::upper_tail(const double* x, std::size_t count, double* out) const {
  evaluate_all(*impl_, x, count, out, [this](double v) { return impl_->tail(v); });
}

void KdeEvaluator::density(const double* x, std::size_t count, double* out) const {
  evaluate_all(*impl_, x, count, out, [this](double v) { return impl_->density(v); });
}

KdeMethod KdeEvaluator::method() const { return impl_->method; }
double KdeEvaluator::tail_error_bound() const { return impl_->fast ? impl_->fast->tail_error_bound() : 0.0; }
double KdeEvaluator::density_error_bound() const { return impl_->fast ? impl_->fast->density_error_bound() : 0.0; }
const KernelDensity& KdeEvaluator::kde() const { return impl_->kde; }

}  // namespace moeroute
