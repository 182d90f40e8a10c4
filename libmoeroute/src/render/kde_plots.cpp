// Stage "kde" of the KDE figures: the fits, their curves and the variants compared
// (docs/plots.md, "KDE and p-value figures").
#include <algorithm>

#include <fmt/format.h>

#include "moeroute/error.h"
#include "moeroute/kde_plots.h"
#include "render/small_multiples.h"

namespace moeroute {

namespace {

constexpr std::size_t kCurvePoints = 300;
constexpr double kPadBandwidths = 3;  // display range beyond the 0.1 % / 99.9 % quantiles

struct Curve {
  std::vector<double> x, density, cdf;
};

// The density on [lo, hi], and the cumulative distribution when `cdf`.
Curve kde_curve(const KernelDensity& kde, double lo, double hi, bool cdf = false) {
  Curve c;
  c.x = detail::linspace(lo, hi, kCurvePoints);
  c.density.resize(c.x.size());
  const KdeEvaluator eval(kde, {}, static_cast<int64_t>(c.x.size()) * (cdf ? 2 : 1));
  eval.density(c.x.data(), c.x.size(), c.density.data());
  if (cdf) {
    c.cdf.resize(c.x.size());
    eval.upper_tail(c.x.data(), c.x.size(), c.cdf.data());
    for (double& v : c.cdf) v = 1 - v;
  }
  return c;
}

std::pair<double, double> layer_range(const KernelDensity& kde) {
  return detail::display_range(kde.sorted_data(), kPadBandwidths * kde.bandwidth());
}

const KdeVariant& variant_at(const KdeModel& model, std::size_t v) {
  if (v >= model.variants.size())
    throw InputError(fmt::format("KDE plot: variant {} of {}", v, model.variants.size()));
  return model.variants[v];
}

std::string describe(const KdeVariant& v) {
  return fmt::format("{} kernel, bandwidth {}{}", to_string(v.kernel), to_string(v.bandwidth),
                     v.trim > 0 ? fmt::format(", top-{} logits trimmed", v.trim) : "");
}

plot::LineSpec line(std::vector<double> x, std::vector<double> y, plot::Color color, std::string label, double width = 1.5) {
  plot::LineSpec s;
  s.x = std::move(x);
  s.y = std::move(y);
  s.color = color;
  s.label = std::move(label);
  s.width = width;
  return s;
}

}  // namespace

plot::Figure kde_fit_figure(const KdeModel& model, std::size_t variant) {
  const KdeVariant& v = variant_at(model, variant);
  const auto titles = detail::layer_titles(detail::layer_names(model.layers));
  const plot::Color bars{0.72, 0.78, 0.86};
  detail::Grid g = detail::make_grid(v.layers.size(), 210, 150, fmt::format("KDE '{}' ({})", v.name, describe(v)),
                                     {{"training logits (histogram, density)", bars, false},
                                      {"KDE density", plot::series_color(0), true}});
  for (std::size_t l = 0; l < v.layers.size(); ++l) {
    const KernelDensity& kde = v.layers[l];
    const auto [lo, hi] = layer_range(kde);
    const Curve c = kde_curve(kde, lo, hi);
    g.panel(l)
        .histogram(detail::bin_sorted_values(kde.sorted_data(), lo, hi, 60), "", bars)
        .line(line(c.x, c.density, plot::series_color(0), ""))
        .set_xlim(lo, hi)
        .set_title(fmt::format("{} · h {:.3g}", titles[l], kde.bandwidth()));
  }
  return std::move(g.figure);
}

plot::Figure kde_curves_figure(const KdeModel& model, std::size_t variant) {
  const KdeVariant& v = variant_at(model, variant);
  double lo = 0, hi = 0;
  for (std::size_t l = 0; l < v.layers.size(); ++l) {
    const auto [a, b] = layer_range(v.layers[l]);
    lo = l == 0 ? a : std::min(lo, a);
    hi = l == 0 ? b : std::max(hi, b);
  }
  plot::Figure f(1300, 520, 1, 2);
  f.set_title(fmt::format("KDE '{}' ({}), every layer", v.name, describe(v)));
  const auto titles = detail::layer_titles(detail::layer_names(model.layers));
  const std::size_t n = v.layers.size();
  for (std::size_t l = 0; l < n; ++l) {
    const Curve c = kde_curve(v.layers[l], lo, hi, true);
    const std::string label = l == 0 || l + 1 == n || l == n / 2 ? titles[l] : "";
    f.axes(0, 0).line(line(c.x, c.density, detail::depth_color(l, n), label, 1.25));
    f.axes(0, 1).line(line(c.x, c.cdf, detail::depth_color(l, n), label, 1.25));
  }
  f.axes(0, 0).set_title("Density").set_xlabel("raw router logit").set_ylabel("density");
  f.axes(0, 1).set_title("Cumulative: P(X < x) = 1 − p-value of x").set_xlabel("raw router logit").set_ylabel("probability").set_ylim(0, 1);
  return f;
}

plot::Figure kde_variants_figure(const KdeModel& model) {
  if (model.variants.empty()) throw InputError("KDE variant plot: the model has no variants");
  // Ranges from the untrimmed data when there are some (trimming moves the bulk left).
  const auto untrimmed = std::find_if(model.variants.begin(), model.variants.end(), [](const KdeVariant& v) { return v.trim == 0; });
  const KdeVariant& ref = untrimmed != model.variants.end() ? *untrimmed : model.variants.front();
  const auto titles = detail::layer_titles(detail::layer_names(model.layers));
  std::vector<plot::KeyEntry> key;
  for (std::size_t v = 0; v < model.variants.size(); ++v) key.push_back({model.variants[v].name, plot::series_color(v), true});
  detail::Grid g = detail::make_grid(ref.layers.size(), 210, 150, "KDE variants compared: density per layer", key);
  for (std::size_t l = 0; l < ref.layers.size(); ++l) {
    const auto [lo, hi] = layer_range(ref.layers[l]);
    plot::Axes& a = g.panel(l);
    for (std::size_t v = 0; v < model.variants.size(); ++v) {
      const Curve c = kde_curve(model.variants[v].layers[l], lo, hi);
      a.line(line(c.x, c.density, plot::series_color(v), "", 1.25));
    }
    a.set_xlim(lo, hi).set_title(titles[l]);
  }
  return std::move(g.figure);
}

}  // namespace moeroute
