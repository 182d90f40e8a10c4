// The two product plots of a routing comparison, built from the plot module.
#include "moeroute/compare_plots.h"
#include "moeroute/routing_diff.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "moeroute/error.h"

namespace moeroute {

namespace {

// Rows (layers) × columns (steps) of the matrix; throws on anything but a full grid.
std::size_t steps_of(const std::vector<double>& jsd, const std::vector<std::string>& layers, const char* plot) {
  if (layers.empty()) throw InputError(fmt::format("{}: no layers given", plot));
  if (jsd.empty()) throw InputError(fmt::format("{}: the JSD matrix is empty (no steps)", plot));
  if (jsd.size() % layers.size() != 0)
    throw InputError(fmt::format("{}: {} JSD values do not form {} layer rows ({} is not a multiple of {})", plot,
                                 jsd.size(), layers.size(), jsd.size(), layers.size()));
  return jsd.size() / layers.size();
}

void check_options(const JsdPlotOptions& o, const char* plot) {
  if (o.vmax && !(std::isfinite(*o.vmax) && *o.vmax > 0))
    throw InputError(fmt::format("{}: vmax must be a positive number, got {}", plot, *o.vmax));
  if (o.width < 0 || o.height < 0) throw InputError(fmt::format("{}: width and height must be ≥ 0", plot));
}

std::vector<std::string> split_dots(const std::string& name) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t dot; (dot = name.find('.', start)) != std::string::npos; start = dot + 1)
    parts.push_back(name.substr(start, dot - start));
  parts.push_back(name.substr(start));
  return parts;
}

std::string join_dots(const std::vector<std::string>& parts, std::size_t begin, std::size_t end) {
  std::string out;
  for (std::size_t i = begin; i < end; ++i) out += (i > begin ? "." : "") + parts[i];
  return out;
}

// The largest finite value (−∞ when there is none).
double largest(const std::vector<double>& v) {
  double m = -INFINITY;
  for (double x : v)
    if (std::isfinite(x)) m = std::max(m, x);
  return m;
}

// The colour scale's top and its rule in words, for the colour bar.
std::pair<double, std::string> color_scale(const std::vector<double>& v, const JsdPlotOptions& o) {
  if (o.vmax) return {*o.vmax, fmt::format("fixed scale 0 to {:.3g}", *o.vmax)};
  const double m = largest(v);
  if (m > 0) return {m, fmt::format("scale 0 to max {:.3g}", m)};
  return {1.0, "all values 0"};
}

// The y/x axis label and tick labels for the layers.
std::pair<std::string, std::vector<std::string>> layer_axis(const std::vector<std::string>& names,
                                                            const JsdPlotOptions& o) {
  if (o.full_layer_names) return {"Layer", names};
  LayerLabels l = shorten_layer_names(names);
  return {l.pattern.empty() ? "Layer" : "Layer (" + l.pattern + ")", std::move(l.labels)};
}

}  // namespace

LayerLabels shorten_layer_names(const std::vector<std::string>& names) {
  LayerLabels out{names, ""};
  if (names.size() < 2) return out;
  std::vector<std::vector<std::string>> parts;
  std::size_t shortest = SIZE_MAX;
  for (const std::string& n : names) {
    parts.push_back(split_dots(n));
    shortest = std::min(shortest, parts.back().size());
  }
  auto same_at = [&](auto index) {
    return std::all_of(parts.begin(), parts.end(), [&](const auto& p) { return p[index(p)] == parts[0][index(parts[0])]; });
  };
  std::size_t head = 0, tail = 0;
  while (head + 1 < shortest && same_at([&](const auto&) { return head; })) ++head;
  while (head + tail + 1 < shortest && same_at([&](const auto& p) { return p.size() - 1 - tail; })) ++tail;
  if (head + tail == 0) return out;
  std::vector<std::string> labels;
  for (const auto& p : parts) labels.push_back(join_dots(p, head, p.size() - tail));
  std::vector<std::string> sorted = labels;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) return out;  // would be ambiguous
  const std::string pre = join_dots(parts[0], 0, head), post = join_dots(parts[0], parts[0].size() - tail, parts[0].size());
  out.pattern = pre + (head ? "." : "") + "*" + (tail ? "." : "") + post;
  out.labels = std::move(labels);
  return out;
}

