// numpy.quantile's default ("linear", type 7) on sorted data.
#pragma once

#include <cstddef>
#include <vector>

namespace moeroute::detail {

/// The q-quantile (q in [0, 1]) of non-empty ascending `sorted`: position q·(n − 1),
/// interpolated linearly between its neighbours.
template <typename T>
double quantile_sorted(const std::vector<T>& sorted, double q) {
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const auto i = static_cast<std::size_t>(pos);
  const double frac = pos - static_cast<double>(i);
  const double lo = sorted[i];
  return i + 1 < sorted.size() ? lo + frac * (static_cast<double>(sorted[i + 1]) - lo) : lo;
}

}  // namespace moeroute::detail
