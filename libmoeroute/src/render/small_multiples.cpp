#include "render/small_multiples.h"

#include <algorithm>
#include <cmath>

#include "analysis/quantile.h"
#include "moeroute/compare_plots.h"

namespace moeroute::detail {

Grid make_grid(std::size_t panels, double panel_w, double panel_h, const std::string& title,
               std::vector<plot::KeyEntry> key) {
  // Columns for a roughly 16:10 figure, never more than the panels.
  std::size_t cols = static_cast<std::size_t>(std::ceil(std::sqrt(static_cast<double>(panels) * 1.6 * panel_h / panel_w)));
  cols = std::clamp<std::size_t>(cols, 1, panels);
  const std::size_t rows = (panels + cols - 1) / cols;
  const double band = (title.empty() ? 0 : 34) + (key.empty() ? 0 : 22);  // Figure's title and key bands
  plot::Figure f(std::max(64.0, panel_w * static_cast<double>(cols)),
                 std::max(64.0, panel_h * static_cast<double>(rows) + band), rows, cols);
  if (!title.empty()) f.set_title(title);
  if (!key.empty()) f.set_key(std::move(key));
  return {rows, cols, std::move(f)};
}

std::vector<std::string> layer_titles(const std::vector<std::string>& names) {
  const LayerLabels short_names = shorten_layer_names(names);
  std::vector<std::string> out;
  for (const auto& s : short_names.labels) out.push_back(short_names.pattern.empty() ? s : "layer " + s);
  return out;
}

std::vector<std::string> layer_names(const std::vector<LayerInfo>& layers) {
  std::vector<std::string> out;
  for (const auto& l : layers) out.push_back(l.name);
  return out;
}

plot::Color depth_color(std::size_t i, std::size_t n) {
  return plot::colormap_color(plot::Colormap::Viridis, n > 1 ? 0.85 * static_cast<double>(i) / static_cast<double>(n - 1) : 0.4);
}

std::pair<double, double> display_range(const std::vector<float>& sorted, double pad) {
  double lo = quantile_sorted(sorted, 0.001) - pad, hi = quantile_sorted(sorted, 0.999) + pad;
  if (!(hi > lo)) lo -= 0.5, hi += 0.5;
  return {lo, hi};
}

std::vector<float> sorted_sample(const std::vector<FloatSpan>& spans, std::size_t max_count) {
  std::size_t total = 0;
  for (const FloatSpan& s : spans) total += s.size;
  const std::size_t stride = std::max<std::size_t>(1, (total + max_count - 1) / std::max<std::size_t>(1, max_count));
  std::vector<float> out;
  std::size_t at = 0;  // position in the concatenation, so the stride runs across spans
  for (const FloatSpan& s : spans) {
    for (std::size_t i = (stride - at % stride) % stride; i < s.size; i += stride)
      if (std::isfinite(s.data[i])) out.push_back(s.data[i]);
    at += s.size;
  }
  std::sort(out.begin(), out.end());
  return out;
}

plot::Histogram bin_values(const float* values, std::size_t count, double lo, double hi, int bins, bool density) {
  plot::Histogram h;
  h.edges = linspace(lo, hi, static_cast<std::size_t>(bins) + 1);
  h.heights.assign(static_cast<std::size_t>(bins), 0.0);
  const double scale = bins / (hi - lo);
  for (std::size_t i = 0; i < count; ++i) {
    const double x = values[i];
    if (!(x >= lo && x <= hi)) continue;
    h.heights[std::min(static_cast<std::size_t>((x - lo) * scale), static_cast<std::size_t>(bins) - 1)] += 1;
  }
  if (density && count > 0)
    for (double& v : h.heights) v *= scale / static_cast<double>(count);
  return h;
}

plot::Histogram bin_sorted_values(const std::vector<float>& sorted, double lo, double hi, int bins) {
  plot::Histogram h;
  h.edges = linspace(lo, hi, static_cast<std::size_t>(bins) + 1);
  const double scale = bins / (hi - lo), n = static_cast<double>(sorted.size());
  auto below = [&](double e) {  // values < e
    return static_cast<double>(std::lower_bound(sorted.begin(), sorted.end(), e, [](float v, double t) { return v < t; }) -
                               sorted.begin());
  };
  for (int b = 0; b < bins; ++b) {
    const double upper = b + 1 == bins  // the last bin is closed
                             ? static_cast<double>(std::upper_bound(sorted.begin(), sorted.end(), hi, [](double t, float v) { return t < v; }) - sorted.begin())
                             : below(h.edges[static_cast<std::size_t>(b) + 1]);
    h.heights.push_back((upper - below(h.edges[static_cast<std::size_t>(b)])) * scale / n);
  }
  return h;
}

plot::LineSpec histogram_line(const plot::Histogram& h, plot::Color color, bool staircase, std::string label) {
  plot::LineSpec s;
  for (std::size_t i = 0; i < h.heights.size(); ++i) {
    if (staircase) {
      s.x.insert(s.x.end(), {h.edges[i], h.edges[i + 1]});
      s.y.insert(s.y.end(), {h.heights[i], h.heights[i]});
    } else {
      s.x.push_back(0.5 * (h.edges[i] + h.edges[i + 1]));
      s.y.push_back(h.heights[i]);
    }
  }
  s.color = color;
  s.label = std::move(label);
  s.width = 1.25;
  return s;
}

std::vector<double> linspace(double lo, double hi, std::size_t n) {
  std::vector<double> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = n > 1 ? lo + (hi - lo) * static_cast<double>(i) / static_cast<double>(n - 1) : lo;
  return v;
}

}  // namespace moeroute::detail
