// Stage "pvalues" of the KDE figures: p-value distributions against the uniform, by variant,
// rank and popularity (docs/plots.md, "KDE and p-value figures").
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "moeroute/compare_plots.h"
#include "moeroute/error.h"
#include "moeroute/kde_plots.h"
#include "render/small_multiples.h"

namespace moeroute {

namespace {

constexpr plot::Color kReference{0.55, 0.55, 0.55};

const VariantPvalues& first_variant(const PvalueReport& r) {
  if (r.variants.empty() || r.variants.front().layers.empty()) throw InputError("p-value plot: the report is empty");
  return r.variants.front();
}

// Panel order: the pooled "all" row first, then the layers.
std::vector<std::size_t> panel_order(const VariantPvalues& v) {
  std::vector<std::size_t> order{v.layers.size() - 1};
  for (std::size_t l = 0; l + 1 < v.layers.size(); ++l) order.push_back(l);
  return order;
}

std::vector<std::string> panel_titles(const VariantPvalues& v) {
  std::vector<std::string> names;
  for (std::size_t l = 0; l + 1 < v.layers.size(); ++l) names.push_back(v.layers[l].layer);
  std::vector<std::string> titles = detail::layer_titles(names);
  titles.push_back("all layers");
  return titles;
}

plot::Histogram density_histogram(const PvalueStats& s) {
  plot::Histogram h;
  const std::size_t bins = s.histogram.size();
  h.edges = detail::linspace(0, 1, bins + 1);
  for (int64_t c : s.histogram) h.heights.push_back(static_cast<double>(c) * static_cast<double>(bins) / static_cast<double>(s.count));
  return h;
}

plot::LineSpec reference_line(std::vector<double> x, std::vector<double> y, std::string label) {
  plot::LineSpec s;
  s.x = std::move(x);
  s.y = std::move(y);
  s.color = kReference;
  s.width = 1;
  s.label = std::move(label);
  return s;
}

// Quantiles over levels; `detrended` subtracts the level (0 = uniform), which shows the small
// deviations of calibrated p-values that the plain diagonal hides.
plot::LineSpec qq_line(const PvalueStats& s, plot::Color color, std::string label, bool detrended = false) {
  plot::LineSpec q;
  q.x = pvalue_qq_levels();
  q.y = s.quantiles;
  if (detrended)
    for (std::size_t i = 0; i < q.y.size(); ++i) q.y[i] -= q.x[i];
  q.color = color;
  q.label = std::move(label);
  q.width = 1.5;
  return q;
}

// The variants' colours and the uniform reference, for a figure-wide key.
std::vector<plot::KeyEntry> variant_key(const PvalueReport& r) {
  std::vector<plot::KeyEntry> key;
  for (std::size_t v = 0; v < r.variants.size(); ++v) key.push_back({r.variants[v].variant, plot::series_color(v), true});
  key.push_back({"uniform", kReference, true});
  return key;
}

}  // namespace

plot::Figure pvalue_histograms_figure(const PvalueReport& report) {
  const VariantPvalues& first = first_variant(report);
  const auto titles = panel_titles(first);
  const auto order = panel_order(first);
  detail::Grid g = detail::make_grid(order.size(), 200, 150, "P-values of the logits: histograms (density; 1 = uniform)",
                                     variant_key(report));
  for (std::size_t i = 0; i < order.size(); ++i) {
    plot::Axes& a = g.panel(i);
    double top = 1;  // bars grow from 0: the y axis starts there and shows the uniform level
    for (std::size_t v = 0; v < report.variants.size(); ++v) {
      const PvalueStats& s = report.variants[v].layers[order[i]].groups.front();
      if (s.count == 0) continue;
      const plot::Histogram h = density_histogram(s);
      top = std::max(top, *std::max_element(h.heights.begin(), h.heights.end()));
      a.line(detail::histogram_line(h, plot::series_color(v), true));
    }
    a.line(reference_line({0, 1}, {1, 1}, "")).set_xlim(0, 1).set_ylim(0, 1.05 * top).set_title(titles[order[i]]);
  }
  return std::move(g.figure);
}

plot::Figure pvalue_qq_figure(const PvalueReport& report) {
  const VariantPvalues& first = first_variant(report);
  const auto titles = panel_titles(first);
  const auto order = panel_order(first);
  detail::Grid g = detail::make_grid(order.size(), 190, 150,
                                     "P-values against the uniform, detrended QQ: quantile at level x minus x (0 = uniform)",
                                     variant_key(report));
  for (std::size_t i = 0; i < order.size(); ++i) {
    plot::Axes& a = g.panel(i);
    a.line(reference_line({0, 1}, {0, 0}, ""));
    for (std::size_t v = 0; v < report.variants.size(); ++v) {
      const PvalueStats& s = report.variants[v].layers[order[i]].groups.front();
      if (s.count > 0) a.line(qq_line(s, plot::series_color(v), "", true));
    }
    a.set_xlim(0, 1).set_title(titles[order[i]]);
  }
  return std::move(g.figure);
}

plot::Figure pvalue_groups_figure(const PvalueReport& report, std::size_t variant) {
  if (variant >= report.variants.size()) throw InputError(fmt::format("p-value plot: variant {} of {}", variant, report.variants.size()));
  const VariantPvalues& vp = report.variants[variant];
  const std::size_t L = vp.layers.size() - 1;
  // Group indices: rank groups are "rank…" and "rest"; deciles "popularity_d…".
  std::vector<std::size_t> ranks, deciles;
  std::vector<std::string> rank_names, decile_names;
  for (std::size_t gi = 1; gi < report.groups.size(); ++gi) {
    const std::string& name = report.groups[gi];
    if (name.rfind("popularity_d", 0) == 0) {
      deciles.push_back(gi);
      decile_names.push_back(name.substr(12));
    } else {
      ranks.push_back(gi);
      rank_names.push_back(name == "rest" ? "rest" : name.substr(4));  // "rank3" → "3"
    }
  }
  const double h = std::clamp(200.0 + 14.0 * static_cast<double>(L), 420.0, 1300.0);
  plot::Figure f(1300, 2 * h + 34, 2, 2);  // rows share the height: QQ plots above, heatmaps below
  f.set_title(fmt::format("P-values of '{}' by the logit's rank in its row and by the expert's popularity", vp.variant));
  auto qq = [&](plot::Axes& a, const std::vector<std::size_t>& groups, const std::vector<std::string>& names,
                const char* prefix, bool by_depth) {
    a.line(reference_line({0, 1}, {0, 1}, "uniform"));
    for (std::size_t i = 0; i < groups.size(); ++i) {
      const PvalueStats& s = vp.layers.back().groups[groups[i]];
      if (s.count == 0) continue;
      const plot::Color c = by_depth ? detail::depth_color(i, groups.size()) : plot::series_color(i);
      a.line(qq_line(s, c, names[i] == "rest" ? "rest" : std::string(prefix) + names[i]));
    }
    a.set_xlim(0, 1).set_ylim(0, 1).set_xlabel("uniform quantile (level)").set_ylabel("p-value quantile");
  };
  qq(f.axes(0, 0), ranks, rank_names, "rank ", false);
  f.axes(0, 0).set_title("QQ by rank, all layers (1 = largest logit)");
  qq(f.axes(0, 1), deciles, decile_names, "decile ", true);
  f.axes(0, 1).set_title("QQ by popularity decile, all layers (10 = most chosen)");

  std::vector<std::string> names;
  for (std::size_t l = 0; l < L; ++l) names.push_back(vp.layers[l].layer);
  const LayerLabels labels = shorten_layer_names(names);
  auto median_map = [&](plot::Axes& a, const std::vector<std::size_t>& groups, const std::vector<std::string>& cats,
                        const char* title, const char* xlabel) {
    plot::HeatmapSpec hm;
    hm.rows = L;
    hm.cols = groups.size();
    for (std::size_t l = 0; l < L; ++l)
      for (std::size_t gi : groups) hm.values.push_back(vp.layers[l].groups[gi].median);
    hm.vmin = 0;
    hm.vmax = 1;
    hm.colorbar_label = "median p-value";
    a.heatmap(std::move(hm)).set_xcategories(cats).set_ycategories(labels.labels).set_title(title).set_xlabel(xlabel)
        .set_ylabel(labels.pattern.empty() ? "Layer" : "Layer (" + labels.pattern + ")");
  };
  median_map(f.axes(1, 0), ranks, rank_names, "Median p-value by rank", "rank of the logit in its row");
  median_map(f.axes(1, 1), deciles, decile_names, "Median p-value by popularity", "popularity decile of the expert");
  return f;
}

}  // namespace moeroute
