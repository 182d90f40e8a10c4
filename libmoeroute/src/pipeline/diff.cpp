#include "moeroute/diff.h"

#include <algorithm>
#include <numeric>

#include <fmt/format.h>

#include "io/csv.h"
#include "moeroute/agreement_outputs.h"
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
  const DivergenceSummary summary = summarize_divergence(d.divergence);
  j["mean_divergence"] = summary.count == 0 ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(summary.mean);
  j["model_id_base"] = base.meta.model_id;
  j["model_id_var"] = var.meta.model_id;
  j["routing_rule"] = base.meta.routing_rule;
  for (auto it = o.extra_meta.begin(); it != o.extra_meta.end(); ++it) j[it.key()] = it.value();
  return j;
}

void stage_plots(OutputDir& out, const RoutingDiff& d, const DiffOptions& o) {
  JsdPlotOptions p;
  p.metric_label = divergence_label(d.metric);
  p.step_label = o.plot_step_label;
  p.vmax = o.plot_vmax;
  p.floor = o.plot_noise_floor;
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

std::string to_string(DiffAlign a) {
  switch (a) {
    case DiffAlign::Auto: return "auto";
    case DiffAlign::Steps: return "steps";
    case DiffAlign::Tokens: return "tokens";
  }
  return "?";
}

DiffAlign parse_diff_align(const std::string& name) {
  for (DiffAlign a : {DiffAlign::Auto, DiffAlign::Steps, DiffAlign::Tokens})
    if (to_string(a) == name) return a;
  throw InputError(fmt::format("unknown alignment '{}': expected one of auto, steps, tokens", name));
}

namespace {

// The rows of `t`'s layers `rows` only, named `names`: token-aligned traces from two systems
// name their layers differently but share model layer indices.
RouterTrace select_layers(const RouterTrace& t, const std::vector<int>& rows, const std::vector<std::string>& names) {
  RouterTrace out = t;
  out.layers.clear();
  const auto T = static_cast<size_t>(t.num_positions);
  const auto pick = [&](const auto& src, auto& dst, size_t width) {
    dst.clear();
    if (src.empty()) return;
    for (int l : rows) {
      const auto b = src.begin() + static_cast<std::ptrdiff_t>(static_cast<size_t>(l) * T * width);
      dst.insert(dst.end(), b, b + static_cast<std::ptrdiff_t>(T * width));
    }
  };
  pick(t.topk_ids, out.topk_ids, static_cast<size_t>(t.top_k));
  pick(t.gate_weights, out.gate_weights, static_cast<size_t>(t.top_k));
  pick(t.router_logits, out.router_logits, static_cast<size_t>(t.num_experts));
  out.physical_to_logical.clear();  // only logical traces get here (distribution_gap)
  for (size_t i = 0; i < rows.size(); ++i) out.layers.push_back({names[i], t.layers[static_cast<size_t>(rows[i])].index});
  return out;
}

// Why the chosen distribution cannot be compared ("" = it can).
std::string distribution_gap(const RouterTrace& b, const RouterTrace& v, DistKind dist) {
  if (b.id_space != ExpertIdSpace::Logical || v.id_space != ExpertIdSpace::Logical)
    return "physical expert ids: distributions are compared on logical experts only";
  const bool logits = b.has_router_logits() && v.has_router_logits();
  const bool weights = b.has_gate_weights() && v.has_gate_weights();
  if (dist == DistKind::Full && !logits) return "router_logits missing from a trace";
  if (dist == DistKind::TopK && !weights) return "gate_weights missing from a trace";
  if (dist == DistKind::Auto && !logits && !weights)
    return "neither router_logits nor gate_weights in both traces (id-only: top-k agreement only)";
  return "";
}

}  // namespace

DiffResult run_diff(const std::filesystem::path& dir, const RouterTrace& base, const RouterTrace& var,
                    const DiffOptions& options) {
  DiffResult r;
  const auto& bn = options.routing.base_name;
  const auto& vn = options.routing.var_name;
  const auto recorded = [](const RouterTrace& t) { return !t.meta.source.empty() && t.meta.source.rfind("import:", 0) != 0; };
  if (!options.force && recorded(base) && recorded(var) && base.meta.model_id != var.meta.model_id)
    throw InputError(fmt::format("{} was recorded from model '{}' but {} from '{}': the same expert id in two models is "
                                 "not the same expert (pass --force to compare anyway, e.g. one model under two names)",
                                 bn, base.meta.model_id, vn, var.meta.model_id));
  r.align = options.align;
  if (r.align == DiffAlign::Auto) r.align = base.has_sequences() || var.has_sequences() ? DiffAlign::Tokens : DiffAlign::Steps;
  RowPairs pairs;
  nlohmann::ordered_json extra;
  if (r.align == DiffAlign::Steps) {
    if (base.has_sequences() || var.has_sequences())
      throw InputError(fmt::format("--align steps needs single-sequence traces, but {} holds several sequences (use "
                                   "--align tokens)",
                                   base.has_sequences() ? bn : vn));
    pairs = generation_step_pairs(base, var);
    if (pairs.size() == 0)
      throw InputError(fmt::format("nothing to compare: {} has {} generated positions after a {}-token prompt, {} has "
                                   "{} after {} (docs/metrics.md, Alignment)",
                                   bn, base.generated_length(), base.prompt_length, vn, var.generated_length(),
                                   var.prompt_length));
    if (base.has_token_ids() && var.has_token_ids()) {
      int64_t same = 0;
      for (int64_t s = 0; s < pairs.size(); ++s)
        same += base.token_ids[static_cast<size_t>(pairs.a_rows[static_cast<size_t>(s)])] ==
                var.token_ids[static_cast<size_t>(pairs.b_rows[static_cast<size_t>(s)])];
      extra["steps_with_same_token"] = same;
    }
  } else {
    TokenAlignmentOptions t;
    t.check_tokens = options.check_tokens;
    t.a_name = bn;
    t.b_name = vn;
    r.tokens = align_tokens(base, var, t);
    pairs = r.tokens->pairs;
    extra["token_check"] = options.check_tokens ? "every paired row carries the same token id" : "skipped (--no-token-check)";
    extra["sequences_paired"] = r.tokens->sequences_paired;
    extra["unmatched_rows_base"] = r.tokens->unmatched_a;
    extra["unmatched_rows_var"] = r.tokens->unmatched_b;
  }
  TopkAgreementOptions ao;
  ao.a_name = bn;
  ao.b_name = vn;
  r.agreement = topk_agreement(base, var, pairs, ao);

  OutputDir out(dir);
  r.divergence_skipped = distribution_gap(base, var, options.routing.dist);
  const bool physical = base.id_space != ExpertIdSpace::Logical || var.id_space != ExpertIdSpace::Logical;
  if (!r.divergence_skipped.empty() && options.routing.dist != DistKind::Auto && physical)
    throw InputError(fmt::format("--dist {}: {}", to_string(options.routing.dist), r.divergence_skipped));
  // An explicit --dist the traces cannot give fails in diff_routing, naming the file.
  if (options.routing.dist != DistKind::Auto) r.divergence_skipped.clear();
  if (r.divergence_skipped.empty()) {
    if (r.align == DiffAlign::Steps) {
      r.divergence = stage_diff_outputs(out, base, var, options);
    } else {
      // The divergence over the token pairs, on the layers both traces route.
      const LayerPairs lp = match_layers(base, var, bn, vn);
      std::vector<std::string> names;
      for (int l : lp.a) names.push_back(base.layers[static_cast<size_t>(l)].name);
      const RouterTrace b2 = select_layers(base, lp.a, names), v2 = select_layers(var, lp.b, names);
      DiffOptions o = options;
      Alignment al;
      al.steps = pairs.size();
      al.base_rows = pairs.a_rows;
      al.var_rows = pairs.b_rows;
      al.base_start = pairs.a_rows.front();
      al.var_start = pairs.b_rows.front();
      o.routing.alignment = al;
      o.plot_step_label = "Aligned token (pair of rows)";
      r.divergence = stage_diff_outputs(out, b2, v2, o);
    }
  }
  extra["divergence"] = r.divergence_skipped.empty() ? nlohmann::ordered_json(to_string(r.divergence->dist) + " " +
                                                                              to_string(r.divergence->metric))
                                                     : nlohmann::ordered_json("skipped: " + r.divergence_skipped);
  AgreementOutputOptions a;
  a.alignment = to_string(r.align);
  a.max_matrix_steps = options.max_matrix_steps;
  a.plots = options.plots;
  a.plot_formats = options.plot_formats;
  a.extra = std::move(extra);
  stage_topk_agreement(out, r.agreement, base, var, pairs, a);
  r.files = out.commit();
  return r;
}

std::vector<std::string> write_diff(const std::filesystem::path& dir, const RouterTrace& base,
                                    const RouterTrace& var, const DiffOptions& options) {
  return run_diff(dir, base, var, options).files;
}

}  // namespace moeroute
