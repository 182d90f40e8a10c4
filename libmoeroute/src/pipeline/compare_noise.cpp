#include "pipeline/compare_noise.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "io/csv.h"

namespace moeroute::detail {

namespace {

nlohmann::ordered_json number_or_null(double v) {
  return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr);
}

// divergence / floor: ∞ above a zero floor, NaN when both are 0.
double times_floor(double divergence, double floor) {
  if (floor > 0) return divergence / floor;
  return divergence > 0 ? INFINITY : std::nan("");
}

double share_within(const std::vector<double>& margins, size_t l, size_t steps, double score_delta) {
  if (steps == 0) return std::nan("");
  size_t n = 0;
  for (size_t s = 0; s < steps; ++s) n += within_noise_floor(margins[l * steps + s], score_delta) ? 1 : 0;
  return static_cast<double>(n) / static_cast<double>(steps);
}

}  // namespace

std::string floor_verdict(double divergence, double floor) {
  if (std::isnan(divergence) || std::isnan(floor)) return "no noise floor (nothing to compare)";
  if (floor > 0) return fmt::format("{:.3g}× the noise floor", divergence / floor);
  return divergence > 0 ? "above a noise floor of 0" : "at the noise floor (both 0)";
}

nlohmann::ordered_json stage_noise_outputs(OutputDir& out, const RoutingDiff& d, const NoiseFloor& floor,
                                           const RouterTrace& base, const RouterTrace& var, const RoutingRule& rule,
                                           int top_n) {
  const std::string m = to_string(d.metric);
  const auto L = d.layers.size(), S = static_cast<size_t>(d.alignment.steps);
  std::vector<int64_t> base_rows, var_rows;
  for (size_t s = 0; s < S; ++s) {
    base_rows.push_back(d.alignment.base_row(static_cast<int64_t>(s)));
    var_rows.push_back(d.alignment.var_row(static_cast<int64_t>(s)));
  }
  const bool margins = base.has_router_logits() && var.has_router_logits();
  std::vector<double> mb, mv;
  if (margins) {
    mb = decision_margins(base, rule, base_rows, "base run");
    mv = decision_margins(var, rule, var_rows, "variant run");
  }

  std::string table = csv_row({"layer", "steps", "floor_mean_" + m, "floor_max_" + m, "floor_score_delta",
                               "floor_mass_delta", "floor_flip_rate", "mean_" + m, "times_floor",
                               "margins_within_floor_base", "margins_within_floor_var"});
  for (size_t l = 0; l < L; ++l) {
    const double within_b = margins ? share_within(mb, l, S, floor.score_delta[l]) : std::nan("");
    const double within_v = margins ? share_within(mv, l, S, floor.score_delta[l]) : std::nan("");
    table += csv_row({d.layers[l], std::to_string(floor.steps), format_number(floor.layer_mean[l]),
                      format_number(floor.layer_max[l]), format_number(floor.score_delta[l]),
                      format_number(floor.mass_delta[l]), format_number(floor.flip_rate[l]),
                      format_number(d.layer_mean[l]), format_number(times_floor(d.layer_mean[l], floor.layer_mean[l])),
                      format_number(within_b), format_number(within_v)});
  }
  out.write("noise_floor.csv", table);

  int64_t within_base = 0, within_var = 0;
  if (margins) {
    std::string rows = csv_row({"layer", "step", "base_row", "var_row", "token_id_base", "token_id_var", "margin_base",
                                "margin_var", "within_floor_base", "within_floor_var"});
    for (size_t l = 0; l < L; ++l)
      for (size_t s = 0; s < S; ++s) {
        const double b = mb[l * S + s], v = mv[l * S + s];
        const bool wb = within_noise_floor(b, floor.score_delta[l]), wv = within_noise_floor(v, floor.score_delta[l]);
        within_base += wb;
        within_var += wv;
        rows += csv_row({d.layers[l], std::to_string(s), std::to_string(base_rows[s]), std::to_string(var_rows[s]),
                         base.has_token_ids() ? std::to_string(base.token_ids[static_cast<size_t>(base_rows[s])]) : "",
                         var.has_token_ids() ? std::to_string(var.token_ids[static_cast<size_t>(var_rows[s])]) : "",
                         format_number(b), format_number(v), wb ? "1" : "0", wv ? "1" : "0"});
      }
    out.write("decision_margins.csv", rows);
  }

  std::string shifts = csv_row({"layer", "expert", "abs_delta", "floor_mass_delta", "below_floor"});
  const std::vector<std::string>& names = d.layers;
  for (const ExpertShift& s : top_expert_shifts(d, top_n)) {
    const size_t l = static_cast<size_t>(std::find(names.begin(), names.end(), s.layer) - names.begin());
    shifts += csv_row({s.layer, std::to_string(s.expert), format_number(s.abs_delta),
                       format_number(floor.mass_delta[l]), s.abs_delta <= floor.mass_delta[l] ? "1" : "0"});
  }
  out.write("expert_shifts_noise.csv", shifts);

  const double div_mean = summarize_divergence(d.divergence).mean;
  const double decisions = static_cast<double>(L * S);
  nlohmann::ordered_json j;
  j["method"] = "base run: one forward over prompt + generated tokens vs its routing recorded step by step";
  j["distribution"] = to_string(floor.dist);
  j["divergence"] = m;
  j["steps"] = floor.steps;
  j["floor_mean"] = number_or_null(floor.mean);
  j["floor_max"] = number_or_null(summarize_divergence(floor.divergence).max);
  j["mean_divergence"] = number_or_null(div_mean);
  j["times_floor"] = number_or_null(times_floor(div_mean, floor.mean));
  j["verdict"] = floor_verdict(div_mean, floor.mean);
  j["routing_rule"] = rule.to_string();
  if (margins) {
    j["decisions"] = L * S;
    j["decisions_within_floor_base"] = within_base;
    j["decisions_within_floor_var"] = within_var;
    j["share_within_floor_base"] = number_or_null(decisions > 0 ? static_cast<double>(within_base) / decisions : NAN);
    j["share_within_floor_var"] = number_or_null(decisions > 0 ? static_cast<double>(within_var) / decisions : NAN);
  } else {
    j["decision_margins"] = "skipped: the traces carry no router logits (keep_logits false)";
  }
  out.write("noise_floor.json", j.dump(2) + "\n");
  return j;
}

}  // namespace moeroute::detail
