// Heatmap cells and their colorbar.
#include <cmath>

#include "draw.h"
#include "style.h"

namespace moeroute::plot::detail {

using namespace style;

void draw_heatmap(Canvas& c, const HeatmapSpec& h, const Geometry& g) {
  const auto [vmin, vmax] = color_range(h);
  std::vector<Color> colors;
  colors.reserve(h.values.size());
  for (double v : h.values) colors.push_back(colormap_color(h.colormap, (v - vmin) / (vmax - vmin)));
  const double x0 = g.x.map(h.x0 - 0.5), x1 = g.x.map(h.x0 + static_cast<double>(h.cols) - 0.5);
  const double y0 = g.y.map(-0.5), y1 = g.y.map(static_cast<double>(h.rows) - 0.5);
  c.push_clip(g.plot);
  c.cells({std::min(x0, x1), std::min(y0, y1), std::abs(x1 - x0), std::abs(y1 - y0)}, h.rows, h.cols, colors);
  c.pop_clip();
}

void draw_colorbar(Canvas& c, const HeatmapSpec& h, const ColorbarGeometry& cb, const Rect& cell) {
  c.ramp(cb.ramp, h.colormap);
  c.stroke_rect(cb.ramp, kInk, 0.8);
  const double right = cb.ramp.x + cb.ramp.w;
  for (std::size_t i = 0; i < cb.ticks.size(); ++i) {
    const double py = cb.value(cb.ticks[i]);
    c.polyline({{right, py}, {right + kTickLength, py}}, kInk, kSpineWidth);
    c.text({right + kTickLength + kTickGap, py}, cb.labels[i], kTickFont, kInk, HAlign::Left, VAlign::Middle);
  }
  if (cb.nan_swatch.w > 0) {
    c.fill_rect(cb.nan_swatch, kNanColor);
    c.stroke_rect(cb.nan_swatch, kInk, 0.8);
    c.text({right + kTickLength + kTickGap, cb.nan_swatch.y + cb.nan_swatch.h / 2}, "NaN", kTickFont, kInk,
           HAlign::Left, VAlign::Middle);
  }
  if (!h.colorbar_label.empty()) {
    const auto [s, y] = place_text(h.colorbar_label, kLabelFont, cb.ramp.y + cb.ramp.h / 2, cell.y + kPad, cell.y + cell.h - kPad);
    c.text({cb.label_x, y}, s, kLabelFont, kInk, HAlign::Center, VAlign::Top, true);
  }
}

}  // namespace moeroute::plot::detail
