#include "moeroute/noise_floor.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "moeroute/error.h"
#include "moeroute/topk_agreement.h"

namespace moeroute {

NoiseFloor measure_noise_floor(const RouterTrace& a, const RouterTrace& b, const RoutingRule& rule,
                               const RoutingDiffOptions& options) {
  if (a.prompt_length != b.prompt_length || a.token_ids != b.token_ids)
    throw Error("measure_noise_floor: the two traces do not route the same tokens");
  RoutingDiffOptions o = options;
  o.alignment.reset();
  const RoutingDiff d = diff_routing(a, b, o);
  NoiseFloor f;
  f.layers = d.layers;
  f.dist = d.dist;
  f.metric = d.metric;
  f.steps = d.alignment.steps;
  f.divergence = d.divergence;
  f.layer_mean = d.layer_mean;
  f.mean = summarize_divergence(d.divergence).mean;
  const auto L = d.layers.size(), S = static_cast<size_t>(f.steps), E = static_cast<size_t>(d.num_experts);
  f.layer_max.assign(L, std::nan(""));
  f.score_delta.assign(L, std::nan(""));
  f.mass_delta.assign(L, 0.0);
  for (size_t l = 0; l < L; ++l) {
    f.layer_max[l] = summarize_divergence(d.divergence.data() + l * S, S).max;
    for (size_t e = 0; e < E; ++e)
      f.mass_delta[l] = std::max(f.mass_delta[l], std::fabs(d.var_mass[l * E + e] - d.base_mass[l * E + e]));
  }
  if (a.has_router_logits() && b.has_router_logits())
    for (size_t l = 0; l < L; ++l) {
      double worst = 0.0;
      for (size_t s = 0; s < S; ++s) {
        const int64_t row = d.alignment.base_row(static_cast<int64_t>(s));
        const auto x = selection_scores(rule, a.router_logits_at(static_cast<int>(l), row), a.num_experts);
        const auto y = selection_scores(rule, b.router_logits_at(static_cast<int>(l), row), b.num_experts);
        for (size_t e = 0; e < E; ++e) worst = std::max(worst, std::fabs(x[e] - y[e]));
      }
      f.score_delta[l] = worst;
    }
  const TopkAgreement agreement = topk_agreement(a, b, generation_step_pairs(a, b));
  f.flip_rate = agreement.layer_flip_rate;
  return f;
}

std::vector<double> decision_margins(const RouterTrace& t, const RoutingRule& rule, const std::vector<int64_t>& rows,
                                     const std::string& what) {
  if (!t.has_router_logits())
    throw InputError(fmt::format("{}: decision margins need router_logits, which this trace does not carry", what));
  const auto L = static_cast<size_t>(t.num_layers()), S = rows.size();
  std::vector<double> out(L * S);
  for (size_t l = 0; l < L; ++l)
    for (size_t s = 0; s < S; ++s)
      out[l * S + s] = decision_margin(rule, t.router_logits_at(static_cast<int>(l), rows[s]), t.num_experts);
  return out;
}

}  // namespace moeroute
