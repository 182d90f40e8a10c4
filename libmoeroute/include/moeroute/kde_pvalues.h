// P-values of router logits under a KdeModel and their distributions: overall, against the
// uniform distribution (KS statistic, QQ table), by the logit's rank in its row and by the
// expert's popularity in the training traces. Definitions: docs/kde.md, "P-values".
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "moeroute/kde.h"
#include "moeroute/kde_model.h"

namespace moeroute {

/// Probability levels of the QQ table: 0.001, 0.005, 0.01, 0.02, …, 0.99, 0.995, 0.999.
const std::vector<double>& pvalue_qq_levels();

/// One group of p-values summarised.
struct PvalueStats {
  int64_t count = 0;                   ///< p-values in the group
  double mean = std::nan("");          ///< arithmetic mean
  double median = std::nan("");        ///< numpy.median
  double below_0001 = std::nan("");    ///< fraction with p < 0.001
  double below_001 = std::nan("");     ///< fraction with p < 0.01
  double below_005 = std::nan("");     ///< fraction with p < 0.05
  double ks = std::nan("");            ///< sup_p |F̂(p) − p|: scipy.stats.kstest(p, "uniform").statistic
  std::vector<double> quantiles;       ///< numpy.quantile (linear) at pvalue_qq_levels()
  std::vector<int64_t> histogram;      ///< counts in equal bins of [0, 1] (numpy.histogram; 1 falls in the last)
};

/// Summarises `p` (values in [0, 1], else InputError; sorted in place) with `bins` histogram
/// bins. An empty group gives count 0, NaN statistics, no quantiles and zero counts.
PvalueStats pvalue_stats(std::vector<float>& p, int bins);

/// The groups of docs/kde.md, "Groups": "all", "rank1" … "rank<k>" (the logit's rank in its row,
/// 1 = largest, k = top_k), "rest" (ranks > k), "popularity_d1" … "popularity_d10".
std::vector<std::string> pvalue_group_names(int top_k, int num_experts);

/// Statistics of one variant in one layer ("all" = every layer pooled), one per group in
/// pvalue_group_names order.
struct LayerPvalueStats {
  std::string layer;                 ///< a model layer name, or "all"
  std::vector<PvalueStats> groups;   ///< one per group name
};

struct VariantPvalues {
  std::string variant;                    ///< KdeVariant::name
  std::vector<KdeMethod> methods;         ///< per layer: Exact or Fast
  double error_bound = 0;                 ///< largest tail error bound over the layers (0: exact)
  std::vector<LayerPvalueStats> layers;   ///< per model layer in order, then "all"
  std::vector<std::vector<float>> pvalues;  ///< per layer, [rows, experts]; empty unless PvalueOptions::keep_pvalues
};

struct PvalueOptions {
  KdeEvalOptions eval;        ///< method and tolerance of the tail probabilities
  int bins = 20;              ///< histogram bins over [0, 1]
  int threads = 0;            ///< layers evaluated in parallel; 0 = all cores
  bool keep_pvalues = false;  ///< keep every p-value (VariantPvalues::pvalues)
};

struct PvalueReport {
  std::vector<std::string> groups;       ///< pvalue_group_names(top_k, num_experts)
  std::vector<int64_t> rows;             ///< rows scored per trace, in input order
  std::vector<VariantPvalues> variants;  ///< in the model's variant order
};

/// The p-value of each logit (upper tail P(X ≥ x) under its layer's KDE) of every trace, per
/// variant, and their statistics. Each trace must have raw logits and the model's experts and
/// layers (require_raw_logits, check_same_model); rows of all traces are pooled.
PvalueReport kde_pvalues(const KdeModel& model, const std::vector<NamedTrace>& traces, const PvalueOptions& options);

/// Rank of each logit in its row, 1 = largest (ties: lower expert id first), for `count` rows
/// of `num_experts` logits; out has count × num_experts entries.
void logit_ranks(const float* logits, int64_t count, int num_experts, uint16_t* out);

}  // namespace moeroute
