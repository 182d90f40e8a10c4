// What an Axes holds: validated specs, ready for layout and drawing.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "moeroute/plot.h"

namespace moeroute::plot::detail {

/// A binned histogram with its legend label and colour.
struct HistogramData : Histogram {
  std::string label;
  Color color;
};

struct AxisData {
  std::string label;                               ///< axis title
  std::vector<std::string> categories;             ///< non-empty: a categorical axis
  std::optional<std::pair<double, double>> limits; ///< fixed range, else fitted
};

struct AxesData {
  std::string title;
  AxisData x;
  AxisData y;
  std::optional<bool> legend;            ///< unset: shown when a series has a label
  bool compact = false;                  ///< small-multiples spacing (Axes::set_compact)
  std::optional<HeatmapSpec> heatmap;
  std::vector<BarSpec> bars;             ///< colours resolved
  std::vector<LineSpec> lines;           ///< colours resolved, x filled in
  std::vector<HistogramData> histograms;

  std::size_t series_count() const { return bars.size() + lines.size() + histograms.size(); }
  bool empty() const { return !heatmap && series_count() == 0; }
};

}  // namespace moeroute::plot::detail
