// One-dimensional kernel density estimates (KDE) of router logits: fitting with SciPy's
// bandwidth rules, exact and fast evaluation of densities and upper-tail probabilities.
// Definitions, error bounds and the model file: docs/kde.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace moeroute {

/// Kernel shapes, each scaled by the bandwidth h as scikit-learn's KernelDensity scales them
/// (docs/kde.md, "Kernels"): the Gaussian's standard deviation is h; the compact kernels live on
/// (−h, h).
enum class KdeKernel {
  Gaussian,      ///< φ(u) = exp(−u²/2)/√(2π), u = (x − xᵢ)/h: SciPy's gaussian_kde
  Epanechnikov,  ///< ¾(1 − u²) for |u| < 1
  Tophat,        ///< ½ for |u| < 1
};
/// "gaussian", "epanechnikov", "tophat".
std::string to_string(KdeKernel kernel);
/// Inverse of to_string; throws InputError listing the choices otherwise.
KdeKernel parse_kde_kernel(const std::string& text);

/// How the bandwidth follows from the data, as SciPy's gaussian_kde `bw_method`: h = factor ×
/// the weighted sample standard deviation (ddof 1), with neff = 1 / Σ wᵢ² (n for equal weights).
struct BandwidthRule {
  enum class Kind {
    Scott,      ///< factor = neff^(−1/5)
    Silverman,  ///< factor = (3·neff/4)^(−1/5)
    Factor,     ///< a fixed factor (SciPy's scalar bw_method — not the kernel width itself)
  };
  Kind kind = Kind::Scott;  ///< SciPy's default
  double factor = 0;        ///< Factor only: the number, > 0 and finite
};
/// "scott", "silverman" or the factor's shortest round-trip decimal ("0.25").
std::string to_string(const BandwidthRule& rule);
/// "scott", "silverman" or a positive finite number; throws InputError otherwise.
BandwidthRule parse_bandwidth_rule(const std::string& text);

/// A fitted KDE of one sample with equal weights 1/n: the sorted data and its bandwidth.
/// Copies share the data.
class KernelDensity {
 public:
  /// Fits `data` (any order). Throws InputError naming `what` (a layer) when a value is not
  /// finite, when n < 2 (the standard deviation needs two values) or when every value is equal
  /// (zero bandwidth: docs/kde.md, "Degenerate data").
  static KernelDensity fit(std::vector<float> data, KdeKernel kernel, const BandwidthRule& rule,
                           const std::string& what);
  /// The same data under another kernel or rule (a model's variants share their data).
  KernelDensity refit(KdeKernel kernel, const BandwidthRule& rule) const;
  /// Rebuilds a stored KDE (a model file): `sorted` ascending and finite, the numbers as fitted.
  /// Checks them against each other; throws InputError naming `what` otherwise.
  static KernelDensity from_parts(std::shared_ptr<const std::vector<float>> sorted, KdeKernel kernel,
                                  const BandwidthRule& rule, double factor, double std_dev, double bandwidth,
                                  const std::string& what);

  KdeKernel kernel() const { return kernel_; }
  const BandwidthRule& rule() const { return rule_; }
  double factor() const { return factor_; }        ///< bandwidth / std_dev
  double std_dev() const { return std_dev_; }      ///< sample standard deviation, ddof 1
  double mean() const { return mean_; }            ///< sample mean
  double bandwidth() const { return bandwidth_; }  ///< h
  int64_t size() const { return static_cast<int64_t>(data_->size()); }
  const std::vector<float>& sorted_data() const { return *data_; }
  const std::shared_ptr<const std::vector<float>>& shared_data() const { return data_; }

 private:
  KernelDensity() = default;
  std::shared_ptr<const std::vector<float>> data_;
  KdeKernel kernel_ = KdeKernel::Gaussian;
  BandwidthRule rule_;
  double mean_ = 0, std_dev_ = 0, factor_ = 0, bandwidth_ = 0;
};

/// The bandwidth factor of `rule` for `n` equally weighted points.
double bandwidth_factor(const BandwidthRule& rule, int64_t n);

/// f(x) = (1/(n h)) Σ K((x − xᵢ)/h), summed directly: gaussian_kde.evaluate for the Gaussian.
double kde_density_exact(const KernelDensity& kde, double x);
/// P(X ≥ x) = (1/n) Σ S((x − xᵢ)/h) with the kernel's upper tail S, summed directly: SciPy's
/// integrate_box_1d(x, inf) for the Gaussian, computed as Φ(−u) (erfc) so that small tails keep
/// their relative precision.
double kde_upper_tail_exact(const KernelDensity& kde, double x);

/// How KdeEvaluator computes.
enum class KdeMethod {
  Auto,   ///< Exact when n × expected queries ≤ KdeEvalOptions::exact_limit, else Fast
  Exact,  ///< direct sums, O(n) per query
  Fast,   ///< binned with a bounded error (docs/kde.md, "Fast evaluation"), O(1) per query
};
std::string to_string(KdeMethod method);    ///< "auto", "exact", "fast"
KdeMethod parse_kde_method(const std::string& text);

struct KdeEvalOptions {
  KdeMethod method = KdeMethod::Auto;  ///< see KdeMethod
  double tolerance = 1e-10;            ///< Fast, Gaussian: target bound on |error| of an upper-tail probability
  double exact_limit = 1e6;            ///< Auto: largest n × queries summed directly (≈ 25 ms)
};

/// Evaluates one KDE at many points. Construction does the set-up (binning: O(n)); evaluation
/// is thread-safe. Fast is exact up to rounding for the compact kernels and within
/// tail_error_bound() / density_error_bound() for the Gaussian.
class KdeEvaluator {
 public:
  /// `expected_queries` only steers KdeMethod::Auto.
  KdeEvaluator(const KernelDensity& kde, const KdeEvalOptions& options, int64_t expected_queries);
  ~KdeEvaluator();
  KdeEvaluator(KdeEvaluator&&) noexcept;
  KdeEvaluator& operator=(KdeEvaluator&&) noexcept;

  /// Upper-tail probabilities P(X ≥ x[i]) into out[i]. NaN in x throws InputError.
  void upper_tail(const float* x, std::size_t count, float* out) const;
  void upper_tail(const double* x, std::size_t count, double* out) const;
  /// Densities f(x[i]) into out[i].
  void density(const double* x, std::size_t count, double* out) const;

  KdeMethod method() const;  ///< Exact or Fast (Auto resolved)
  /// Bound on |computed − exact| for upper_tail (absolute, in probability); 0 for Exact. A
  /// float output adds its own rounding (≤ 2⁻²⁴ relative).
  double tail_error_bound() const;
  /// Bound on |computed − exact| for density (absolute, in 1/logit units); 0 for Exact.
  double density_error_bound() const;
  const KernelDensity& kde() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace moeroute
