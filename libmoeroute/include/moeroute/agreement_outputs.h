// The files of a top-k agreement (`moeroute diff`, docs/outputs.md): topk_agreement.json,
// topk_agreement_layers.csv, topk_agreement_steps.csv, topk_jaccard.csv and the disagreement
// heatmap. Staged in an OutputDir so they appear with the job's other files.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "moeroute/output_dir.h"
#include "moeroute/topk_agreement.h"

namespace moeroute {

struct AgreementOutputOptions {
  std::string alignment = "steps";                 ///< "steps" or "tokens", recorded in topk_agreement.json
  int64_t max_matrix_steps = 20000;                ///< topk_jaccard.csv and the heatmap only up to this many steps
  bool plots = true;                               ///< render topk_disagreement_heatmap
  std::vector<std::string> plot_formats = {"png"}; ///< any of "png", "svg"
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();  ///< merged into topk_agreement.json
};

/// Stages the agreement files; `pairs` are the rows the agreement was computed on (for the
/// per-step table's sequence, position and token columns).
void stage_topk_agreement(OutputDir& out, const TopkAgreement& agreement, const RouterTrace& base,
                          const RouterTrace& var, const RowPairs& pairs, const AgreementOutputOptions& options = {});

}  // namespace moeroute
