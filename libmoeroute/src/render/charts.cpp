// Histograms, bars and lines, and the legend that names them.
#include <algorithm>
#include <cmath>

#include "draw.h"
#include "style.h"

namespace moeroute::plot::detail {

using namespace style;

namespace {

constexpr double kGroupWidth = 0.8;  // share of a category slot the bars of one group fill

// Overlapping histograms are translucent so that each stays visible.
double histogram_alpha(const AxesData& a) { return a.histograms.size() > 1 ? 0.55 : 1.0; }

void draw_histograms(Canvas& c, const AxesData& a, const Geometry& g) {
  const double alpha = histogram_alpha(a);
  const double base = g.y.map(0);
  for (const HistogramData& h : a.histograms) {
    for (std::size_t i = 0; i < h.heights.size(); ++i) {
      if (h.heights[i] <= 0) continue;
      const double x0 = g.x.map(h.edges[i]), x1 = g.x.map(h.edges[i + 1]), top = g.y.map(h.heights[i]);
      const Rect r{x0, top, x1 - x0, base - top};
      c.fill_rect(r, h.color, alpha);
      if (x1 - x0 >= 4) c.stroke_rect(r, kWhite, 0.6);  // separates wide bins
    }
  }
}

void draw_bars(Canvas& c, const AxesData& a, const Geometry& g) {
  const double k = static_cast<double>(a.bars.size()), width = kGroupWidth / k;
  const double base = g.y.map(0);
  for (std::size_t s = 0; s < a.bars.size(); ++s) {
    const BarSpec& b = a.bars[s];
    for (std::size_t i = 0; i < b.heights.size(); ++i) {
      const double left = static_cast<double>(i) - kGroupWidth / 2 + static_cast<double>(s) * width;
      const double x0 = g.x.map(left), x1 = g.x.map(left + width);
      if (std::isnan(b.heights[i])) {  // no value: say so instead of drawing a zero-height bar
        const bool narrow = x1 - x0 < measure_text("n/a", kTickFont).width + 2;
        c.text({(x0 + x1) / 2, base - 3}, "n/a", kTickFont, kMuted, narrow ? HAlign::Left : HAlign::Center,
               narrow ? VAlign::Middle : VAlign::Bottom, narrow);
        continue;
      }
      const double top = g.y.map(b.heights[i]);
      c.fill_rect({x0, std::min(top, base), x1 - x0, std::abs(base - top)}, *b.color);
    }
  }
}

void draw_lines(Canvas& c, const AxesData& a, const Geometry& g) {
  for (const LineSpec& l : a.lines) {
    std::vector<Point> run;  // NaN splits a line into runs
    auto flush = [&] {
      if (run.size() == 1 && !l.markers) c.dot(run[0], l.width, *l.color);  // isolated point
      c.polyline(run, *l.color, l.width);
      run.clear();
    };
    for (std::size_t i = 0; i < l.y.size(); ++i) {
      if (std::isnan(l.y[i])) flush();
      else run.push_back({g.x.map(l.x[i]), g.y.map(l.y[i])});
    }
    flush();
    if (l.markers)
      for (std::size_t i = 0; i < l.y.size(); ++i)
        if (!std::isnan(l.y[i])) c.dot({g.x.map(l.x[i]), g.y.map(l.y[i])}, std::max(2.5, l.width * 1.4), *l.color);
  }
}

struct Entry {
  std::string label;
  Color color;
  bool line;
  double alpha;
  bool marker;
};

// Data points in figure units, to keep the legend off them.
std::vector<Point> data_points(const AxesData& a, const Geometry& g) {
  std::vector<Point> pts;
  for (const LineSpec& l : a.lines)
    for (std::size_t i = 0; i < l.y.size(); ++i)
      if (!std::isnan(l.y[i])) pts.push_back({g.x.map(l.x[i]), g.y.map(l.y[i])});
  for (const BarSpec& b : a.bars)  // points along each bar
    for (std::size_t i = 0; i < b.heights.size(); ++i)
      if (!std::isnan(b.heights[i]))
        for (int k = 0; k <= 8; ++k) pts.push_back({g.x.map(static_cast<double>(i)), g.y.map(b.heights[i] * k / 8)});
  for (const HistogramData& h : a.histograms)
    for (std::size_t i = 0; i < h.heights.size(); ++i)
      for (int k = 0; k <= 8; ++k)
        pts.push_back({g.x.map((h.edges[i] + h.edges[i + 1]) / 2), g.y.map(h.heights[i] * k / 8)});
  return pts;
}

}  // namespace

void draw_charts(Canvas& c, const AxesData& a, const Geometry& g) {
  c.push_clip(g.plot);
  draw_histograms(c, a, g);
  draw_bars(c, a, g);
  draw_lines(c, a, g);
  c.pop_clip();
}

void draw_legend(Canvas& c, const AxesData& a, const Geometry& g) {
  std::vector<Entry> entries;
  for (const HistogramData& h : a.histograms)
    if (!h.label.empty()) entries.push_back({h.label, h.color, false, histogram_alpha(a), false});
  for (const BarSpec& b : a.bars)
    if (!b.label.empty()) entries.push_back({b.label, *b.color, false, 1.0, false});
  for (const LineSpec& l : a.lines)
    if (!l.label.empty()) entries.push_back({l.label, *l.color, true, 1.0, l.markers});
  if (entries.empty() || !a.legend.value_or(true)) return;

  const double row = measure_text("Hg", kTickFont).height() + 4, swatch = 20, pad = 7, inset = 8;
  double widest = 0;
  for (Entry& e : entries) {
    e.label = fit_text(sanitize_utf8(e.label), kTickFont, std::max(40.0, g.plot.w / 2));
    widest = std::max(widest, measure_text(e.label, kTickFont).width);
  }
  const double w = pad + swatch + 6 + widest + pad, h = 2 * pad + row * static_cast<double>(entries.size()) - 4;
  const Rect& p = g.plot;
  const Rect corners[] = {{p.x + p.w - inset - w, p.y + inset, w, h}, {p.x + inset, p.y + inset, w, h},
                          {p.x + p.w - inset - w, p.y + p.h - inset - h, w, h},
                          {p.x + inset, p.y + p.h - inset - h, w, h}};
  const std::vector<Point> pts = data_points(a, g);
  const Rect* best = &corners[0];
  std::size_t fewest = SIZE_MAX;
  for (const Rect& r : corners) {  // first corner with the fewest covered points wins
    const auto n = static_cast<std::size_t>(std::count_if(pts.begin(), pts.end(), [&](const Point& q) {
      return q.x >= r.x - 4 && q.x <= r.x + r.w + 4 && q.y >= r.y - 4 && q.y <= r.y + r.h + 4;
    }));
    if (n < fewest) fewest = n, best = &r;
  }
  c.fill_rect(*best, kWhite, 0.9);
  c.stroke_rect(*best, {0.8, 0.8, 0.8}, 0.8);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const double cy = best->y + pad + row * static_cast<double>(i) + (row - 4) / 2, x = best->x + pad;
    if (entries[i].line) c.polyline({{x, cy}, {x + swatch, cy}}, entries[i].color, 2);
    if (entries[i].marker) c.dot({x + swatch / 2, cy}, 3, entries[i].color);
    else c.fill_rect({x + 3, cy - 5, swatch - 6, 10}, entries[i].color, entries[i].alpha);
    c.text({x + swatch + 6, cy}, entries[i].label, kTickFont, kInk, HAlign::Left, VAlign::Middle);
  }
}

}  // namespace moeroute::plot::detail
