// The `kde fit` and `kde pvalues` jobs: read traces, fit or score, stage every output and commit
// it at once. Outputs: docs/kde.md.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "moeroute/kde_model.h"
#include "moeroute/kde_pvalues.h"
#include "moeroute/trace.h"

namespace moeroute {

/// A loaded input trace and its name (the path as given).
struct InputTrace {
  std::string name;    ///< the path as given, for messages and provenance
  RouterTrace trace;   ///< the routing
};

/// The one place the KDE jobs read their inputs: each path is a trace file (load_trace).
/// Throws InputError / IoError naming the file.
std::vector<InputTrace> load_kde_inputs(const std::vector<std::filesystem::path>& paths);
/// Views of `inputs` for fit_kde_model / kde_pvalues.
std::vector<NamedTrace> named_traces(const std::vector<InputTrace>& inputs);

/// Loads `traces`, fits, and writes the model to `out` atomically. Returns the model.
KdeModel run_kde_fit(const std::vector<std::filesystem::path>& traces, const std::filesystem::path& out,
                     const KdeFitOptions& options);

/// The plot stages of `kde pvalues --plots` (the seed pipeline's stages 3–6).
enum class KdePlotStage {
  Routing,  ///< expert choice counts and gate-weight sums; raw logit and softmax distributions
  Experts,  ///< per layer, one histogram per expert (small multiples)
  Kde,      ///< KDE fits, densities and cumulative curves, variant comparisons
  Pvalues,  ///< p-value histograms, QQ plots against uniform, by rank and popularity
};
/// "routing", "experts", "kde", "pvalues".
std::string to_string(KdePlotStage stage);
/// A comma-separated list of stage names, "all" (every stage) or "none". Throws InputError.
std::vector<KdePlotStage> parse_kde_plot_stages(const std::string& text);

struct KdePvaluesJobOptions {
  PvalueOptions pvalues;                          ///< method, tolerance, bins, threads
  std::vector<KdePlotStage> plots{KdePlotStage::Routing, KdePlotStage::Kde, KdePlotStage::Pvalues};  ///< stages drawn
  std::vector<std::string> plot_formats{"png"};   ///< any of "png", "svg"
  bool save_pvalues = false;                      ///< also write every p-value (pvalues.safetensors)
};

struct KdePvaluesResult {
  std::vector<std::string> files;  ///< written into the output directory, in staging order
  PvalueReport report;             ///< the statistics (and p-values with save_pvalues)
};

/// Loads the model and the traces, computes the p-values and stages pvalues.json,
/// pvalue_summary.csv, pvalue_qq.csv, pvalue_histogram.csv, the plots and (optionally)
/// pvalues.safetensors in `dir`, then commits them together.
KdePvaluesResult run_kde_pvalues(const std::filesystem::path& model, const std::vector<std::filesystem::path>& traces,
                                 const std::filesystem::path& dir, const KdePvaluesJobOptions& options);

}  // namespace moeroute
