#include "moeroute/diff.h"

#include <algorithm>
#include <numeric>

#include <fmt/format.h>

#include "io/csv.h"
#include "moeroute/compare_plots.h"
#include "moeroute/error.h"
#include "moeroute/version.h"

namespace moeroute {

using detail::csv_row;
using detail::format_number;

std::string divergence_matrix_filename(Divergence d) { return to_string(d) + ".csv"; }

namespace {

std::string shifts_csv(const std::vector<ExpertShift>& shifts) {
  std::string out = csv_row({"layer", "expert", "base_mass", "var_mass", "delta", "abs_delta"});
  for (const auto& s : shifts)
    out += csv_row({s.layer, std::to_string(s.expert), format_number(s.base_mass), format_number(s.var_mass),
                    format_number(s.delta), format_number(s.abs_delta)});
  return out;
}

std::string matrix_csv(const RoutingDiff& d) {
  const int64_t S = d.alignment.steps;
  std::vector<std::string> header{"layer"};
  for (int64_t s = 0; s < S; ++s) header.push_back(std::to_string(s));
  std::string out = csv_row(header);
  for (size_t l = 0; l < d.layers.size(); ++l) {
    std::vector<std::string> row{d.layers[l]};
    for (int64_t s = 0; s < S; ++s) row.push_back(format_number(d.divergence[l * static_cast<size_t>(S) + static_cast<size_t>(s)]));
    out += csv_row(row);
  }
  return out;
}

std::string layer_mean_csv(const RoutingDiff& d) {
  std::string out = csv_row({"layer", "mean_" + to_string(d.metric)});
  for (size_t l = 0; l < d.layers.size(); ++l) out += csv_row({d.layers[l], format_number(d.layer_mean[l])});
  return out;
}

nlohmann::ordered_json meta_json(const RoutingDiff& d, const RouterTrace& base, const RouterTrace& var,
                                 const DiffOptions& o) {
  nlohmann::ordered_json j;
  // The seed tool's keys first, with its meaning: prompt tokens and generated tokens per run.
  j["input_len_base"] = base.prompt_length;
  j["gen_len_base"] = base.generated_length();
  j["input_len_var"] = var.prompt_length;
  j["gen_len_var"] = var.generated_length();
  j["gen_steps_aligned"] = d.alignment.steps;
  // Ours: everything needed to trace each number back to its definition (docs/metrics.md).
  j["moeroute_version"] = kVersion;
  j["distribution"] = to_string(d.dist);
  j["divergence"] = to_string(d.metric);
  j["log_base"] = d.metric == Divergence::JSD || d.metric == Divergence::KL ? nlohmann::ordered_json(2)
                                                                            : nlohmann::ordered_json(nullptr);
  if (d.metric == Divergence::KL) j["kl_epsilon"] = kKlEpsilon;
  j["step_position_base"] = d.alignment.base_start;
  j["step_position_var"] = d.alignment.var_start;
  j["num_layers"] = d.layers.size();
  j["num_experts"] = d.num_experts;
  j["top_k"] = base.top_k;
  j["topn_per_layer"] = o.top_n;
  double total = 0.0;
  for (double v : d.divergence) total += v;
  j["mean_divergence"] = d.divergence.empty() ? nlohmann::ordered_json(nullptr)
                                              : nlohmann::ordered_json(total / static_cast<double>(d.divergence.size()));
  j["model_id_base"] = base.meta.model_id;
  j["model_id_var"] = var.meta.model_id;
  j["routing_rule"] = base.meta.routing_rule;
  for (auto it = o.extra_meta.begin(); it != o.extra_meta.end(); ++it) j[it.key()] = it.value();
  return j;
}

void stage_plots(OutputDir& out, const RoutingDiff& d, const DiffOptions& o) {
  JsdPlotOptions p;
  p.metric_label = divergence_label(d.metric);
  if (o.plot_vmax > 0) {
    p.vmax = o.plot_vmax;
  } else if (d.metric == Divergence::KL) {  // unbounded: scale to the data, at least [0, 1]
    double mx = 1.0;
    for (double v : d.divergence) mx = std::max(mx, v);
    p.vmax = mx;
  }
  const std::string prefix = to_string(d.metric);
  for (const auto& fmt_name : o.plot_formats) {
    if (fmt_name != "png" && fmt_name != "svg")
      throw InputError(fmt::format("plot format '{}' is not one of: png, svg", fmt_name));
    jsd_heatmap(d.divergence, d.layers, out.staged_path(prefix + "_heatmap." + fmt_name), p);
    jsd_layer_mean(d.divergence, d.layers, out.staged_path(prefix + "_layer_mean." + fmt_name), p);
  }
}

}  // namespace

RoutingDiff stage_diff_outputs(OutputDir& out, const RouterTrace& base, const RouterTrace& var,
                               const DiffOptions& options) {
  RoutingDiff d = diff_routing(base, var, options.routing);
  if (d.alignment.steps == 0)
    throw InputError(fmt::format("nothing to compare: {} has {} generated positions after a {}-token prompt, {} has {} "
                                 "after {} (docs/metrics.md, Alignment)",
                                 options.routing.base_name, base.generated_length(), base.prompt_length,
                                 options.routing.var_name, var.generated_length(), var.prompt_length));
  const auto shifts = top_expert_shifts(d, options.top_n);

  out.write(kShiftsFilename, shifts_csv(shifts));
  out.write("meta.json", meta_json(d, base, var, options).dump(2) + "\n");
  out.write("layers.json", nlohmann::json(d.layers).dump(2) + "\n");
  out.write(divergence_matrix_filename(d.metric), matrix_csv(d));
  out.write(to_string(d.metric) + "_layer_mean.csv", layer_mean_csv(d));
  if (options.plots) stage_plots(out, d, options);
  return d;
}

std::vector<std::string> write_diff(const std::filesystem::path& dir, const RouterTrace& base,
                                    const RouterTrace& var, const DiffOptions& options) {
  OutputDir out(dir);
  stage_diff_outputs(out, base, var, options);
  return out.commit();
}

}  // namespace moeroute
