// The fast KDE evaluators behind KdeEvaluator (docs/kde.md, "Fast evaluation").
#pragma once

#include <memory>

#include "moeroute/kde.h"

namespace moeroute::detail {

class FastKde {
 public:
  virtual ~FastKde() = default;
  virtual double upper_tail(double x) const = 0;
  virtual double density(double x) const = 0;
  virtual double tail_error_bound() const = 0;
  virtual double density_error_bound() const = 0;
};

/// Gaussian kernel: Taylor expansion of Φ(−u) and φ(u) in the offsets of data and query from
/// their cell centres, of the order and cell width that keep the upper-tail error ≤ tolerance.
std::unique_ptr<FastKde> make_fast_gaussian(const KernelDensity& kde, double tolerance);
/// Epanechnikov / top-hat: the kernels are polynomials on their support, so cell moments give
/// exact sums; the cells that straddle x ± h are split by binary search.
std::unique_ptr<FastKde> make_fast_compact(const KernelDensity& kde);

/// Unit roundoff of double, 2⁻⁵³.
inline constexpr double kUnitRoundoff = 0x1p-53;

}  // namespace moeroute::detail
