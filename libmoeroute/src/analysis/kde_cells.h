// Binning for the fast KDE evaluators (docs/kde.md, "Fast evaluation"): sorted data cut into
// cells of width δ on a lattice anchored at a data value, the non-empty cells, and the ranges of
// cells that have data within a given reach (only those need precomputed coefficients).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace moeroute::detail {

/// Cells [origin + c·δ, origin + (c + 1)·δ), c an integer. `origin` is a data value (a float),
/// so x − origin is exact for every float x near the data.
struct CellLattice {
  double origin = 0;
  double delta = 1;
  double inv_delta = 1;
  /// The cell holding x; far-away x (beyond ±2⁶² cells) are clamped there, which keeps them
  /// outside every range of data.
  int64_t cell_of(double x) const {
    const double c = std::floor((x - origin) * inv_delta);
    return static_cast<int64_t>(c < -0x1p62 ? -0x1p62 : c > 0x1p62 ? 0x1p62 : c);
  }
  /// x's offset from the centre of cell c, in units of `scale` (the bandwidth).
  double offset(double x, int64_t c, double inv_scale) const {
    return ((x - origin) - (static_cast<double>(c) + 0.5) * delta) * inv_scale;
  }
};

/// Lattice for `sorted` with cell width δ. Throws InputError when the data span more than
/// 2⁵⁰ cells (logits spread over a range that wide relative to the bandwidth need the exact
/// method).
CellLattice make_lattice(const std::vector<float>& sorted, double delta);

/// The non-empty cells of sorted data: cell `index[c]` holds data [begin[c], begin[c + 1]).
struct DataCells {
  std::vector<int64_t> index;  ///< ascending
  std::vector<int64_t> begin;  ///< index.size() + 1 entries
  int64_t max_count = 0;       ///< most points in one cell
  std::size_t size() const { return index.size(); }
  /// Number of data points in cells with index > m.
  int64_t count_above(int64_t m) const;
  /// Position in `index` of the first cell with index ≥ m.
  std::size_t first_at_or_above(int64_t m) const;
};
DataCells bin_sorted(const std::vector<float>& sorted, const CellLattice& lattice);

/// Merged intervals [lo, hi] of cells within `reach` of a non-empty cell, and a slot for each
/// of their cells in per-cell arrays.
struct ActiveRanges {
  static constexpr std::size_t npos = std::numeric_limits<std::size_t>::max();
  std::vector<int64_t> lo, hi;     ///< inclusive bounds, ascending, disjoint
  std::vector<std::size_t> first;  ///< slot of cell lo[r]
  std::size_t total = 0;           ///< slots in all ranges
  /// Slot of cell m, or npos when m is in no range.
  std::size_t slot(int64_t m) const;
};
ActiveRanges active_ranges(const DataCells& cells, int64_t reach);

/// Calls fn(m, slot, j_begin, j_end) for every active cell m, where cells [j_begin, j_end) of
/// `cells` are those with index in [m − reach, m + reach].
template <typename Fn>
void for_each_active_cell(const DataCells& cells, const ActiveRanges& ranges, int64_t reach, Fn&& fn) {
  std::size_t jb = 0, je = 0;
  for (std::size_t r = 0; r < ranges.lo.size(); ++r)
    for (int64_t m = ranges.lo[r]; m <= ranges.hi[r]; ++m) {
      while (jb < cells.size() && cells.index[jb] < m - reach) ++jb;
      if (je < jb) je = jb;
      while (je < cells.size() && cells.index[je] <= m + reach) ++je;
      fn(m, ranges.first[r] + static_cast<std::size_t>(m - ranges.lo[r]), jb, je);
    }
}

}  // namespace moeroute::detail
