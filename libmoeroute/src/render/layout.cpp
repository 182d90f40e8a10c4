// Axes layout: data ranges, ticks that fit, margins from measured text (iterated to a fixed
// point, since tick labels and plot size depend on each other), and the colorbar.
#include "layout.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "moeroute/error.h"
#include "style.h"

namespace moeroute::plot::detail {

namespace {

using namespace style;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kMargin = 0.05;  // relative padding around lines and bar tops (matplotlib's)

struct Range {
  double lo = kInf;
  double hi = -kInf;
  bool inverted = false;
  bool integer = false;  // index-like axis: ticks only at whole numbers
  void add(double a, double b) {
    lo = std::min(lo, a);
    hi = std::max(hi, b);
  }
  bool empty() const { return lo > hi; }
};

void check_count(const char* axis, std::size_t categories, std::size_t expected, const char* what) {
  if (categories != 0 && categories != expected)
    throw InputError(fmt::format("plot: {} {} category names for {} {}", categories, axis, expected, what));
}

Range x_range(const AxesData& a) {
  Range r;
  const std::size_t nc = a.x.categories.size();
  if (a.heatmap) {
    check_count("x", nc, a.heatmap->cols, "heatmap columns");
    if (nc != 0 && a.heatmap->x0 != 0) throw InputError("plot: a heatmap with x category names needs x0 = 0");
    r.add(a.heatmap->x0 - 0.5, a.heatmap->x0 + static_cast<double>(a.heatmap->cols) - 0.5);
    r.integer = true;
  }
  if (!a.bars.empty()) {
    check_count("x", nc, a.bars.front().heights.size(), "bars");
    r.add(-0.5, static_cast<double>(a.bars.front().heights.size()) - 0.5);
    r.integer = true;
  }
  if (nc != 0) r.add(-0.5, static_cast<double>(nc) - 0.5);
  for (const LineSpec& l : a.lines) {  // lines fill the width; markers get room to show whole
    const auto [mn, mx] = std::minmax_element(l.x.begin(), l.x.end());
    const double pad = l.markers ? kMargin * (*mx > *mn ? *mx - *mn : 1) : 0;
    r.add(*mn - pad, *mx + pad);
  }
  for (const HistogramData& h : a.histograms) r.add(h.edges.front(), h.edges.back());
  return r;
}

Range y_range(const AxesData& a) {
  Range r;
  const std::size_t nc = a.y.categories.size();
  if (a.heatmap) {
    check_count("y", nc, a.heatmap->rows, "heatmap rows");
    r.add(-0.5, static_cast<double>(a.heatmap->rows) - 0.5);
    r.inverted = r.integer = true;
  }
  if (nc != 0) r.add(-0.5, static_cast<double>(nc) - 0.5);
  // Bars and histograms grow from a baseline at 0 that gets no padding.
  auto add_from_zero = [&r](double mn, double mx) {
    const double lo = std::min(0.0, mn), hi = std::max(0.0, mx), span = hi > lo ? hi - lo : 1;
    r.add(lo < 0 ? lo - kMargin * span : lo, hi > 0 || lo == hi ? hi + kMargin * span : hi);
  };
  for (const BarSpec& b : a.bars) {
    double mn = kInf, mx = -kInf;
    for (double h : b.heights)
      if (!std::isnan(h)) mn = std::min(mn, h), mx = std::max(mx, h);
    if (mn <= mx) add_from_zero(mn, mx);
    else add_from_zero(0, 1);  // every bar is n/a
  }
  for (const HistogramData& h : a.histograms) add_from_zero(0, *std::max_element(h.heights.begin(), h.heights.end()));
  for (const LineSpec& l : a.lines) {
    double mn = kInf, mx = -kInf;
    for (double v : l.y)
      if (!std::isnan(v)) mn = std::min(mn, v), mx = std::max(mx, v);
    if (mn > mx) continue;  // all NaN: nothing to show
    const double span = mx > mn ? mx - mn : std::max(std::abs(mx), 1.0);
    r.add(mn - kMargin * span, mx + kMargin * span);
  }
  return r;
}

// Final data range: fixed limits win; an empty or degenerate range is widened.
void settle(Range& r, const std::optional<std::pair<double, double>>& limits) {
  if (limits) {
    r.lo = limits->first;
    r.hi = limits->second;
  }
  if (r.empty()) r.lo = 0, r.hi = 1;
  if (r.lo == r.hi) r.lo -= 0.5, r.hi += 0.5;
}

// Labelled ticks on a numeric axis of `length` units, thinned until the labels fit.
void numeric_ticks(AxisGeometry& g, double length, bool horizontal, bool integer) {
  const TextExtent fe = measure_text("0", kTickFont);
  // At most 10 ticks (matplotlib's MaxNLocator: 9 intervals), fewer on short axes.
  int max_ticks = std::clamp(static_cast<int>(length / (horizontal ? 60 : 40)) + 1, 2, 10);
  for (; max_ticks >= 2; --max_ticks) {
    double step = nice_step(g.lo, g.hi, max_ticks);
    g.ticks.clear();
    if (integer && step < 1) {
      step = 1;
      for (double v = std::ceil(g.lo); v <= g.hi; ++v) g.ticks.push_back(v);
    } else {
      g.ticks = nice_ticks(g.lo, g.hi, max_ticks);
    }
    g.labels = format_ticks(g.ticks, step);
    double widest = 0;
    for (const std::string& label : g.labels) widest = std::max(widest, measure_text(label, kTickFont).width);
    const double spacing = step * length / (g.hi - g.lo);
    g.label_extent = horizontal ? fe.height() : widest;
    if (spacing >= (horizontal ? widest + kLabelSpacing : fe.height() + 4)) return;
  }
}

// Every stride-th category name, turned vertical on the x axis when that shows more of them.
void category_ticks(AxisGeometry& g, const std::vector<std::string>& names, double length, bool horizontal) {
  const std::size_t n = names.size();
  const double per = length / static_cast<double>(n), line = measure_text("Hg", kTickFont).height();
  std::vector<std::string> fitted;
  double widest = 0;
  for (const std::string& name : names) {
    fitted.push_back(fit_text(sanitize_utf8(name), kTickFont, kMaxCategoryLabel));
    widest = std::max(widest, measure_text(fitted.back(), kTickFont).width);
  }
  std::size_t stride = category_stride(n, per, line + 1);
  g.vertical_labels = false;
  if (horizontal) {
    const std::size_t flat = category_stride(n, per, widest + kLabelSpacing);
    g.vertical_labels = flat > stride;
    if (!g.vertical_labels) stride = flat;
  }
  g.ticks.clear();
  g.labels.clear();
  double shown_widest = 0;
  for (std::size_t i = 0; i < n; i += stride) {
    g.ticks.push_back(static_cast<double>(i));
    g.labels.push_back(fitted[i]);
    shown_widest = std::max(shown_widest, measure_text(fitted[i], kTickFont).width);
  }
  g.label_extent = horizontal && !g.vertical_labels ? line : shown_widest;
}

void axis_ticks(AxisGeometry& g, const AxisData& axis, const Range& r, double length, bool horizontal) {
  g.categorical = !axis.categories.empty();
  if (g.categorical) category_ticks(g, axis.categories, length, horizontal);
  else numeric_ticks(g, length, horizontal, r.integer);
}

ColorbarGeometry colorbar_ticks(const HeatmapSpec& h, const Rect& plot) {
  ColorbarGeometry cb;
  std::tie(cb.vmin, cb.vmax) = color_range(h);
  const bool has_nan = std::any_of(h.values.begin(), h.values.end(), [](double v) { return std::isnan(v); });
  const double reserved = has_nan ? kSwatchHeight + kSwatchGap : 0;
  cb.ramp = {plot.x + plot.w + kColorbarGap, plot.y, kColorbarWidth, std::max(plot.h - reserved, 8.0)};
  cb.value = {cb.vmin, cb.vmax, cb.ramp.y + cb.ramp.h, cb.ramp.y};
  if (has_nan) cb.nan_swatch = {cb.ramp.x, plot.y + plot.h - kSwatchHeight, kColorbarWidth, kSwatchHeight};
  AxisGeometry g;
  g.lo = cb.vmin;
  g.hi = cb.vmax;
  numeric_ticks(g, cb.ramp.h, false, false);
  cb.ticks = g.ticks;
  cb.labels = g.labels;
  double widest = has_nan ? measure_text("NaN", kTickFont).width : 0;
  for (const std::string& l : cb.labels) widest = std::max(widest, measure_text(l, kTickFont).width);
  cb.label_x = cb.ramp.x + cb.ramp.w + kTickLength + kTickGap + widest + kLabelGap;
  return cb;
}

}  // namespace

std::pair<double, double> color_range(const HeatmapSpec& h) {
  double mn = kInf, mx = -kInf;
  for (double v : h.values)
    if (std::isfinite(v)) mn = std::min(mn, v), mx = std::max(mx, v);
  if (mn > mx) mn = 0, mx = 1;  // no finite value: any scale will do
  if (h.colormap == Colormap::Coolwarm) {
    const double m = std::max(std::abs(mn), std::abs(mx));
    mn = -m;
    mx = m;
  }
  double lo = h.vmin.value_or(mn), hi = h.vmax.value_or(mx);
  if (lo >= hi) {  // degenerate: keep the fixed end, widen the other
    if (h.vmin && !h.vmax) hi = lo + std::max(std::abs(lo), 1.0);
    else if (h.vmax && !h.vmin) lo = hi - std::max(std::abs(hi), 1.0);
    else lo -= 0.5, hi += 0.5;
  }
  return {lo, hi};
}

Geometry compute_geometry(const AxesData& a, const Rect& cell) {
  if (a.empty()) throw InputError("plot: an axes has nothing to draw (add a heatmap, bars, a line or a histogram)");
  Range xr = x_range(a), yr = y_range(a);
  settle(xr, a.x.limits);
  settle(yr, a.y.limits);

  Geometry g;
  g.cell = cell;
  g.x.lo = xr.lo, g.x.hi = xr.hi;
  g.y.lo = yr.lo, g.y.hi = yr.hi, g.y.inverted = yr.inverted;
  const AxesStyle st = axes_style(a.compact);
  const TextExtent title = measure_text(a.title, st.title), label = measure_text("Hg", kLabelFont);
  const TextExtent tick = measure_text("0", kTickFont);
  const double top = std::round(cell.y + st.pad + (a.title.empty() ? tick.cap / 2 : title.height() + st.title_gap));
  const bool colorbar = a.heatmap && a.heatmap->colorbar;

  double left = 60, right = 20, bottom = 40;
  for (int iteration = 0; iteration < 6; ++iteration) {
    g.plot = {cell.x + left, top, cell.w - left - right, cell.y + cell.h - bottom - top};
    if (g.plot.w < 16 || g.plot.h < 16)
      throw InputError(fmt::format("plot: a {:.0f} × {:.0f} axes is too small for its labels", cell.w, cell.h));
    g.x.map = {g.x.lo, g.x.hi, g.plot.x, g.plot.x + g.plot.w};
    g.y.map = yr.inverted ? LinearTransform{g.y.lo, g.y.hi, g.plot.y, g.plot.y + g.plot.h}
                          : LinearTransform{g.y.lo, g.y.hi, g.plot.y + g.plot.h, g.plot.y};
    axis_ticks(g.x, a.x, xr, g.plot.w, true);
    axis_ticks(g.y, a.y, yr, g.plot.h, false);
    if (colorbar) g.colorbar = colorbar_ticks(*a.heatmap, g.plot);

    // Horizontal x labels may stick out past the plot's ends.
    double overflow_left = 0, overflow_right = 0;
    if (!g.x.vertical_labels && !g.x.ticks.empty()) {
      overflow_left = measure_text(g.x.labels.front(), kTickFont).width / 2 - (g.x.map(g.x.ticks.front()) - g.plot.x);
      overflow_right = measure_text(g.x.labels.back(), kTickFont).width / 2 -
                       (g.plot.x + g.plot.w - g.x.map(g.x.ticks.back()));
    }
    double new_left = st.pad + g.y.label_extent + kTickGap + kTickLength + (a.y.label.empty() ? 0 : label.height() + kLabelGap);
    new_left = std::ceil(std::max(new_left, st.pad + overflow_left));
    double new_right = st.pad + std::max(0.0, overflow_right);
    if (colorbar) {
      const double cb_label = a.heatmap->colorbar_label.empty() ? 0 : label.height();
      new_right = std::max(new_right, g.colorbar->label_x + cb_label - (g.plot.x + g.plot.w) + st.pad);
    }
    new_right = std::ceil(new_right);
    const double new_bottom = std::ceil(kTickLength + kTickGap + g.x.label_extent +
                                        (a.x.label.empty() ? 0 : kLabelGap + label.height()) + st.pad);
    if (new_left == left && new_right == right && new_bottom == bottom) break;
    left = new_left, right = new_right, bottom = new_bottom;
  }
  g.title_y = cell.y + st.pad + title.ascent;
  g.xlabel_y = g.plot.y + g.plot.h + kTickLength + kTickGap + g.x.label_extent + kLabelGap;
  g.ylabel_x = g.plot.x - kTickLength - kTickGap - g.y.label_extent - kLabelGap;
  return g;
}

}  // namespace moeroute::plot::detail
