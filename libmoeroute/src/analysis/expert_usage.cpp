#include "moeroute/expert_usage.h"

#include <algorithm>
#include <numeric>

#include <fmt/format.h>

#include "moeroute/error.h"

namespace moeroute {

ExpertUsage expert_usage(const RouterTrace& trace) {
  ExpertUsage u;
  u.num_layers = trace.num_layers();
  u.num_experts = trace.num_experts;
  const size_t E = static_cast<size_t>(trace.num_experts);
  u.choice_counts.assign(static_cast<size_t>(u.num_layers) * E, 0);
  if (trace.has_gate_weights()) u.weight_sums.assign(u.choice_counts.size(), 0.0);
  for (int l = 0; l < u.num_layers; ++l)
    for (int64_t p = 0; p < trace.num_positions; ++p) {
      const int32_t* ids = trace.topk_ids_at(l, p);
      for (int k = 0; k < trace.top_k; ++k) {
        const size_t at = static_cast<size_t>(l) * E + static_cast<size_t>(ids[k]);
        ++u.choice_counts[at];
        if (!u.weight_sums.empty()) u.weight_sums[at] += trace.gate_weights_at(l, p)[k];
      }
    }
  return u;
}

void add_usage(ExpertUsage& a, const ExpertUsage& b) {
  if (a.num_layers != b.num_layers || a.num_experts != b.num_experts)
    throw InputError(fmt::format("expert usage of {} layers × {} experts cannot be added to {} × {}", b.num_layers,
                                 b.num_experts, a.num_layers, a.num_experts));
  for (size_t i = 0; i < a.choice_counts.size(); ++i) a.choice_counts[i] += b.choice_counts[i];
  if (b.weight_sums.empty()) a.weight_sums.clear();
  for (size_t i = 0; i < a.weight_sums.size(); ++i) a.weight_sums[i] += b.weight_sums[i];
}

std::vector<int> popularity_deciles(const int64_t* counts, int num_experts) {
  std::vector<int> order(static_cast<size_t>(num_experts));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return counts[a] < counts[b]; });
  std::vector<int> decile(order.size());
  for (int rank = 0; rank < num_experts; ++rank)
    decile[static_cast<size_t>(order[static_cast<size_t>(rank)])] = 10 * rank / num_experts + 1;
  return decile;
}

}  // namespace moeroute
