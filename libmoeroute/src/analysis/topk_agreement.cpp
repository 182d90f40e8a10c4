#include "moeroute/topk_agreement.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "moeroute/error.h"

namespace moeroute {

RowPairs generation_step_pairs(const RouterTrace& a, const RouterTrace& b) {
  RowPairs p;
  if (a.prompt_length == 0 || b.prompt_length == 0) return p;
  const int64_t steps = std::max<int64_t>(0, std::min(a.generated_length(), b.generated_length()));
  for (int64_t s = 0; s < steps; ++s) {
    p.a_rows.push_back(a.prompt_length - 1 + s);
    p.b_rows.push_back(b.prompt_length - 1 + s);
  }
  return p;
}

namespace {

// Per sequence (in order of first appearance): position → row.
struct SequenceRows {
  int64_t id = 0;
  std::map<int64_t, int64_t> rows;
};

std::vector<SequenceRows> sequences_of(const RouterTrace& t, const std::string& name) {
  std::vector<SequenceRows> out;
  std::unordered_map<int64_t, size_t> slot;
  for (int64_t r = 0; r < t.num_positions; ++r) {
    const int64_t seq = t.sequence_of(r);
    auto [it, fresh] = slot.emplace(seq, out.size());
    if (fresh) out.push_back({seq, {}});
    const int64_t pos = t.position_of(r);
    if (!out[it->second].rows.emplace(pos, r).second)
      throw InputError(fmt::format("{}: sequence {} has two rows at position {} (rows {} and {}): positions must be "
                                   "unique to align tokens",
                                   name, seq, pos, out[it->second].rows[pos], r));
  }
  return out;
}

}  // namespace

TokenAlignment align_tokens(const RouterTrace& a, const RouterTrace& b, const TokenAlignmentOptions& o) {
  if (o.check_tokens)
    for (const auto* t : {&a, &b})
      if (!t->has_token_ids())
        throw InputError(fmt::format("{}: no token_ids, so the token alignment cannot be checked (record or import the "
                                     "token ids, or pass --no-token-check to pair rows by position unchecked)",
                                     t == &a ? o.a_name : o.b_name));
  const auto sa = sequences_of(a, o.a_name), sb = sequences_of(b, o.b_name);
  TokenAlignment out;
  int64_t paired_a = 0, paired_b = 0;
  const size_t n = std::min(sa.size(), sb.size());
  for (size_t i = 0; i < n; ++i) {
    bool any = false;
    for (const auto& [pos, ra] : sa[i].rows) {
      const auto it = sb[i].rows.find(pos);
      if (it == sb[i].rows.end()) continue;
      const int64_t rb = it->second;
      if (o.check_tokens && a.token_ids[static_cast<size_t>(ra)] != b.token_ids[static_cast<size_t>(rb)])
        throw InputError(fmt::format("token mismatch: sequence {} of {} (id {}) and sequence {} of {} (id {}) differ at "
                                     "position {}: token {} vs {} — not the same tokens (pass --no-token-check to "
                                     "compare anyway)",
                                     i, o.a_name, sa[i].id, i, o.b_name, sb[i].id, pos,
                                     a.token_ids[static_cast<size_t>(ra)], b.token_ids[static_cast<size_t>(rb)]));
      out.pairs.a_rows.push_back(ra);
      out.pairs.b_rows.push_back(rb);
      any = true;
      ++paired_a;
      ++paired_b;
    }
    out.sequences_paired += any ? 1 : 0;
  }
  out.unmatched_a = a.num_positions - paired_a;
  out.unmatched_b = b.num_positions - paired_b;
  out.tokens_checked = o.check_tokens;
  if (out.pairs.size() == 0)
    throw InputError(fmt::format("{} and {} share no (sequence, position): nothing to compare ({} vs {} sequences)",
                                 o.a_name, o.b_name, sa.size(), sb.size()));
  return out;
}

LayerPairs match_layers(const RouterTrace& a, const RouterTrace& b, const std::string& an, const std::string& bn) {
  LayerPairs p;
  std::map<int, int> in_b;
  for (int l = 0; l < b.num_layers(); ++l)
    if (!in_b.emplace(b.layers[static_cast<size_t>(l)].index, l).second)
      throw InputError(fmt::format("{}: two layers have index {}", bn, b.layers[static_cast<size_t>(l)].index));
  std::map<int, int> in_a;
  for (int l = 0; l < a.num_layers(); ++l) {
    const int idx = a.layers[static_cast<size_t>(l)].index;
    if (!in_a.emplace(idx, l).second) throw InputError(fmt::format("{}: two layers have index {}", an, idx));
    const auto it = in_b.find(idx);
    if (it == in_b.end()) {
      p.only_a.push_back(idx);
      continue;
    }
    p.a.push_back(l);
    p.b.push_back(it->second);
    p.index.push_back(idx);
  }
  for (const auto& [idx, l] : in_b)
    if (!in_a.count(idx)) p.only_b.push_back(idx);
  if (p.index.empty())
    throw InputError(fmt::format("{} (layers {}) and {} (layers {}) share no layer index: traces of different models, "
                                 "or MoE-layer ordinals that need --layer-map?",
                                 an, a.num_layers(), bn, b.num_layers()));
  return p;
}

namespace {

// The logical ids of (layer, row) in rank order into `ordered`, and as a sorted set into `set`.
void logical_ids(const RouterTrace& t, int layer, int64_t row, std::vector<int32_t>& ordered, std::vector<int32_t>& set) {
  const int32_t* ids = t.topk_ids_at(layer, row);
  ordered.assign(ids, ids + t.top_k);
  if (t.id_space == ExpertIdSpace::Physical && !t.physical_to_logical.empty()) {
    const int32_t* map = t.physical_to_logical.data() + static_cast<size_t>(layer) * static_cast<size_t>(t.num_experts);
    for (auto& e : ordered) e = map[e];
  }
  set = ordered;
  std::sort(set.begin(), set.end());
  set.erase(std::unique(set.begin(), set.end()), set.end());
}

int logical_experts(const RouterTrace& t, const std::string& name) {
  if (t.id_space == ExpertIdSpace::Logical) return t.num_experts;
  if (t.physical_to_logical.empty())
    throw InputError(fmt::format("{}: physical expert ids without a physical-to-logical map cannot be compared with "
                                 "logical ids (SGLang dumps carry last_physical_to_logical_map)",
                                 name));
  return t.num_logical_experts;
}

// The means from the sums (NaN without steps).
void finish_means(TopkAgreement& r) {
  const size_t L = r.layers.size();
  const auto S = static_cast<double>(r.steps);
  double total_j = 0;
  int64_t total_flips = 0;
  for (size_t l = 0; l < L; ++l) {
    r.layer_mean_jaccard[l] = r.steps > 0 ? r.layer_jaccard_sum[l] / S : std::nan("");
    r.layer_flip_rate[l] = r.steps > 0 ? static_cast<double>(r.layer_flips[l]) / S : std::nan("");
    total_j += r.layer_jaccard_sum[l];
    total_flips += r.layer_flips[l];
  }
  const bool any = r.steps > 0 && L > 0;
  r.mean_jaccard = any ? total_j / (static_cast<double>(L) * S) : std::nan("");
  r.flip_rate = any ? static_cast<double>(total_flips) / (static_cast<double>(L) * S) : std::nan("");
  r.any_layer_flip_fraction = any ? static_cast<double>(r.steps_with_flip) / S : std::nan("");
}

}  // namespace

TopkAgreement topk_agreement(const RouterTrace& a, const RouterTrace& b, const RowPairs& pairs,
                             const TopkAgreementOptions& o) {
  if (pairs.a_rows.size() != pairs.b_rows.size()) throw Error("topk_agreement: row pairs of unequal length");
  for (size_t s = 0; s < pairs.a_rows.size(); ++s)
    if (pairs.a_rows[s] < 0 || pairs.a_rows[s] >= a.num_positions || pairs.b_rows[s] < 0 ||
        pairs.b_rows[s] >= b.num_positions)
      throw Error(fmt::format("topk_agreement: step {} pairs rows {} and {} outside the traces", s, pairs.a_rows[s],
                              pairs.b_rows[s]));
  const bool both_physical_unmapped = a.id_space == ExpertIdSpace::Physical && b.id_space == ExpertIdSpace::Physical &&
                                      a.physical_to_logical.empty() && b.physical_to_logical.empty();
  const int ea = both_physical_unmapped ? a.num_experts : logical_experts(a, o.a_name);
  const int eb = both_physical_unmapped ? b.num_experts : logical_experts(b, o.b_name);
  if (ea != eb)
    throw InputError(fmt::format("{} has {} experts per layer but {} has {}: traces of different models?", o.a_name, ea,
                                 o.b_name, eb));
  const LayerPairs lp = match_layers(a, b, o.a_name, o.b_name);
  TopkAgreement r;
  for (size_t i = 0; i < lp.index.size(); ++i) {
    r.layers.push_back(a.layers[static_cast<size_t>(lp.a[i])].name);
    r.layer_index.push_back(lp.index[i]);
  }
  r.layers_only_a = lp.only_a;
  r.layers_only_b = lp.only_b;
  r.steps = pairs.size();
  r.top_k_a = a.top_k;
  r.top_k_b = b.top_k;
  const size_t L = r.layers.size(), S = static_cast<size_t>(r.steps);
  r.jaccard.assign(L * S, 0.0);
  r.flipped.assign(L * S, 0);
  r.layer_jaccard_sum.assign(L, 0.0);
  r.layer_flips.assign(L, 0);
  r.layer_mean_jaccard.assign(L, std::nan(""));
  r.layer_flip_rate.assign(L, std::nan(""));
  r.step_layers_flipped.assign(S, 0);
  r.num_experts = ea;
  r.expert_counts_a.assign(L * static_cast<size_t>(ea), 0);
  r.expert_counts_b.assign(L * static_cast<size_t>(ea), 0);
  std::vector<int32_t> sa, sb, oa, ob;
  for (size_t l = 0; l < L; ++l) {
    double sum_j = 0;
    int64_t flips = 0;
    for (size_t s = 0; s < S; ++s) {
      logical_ids(a, lp.a[l], pairs.a_rows[s], oa, sa);
      logical_ids(b, lp.b[l], pairs.b_rows[s], ob, sb);
      for (int32_t e : sa) ++r.expert_counts_a[l * static_cast<size_t>(ea) + static_cast<size_t>(e)];
      for (int32_t e : sb) ++r.expert_counts_b[l * static_cast<size_t>(ea) + static_cast<size_t>(e)];
      size_t common = 0;
      for (size_t i = 0, j = 0; i < sa.size() && j < sb.size();) {
        if (sa[i] == sb[j]) ++common, ++i, ++j;
        else if (sa[i] < sb[j]) ++i;
        else ++j;
      }
      const size_t uni = sa.size() + sb.size() - common;
      const double jac = uni == 0 ? 1.0 : static_cast<double>(common) / static_cast<double>(uni);
      const bool flip = sa != sb;
      if (!flip && oa != ob) ++r.order_only;
      r.jaccard[l * S + s] = jac;
      r.flipped[l * S + s] = flip ? 1 : 0;
      r.step_layers_flipped[s] += flip ? 1 : 0;
      sum_j += jac;
      flips += flip ? 1 : 0;
    }
    r.layer_jaccard_sum[l] = sum_j;
    r.layer_flips[l] = flips;
  }
  for (size_t s = 0; s < S; ++s) r.steps_with_flip += r.step_layers_flipped[s] > 0 ? 1 : 0;
  finish_means(r);
  return r;
}

void accumulate(TopkAgreement& total, const TopkAgreement& part) {
  if (total.layers.empty()) {
    total = part;
  } else {
    if (part.layer_index != total.layer_index || part.num_experts != total.num_experts)
      throw InputError(fmt::format("top-k agreement: a part compares layers [{}] of {} experts, the total layers [{}] of {}",
                                   fmt::join(part.layer_index, ","), part.num_experts,
                                   fmt::join(total.layer_index, ","), total.num_experts));
    total.steps += part.steps;
    for (size_t l = 0; l < total.layers.size(); ++l) {
      total.layer_jaccard_sum[l] += part.layer_jaccard_sum[l];
      total.layer_flips[l] += part.layer_flips[l];
    }
    total.steps_with_flip += part.steps_with_flip;
    total.order_only += part.order_only;
    for (size_t i = 0; i < total.expert_counts_a.size(); ++i) {
      total.expert_counts_a[i] += part.expert_counts_a[i];
      total.expert_counts_b[i] += part.expert_counts_b[i];
    }
  }
  total.jaccard.clear();
  total.flipped.clear();
  total.step_layers_flipped.clear();
  finish_means(total);
}

}  // namespace moeroute
