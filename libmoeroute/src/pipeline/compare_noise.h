// compare's reading of its divergence against the noise floor: noise_floor.csv, noise_floor.json,
// decision_margins.csv and expert_shifts_noise.csv (docs/outputs.md; definitions: docs/metrics.md,
// "Noise floor" and "Decision margins").
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "moeroute/noise_floor.h"
#include "moeroute/output_dir.h"
#include "moeroute/routing_diff.h"

namespace moeroute::detail {

/// How far `divergence` (a mean) stands above `floor` (the noise floor's mean), in words:
/// "3.4e+03× the noise floor", "at the noise floor (both 0)", "above a noise floor of 0".
std::string floor_verdict(double divergence, double floor);

/// Stages the four files for the compared traces `base` and `var` (their diff `d`, the shift
/// ranking of `top_n` per layer) read against `floor`; `rule` is the model's routing rule.
/// Returns noise_floor.json's content.
nlohmann::ordered_json stage_noise_outputs(OutputDir& out, const RoutingDiff& d, const NoiseFloor& floor,
                                           const RouterTrace& base, const RouterTrace& var, const RoutingRule& rule,
                                           int top_n);

}  // namespace moeroute::detail
