// Fitting a KernelDensity (SciPy's bandwidth rules) and the exact, directly summed evaluation.
#include "moeroute/kde.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "analysis/kde_kernels.h"
#include "core/enum_names.h"
#include "core/parse_number.h"
#include "io/csv.h"
#include "moeroute/error.h"

namespace moeroute {

namespace {

constexpr detail::EnumNames<KdeKernel, 3> kKernels{
    "kernel", {{{KdeKernel::Gaussian, "gaussian"}, {KdeKernel::Epanechnikov, "epanechnikov"}, {KdeKernel::Tophat, "tophat"}}}};
constexpr detail::EnumNames<KdeMethod, 3> kMethods{
    "method", {{{KdeMethod::Auto, "auto"}, {KdeMethod::Exact, "exact"}, {KdeMethod::Fast, "fast"}}}};

}  // namespace

std::string to_string(KdeKernel kernel) { return kKernels.name(kernel); }
KdeKernel parse_kde_kernel(const std::string& text) { return kKernels.parse(text); }
std::string to_string(KdeMethod method) { return kMethods.name(method); }
KdeMethod parse_kde_method(const std::string& text) { return kMethods.parse(text); }

std::string to_string(const BandwidthRule& rule) {
  switch (rule.kind) {
    case BandwidthRule::Kind::Scott: return "scott";
    case BandwidthRule::Kind::Silverman: return "silverman";
    case BandwidthRule::Kind::Factor: return detail::format_number(rule.factor);
  }
  return "?";
}

BandwidthRule parse_bandwidth_rule(const std::string& text) {
  if (text == "scott") return {BandwidthRule::Kind::Scott, 0};
  if (text == "silverman") return {BandwidthRule::Kind::Silverman, 0};
  const auto v = detail::parse_number<double>(text);
  if (!v || !std::isfinite(*v) || *v <= 0)
    throw InputError(fmt::format("bandwidth '{}' is not 'scott', 'silverman' or a positive number (the factor "
                                 "multiplying the data's standard deviation, as SciPy's bw_method)",
                                 text));
  return {BandwidthRule::Kind::Factor, *v};
}

double bandwidth_factor(const BandwidthRule& rule, int64_t n) {
  const double neff = static_cast<double>(n);  // 1 / Σ wᵢ² with wᵢ = 1/n
  switch (rule.kind) {
    case BandwidthRule::Kind::Scott: return std::pow(neff, -0.2);
    case BandwidthRule::Kind::Silverman: return std::pow(neff * 3.0 / 4.0, -0.2);
    case BandwidthRule::Kind::Factor: return rule.factor;
  }
  return 0;
}

namespace {

struct Moments {
  double mean = 0, std_dev = 0;
};

// Two passes in double, as numpy.cov(aweights = 1/n, bias = False): Σ (x − mean)² / (n − 1).
Moments sample_moments(const std::vector<float>& data) {
  double sum = 0;
  for (float v : data) sum += v;
  const double mean = sum / static_cast<double>(data.size());
  double ss = 0;
  for (float v : data) ss += (v - mean) * (v - mean);
  return {mean, std::sqrt(ss / static_cast<double>(data.size() - 1))};
}

void check_sample(const std::vector<float>& data, const std::string& what) {
  for (size_t i = 0; i < data.size(); ++i)
    if (!std::isfinite(data[i]))
      throw InputError(fmt::format("{}: value {} is {}: a KDE needs finite logits", what, i, data[i]));
  if (data.size() < 2)
    throw InputError(fmt::format("{}: {} value{}: a KDE needs at least 2 (the bandwidth is a multiple of the "
                                 "standard deviation)",
                                 what, data.size(), data.size() == 1 ? "" : "s"));
}

bool close(double a, double b) { return std::abs(a - b) <= 1e-12 * std::max(std::abs(a), std::abs(b)); }

}  // namespace

KernelDensity KernelDensity::fit(std::vector<float> data, KdeKernel kernel, const BandwidthRule& rule,
                                 const std::string& what) {
  check_sample(data, what);
  std::sort(data.begin(), data.end());
  if (data.front() == data.back())
    throw InputError(fmt::format("{}: all {} values equal {}: the standard deviation and so the bandwidth are 0 "
                                 "(docs/kde.md, \"Degenerate data\")",
                                 what, data.size(), data.front()));
  KernelDensity k;
  const Moments m = sample_moments(data);
  k.data_ = std::make_shared<const std::vector<float>>(std::move(data));
  k.mean_ = m.mean;
  k.std_dev_ = m.std_dev;
  return k.refit(kernel, rule);
}

KernelDensity KernelDensity::refit(KdeKernel kernel, const BandwidthRule& rule) const {
  if (rule.kind == BandwidthRule::Kind::Factor && !(std::isfinite(rule.factor) && rule.factor > 0))
    throw InputError(fmt::format("bandwidth factor {} is not a positive finite number", rule.factor));
  KernelDensity k = *this;
  k.kernel_ = kernel;
  k.rule_ = rule;
  k.factor_ = bandwidth_factor(rule, size());
  k.bandwidth_ = k.factor_ * k.std_dev_;
  return k;
}

KernelDensity KernelDensity::from_parts(std::shared_ptr<const std::vector<float>> sorted, KdeKernel kernel,
                                        const BandwidthRule& rule, double factor, double std_dev, double bandwidth,
                                        const std::string& what) {
  if (!sorted) throw InputError(fmt::format("{}: no data", what));
  check_sample(*sorted, what);
  if (!std::is_sorted(sorted->begin(), sorted->end()))
    throw InputError(fmt::format("{}: the data are not sorted ascending", what));
  if (sorted->front() == sorted->back())
    throw InputError(fmt::format("{}: all values are equal: zero bandwidth", what));
  KernelDensity k;
  const Moments m = sample_moments(*sorted);
  k.data_ = std::move(sorted);
  k.mean_ = m.mean;
  k.std_dev_ = m.std_dev;
  k = k.refit(kernel, rule);
  // Stored numbers are what fit() computed from these data; anything else means a damaged or
  // hand-edited file. (1e-12: the sums above may round differently by a few ulps per value.)
  if (!close(std_dev, k.std_dev_) || !close(factor, k.factor_) || !close(bandwidth, k.bandwidth_))
    throw InputError(fmt::format("{}: stored std {}, factor {}, bandwidth {} disagree with the data's {}, {}, {}",
                                 what, std_dev, factor, bandwidth, k.std_dev_, k.factor_, k.bandwidth_));
  return k;
}

namespace {

// Neumaier-compensated sum of f(u_i) over the data: the result is as exact as the terms.
template <typename F>
double kernel_sum(const KernelDensity& kde, double x, F f) {
  const double inv_h = 1.0 / kde.bandwidth();
  double sum = 0, comp = 0;
  for (float xi : kde.sorted_data()) {
    const double t = f((x - xi) * inv_h);
    const double s = sum + t;
    comp += std::abs(sum) >= std::abs(t) ? (sum - s) + t : (t - s) + sum;
    sum = s;
  }
  return sum + comp;
}

}  // namespace

double kde_density_exact(const KernelDensity& kde, double x) {
  const KdeKernel kernel = kde.kernel();
  const double sum = kernel_sum(kde, x, [kernel](double u) { return detail::kernel_density(kernel, u); });
  return sum / (static_cast<double>(kde.size()) * kde.bandwidth());
}

double kde_upper_tail_exact(const KernelDensity& kde, double x) {
  const KdeKernel kernel = kde.kernel();
  const double sum = kernel_sum(kde, x, [kernel](double u) { return detail::kernel_upper_tail(kernel, u); });
  return std::min(1.0, sum / static_cast<double>(kde.size()));
}

}  // namespace moeroute
