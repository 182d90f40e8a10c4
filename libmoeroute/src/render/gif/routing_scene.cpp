#include "render/gif/routing_scene.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "moeroute/error.h"
#include "render/style.h"

namespace moeroute::plot::detail {

namespace {

constexpr Color kFaint{0.86, 0.86, 0.86};

Point bezier(const Point& p0, const Point& p1, const Point& p2, double t) {
  const double a = (1 - t) * (1 - t), b = 2 * (1 - t) * t, c = t * t;
  return {a * p0.x + b * p1.x + c * p2.x, a * p0.y + b * p1.y + c * p2.y};
}

Color mix(const Color& a, const Color& b, double t) {
  return {a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t};
}

// Where the expert boxes go: the grid (rows × cols) that lets 130 × 46 boxes grow the most.
struct Grid {
  Rect area;
  int rows = 1, cols = 1;
  double cell_w = 0, cell_h = 0, box_w = 0, box_h = 0;
  Rect box(int i) const {
    const int r = i % rows, c = i / rows;
    const double x = area.x + c * cell_w + (cell_w - box_w) / 2, y = area.y + r * cell_h + (cell_h - box_h) / 2;
    return {x, y, box_w, box_h};
  }
};

Grid layout_grid(const Rect& area, int count) {
  // Boxes never grow beyond 130 × 46. Of the column counts whose boxes reach 75 % of the best
  // size, the fewest win: arcs then cross fewer boxes (one column for the seed's 8 experts).
  const auto scale_for = [&](int cols) {
    const int rows = (count + cols - 1) / cols;
    return std::min({(area.w / cols * 0.9) / 130.0, (area.h / rows * 0.82) / 46.0, 1.0});
  };
  double best = 0;
  for (int cols = 1; cols <= count; ++cols) best = std::max(best, scale_for(cols));
  Grid g;
  g.area = area;
  for (int cols = 1; cols <= count; ++cols) {
    if (scale_for(cols) < 0.75 * best) continue;
    g.cols = cols;
    g.rows = (count + cols - 1) / cols;
    break;
  }
  const double scale = scale_for(g.cols);
  g.cell_w = area.w / g.cols;
  g.cell_h = area.h / g.rows;
  g.box_w = 130 * scale;
  g.box_h = 46 * scale;
  return g;
}

Point micro_point(const Rect& box, int micro, int m) {
  return {box.x + box.w * (m + 1) / (micro + 1), box.y + box.h * 0.72};
}

std::vector<Point> arc_points(const Point& p0, const Point& p2, double lift) {
  const Point p1{(p0.x + p2.x) / 2, (p0.y + p2.y) / 2 - lift};
  std::vector<Point> pts;
  for (int s = 0; s <= 24; ++s) pts.push_back(bezier(p0, p1, p2, s / 24.0));
  return pts;
}

void draw_bars(Canvas& c, const RoutingScene& s, const Rect& r) {
  c.text({r.x, r.y}, s.bars_title, style::kTickFont, style::kInk, HAlign::Left, VAlign::Top);
  if (s.bars.empty()) return;
  const Rect plot{r.x, r.y + 18, r.w, r.h - 36};
  c.polyline({{plot.x, plot.y}, {plot.x + plot.w, plot.y}}, style::kGrid, 1);  // weight 1
  c.text({plot.x + plot.w, plot.y - 2}, "1", style::kTickFont, style::kMuted, HAlign::Right, VAlign::Bottom);
  c.polyline({{plot.x, plot.y + plot.h}, {plot.x + plot.w, plot.y + plot.h}}, style::kInk, 1);
  const double slot = plot.w / static_cast<double>(s.bars.size());
  const Font label_font{std::clamp(slot * 0.32, 6.0, 9.0), false};
  for (size_t i = 0; i < s.bars.size(); ++i) {
    const SceneBar& bar = s.bars[i];
    const double h = plot.h * std::clamp(bar.value, 0.0, 1.0);
    const double x = plot.x + slot * static_cast<double>(i);
    c.fill_rect({x + slot * 0.15, plot.y + plot.h - h, slot * 0.7, h}, bar.color);
    if (slot >= 14)
      c.text({x + slot / 2, plot.y + plot.h + 3}, bar.label, label_font, style::kInk, HAlign::Center, VAlign::Top);
  }
}

}  // namespace

void draw_routing_scene(Canvas& c, const RoutingScene& s, double width, double height) {
  if (width < 320 || height < 240)
    throw InputError(fmt::format("routing picture: {}×{} is smaller than 320×240", width, height));
  if (s.experts.empty() || s.micro < 1) throw InputError("routing picture: no experts to draw");
  const double margin = 24;
  c.text({margin, 14}, s.title, Font{14, true}, style::kInk, HAlign::Left, VAlign::Top);
  c.text({margin, 34}, s.caption, style::kLabelFont, style::kMuted, HAlign::Left, VAlign::Top);
  const double top = 62;

  const double bars_h = std::min(130.0, (height - top) * 0.34);
  const Rect bars{margin, height - margin - bars_h, width * 0.34 - margin, bars_h};
  const double radius = std::clamp(std::min(width, height) * 0.065, 18.0, 40.0);
  const Point router{std::max(margin + radius, width * 0.16), top + (bars.y - top) / 2};

  const Grid grid = layout_grid({width * 0.46, top, width * 0.54 - margin, height - top - margin},
                                static_cast<int>(s.experts.size()));
  const Point p0{router.x + radius, router.y};
  const double lift = std::min(60.0, height * 0.12);

  // Boxes first (the chosen ones tinted), arcs over them ending on their micro-expert dots, then
  // dots and labels.
  std::vector<bool> chosen(s.experts.size(), false);
  for (const SceneArc& a : s.arcs)
    if (a.expert >= 0 && static_cast<size_t>(a.expert) < chosen.size()) chosen[static_cast<size_t>(a.expert)] = true;
  for (size_t e = 0; e < s.experts.size(); ++e) {
    const SceneExpert& ex = s.experts[e];
    const Rect box = grid.box(static_cast<int>(e));
    c.fill_rect(box, chosen[e] || ex.shared ? mix(ex.color, style::kWhite, 0.8) : style::kWhite);
    c.stroke_rect(box, ex.color, 2);
  }
  if (s.show_all)
    for (size_t e = 0; e < s.experts.size(); ++e)
      for (int m = 0; m < s.micro; ++m)
        c.polyline(arc_points(p0, micro_point(grid.box(static_cast<int>(e)), s.micro, m), lift), kFaint, 1);

  // Thin arcs first so heavy ones stay on top.
  std::vector<size_t> order(s.arcs.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return s.arcs[a].weight < s.arcs[b].weight; });
  std::vector<std::vector<Point>> paths(s.arcs.size());
  for (size_t i : order) {
    const SceneArc& a = s.arcs[i];
    if (a.expert < 0 || static_cast<size_t>(a.expert) >= s.experts.size() || a.micro < 0 || a.micro >= s.micro)
      throw InputError(fmt::format("routing picture: arc to expert {} micro {} does not exist", a.expert, a.micro));
    const SceneExpert& ex = s.experts[static_cast<size_t>(a.expert)];
    paths[i] = arc_points(p0, micro_point(grid.box(a.expert), s.micro, a.micro), lift);
    const double w = ex.shared ? 3.0 : std::max(2.0, 2.0 + 18.0 * std::clamp(a.weight, 0.0, 1.0));
    c.polyline(paths[i], ex.shared ? mix(ex.color, style::kWhite, 0.35) : ex.color, w);
  }

