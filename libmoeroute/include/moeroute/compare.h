// The `compare` job: one question under two system prompts, both runs recorded, and every output
// of `diff` plus both traces, generations.json and the noise floor's files (docs/compare.md,
// docs/outputs.md).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "moeroute/compare_input.h"
#include "moeroute/diff.h"
#include "moeroute/noise_floor.h"
#include "moeroute/topk_agreement.h"

namespace moeroute {

struct CompareRunOptions {
  bool plots = true;                                ///< render the heatmap and bar chart
  std::vector<std::string> plot_formats = {"png"};  ///< any of "png", "svg"
  std::optional<double> plot_vmax;                  ///< fixed top of the colour scale; unset = the data's largest value
};

struct CompareResult {
  std::vector<std::string> files;  ///< names written into the output directory
  RoutingDiff diff;                ///< the divergence that was written
  NoiseFloor noise_floor;          ///< what numerics alone produce (docs/metrics.md, "Noise floor")
  std::string floor_verdict;       ///< how far the mean divergence stands above the floor, in words
  TopkAgreement agreement;         ///< top-k overlap and flips between base and var
  std::string base_text, var_text; ///< the two continuations (var's is base's under teacher forcing)
  std::string chat_template;       ///< template the prompts were rendered with
};

/// Validates `input`, loads the model, checks `topk` against its experts, renders both prompts
/// with the chat template, runs the pair (teacher-forced or free; both measured by the same
/// computation), measures the noise floor, and writes every output into `out` atomically: nothing
/// appears there unless everything succeeded. The traces' logits are rounded to
/// input.run.recording.logits_dtype before anything is analysed, so the files and the saved traces
/// agree; the diff uses input.run.model_options.threads threads.
CompareResult run_compare(const CompareInput& input, const std::filesystem::path& out,
                          const CompareRunOptions& options = {});

}  // namespace moeroute
