// Layout of one axes: margins from measured text, the plot rectangle, ticks that never overlap
// and the colorbar. render and Figure::layout share it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "axes_data.h"
#include "canvas.h"

namespace moeroute::plot::detail {

struct AxisGeometry {
  double lo = 0;                     ///< data range shown (lo maps to the left/bottom …
  double hi = 1;                     ///< … unless inverted)
  bool inverted = false;             ///< y only: lo at the top (heatmap rows)
  bool categorical = false;          ///< ticks are category indices with names
  LinearTransform map;               ///< data → figure
  std::vector<double> ticks;         ///< data positions of labelled ticks
  std::vector<std::string> labels;   ///< one per tick
  bool vertical_labels = false;      ///< x only: labels turned to read upwards
  double label_extent = 0;           ///< space the labels take across the axis
};

struct ColorbarGeometry {
  double vmin = 0;
  double vmax = 1;
  Rect ramp;
  LinearTransform value;             ///< value → figure y
  std::vector<double> ticks;
  std::vector<std::string> labels;
  Rect nan_swatch;                   ///< w = 0: no NaN cells
  double label_x = 0;                ///< centre line of the vertical colorbar label
};

struct Geometry {
  Rect cell;
  Rect plot;
  AxisGeometry x;
  AxisGeometry y;
  std::optional<ColorbarGeometry> colorbar;
  double title_y = 0;   ///< baseline of the title
  double xlabel_y = 0;  ///< top of the x axis label
  double ylabel_x = 0;  ///< left edge of the (vertical) y axis label
};

/// Computes the layout of `axes` inside `cell`. Throws InputError on inconsistent specs.
Geometry compute_geometry(const AxesData& axes, const Rect& cell);

/// The colour scale of a heatmap: explicit vmin/vmax, else the finite data range (symmetric
/// around 0 for diverging maps), widened when degenerate.
std::pair<double, double> color_range(const HeatmapSpec& heatmap);

}  // namespace moeroute::plot::detail
