#include "analysis/kde_cells.h"

#include <algorithm>

#include <fmt/format.h>

#include "moeroute/error.h"

namespace moeroute::detail {

CellLattice make_lattice(const std::vector<float>& sorted, double delta) {
  CellLattice lat;
  lat.origin = sorted[sorted.size() / 2];
  lat.delta = delta;
  lat.inv_delta = 1.0 / delta;
  const double span = (static_cast<double>(sorted.back()) - sorted.front()) * lat.inv_delta;
  if (!(span < 0x1p50))
    throw InputError(fmt::format("the data span {} to {} is {:.3g} cells of the fast method's width {:.3g}: too "
                                 "wide; use the exact method",
                                 sorted.front(), sorted.back(), span, delta));
  return lat;
}

DataCells bin_sorted(const std::vector<float>& sorted, const CellLattice& lattice) {
  DataCells cells;
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    const int64_t c = lattice.cell_of(sorted[i]);
    if (cells.index.empty() || c != cells.index.back()) {
      cells.index.push_back(c);
      cells.begin.push_back(static_cast<int64_t>(i));
    }
  }
  cells.begin.push_back(static_cast<int64_t>(sorted.size()));
  for (std::size_t c = 0; c < cells.size(); ++c)
    cells.max_count = std::max(cells.max_count, cells.begin[c + 1] - cells.begin[c]);
  return cells;
}

std::size_t DataCells::first_at_or_above(int64_t m) const {
  return static_cast<std::size_t>(std::lower_bound(index.begin(), index.end(), m) - index.begin());
}

int64_t DataCells::count_above(int64_t m) const {
  return begin.back() - begin[first_at_or_above(m + 1)];  // |m| ≤ 2⁶² + reach: no overflow
}

std::size_t ActiveRanges::slot(int64_t m) const {
  const auto it = std::upper_bound(lo.begin(), lo.end(), m);
  if (it == lo.begin()) return npos;
  const std::size_t r = static_cast<std::size_t>(it - lo.begin()) - 1;
  return m <= hi[r] ? first[r] + static_cast<std::size_t>(m - lo[r]) : npos;
}

ActiveRanges active_ranges(const DataCells& cells, int64_t reach) {
  ActiveRanges a;
  for (int64_t c : cells.index) {
    if (!a.hi.empty() && c - reach <= a.hi.back() + 1) {
      a.hi.back() = c + reach;
    } else {
      a.lo.push_back(c - reach);
      a.hi.push_back(c + reach);
    }
  }
  for (std::size_t r = 0; r < a.lo.size(); ++r) {
    a.first.push_back(a.total);
    a.total += static_cast<std::size_t>(a.hi[r] - a.lo[r] + 1);
  }
  return a;
}

}  // namespace moeroute::detail
