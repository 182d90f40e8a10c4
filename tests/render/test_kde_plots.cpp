// The KDE figures (moeroute/kde_plots.h): each renders from synthetic traces, panels follow the
// layers and experts, and heatmap cells show the numbers they stand for.
#include <catch2/catch.hpp>

#include <algorithm>

#include "moeroute/error.h"
#include "moeroute/expert_usage.h"
#include "moeroute/kde_plots.h"
#include "render_test_util.h"
#include "unit/trace_fixtures.h"

using namespace moeroute;
using render_test::colour_distance;
using render_test::Png;

namespace {

struct Fixture {
  RouterTrace train = test::random_trace(3, 12, 2, 60, 0, 31), eval = test::random_trace(3, 12, 2, 40, 0, 32);
  KdeModel model;
  PvalueReport report;
  Fixture() {
    KdeFitOptions o;
    o.trims = {0, 2};
    model = fit_kde_model({{"train", &train}}, o);
    report = kde_pvalues(model, {{"eval", &eval}}, {});
  }
};

// The pixel at the centre of heatmap cell (row, col) of axes (r, c).
std::string cell_hex(const plot::Figure& f, const Png& png, std::size_t r, std::size_t c, double row, double col) {
  const plot::AxesLayout l = f.layout(r, c);
  return png.hex(static_cast<int>(l.x(col)), static_cast<int>(l.y(row)));
}

}  // namespace

TEST_CASE("every KDE figure renders", "[kde_plots]") {
  const Fixture fx;
  const std::vector<NamedTrace> traces{{"eval", &fx.eval}};
  std::vector<plot::Figure> figures;
  figures.push_back(logit_distributions_figure(traces));
  figures.push_back(expert_distributions_figure(traces, 1));
  figures.push_back(kde_fit_figure(fx.model, 1));
  figures.push_back(kde_curves_figure(fx.model, 0));
  figures.push_back(kde_variants_figure(fx.model));
  figures.push_back(pvalue_histograms_figure(fx.report));
  figures.push_back(pvalue_qq_figure(fx.report));
  figures.push_back(pvalue_groups_figure(fx.report, 1));
  for (const auto& f : figures) {
    const Png png(f.render(plot::ImageFormat::Png, 1));
    CHECK(png.width() == static_cast<int>(f.width()));
    CHECK(f.render(plot::ImageFormat::Svg).find("<svg") != std::string::npos);
  }
  // One panel per expert (12 in a 16:10 grid) and per layer (+ "all layers" for p-values).
  CHECK_NOTHROW(figures[1].layout(0, 0));
  CHECK_THROWS_AS(expert_distributions_figure(traces, 3), InputError);
  CHECK_THROWS_AS(kde_fit_figure(fx.model, 4), InputError);
  CHECK_THROWS_AS(pvalue_groups_figure(fx.report, 2), InputError);
}

TEST_CASE("the usage heatmap colours each cell by its choice count", "[kde_plots]") {
  const Fixture fx;
  const ExpertUsage u = expert_usage(fx.eval);
  const plot::Figure f = routing_usage_figure(u, {"model.layers.0.mlp.gate", "model.layers.1.mlp.gate", "model.layers.2.mlp.gate"});
  const Png png(f.render(plot::ImageFormat::Png, 1));
  const auto [mn, mx] = std::minmax_element(u.choice_counts.begin(), u.choice_counts.end());
  const size_t imax = static_cast<size_t>(mx - u.choice_counts.begin()), imin = static_cast<size_t>(mn - u.choice_counts.begin());
  CHECK(colour_distance(cell_hex(f, png, 0, 0, static_cast<double>(imax / 12), static_cast<double>(imax % 12)),
                        plot::to_hex(plot::colormap_color(plot::Colormap::Viridis, 1.0))) <= 2);
  CHECK(colour_distance(cell_hex(f, png, 0, 0, static_cast<double>(imin / 12), static_cast<double>(imin % 12)),
                        plot::to_hex(plot::colormap_color(plot::Colormap::Viridis, 0.0))) <= 2);
  CHECK_THROWS_AS(routing_usage_figure(u, {"only one name"}), InputError);
}

TEST_CASE("the group heatmaps show median p-values on [0, 1]", "[kde_plots]") {
  const Fixture fx;
  const plot::Figure f = pvalue_groups_figure(fx.report, 0);
  const Png png(f.render(plot::ImageFormat::Png, 1));
  const VariantPvalues& v = fx.report.variants[0];
  for (size_t layer = 0; layer < 3; ++layer) {
    const double median_rank1 = v.layers[layer].groups[1].median;  // column 0 = rank 1
    CHECK(colour_distance(cell_hex(f, png, 1, 0, static_cast<double>(layer), 0),
                          plot::to_hex(plot::colormap_color(plot::Colormap::Viridis, median_rank1))) <= 2);
  }
}
