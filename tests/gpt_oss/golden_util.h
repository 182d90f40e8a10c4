// Reading the transformers goldens in tests/data/golden/gpt_oss/ (tools/golden/make_gpt_oss_golden.py)
// and comparing recorded traces with them.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

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

/// Largest |a − b| over one trace's router logits vs the golden (prefix = "" or "bf16."), and
/// the number of (layer, position) whose top-k ids differ from the rule applied to the golden:
/// in order for fp32; for bf16 (`prefix` set) as sets, and not where the golden's k-th and
/// (k+1)-th logits tie (bf16 logits tie often; either choice is then right).
struct TraceDiff {
  double max_logit_diff = 0;
  int64_t topk_mismatches = 0;
  int64_t compared = 0;             ///< (layer, position) rows
  std::vector<double> row_diffs;    ///< per row: largest |a − b| over the experts
};

inline TraceDiff compare_trace(const RouterTrace& t, const Golden& g, int p, const std::string& prefix = "") {
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
      std::vector<int32_t> ours(t.topk_ids_at(l, pos), t.topk_ids_at(l, pos) + t.top_k);
      std::vector<int32_t> theirs = routed.ids;
      if (!prefix.empty()) {
        std::vector<float> sorted(want, want + E);
        std::sort(sorted.begin(), sorted.end(), std::greater<float>());
        if (t.top_k < E && sorted[t.top_k - 1] == sorted[t.top_k]) continue;
        std::sort(ours.begin(), ours.end());
        std::sort(theirs.begin(), theirs.end());
      }
      if (ours != theirs) ++d.topk_mismatches;
    }
  }
  return d;
}

/// Largest |a − b| between `got` and row `row` of a golden [T, V] logits tensor.
inline double logits_diff(const std::vector<float>& got, const std::vector<float>& golden, int64_t row) {
  double m = 0;
  const auto V = static_cast<int64_t>(got.size());
  for (int64_t v = 0; v < V; ++v) m = std::max(m, std::fabs(double(got[v]) - golden[row * V + v]));
  return m;
}

}  // namespace moeroute::test
