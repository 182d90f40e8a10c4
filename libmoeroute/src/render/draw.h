// Drawing one laid-out axes onto a canvas.
#pragma once

#include "axes_data.h"
#include "canvas.h"
#include "layout.h"

namespace moeroute::plot::detail {

/// Everything of one axes, back to front: grid, heatmap, charts, frame, ticks, labels,
/// colorbar, legend.
void draw_axes(Canvas& canvas, const AxesData& axes, const Geometry& g);

/// `text` shortened to fit [lo, hi] and the centre nearest `centre` that keeps it inside.
std::pair<std::string, double> place_text(const std::string& text, const Font& font, double centre, double lo, double hi);

void draw_heatmap(Canvas& canvas, const HeatmapSpec& heatmap, const Geometry& g);
void draw_colorbar(Canvas& canvas, const HeatmapSpec& heatmap, const ColorbarGeometry& cb, const Rect& cell);
/// Histograms, bars and lines, clipped to the plot.
void draw_charts(Canvas& canvas, const AxesData& axes, const Geometry& g);
/// The legend in the plot corner that hides the fewest data points; nothing without labels.
void draw_legend(Canvas& canvas, const AxesData& axes, const Geometry& g);

}  // namespace moeroute::plot::detail