  c.dot(router, radius, style::kWhite);
  std::vector<Point> ring;
  for (int i = 0; i <= 64; ++i)
    ring.push_back({router.x + radius * std::cos(i * 6.283185307179586 / 64), router.y + radius * std::sin(i * 6.283185307179586 / 64)});
  c.polyline(ring, style::kInk, 2);
  c.text(router, "Router", Font{std::clamp(radius * 0.36, 8.0, 12.0), false}, style::kInk, HAlign::Center, VAlign::Middle);

  const Font label_font{std::clamp(grid.box_h * 0.26, 6.0, 11.0), false};
  const double dot_r = std::clamp(grid.box_h * 0.075, 1.5, 3.5);
  for (size_t e = 0; e < s.experts.size(); ++e) {
    const SceneExpert& ex = s.experts[e];
    const Rect box = grid.box(static_cast<int>(e));
    c.text({box.x + 4, box.y + box.h * 0.3}, ex.label, label_font, style::kInk, HAlign::Left, VAlign::Middle);
    for (int m = 0; m < s.micro; ++m) c.dot(micro_point(box, s.micro, m), dot_r, ex.color);
  }

  const int n = std::max(1, s.packets_per_arc);
  for (size_t i = 0; i < s.arcs.size(); ++i) {
    const SceneExpert& ex = s.experts[static_cast<size_t>(s.arcs[i].expert)];
    for (int k = 0; k < n; ++k) {
      const double t = std::fmod(s.phase + static_cast<double>(k) / n, 1.0);
      const double pos = t * 24;
      const size_t j = std::min<size_t>(static_cast<size_t>(pos), 23);
      const double f = pos - static_cast<double>(j);
      const Point& a = paths[i][j];
      const Point& b = paths[i][j + 1];
      c.dot({a.x + (b.x - a.x) * f, a.y + (b.y - a.y) * f}, 5, mix(ex.color, style::kInk, 0.25));
    }
  }
  draw_bars(c, s, bars);
}

}  // namespace moeroute::plot::detail
