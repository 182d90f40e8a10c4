// Axes furniture: grid, frame or spines, ticks, tick labels, axis labels and title.
#include <algorithm>
#include <cmath>

#include "draw.h"
#include "style.h"

namespace moeroute::plot::detail {

using namespace style;

namespace {

void draw_ticks(Canvas& c, const Geometry& g) {
  const double bottom = g.plot.y + g.plot.h;
  for (std::size_t i = 0; i < g.x.ticks.size(); ++i) {
    const double px = g.x.map(g.x.ticks[i]);
    c.polyline({{px, bottom}, {px, bottom + kTickLength}}, kInk, kSpineWidth);
    const Point at{px, bottom + kTickLength + kTickGap};
    if (g.x.vertical_labels) c.text(at, g.x.labels[i], kTickFont, kInk, HAlign::Right, VAlign::Middle, true);
    else c.text(at, g.x.labels[i], kTickFont, kInk, HAlign::Center, VAlign::Top);
  }
  for (std::size_t i = 0; i < g.y.ticks.size(); ++i) {
    const double py = g.y.map(g.y.ticks[i]);
    c.polyline({{g.plot.x - kTickLength, py}, {g.plot.x, py}}, kInk, kSpineWidth);
    c.text({g.plot.x - kTickLength - kTickGap, py}, g.y.labels[i], kTickFont, kInk, HAlign::Right, VAlign::Middle);
  }
}

void draw_labels(Canvas& c, const AxesData& a, const Geometry& g) {
  const Rect& cell = g.cell;
  const AxesStyle st = axes_style(a.compact);
  const double cx = g.plot.x + g.plot.w / 2, cy = g.plot.y + g.plot.h / 2;
  if (!a.x.label.empty()) {
    const auto [s, x] = place_text(a.x.label, kLabelFont, cx, cell.x + st.pad, cell.x + cell.w - st.pad);
    c.text({x, g.xlabel_y}, s, kLabelFont, kInk, HAlign::Center, VAlign::Top);
  }
  if (!a.y.label.empty()) {
    const auto [s, y] = place_text(a.y.label, kLabelFont, cy, cell.y + st.pad, cell.y + cell.h - st.pad);
    c.text({g.ylabel_x, y}, s, kLabelFont, kInk, HAlign::Center, VAlign::Bottom, true);
  }
  if (!a.title.empty()) {  // centred over the plot unless that pushes it out of the cell
    const auto [s, x] = place_text(a.title, st.title, cx, cell.x + st.pad, cell.x + cell.w - st.pad);
    c.text({x, g.title_y}, s, st.title, kInk, HAlign::Center, VAlign::Baseline);
  }
}

}  // namespace

std::pair<std::string, double> place_text(const std::string& text, const Font& font, double centre, double lo, double hi) {
  const std::string s = fit_text(sanitize_utf8(text), font, hi - lo);
  const double w = measure_text(s, font).width;
  return {s, std::clamp(centre, lo + w / 2, std::max(lo + w / 2, hi - w / 2))};
}

void draw_axes(Canvas& c, const AxesData& a, const Geometry& g) {
  const Rect& p = g.plot;
  if (!a.heatmap && !g.y.categorical)  // light horizontal grid behind charts
    for (double t : g.y.ticks) c.polyline({{p.x, g.y.map(t)}, {p.x + p.w, g.y.map(t)}}, kGrid, 1);
  if (a.heatmap) draw_heatmap(c, *a.heatmap, g);
  draw_charts(c, a, g);
  if (a.heatmap) {
    c.stroke_rect(p, kInk, kSpineWidth);
  } else {  // open left and bottom spines, as in seaborn's "ticks" style
    c.polyline({{p.x, p.y}, {p.x, p.y + p.h}, {p.x + p.w, p.y + p.h}}, kInk, kSpineWidth);
  }
  draw_ticks(c, g);
  draw_labels(c, a, g);
  if (g.colorbar) draw_colorbar(c, *a.heatmap, *g.colorbar, g.cell);
  draw_legend(c, a, g);
}

}  // namespace moeroute::plot::detail
