// Writes example plots (the product plots and one of each chart kind) into a directory, for
// looking at them: `plot_gallery OUT_DIR [png|svg|pdf]`. Data are synthetic but shaped like
// real routing comparisons (deeper layers diverge more, some steps diverge everywhere).
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "moeroute/compare_plots.h"
#include "moeroute/plot.h"

using namespace moeroute;

namespace {

std::vector<std::string> layer_names(int n) {
  std::vector<std::string> names;
  for (int i = 0; i < n; ++i) names.push_back("model.layers." + std::to_string(i) + ".mlp.gate");
  return names;
}

std::vector<double> synthetic_jsd(int layers, int steps, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<double> spike(steps);
  for (double& s : spike) s = u(rng) < 0.08 ? 0.3 + 0.4 * u(rng) : 0;  // steps where the texts differ
  std::vector<double> m(static_cast<size_t>(layers * steps));
  for (int l = 0; l < layers; ++l) {
    const double depth = 0.04 + 0.3 / (1 + std::exp(-(l - 0.45 * layers) / (0.12 * layers)));
    for (int s = 0; s < steps; ++s) {
      const double v = depth * (0.6 + 0.8 * u(rng)) + spike[s] * (0.4 + 0.6 * l / layers) * u(rng);
      m[static_cast<size_t>(l * steps + s)] = std::min(1.0, v);
    }
  }
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: plot_gallery OUT_DIR [png|svg|pdf]\n");
    return 2;
  }
  const std::string dir = argv[1], ext = argc > 2 ? argv[2] : "png";
  try {
    const auto big = synthetic_jsd(48, 128, 1);
    jsd_heatmap(big, layer_names(48), dir + "/jsd_heatmap_48x128." + ext);
    jsd_layer_mean(big, layer_names(48), dir + "/jsd_layer_mean_48." + ext);

    // Many layers and steps, full names: labels must thin out and turn, never overlap.
    const auto huge = synthetic_jsd(94, 400, 4);
    JsdPlotOptions full;
    full.full_layer_names = true;
    jsd_heatmap(huge, layer_names(94), dir + "/jsd_heatmap_94x400_full_names." + ext, full);
    jsd_layer_mean(huge, layer_names(94), dir + "/jsd_layer_mean_94_full_names." + ext, full);

    auto small = synthetic_jsd(4, 10, 2);
    small[13] = std::nan("");  // one missing cell, drawn grey
    jsd_heatmap(small, layer_names(4), dir + "/jsd_heatmap_4x10." + ext);
    jsd_layer_mean(small, layer_names(4), dir + "/jsd_layer_mean_4." + ext);

    std::mt19937 rng(3);
    std::normal_distribution<double> normal(0, 1);
    plot::Figure lines(820, 480);
    for (int k = 0; k < 3; ++k) {
      plot::LineSpec l;
      double v = 0.1 * k;
      for (int s = 0; s < 200; ++s) l.y.push_back(v += 0.02 * normal(rng));
      l.label = "expert " + std::to_string(k * 17);
      l.markers = k == 2;
      lines.axes().line(l);
    }
    lines.axes().set_title("Expert load over generation").set_xlabel("Generation step").set_ylabel("Load share");
    lines.save(dir + "/lines." + ext);

    plot::Figure hist(720, 460);
    plot::HistogramSpec h1, h2;
    for (int i = 0; i < 4000; ++i) h1.samples.push_back(normal(rng));
    for (int i = 0; i < 3000; ++i) h2.samples.push_back(1.2 + 0.7 * normal(rng));
    h1.label = "base";
    h2.label = "variant";
    hist.axes().histogram(h1).histogram(h2).set_title("Router logit distribution").set_xlabel("Logit").set_ylabel("Count");
    hist.save(dir + "/histogram." + ext);

    plot::Figure bars(720, 440);
    plot::BarSpec b1, b2;
    b1.heights = {0.31, 0.22, 0.12, 0.08, 0.05, 0.04};
    b2.heights = {0.18, 0.25, 0.2, 0.1, 0.07, std::nan("")};
    b1.label = "base";
    b2.label = "variant";
    bars.axes()
        .set_xcategories({"expert 3", "expert 17", "expert 42", "expert 5", "expert 99", "expert 64"})
        .bars(b1)
        .bars(b2)
        .set_title("Top experts in layer 12")
        .set_ylabel("Gate mass");
    bars.save(dir + "/bars." + ext);

    plot::Figure signed_map(760, 420);
    plot::HeatmapSpec d;
    d.rows = 8;
    d.cols = 32;
    for (int i = 0; i < 8 * 32; ++i) d.values.push_back(0.4 * normal(rng));
    d.colormap = plot::Colormap::Coolwarm;
    d.colorbar_label = "Δ mass";
    signed_map.axes().heatmap(d).set_title("Expert mass shift (variant − base)").set_xlabel("Expert").set_ylabel("Layer");
    signed_map.save(dir + "/diverging." + ext);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "plot_gallery: %s\n", e.what());
    return 1;
  }
  return 0;
}
