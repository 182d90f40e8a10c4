// Shared pieces of the KDE figures (moeroute/kde_plots.h): grids of small axes, layer titles,
// depth colours, display ranges and histograms binned from large samples.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "moeroute/kde_model.h"
#include "moeroute/plot.h"

namespace moeroute::detail {

/// A figure of `panels` compact axes of about panel_w × panel_h, in a roughly 16:10 grid, with
/// a title and (for series every panel shares) a key.
struct Grid {
  std::size_t rows = 1, cols = 1;
  plot::Figure figure;
  plot::Axes& panel(std::size_t i) { return figure.axes(i / cols, i % cols).set_compact(); }
};
Grid make_grid(std::size_t panels, double panel_w, double panel_h, const std::string& title,
               std::vector<plot::KeyEntry> key = {});

/// "layer 7" for "model.layers.7.mlp.gate" (the part that differs between the names, as
/// shorten_layer_names cuts it); whole names when nothing can be cut.
std::vector<std::string> layer_titles(const std::vector<std::string>& names);
std::vector<std::string> layer_names(const std::vector<LayerInfo>& layers);

/// Colour of layer i of n, early layers dark purple, late ones green-yellow (viridis 0 … 0.85,
/// so that the last stays visible on white).
plot::Color depth_color(std::size_t i, std::size_t n);

/// [lo, hi] holding all but the 0.1 % smallest and largest of `sorted`, widened by `pad` on
/// both sides; widened to 1 when degenerate.
std::pair<double, double> display_range(const std::vector<float>& sorted, double pad);

/// A run of floats (a layer's logits in one trace, a model layer's data).
struct FloatSpan {
  const float* data = nullptr;
  std::size_t size = 0;
};

/// Strided sample of at most about `max_count` finite values of `spans`, sorted (display ranges
/// of huge inputs).
std::vector<float> sorted_sample(const std::vector<FloatSpan>& spans, std::size_t max_count);

/// Histogram of `values` (unsorted) on `bins` equal bins of [lo, hi]; values outside count in
/// `total` but not in a bin. With density, heights are count / (total · width), so the bars
/// integrate to the share inside [lo, hi] and compare with a KDE's density.
plot::Histogram bin_values(const float* values, std::size_t count, double lo, double hi, int bins, bool density);

/// The same for sorted data (binary searches instead of a pass).
plot::Histogram bin_sorted_values(const std::vector<float>& sorted, double lo, double hi, int bins);

/// A histogram drawn as a line: through the bin centres, or as a staircase along the bin tops
/// (for several histograms on one axes, where filled bars would hide each other).
plot::LineSpec histogram_line(const plot::Histogram& h, plot::Color color, bool staircase, std::string label = {});

/// n equally spaced points from lo to hi.
std::vector<double> linspace(double lo, double hi, std::size_t n);

}  // namespace moeroute::detail