plot::Figure jsd_heatmap_figure(const std::vector<double>& jsd, const std::vector<std::string>& layer_names,
                                const JsdPlotOptions& o) {
  const std::size_t steps = steps_of(jsd, layer_names, "jsd_heatmap");
  check_options(o, "jsd_heatmap");
  const auto rows = static_cast<double>(layer_names.size()), cols = static_cast<double>(steps);
  // ~7 px per step and 14 px per layer (every name readable) within sensible bounds.
  const double width = o.width > 0 ? o.width : std::clamp(260 + 7 * cols, 720.0, 1600.0);
  const double height = o.height > 0 ? o.height : std::clamp(150 + 14 * rows, 360.0, 1400.0);
  plot::Figure fig(width, height);
  plot::HeatmapSpec h;
  h.values = jsd;
  h.rows = layer_names.size();
  h.cols = steps;
  h.x0 = static_cast<double>(o.first_step);
  h.colormap = plot::Colormap::Viridis;
  // Divergences are ≥ 0: the scale starts at 0 and follows the data up (a fixed [0, 1] left a
  // mean JSD of 0.007 a uniform dark field); --vmax fixes it to compare runs.
  const auto [vmax, rule] = color_scale(jsd, o);
  h.vmin = 0;
  h.vmax = vmax;
  h.colorbar_label = o.metric_label + ", " + rule;
  auto [axis_label, labels] = layer_axis(layer_names, o);
  fig.axes()
      .set_title(o.title.empty() ? "Routing divergence, base vs variant (" +
                                     o.metric_label.substr(0, o.metric_label.find(" (")) + " per layer and step)"
                               : o.title)
      .set_xlabel(o.step_label)
      .set_ylabel(axis_label)
      .set_ycategories(std::move(labels))
      .heatmap(std::move(h));
  return fig;
}

void jsd_heatmap(const std::vector<double>& jsd, const std::vector<std::string>& layer_names,
                 const std::filesystem::path& path, const JsdPlotOptions& options) {
  jsd_heatmap_figure(jsd, layer_names, options).save(path, options.scale);
}

plot::Figure jsd_layer_mean_figure(const std::vector<double>& jsd, const std::vector<std::string>& layer_names,
                                   const JsdPlotOptions& o) {
  const std::size_t steps = steps_of(jsd, layer_names, "jsd_layer_mean");
  check_options(o, "jsd_layer_mean");
  plot::BarSpec bars;
  bars.color = plot::colormap_color(plot::Colormap::Viridis, 0.35);  // a mid viridis blue, ties to the heatmap
  for (std::size_t l = 0; l < layer_names.size(); ++l)
    bars.heights.push_back(summarize_divergence(jsd.data() + l * steps, steps).mean);
  auto [axis_label, labels] = layer_axis(layer_names, o);
  const auto layers = static_cast<double>(layer_names.size());
  const double width = o.width > 0 ? o.width : std::clamp(220 + 18 * layers, 640.0, 1600.0);
  // Room for the layer names, which turn vertical when many bars share the width.
  std::size_t longest = 0;
  for (const std::string& n : labels) longest = std::max(longest, n.size());
  const double height = o.height > 0 ? o.height : std::clamp(420 + 6.0 * static_cast<double>(longest), 480.0, 900.0);
  if (!o.floor.empty() && o.floor.size() != layer_names.size())
    throw InputError(fmt::format("jsd_layer_mean: {} noise-floor values for {} layers", o.floor.size(), layer_names.size()));
  const double top = std::max(largest(bars.heights), largest(o.floor));
  std::string title = o.title.empty() ? "Mean routing divergence per layer, base vs variant" : o.title;
  if (!(largest(bars.heights) > 0)) title += " (all values 0)";
  plot::Figure fig(width, height);
  plot::Axes& ax = fig.axes();
  ax.set_title(title)
      .set_xlabel(axis_label)
      .set_ylabel("Mean " + o.metric_label)
      .set_xcategories(std::move(labels));
  if (!o.floor.empty()) bars.label = "base vs variant";
  ax.bars(std::move(bars));
  if (!o.floor.empty()) {
    plot::LineSpec line;
    line.y = o.floor;
    line.label = fmt::format("noise floor: two computation paths (≤ {:.2g})", largest(o.floor));
    line.color = plot::Color{0.84, 0.15, 0.16};  // tab:red, apart from the viridis bars
    line.markers = true;
    ax.line(std::move(line));
  }
  // From 0, never below: the axis of a divergence is zero-aware (0 at the baseline, nothing
  // magnified out of rounding noise without the numbers saying how small it is).
  if (o.vmax) ax.set_ylim(0, *o.vmax);
  else ax.set_ylim(0, top > 0 ? top * 1.05 : 1.0);
  return fig;
}

void jsd_layer_mean(const std::vector<double>& jsd, const std::vector<std::string>& layer_names,
                    const std::filesystem::path& path, const JsdPlotOptions& options) {
  jsd_layer_mean_figure(jsd, layer_names, options).save(path, options.scale);
}

}  // namespace moeroute
