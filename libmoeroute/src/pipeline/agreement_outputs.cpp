#include "moeroute/agreement_outputs.h"

#include <cmath>

#include <fmt/format.h>

#include "io/csv.h"
#include "moeroute/compare_plots.h"
#include "moeroute/error.h"

namespace moeroute {

using detail::csv_row;
using detail::format_number;

namespace {

nlohmann::ordered_json number_or_null(double v) {
  return std::isnan(v) ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(v);
}

std::string layers_csv(const TopkAgreement& a) {
  std::string out = csv_row({"layer", "index", "steps", "mean_jaccard", "flip_rate", "flips"});
  for (size_t l = 0; l < a.layers.size(); ++l)
    out += csv_row({a.layers[l], std::to_string(a.layer_index[l]), std::to_string(a.steps),
                    format_number(a.layer_mean_jaccard[l]), format_number(a.layer_flip_rate[l]),
                    std::to_string(a.layer_flips[l])});
  return out;
}

std::string steps_csv(const TopkAgreement& a, const RouterTrace& base, const RouterTrace& var, const RowPairs& p) {
  std::string out = csv_row({"step", "base_row", "var_row", "sequence", "position", "token_id_base", "token_id_var",
                             "layers_flipped", "any_flip", "mean_jaccard"});
  const auto S = static_cast<size_t>(a.steps), L = a.layers.size();
  for (size_t s = 0; s < S; ++s) {
    const int64_t rb = p.a_rows[s], rv = p.b_rows[s];
    double j = 0;
    for (size_t l = 0; l < L; ++l) j += a.jaccard[l * S + s];
    out += csv_row({std::to_string(s), std::to_string(rb), std::to_string(rv), std::to_string(base.sequence_of(rb)),
                    std::to_string(base.position_of(rb)),
                    base.has_token_ids() ? std::to_string(base.token_ids[static_cast<size_t>(rb)]) : "",
                    var.has_token_ids() ? std::to_string(var.token_ids[static_cast<size_t>(rv)]) : "",
                    std::to_string(a.step_layers_flipped[s]), a.step_layers_flipped[s] > 0 ? "1" : "0",
                    format_number(L ? j / static_cast<double>(L) : std::nan(""))});
  }
  return out;
}

std::string jaccard_csv(const TopkAgreement& a) {
  std::vector<std::string> header{"layer"};
  for (int64_t s = 0; s < a.steps; ++s) header.push_back(std::to_string(s));
  std::string out = csv_row(header);
  const auto S = static_cast<size_t>(a.steps);
  for (size_t l = 0; l < a.layers.size(); ++l) {
    std::vector<std::string> row{a.layers[l]};
    for (size_t s = 0; s < S; ++s) row.push_back(format_number(a.jaccard[l * S + s]));
    out += csv_row(row);
  }
  return out;
}

}  // namespace

void stage_topk_agreement(OutputDir& out, const TopkAgreement& a, const RouterTrace& base, const RouterTrace& var,
                          const RowPairs& pairs, const AgreementOutputOptions& o) {
  const bool matrix = a.steps <= o.max_matrix_steps;
  nlohmann::ordered_json j;
  j["alignment"] = o.alignment;
  j["steps"] = a.steps;
  j["num_layers"] = a.layers.size();
  j["layers"] = a.layers;
  j["layer_indices"] = a.layer_index;
  j["layers_only_in_base"] = a.layers_only_a;
  j["layers_only_in_var"] = a.layers_only_b;
  j["top_k_base"] = a.top_k_a;
  j["top_k_var"] = a.top_k_b;
  j["mean_jaccard"] = number_or_null(a.mean_jaccard);
  j["flip_rate"] = number_or_null(a.flip_rate);
  j["steps_with_flip"] = a.steps_with_flip;
  j["any_layer_flip_fraction"] = number_or_null(a.any_layer_flip_fraction);
  j["order_only_changes"] = a.order_only;
  j["model_id_base"] = base.meta.model_id;
  j["model_id_var"] = var.meta.model_id;
  j["source_base"] = base.meta.source;
  j["source_var"] = var.meta.source;
  if (!matrix)
    j["jaccard_matrix_skipped"] = fmt::format("{} steps exceed --max-matrix-steps {}", a.steps, o.max_matrix_steps);
  for (auto it = o.extra.begin(); it != o.extra.end(); ++it) j[it.key()] = it.value();
  out.write("topk_agreement.json", j.dump(2) + "\n");
  out.write("topk_agreement_layers.csv", layers_csv(a));
  out.write("topk_agreement_steps.csv", steps_csv(a, base, var, pairs));
  if (!matrix || a.steps == 0) return;
  out.write("topk_jaccard.csv", jaccard_csv(a));
  if (!o.plots) return;
  // Plotted as disagreement 1 − Jaccard, so that 0 (dark) is agreement as in the JSD heatmap.
  std::vector<double> dis(a.jaccard.size());
  for (size_t i = 0; i < dis.size(); ++i) dis[i] = 1.0 - a.jaccard[i];
  JsdPlotOptions p;
  p.metric_label = "1 − top-k Jaccard";
  p.title = "Top-k disagreement per layer and step";
  // Fixed [0, 1]: the values are set fractions (one of four experts swapped is 0.4, disjoint
  // sets 1); scaled to the data, a single swap would take the colour of total disagreement.
  p.vmax = 1.0;
  p.step_label = o.alignment == "tokens" ? "Aligned token (pair of rows)" : "Generation step";
  for (const auto& f : o.plot_formats) {
    if (f != "png" && f != "svg") throw InputError(fmt::format("plot format '{}' is not one of: png, svg", f));
    jsd_heatmap(dis, a.layers, out.staged_path("topk_disagreement_heatmap." + f), p);
  }
}

}  // namespace moeroute
