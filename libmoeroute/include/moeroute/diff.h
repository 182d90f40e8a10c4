// The `diff` job: compare two traces and write every output a user of the seed tool expects
// (expert_shifts_per_layer_topN.csv, meta.json, layers.json, jsd.csv, plots) plus our own.
// File formats: docs/outputs.md.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "moeroute/output_dir.h"
#include "moeroute/routing_diff.h"
#include "moeroute/topk_agreement.h"

namespace moeroute {

/// How `diff` pairs the rows of its two traces (docs/metrics.md, "Alignment").
enum class DiffAlign {
  Auto,    ///< Tokens when either trace holds several sequences (imported traces), else Steps
  Steps,   ///< generation step s of each single-sequence trace (base vs variant prompt)
  Tokens,  ///< the same (sequence, position), token ids checked (the same tokens routed by two systems)
};
std::string to_string(DiffAlign a);
/// "auto", "steps", "tokens"; throws InputError otherwise.
DiffAlign parse_diff_align(const std::string& name);

struct DiffOptions {
  RoutingDiffOptions routing;            ///< distribution, divergence, threads, names for errors
  int top_n = 10;                        ///< experts per layer in the shift ranking
  bool plots = true;                     ///< render the heatmap and per-layer bar chart
  std::vector<std::string> plot_formats = {"png"};  ///< any of "png", "svg"
  std::optional<double> plot_vmax;       ///< fixed top of the colour scale; unset = the data's largest value
  std::vector<double> plot_noise_floor;  ///< per layer: a noise floor drawn over the layer-mean bars; empty = none
  std::string plot_step_label = "Generation step";  ///< the heatmap's x axis (run_diff: per alignment)
  nlohmann::ordered_json extra_meta = nlohmann::ordered_json::object();  ///< merged into meta.json
  DiffAlign align = DiffAlign::Auto;     ///< how rows pair
  bool check_tokens = true;              ///< Tokens: paired rows must carry the same token id (both need token_ids)
  int64_t max_matrix_steps = 20000;      ///< topk_jaccard.csv and its heatmap are skipped beyond this many steps
  bool force = false;                    ///< compare traces moeroute recorded from different models (model_id) anyway
};

/// What `diff` computed.
struct DiffResult {
  DiffAlign align = DiffAlign::Steps;     ///< the alignment used (Auto resolved)
  std::optional<RoutingDiff> divergence;  ///< the distribution comparison, when both traces allow one
  std::string divergence_skipped;         ///< why there is none ("" when computed)
  TopkAgreement agreement;                ///< top-k overlap and flips
  std::optional<TokenAlignment> tokens;   ///< Tokens: how rows paired
  std::vector<std::string> files;         ///< the files written
};

/// The `diff` job: refuses (InputError) two traces moeroute recorded from different models unless
/// options.force (imported traces name their model only as the importer was told, so they are not
/// checked); pairs the rows (options.align), stages the top-k agreement files (always;
/// id-only traces suffice) and, when both traces carry what options.routing.dist needs, the
/// divergence files of stage_diff_outputs; commits them all into `dir` together.
DiffResult run_diff(const std::filesystem::path& dir, const RouterTrace& base, const RouterTrace& var,
                    const DiffOptions& options);

/// Computes the routing diff and stages every output file in `out` (nothing is visible until
/// out.commit()). Returns the diff for callers that print a summary.
RoutingDiff stage_diff_outputs(OutputDir& out, const RouterTrace& base, const RouterTrace& var,
                               const DiffOptions& options);

/// run_diff's files.
std::vector<std::string> write_diff(const std::filesystem::path& dir, const RouterTrace& base,
                                    const RouterTrace& var, const DiffOptions& options);

/// Output file names (the seed tool's names for the JSD case).
std::string divergence_matrix_filename(Divergence d);  ///< "jsd.csv"
inline constexpr const char* kShiftsFilename = "expert_shifts_per_layer_topN.csv";

}  // namespace moeroute
