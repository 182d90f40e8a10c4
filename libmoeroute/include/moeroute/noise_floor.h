// How much routing difference numerics alone produce, and how close each routing decision was:
// the noise floor of a comparison and the top-k decision margins it is read against
// (docs/metrics.md, "Noise floor" and "Decision margins").
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "moeroute/routing.h"
#include "moeroute/routing_diff.h"
#include "moeroute/trace.h"

namespace moeroute {

/// The same tokens of one run routed by two computation paths (compare: one forward over the
/// whole sequence, and step by step while generating), compared over the run's generation steps
/// with the comparison's own distribution and metric. Every difference here is float rounding.
struct NoiseFloor {
  std::vector<std::string> layers;  ///< layer names, row order
  DistKind dist = DistKind::Full;   ///< the distribution compared (Auto resolved)
  Divergence metric = Divergence::JSD;
  int64_t steps = 0;                ///< generation steps compared
  std::vector<double> divergence;   ///< [layers, steps]: metric between the two paths
  std::vector<double> layer_mean;   ///< [layers]: summarize_divergence of the row
  std::vector<double> layer_max;    ///< [layers]: largest value of the row
  std::vector<double> score_delta;  ///< [layers]: max over steps and experts of |Δ selection score| (NaN without logits)
  std::vector<double> mass_delta;   ///< [layers]: max over experts of |Δ expert mass| over the steps
  std::vector<double> flip_rate;    ///< [layers]: share of steps whose top-k sets differ between the paths
  double mean = std::numeric_limits<double>::quiet_NaN();  ///< mean over every layer × step
};

/// Compares `a` and `b`, two traces of the same tokens (same prompt length, token ids and
/// layers; Error otherwise), over a's generation steps. `rule` is the model's routing rule (its
/// score space gives score_delta). options.alignment is ignored.
NoiseFloor measure_noise_floor(const RouterTrace& a, const RouterTrace& b, const RoutingRule& rule,
                               const RoutingDiffOptions& options = {});

/// decision_margin (moeroute/routing.h) of every layer at each of `rows`: [layers, rows.size()].
/// Throws InputError when `t` has no router logits; `what` names it.
std::vector<double> decision_margins(const RouterTrace& t, const RoutingRule& rule, const std::vector<int64_t>& rows,
                                     const std::string& what = "trace");

/// A decision lies within the noise floor when its margin is at most 2 · score_delta: each of the
/// two scores it compares may move by score_delta, so rounding alone could swap them.
inline bool within_noise_floor(double margin, double score_delta) { return margin <= 2.0 * score_delta; }

}  // namespace moeroute
