// Routing divergence between two traces of the same model (base and variant prompt):
// per layer × aligned generation step, per-layer means, and per-expert routing mass.
// Definitions: docs/metrics.md.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "moeroute/divergence.h"
#include "moeroute/trace.h"

namespace moeroute {

/// Which routing distribution of a layer × position is compared.
enum class DistKind {
  Auto,  ///< Full when both traces carry router logits, otherwise TopK
  Full,  ///< softmax of the router logits over all experts (the router's real distribution)
  TopK,  ///< the top-k gate weights, zero elsewhere, renormalised to sum 1 (the seed tool's)
};
std::string to_string(DistKind d);
/// "auto", "full", "topk"; throws InputError otherwise.
DistKind parse_dist_kind(const std::string& name);

/// The routing distribution of `layer` at `pos` into out[0..num_experts), in double.
/// Throws InputError naming `what` (the trace's file, say) when the trace lacks the field the kind
/// needs or its gate weights cannot be renormalised.
void routing_distribution(const RouterTrace& t, DistKind kind, int layer, int64_t pos, double* out,
                          const std::string& what = "trace");

/// Generation step t of a trace is routed at position prompt_length − 1 + t: the position whose
/// output produced generated token t. Steps are aligned by index over min(gen_len) steps.
struct Alignment {
  int64_t base_start = 0;  ///< position of step 0 in base
  int64_t var_start = 0;   ///< position of step 0 in var
  int64_t steps = 0;       ///< aligned steps
  std::vector<int64_t> base_rows;  ///< explicit rows per step (token alignment); empty = base_start + s
  std::vector<int64_t> var_rows;   ///< explicit rows per step; empty = var_start + s
  int64_t base_row(int64_t s) const { return base_rows.empty() ? base_start + s : base_rows[static_cast<size_t>(s)]; }
  int64_t var_row(int64_t s) const { return var_rows.empty() ? var_start + s : var_rows[static_cast<size_t>(s)]; }
};
Alignment align_generation(const RouterTrace& base, const RouterTrace& var);

struct RoutingDiffOptions {
  DistKind dist = DistKind::Auto;         ///< distribution compared per layer × step
  Divergence metric = Divergence::JSD;    ///< divergence per layer × step
  int threads = 0;                        ///< worker threads; 0 = hardware concurrency
  std::string base_name = "base";         ///< names used in error messages (file names, say)
  std::string var_name = "var";
  std::optional<Alignment> alignment;     ///< the rows to compare; unset = align_generation
};

struct RoutingDiff {
  std::vector<std::string> layers;  ///< layer names, row order of every matrix
  DistKind dist = DistKind::Full;   ///< the kind actually used (Auto resolved)
  Divergence metric = Divergence::JSD;
  Alignment alignment;
  int num_experts = 0;
  std::vector<double> divergence;   ///< [layers, steps]
  std::vector<double> layer_mean;   ///< [layers], summarize_divergence(row).mean (NaN when steps = 0)
  std::vector<double> base_mass;    ///< [layers, experts], Σ over aligned steps of p_base
  std::vector<double> var_mass;     ///< [layers, experts], Σ over aligned steps of p_var
};

/// Summary of divergence values (docs/metrics.md, "Summaries"). NaN values — a step whose
/// distribution could not be formed — are left out of the mean and the maximum and counted; with no
/// finite value both are NaN.
struct DivergenceSummary {
  double mean = std::numeric_limits<double>::quiet_NaN();  ///< mean of the finite values
  double max = std::numeric_limits<double>::quiet_NaN();   ///< largest finite value
  int64_t count = 0;                                       ///< finite values
  int64_t nan_count = 0;                                   ///< NaN values left out
};
DivergenceSummary summarize_divergence(const double* values, size_t n);
inline DivergenceSummary summarize_divergence(const std::vector<double>& values) {
  return summarize_divergence(values.data(), values.size());
}

/// Checks that the traces are comparable (same layers, experts, top-k) — InputError naming both
/// files otherwise — and computes every quantity above in one pass over the aligned window.
RoutingDiff diff_routing(const RouterTrace& base, const RouterTrace& var, const RoutingDiffOptions& options = {});

/// One row of the expert-shift ranking.
struct ExpertShift {
  std::string layer;
  int expert = 0;
  double base_mass = 0, var_mass = 0, delta = 0, abs_delta = 0;
};

/// Per layer (in row order), the `top_n` experts with the largest |var_mass − base_mass|;
/// ties by lower expert id.
std::vector<ExpertShift> top_expert_shifts(const RoutingDiff& diff, int top_n);

}  // namespace moeroute
