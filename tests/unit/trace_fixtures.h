// Small deterministic traces for tests.
#pragma once

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "moeroute/trace.h"

namespace moeroute::test {

/// A trace of `layers` × `positions` with random logits and top-k ids/weights derived from them
/// by softmax → top-k → renormalise (the Qwen3 rule), so every field is consistent.
inline RouterTrace random_trace(int layers, int experts, int top_k, int64_t positions, int64_t prompt,
                                unsigned seed) {
  RouterTrace t;
  for (int l = 0; l < layers; ++l) t.layers.push_back({"model.layers." + std::to_string(l) + ".mlp.gate", l});
  t.num_experts = experts;
  t.top_k = top_k;
  t.num_positions = positions;
  t.prompt_length = prompt;
  t.meta.model_id = "test";
  t.meta.routing_rule = "softmax_topk_norm";
  t.allocate(true, true);
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 2.0f);
  for (auto& x : t.router_logits) x = nd(rng);
  for (int l = 0; l < layers; ++l)
    for (int64_t p = 0; p < positions; ++p) {
      const float* x = t.router_logits_at(l, p);
      std::vector<int> order(static_cast<size_t>(experts));
      for (int e = 0; e < experts; ++e) order[static_cast<size_t>(e)] = e;
      std::partial_sort(order.begin(), order.begin() + top_k, order.end(), [&](int a, int b) { return x[a] > x[b]; });
      double sum = 0;
      for (int k = 0; k < top_k; ++k) sum += std::exp(static_cast<double>(x[order[static_cast<size_t>(k)]]));
      const size_t base = (static_cast<size_t>(l) * static_cast<size_t>(positions) + static_cast<size_t>(p)) *
                          static_cast<size_t>(top_k);
      for (int k = 0; k < top_k; ++k) {
        const int e = order[static_cast<size_t>(k)];
        t.topk_ids[base + static_cast<size_t>(k)] = e;
        t.gate_weights[base + static_cast<size_t>(k)] = static_cast<float>(std::exp(static_cast<double>(x[e])) / sum);
      }
    }
  t.token_ids.resize(static_cast<size_t>(positions));
  for (int64_t p = 0; p < positions; ++p) t.token_ids[static_cast<size_t>(p)] = 100 + p;
  return t;
}

/// One router layer, top-1 routing with gate weight 1: the chosen expert per position is given.
inline RouterTrace top1_trace(int experts, const std::vector<int>& choice, int64_t prompt,
                              std::string layer = "model.layers.0.mlp.gate") {
  RouterTrace t;
  t.layers = {{std::move(layer), 0}};
  t.num_experts = experts;
  t.top_k = 1;
  t.num_positions = static_cast<int64_t>(choice.size());
  t.prompt_length = prompt;
  t.allocate(true, false);
  for (size_t i = 0; i < choice.size(); ++i) {
    t.topk_ids[i] = choice[i];
    t.gate_weights[i] = 1.0f;
  }
  return t;
}

}  // namespace moeroute::test
