// Tick placement: 1-2-5 steps for numeric axes, strides for categorical ones.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

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

namespace {

// Fewest decimals that represent `step` exactly (0.2 → 1, 0.25 → 2, 50 → 0).
int fixed_decimals(double step) {
  int decimals = std::max(0, -static_cast<int>(std::floor(std::log10(step) + 1e-9)));
  while (decimals < 12) {
    const double scaled = step * std::pow(10.0, decimals);
    if (std::abs(scaled - std::round(scaled)) <= 1e-6 * scaled) break;
    ++decimals;
  }
  return decimals;
}

std::string typographic_minus(std::string s) {
  if (!s.empty() && s[0] == '-') s = "−" + s.substr(1);  // as matplotlib
  return s;
}

}  // namespace

std::vector<std::string> format_ticks(const std::vector<double>& values, double step) {
  double top = 0;
  for (double v : values)
    if (std::isfinite(v) && std::abs(v) >= step * 1e-6) top = std::max(top, std::abs(v));
  std::vector<std::string> out;
  const bool sci = top >= 1e6 || (step < 1e-4 && top > 0);
  // Scientific labels share the largest tick's exponent, so an axis never mixes "0.000000" with
  // "5e-15" or "1e-14" with "1.5e-14": 0, 0.5e-14, 1.0e-14, 1.5e-14.
  const int exponent = sci ? static_cast<int>(std::floor(std::log10(top))) : 0;
  const double unit = std::pow(10.0, exponent);
  const int decimals = fixed_decimals(step / unit);
  const std::string suffix = sci ? fmt::format("e{}{:02d}", exponent < 0 ? '-' : '+', std::abs(exponent)) : "";
  for (double v : values) {
    if (!std::isfinite(v)) {
      out.push_back(v > 0 ? "∞" : v < 0 ? "−∞" : "NaN");
      continue;
    }
    if (std::abs(v) < step * 1e-6) v = 0;  // no "-0" or 1e-17 at the origin
    if (sci && v == 0) {
      out.push_back("0");
      continue;
    }
    out.push_back(typographic_minus(fmt::format("{:.{}f}", v / unit, decimals) + suffix));
  }
  return out;
}

std::string format_tick(double value, double step) { return format_ticks({value}, step)[0]; }

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
