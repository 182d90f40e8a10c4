// The plots of a base-vs-variant routing comparison (`moeroute diff`): a JSD heatmap over
// layers × generation steps and a bar chart of each layer's mean JSD. See docs/plots.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "moeroute/plot.h"

namespace moeroute {

/// Options shared by jsd_heatmap and jsd_layer_mean.
struct JsdPlotOptions {
  std::string title;           ///< figure title; empty = the plot's default title
  double width = 0;            ///< figure width in px; 0 = chosen from the matrix shape
  double height = 0;           ///< figure height in px; 0 = chosen from the number of layers
  double scale = 2.0;          ///< PNG pixels per px (2 = sharp on high-DPI screens and in print); SVG/PDF ignore it
  std::optional<double> vmax;  ///< fixed top of the colour scale and the bar y axis; unset = the data's largest value
                               ///< (1 when every value is 0); the rule is written on the colour bar
  std::vector<double> floor;   ///< jsd_layer_mean: per layer a noise floor drawn over the bars; empty = none
  int64_t first_step = 0;      ///< step number of the matrix's first column, used for x tick labels
  std::string metric_label = "JSD (bits)";  ///< what the values are: colorbar and bar-axis label
  std::string step_label = "Generation step";  ///< the heatmap's x axis: what a column is
  bool full_layer_names = false;  ///< false: ticks show the part of each name that differs, the shared rest goes in the axis label
};

/// Tick labels for layer names: the dot-separated components every name shares at the start
/// and at the end are cut off ("model.layers.7.mlp.gate" → "7") and returned as the pattern
/// "model.layers.*.mlp.gate". Names stay whole (pattern "") when cutting would leave an empty
/// or duplicate label, or there is only one name.
struct LayerLabels {
  std::vector<std::string> labels;  ///< one per name, in order
  std::string pattern;              ///< the shared pattern, "" when nothing was cut
};
LayerLabels shorten_layer_names(const std::vector<std::string>& names);

/// Heatmap of `jsd` (row-major, layer_names.size() rows × steps columns, base-2 JSD in bits):
/// x = generation step, y = layer (rows in the given order, labelled with layer_names, shortened
/// by shorten_layer_names unless full_layer_names), viridis
/// colours on [0, vmax] (vmax unset: the largest value, so the scale follows the data) with a
/// colorbar labelled with metric_label and the scale's rule ("scale 0 to max 0.0213", "fixed scale
/// 0 to 0.5", "all values 0"); values above a fixed vmax take the top colour; NaN cells are grey.
/// Throws InputError when the matrix is empty or not a whole number of rows.
plot::Figure jsd_heatmap_figure(const std::vector<double>& jsd, const std::vector<std::string>& layer_names,
                                const JsdPlotOptions& options = {});
/// Renders jsd_heatmap_figure to `path` (.png, .svg or .pdf), written atomically.
void jsd_heatmap(const std::vector<double>& jsd, const std::vector<std::string>& layer_names,
                 const std::filesystem::path& path, const JsdPlotOptions& options = {});

/// One bar per layer (in the given order): the mean JSD over that row's non-NaN steps
/// (a row with no value shows "n/a"), y from 0 to the largest bar (or vmax; [0, 1] when every
/// bar is 0, said in the title); with `floor`, a line of the per-layer noise floor over the bars.
/// Same input contract as jsd_heatmap_figure.
plot::Figure jsd_layer_mean_figure(const std::vector<double>& jsd, const std::vector<std::string>& layer_names,
                                   const JsdPlotOptions& options = {});
/// Renders jsd_layer_mean_figure to `path` (.png, .svg or .pdf), written atomically.
void jsd_layer_mean(const std::vector<double>& jsd, const std::vector<std::string>& layer_names,
                    const std::filesystem::path& path, const JsdPlotOptions& options = {});

}  // namespace moeroute
