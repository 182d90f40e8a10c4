// Histogram binning with numpy.histogram's conventions (half-open bins, last one closed).
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "analysis/quantile.h"
#include "moeroute/error.h"
#include "moeroute/plot.h"

namespace moeroute::plot {

namespace {

// Upper bound on bins: beyond it bars are thinner than a pixel anyway.
constexpr std::size_t kMaxBins = 10000;

// NumPy's "auto" bin width: the smaller of Freedman–Diaconis and Sturges (Sturges alone when
// the IQR is 0), both from the samples inside the range; a zero width means one bin.
std::size_t auto_bins(std::vector<double> x, double lo, double hi) {
  std::sort(x.begin(), x.end());
  const double n = static_cast<double>(x.size());
  const double sturges = (x.back() - x.front()) / (std::log2(n) + 1.0);
  const double fd = 2.0 * (moeroute::detail::quantile_sorted(x, 0.75) - moeroute::detail::quantile_sorted(x, 0.25)) * std::pow(n, -1.0 / 3.0);
  const double width = fd > 0 ? std::min(fd, sturges) : sturges;
  if (!(width > 0)) return 1;
  return static_cast<std::size_t>(std::max(1.0, std::ceil((hi - lo) / width)));
}

}  // namespace

Histogram bin_histogram(const HistogramSpec& spec) {
  if (spec.samples.empty()) throw InputError("plot histogram: empty data (no samples)");
  if (spec.bins < 0) throw InputError(fmt::format("plot histogram: bins must be ≥ 0, got {}", spec.bins));
  std::vector<double> finite;
  for (double v : spec.samples)
    if (std::isfinite(v)) finite.push_back(v);
  if (finite.empty()) throw InputError("plot histogram: no finite samples");
  const auto [mn, mx] = std::minmax_element(finite.begin(), finite.end());
  double lo = spec.lo.value_or(*mn), hi = spec.hi.value_or(*mx);
  if (!(std::isfinite(lo) && std::isfinite(hi) && lo <= hi))
    throw InputError(fmt::format("plot histogram: need finite lo ≤ hi, got [{}, {}]", lo, hi));
  if (lo == hi) {  // numpy widens a degenerate range by ±0.5
    lo -= 0.5;
    hi += 0.5;
  }
  std::vector<double> inside;
  for (double v : finite)
    if (v >= lo && v <= hi) inside.push_back(v);
  if (inside.empty())
    throw InputError(fmt::format("plot histogram: no samples inside [{}, {}]", lo, hi));

  const std::size_t bins = std::min(kMaxBins, spec.bins > 0 ? static_cast<std::size_t>(spec.bins) : auto_bins(inside, lo, hi));
  Histogram out;
  for (std::size_t i = 0; i <= bins; ++i) out.edges.push_back(lo + (hi - lo) * static_cast<double>(i) / static_cast<double>(bins));
  out.heights.assign(bins, 0.0);
  for (double v : inside) {
    auto i = static_cast<std::size_t>((v - lo) / (hi - lo) * static_cast<double>(bins));
    out.heights[std::min(i, bins - 1)] += 1;
  }
  if (spec.density) {
    const double width = (hi - lo) / static_cast<double>(bins), total = static_cast<double>(inside.size());
    for (double& h : out.heights) h /= total * width;
  }
  return out;
}

}  // namespace moeroute::plot
