// Reading the transformers goldens in tests/data/golden/gpt_oss/ (tools/golden/make_gpt_oss_golden.py)
// and comparing recorded traces with them.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "fp_tolerance.h"
#include "moeroute/routing.h"
#include "moeroute/safetensors.h"
#include "moeroute/trace.h"

namespace moeroute::test {

inline std::string gpt_oss_golden_dir() { return std::string(MOEROUTE_TEST_DATA_DIR) + "/golden/gpt_oss"; }

/// One NAME.golden.safetensors: prompts, greedy continuations, logits and router logits.
class Golden {
 public:
  explicit Golden(const std::string& name) : file_(gpt_oss_golden_dir() + "/" + name + ".golden.safetensors") {}

  int prompts() const {
    int n = 0;
    while (file_.contains("prompt." + std::to_string(n))) ++n;
    return n;
  }
  int layers() const {
    int n = 0;
    while (file_.contains("router_logits.0." + std::to_string(n))) ++n;
    return n;
  }
  std::vector<int64_t> ids(const std::string& name) const {
    const auto b = file_.bytes(name);
    std::vector<int64_t> out(b.size() / sizeof(int64_t));
    std::memcpy(out.data(), b.data(), b.size());
    return out;
  }
  std::vector<float> floats(const std::string& name) const {
    const auto b = file_.bytes(name);
    std::vector<float> out(b.size() / sizeof(float));
    std::memcpy(out.data(), b.data(), b.size());
    return out;
  }
  std::vector<int64_t> shape(const std::string& name) const { return file_.info(name).shape; }
  std::vector<int64_t> prompt(int p) const { return ids("prompt." + std::to_string(p)); }
  std::vector<int64_t> generated(int p) const { return ids("generated." + std::to_string(p)); }
  std::vector<int64_t> full(int p) const {
    auto f = prompt(p);
    const auto g = generated(p);
    f.insert(f.end(), g.begin(), g.end());
    return f;
  }

 private:
  SafetensorsFile file_;
};

/// One trace's router logits against the golden (prefix = "" or "bf16."): the largest |a − b|,
/// and the (layer, position) rows whose top-k ids differ from the rule applied to the golden other
/// than by a tie — an id at rank i may differ only where the two logits it swaps lie within
/// 2 · tie_tol (the evaluations' bound: either choice is then right). Excused ties are listed, so
/// that rows downstream of a flipped choice (later layers of that position, later positions) can
/// be told apart.
struct TraceDiff {
  double max_logit_diff = 0;
  int64_t topk_mismatches = 0;      ///< rows whose ids differ beyond a tie
  int64_t compared = 0;             ///< (layer, position) rows
  std::vector<double> row_diffs;    ///< per row (layer-major): largest |a − b| over the experts
  std::vector<std::pair<int, int64_t>> tie_flips;  ///< (layer, position) of rows whose ids differ at a tie
};

inline TraceDiff compare_trace(const RouterTrace& t, const Golden& g, int p, double tie_tol, const std::string& prefix = "") {
  TraceDiff d;
  const RoutingRule rule = gpt_oss_rule(t.top_k);
  for (int l = 0; l < t.num_layers(); ++l) {
    const auto ref = g.floats(prefix + "router_logits." + std::to_string(p) + "." + std::to_string(t.layers[l].index));
    const int E = t.num_experts;
    for (int64_t pos = 0; pos < t.num_positions; ++pos) {
      const float* got = t.router_logits_at(l, pos);
      const float* want = ref.data() + pos * E;
      double row = 0;
      for (int e = 0; e < E; ++e) row = std::max(row, std::fabs(double(got[e]) - want[e]));
      d.max_logit_diff = std::max(d.max_logit_diff, row);
      d.row_diffs.push_back(row);
      ++d.compared;
      const auto routed = route(rule, want, E);
      const int32_t* ours = t.topk_ids_at(l, pos);
      bool differs = false, tie = true;
      for (int i = 0; i < t.top_k; ++i) {
        if (ours[i] == routed.ids[static_cast<size_t>(i)]) continue;
        differs = true;
        tie = tie && std::fabs(double(want[ours[i]]) - want[routed.ids[static_cast<size_t>(i)]]) <= 2 * tie_tol;
      }
      if (differs && tie) d.tie_flips.push_back({l, pos});
      else if (differs) ++d.topk_mismatches;
    }
  }
  return d;
}

/// Whether row (layer, pos) is downstream of one of `flips`: a later layer at that position, or a
/// later position (which attends to it).
inline bool downstream_of(const std::vector<std::pair<int, int64_t>>& flips, int layer, int64_t pos) {
  return std::any_of(flips.begin(), flips.end(),
                     [&](const auto& f) { return pos > f.second || (pos == f.second && layer > f.first); });
}

/// The fp32 reorder bound (tests/fp_tolerance.h) for router logits of one golden prompt of the
/// demo gpt-oss models: 4 layers, hidden size 64 (or the row length, if longer).
inline double golden_router_tolerance(const Golden& g, int p) {
  std::vector<float> all;
  for (int l = 0; l < g.layers(); ++l) {
    const auto z = g.floats("router_logits." + std::to_string(p) + "." + std::to_string(l));
    all.insert(all.end(), z.begin(), z.end());
  }
  return fp32_reorder_tolerance(max_abs(all), std::max<int64_t>(64, static_cast<int64_t>(g.full(p).size())),
                                4 * kReductionsPerLayer);
}

/// Largest |a − b| between `got` and row `row` of a golden [T, V] logits tensor.
inline double logits_diff(const std::vector<float>& got, const std::vector<float>& golden, int64_t row) {
  double m = 0;
  const auto V = static_cast<int64_t>(got.size());
  for (int64_t v = 0; v < V; ++v) m = std::max(m, std::fabs(double(got[v]) - golden[row * V + v]));
  return m;
}

}  // namespace moeroute::test
