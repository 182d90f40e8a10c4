// Axes: collects and validates what to draw; layout.cpp and the draw_* files render it.
#include <cmath>

#include <fmt/format.h>

#include "axes_data.h"
#include "moeroute/error.h"

namespace moeroute::plot {

namespace {

void check_range(const char* what, double lo, double hi) {
  if (!(std::isfinite(lo) && std::isfinite(hi) && lo < hi))
    throw InputError(fmt::format("plot {}: need finite lo < hi, got [{}, {}]", what, lo, hi));
}

void check_categories(const char* what, const std::vector<std::string>& names) {
  if (names.empty()) throw InputError(fmt::format("plot {}: no category names given", what));
}

}  // namespace

Axes::Axes() : d_(std::make_unique<detail::AxesData>()) {}
Axes::~Axes() = default;

Axes& Axes::set_title(std::string title) {
  d_->title = std::move(title);
  return *this;
}
Axes& Axes::set_xlabel(std::string label) {
  d_->x.label = std::move(label);
  return *this;
}
Axes& Axes::set_ylabel(std::string label) {
  d_->y.label = std::move(label);
  return *this;
}
Axes& Axes::set_xcategories(std::vector<std::string> names) {
  check_categories("x categories", names);
  d_->x.categories = std::move(names);
  return *this;
}
Axes& Axes::set_ycategories(std::vector<std::string> names) {
  check_categories("y categories", names);
  d_->y.categories = std::move(names);
  return *this;
}
Axes& Axes::set_xlim(double lo, double hi) {
  check_range("x limits", lo, hi);
  d_->x.limits = {lo, hi};
  return *this;
}
Axes& Axes::set_ylim(double lo, double hi) {
  check_range("y limits", lo, hi);
  d_->y.limits = {lo, hi};
  return *this;
}
Axes& Axes::set_legend(bool show) {
  d_->legend = show;
  return *this;
}

Axes& Axes::set_compact(bool compact) {
  d_->compact = compact;
  return *this;
}

Axes& Axes::heatmap(HeatmapSpec spec) {
  if (d_->heatmap) throw InputError("plot heatmap: an axes holds at most one heatmap");
  if (spec.rows == 0 || spec.cols == 0 || spec.values.empty())
    throw InputError(fmt::format("plot heatmap: empty data ({} rows × {} columns, {} values)", spec.rows,
                                 spec.cols, spec.values.size()));
  if (spec.values.size() != spec.rows * spec.cols)
    throw InputError(fmt::format("plot heatmap: {} values for {} rows × {} columns (expected {})",
                                 spec.values.size(), spec.rows, spec.cols, spec.rows * spec.cols));
  for (const auto* v : {&spec.vmin, &spec.vmax})
    if (*v && !std::isfinite(**v)) throw InputError("plot heatmap: vmin/vmax must be finite");
  if (spec.vmin && spec.vmax) check_range("heatmap vmin/vmax", *spec.vmin, *spec.vmax);
  if (!std::isfinite(spec.x0)) throw InputError("plot heatmap: x0 must be finite");
  d_->heatmap = std::move(spec);
  return *this;
}

Axes& Axes::bars(BarSpec spec) {
  if (spec.heights.empty()) throw InputError("plot bars: empty data (no heights)");
  if (!d_->bars.empty() && d_->bars.front().heights.size() != spec.heights.size())
    throw InputError(fmt::format("plot bars: {} heights, but the first bar series has {}", spec.heights.size(),
                                 d_->bars.front().heights.size()));
  for (double h : spec.heights)
    if (std::isinf(h)) throw InputError("plot bars: infinite height");
  if (!spec.color) spec.color = series_color(d_->series_count());
  d_->bars.push_back(std::move(spec));
  return *this;
}

Axes& Axes::line(LineSpec spec) {
  if (spec.y.empty()) throw InputError("plot line: empty data (no y values)");
  if (spec.x.empty()) {
    for (std::size_t i = 0; i < spec.y.size(); ++i) spec.x.push_back(static_cast<double>(i));
  } else if (spec.x.size() != spec.y.size()) {
    throw InputError(fmt::format("plot line: {} x values for {} y values", spec.x.size(), spec.y.size()));
  }
  for (std::size_t i = 0; i < spec.y.size(); ++i)
    if (!std::isfinite(spec.x[i]) || std::isinf(spec.y[i]))
      throw InputError(fmt::format("plot line: point {} is not finite (x = {}, y = {})", i, spec.x[i], spec.y[i]));
  if (!(spec.width > 0)) throw InputError("plot line: width must be positive");
  if (!spec.color) spec.color = series_color(d_->series_count());
  d_->lines.push_back(std::move(spec));
  return *this;
}

Axes& Axes::histogram(HistogramSpec spec) {
  detail::HistogramData h{bin_histogram(spec), spec.label, {}};
  h.color = spec.color ? *spec.color : series_color(d_->series_count());
  d_->histograms.push_back(std::move(h));
  return *this;
}

Axes& Axes::histogram(Histogram binned, std::string label, std::optional<Color> color) {
  if (binned.heights.empty() || binned.edges.size() != binned.heights.size() + 1)
    throw InputError(fmt::format("plot histogram: {} edges for {} bins (expected bins + 1, at least one bin)",
                                 binned.edges.size(), binned.heights.size()));
  for (std::size_t i = 0; i < binned.edges.size(); ++i)
    if (!std::isfinite(binned.edges[i]) || (i > 0 && !(binned.edges[i] > binned.edges[i - 1])))
      throw InputError("plot histogram: edges must be finite and increasing");
  for (double h : binned.heights)
    if (!(std::isfinite(h) && h >= 0)) throw InputError("plot histogram: heights must be finite and ≥ 0");
  detail::HistogramData h{std::move(binned), std::move(label), color ? *color : series_color(d_->series_count())};
  d_->histograms.push_back(std::move(h));
  return *this;
}

}  // namespace moeroute::plot
