// Tick placement: 1-2-5 steps for numeric axes, strides for categorical ones.
#include <cmath>

#include <fmt/format.h>

#include "moeroute/error.h"
#include "moeroute/plot.h"

namespace moeroute::plot {

namespace {
// Relative slack so that ticks at the range ends survive rounding (0.1 · 3 ≠ 0.3).
constexpr double kSlack = 1e-9;

// Number of multiples of `step` in [lo, hi].
double count_multiples(double lo, double hi, double step) {
  const double eps = kSlack * (hi - lo);
  return std::floor((hi + eps) / step) - std::ceil((lo - eps) / step) + 1;
}
}  // namespace

double nice_step(double lo, double hi, int max_ticks) {
  if (!(std::isfinite(lo) && std::isfinite(hi) && lo < hi))
    throw InputError(fmt::format("ticks: need a finite range lo < hi, got [{}, {}]", lo, hi));
  max_ticks = std::max(max_ticks, 2);
  // Start one decade below the span / max_ticks estimate and walk up 1, 2, 5, 10, …
  double decade = std::pow(10.0, std::floor(std::log10((hi - lo) / max_ticks)) - 1);
  for (;;) {
    for (double m : {1.0, 2.0, 5.0}) {
      const double step = m * decade;
      if (count_multiples(lo, hi, step) <= max_ticks) return step;
    }
    decade *= 10;
  }
}

std::vector<double> nice_ticks(double lo, double hi, int max_ticks) {
  const double step = nice_step(lo, hi, max_ticks);
  const double eps = kSlack * (hi - lo);
  std::vector<double> ticks;
  const double first = std::ceil((lo - eps) / step), last = std::floor((hi + eps) / step);
  for (double k = first; k <= last; ++k) {
    const double v = k * step;
    ticks.push_back(std::abs(v) < eps ? 0.0 : v);  // no -0 or 1e-17 at the origin
  }
  return ticks;
}

std::string format_tick(double value, double step) {
  if (!std::isfinite(value)) return value > 0 ? "∞" : value < 0 ? "−∞" : "NaN";
  if (std::abs(value) < step * 1e-6) value = 0;
  std::string s;
  if (std::abs(value) >= 1e6 || (step < 1e-4 && value != 0)) {
    // Enough significant digits to tell neighbours apart.
    const int digits = std::max(0, static_cast<int>(std::ceil(std::log10(std::abs(value) / step))));
    s = fmt::format("{:.{}e}", value, std::min(digits, 15));
  } else {
    // Fewest decimals that represent the step exactly (0.2 → 1, 0.25 → 2, 50 → 0).
    int decimals = std::max(0, -static_cast<int>(std::floor(std::log10(step) + 1e-9)));
    while (decimals < 12) {
      const double scaled = step * std::pow(10.0, decimals);
      if (std::abs(scaled - std::round(scaled)) <= 1e-6 * scaled) break;
      ++decimals;
    }
    s = fmt::format("{:.{}f}", value, decimals);
  }
  if (s[0] == '-') s = "−" + s.substr(1);  // typographic minus, as matplotlib
  return s;
}

std::size_t category_stride(std::size_t count, double pixels_per_category, double label_extent) {
  if (count <= 1 || pixels_per_category <= 0) return 1;
  for (std::size_t decade = 1;; decade *= 10) {
    for (std::size_t m : {1, 2, 5}) {
      const std::size_t stride = m * decade;
      if (static_cast<double>(stride) * pixels_per_category >= label_extent || stride >= count) return stride;
    }
  }
}

}  // namespace moeroute::plot
