// KdeEvaluator: picks the exact sum or a fast evaluator and handles values at ±∞ and NaN.
#include <cmath>

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
  for (std::size_t i = 0; i < count; ++i) out[i] = static_cast<float>(impl_->tail(x[i]));
}

void KdeEvaluator::upper_tail(const double* x, std::size_t count, double* out) const {
  for (std::size_t i = 0; i < count; ++i) out[i] = impl_->tail(x[i]);
}

void KdeEvaluator::density(const double* x, std::size_t count, double* out) const {
  for (std::size_t i = 0; i < count; ++i) out[i] = impl_->density(x[i]);
}

KdeMethod KdeEvaluator::method() const { return impl_->method; }
double KdeEvaluator::tail_error_bound() const { return impl_->fast ? impl_->fast->tail_error_bound() : 0.0; }
double KdeEvaluator::density_error_bound() const { return impl_->fast ? impl_->fast->density_error_bound() : 0.0; }
const KernelDensity& KdeEvaluator::kde() const { return impl_->kde; }

}  // namespace moeroute
