// How often each expert is chosen, and with how much gate weight, per layer of a trace.
// (The minimal counts the KDE analyses need; docs/kde.md, "Expert popularity".)
#pragma once

#include <cstdint>
#include <vector>

#include "moeroute/trace.h"

namespace moeroute {

struct ExpertUsage {
  int num_layers = 0;
  int num_experts = 0;
  std::vector<int64_t> choice_counts;  ///< [layers, experts]: rows whose top-k holds the expert
  std::vector<double> weight_sums;     ///< [layers, experts]: Σ of its gate weights; empty without gate weights
};

/// Counts over every row of `trace` (physical ids are counted as they are).
ExpertUsage expert_usage(const RouterTrace& trace);
/// Adds `b`'s counts and sums to `a` (same shape; weight sums kept only when both have them).
void add_usage(ExpertUsage& a, const ExpertUsage& b);

/// Popularity decile (1 = least chosen … 10 = most) of each expert of one layer, from its choice
/// counts: experts ranked by count ascending (ties: lower id first), decile ⌊10·rank/E⌋ + 1.
std::vector<int> popularity_deciles(const int64_t* counts, int num_experts);

}  // namespace moeroute
