// The `diff` job: compare two traces and write every output a user of the seed tool expects
// (expert_shifts_per_layer_topN.csv, meta.json, layers.json, jsd.csv, plots) plus our own.
// File formats: docs/outputs.md.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "moeroute/output_dir.h"
#include "moeroute/routing_diff.h"

namespace moeroute {

struct DiffOptions {
  RoutingDiffOptions routing;            ///< distribution, divergence, threads, names for errors
  int top_n = 10;                        ///< experts per layer in the shift ranking
  bool plots = true;                     ///< render the heatmap and per-layer bar chart
  std::vector<std::string> plot_formats = {"png"};  ///< any of "png", "svg"
  double plot_vmax = 0;                  ///< top of the colour scale; 0 = the metric's range ([0, 1]; KL: data max)
  nlohmann::ordered_json extra_meta = nlohmann::ordered_json::object();  ///< merged into meta.json
};

/// Computes the routing diff and stages every output file in `out` (nothing is visible until
/// out.commit()). Returns the diff for callers that print a summary.
RoutingDiff stage_diff_outputs(OutputDir& out, const RouterTrace& base, const RouterTrace& var,
                               const DiffOptions& options);

/// stage_diff_outputs + commit into `dir`. Returns the names of the files written.
std::vector<std::string> write_diff(const std::filesystem::path& dir, const RouterTrace& base,
                                    const RouterTrace& var, const DiffOptions& options);

/// Output file names (the seed tool's names for the JSD case).
std::string divergence_matrix_filename(Divergence d);  ///< "jsd.csv"
inline constexpr const char* kShiftsFilename = "expert_shifts_per_layer_topN.csv";

}  // namespace moeroute
