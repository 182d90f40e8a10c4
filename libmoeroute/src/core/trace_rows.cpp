// Building traces row by row: a trace without rows (what concatenation and row selection start
// from) and row-wise concatenation of traces of one shape (RouterTrace's per-layer arrays are
// [layers, rows, width], so the rows of several parts interleave layer by layer).
#include "core/trace_rows.h"

#include <unordered_map>

#include <fmt/format.h>

#include "moeroute/error.h"

namespace moeroute {

namespace detail {

RouterTrace without_rows(const RouterTrace& t) {
  RouterTrace out;
  out.meta = t.meta;
  out.layers = t.layers;
  out.num_experts = t.num_experts;
  out.top_k = t.top_k;
  out.logits_kind = t.logits_kind;
  out.id_space = t.id_space;
  out.num_logical_experts = t.num_logical_experts;
  out.physical_to_logical = t.physical_to_logical;
  return out;
}

namespace {

bool same_shape(const RouterTrace& a, const RouterTrace& b) {
  if (a.layers.size() != b.layers.size()) return false;
  for (size_t i = 0; i < a.layers.size(); ++i)
    if (a.layers[i].name != b.layers[i].name || a.layers[i].index != b.layers[i].index) return false;
  return a.num_experts == b.num_experts && a.top_k == b.top_k && a.fields() == b.fields() &&
         a.id_space == b.id_space && a.logits_kind == b.logits_kind && a.physical_to_logical == b.physical_to_logical;
}

}  // namespace

RouterTrace concat_rows(std::vector<RouterTrace>&& parts) {
  if (parts.empty()) return {};
  RouterTrace out = std::move(parts.front());
  if (parts.size() == 1) return out;
  for (size_t i = 1; i < parts.size(); ++i)
    if (!same_shape(out, parts[i]))
      throw InputError(fmt::format("cannot concatenate traces: part {} differs from the first in layers, experts, "
                                   "top-k, arrays present, logits kind or id space",
                                   i));
  parts.front() = std::move(out);
  const RouterTrace& first = parts.front();
  out = detail::without_rows(first);
  for (const auto& p : parts) out.num_positions += p.num_positions;
  const int L = out.num_layers();
  const auto per_layer = [&](auto member, size_t width) {
    if ((first.*member).empty()) return;
    auto& dst = out.*member;
    dst.reserve(static_cast<size_t>(L) * static_cast<size_t>(out.num_positions) * width);
    for (int l = 0; l < L; ++l)
      for (const auto& p : parts) {
        const size_t n = static_cast<size_t>(p.num_positions) * width;
        const auto b = (p.*member).begin() + static_cast<std::ptrdiff_t>(static_cast<size_t>(l) * n);
        dst.insert(dst.end(), b, b + static_cast<std::ptrdiff_t>(n));
      }
  };
  per_layer(&RouterTrace::topk_ids, static_cast<size_t>(out.top_k));
  per_layer(&RouterTrace::gate_weights, static_cast<size_t>(out.top_k));
  per_layer(&RouterTrace::router_logits, static_cast<size_t>(out.num_experts));
  const auto per_row = [&](auto member) {
    for (const auto& p : parts) (out.*member).insert((out.*member).end(), (p.*member).begin(), (p.*member).end());
  };
  per_row(&RouterTrace::token_ids);
  per_row(&RouterTrace::token_text);
  per_row(&RouterTrace::sequence_ids);
  per_row(&RouterTrace::positions);
  per_row(&RouterTrace::segments);
  std::unordered_map<int64_t, size_t> slot;
  for (auto& p : parts)
    for (auto& s : p.sequences) {
      const auto [it, fresh] = slot.emplace(s.id, out.sequences.size());
      if (fresh) out.sequences.push_back(std::move(s));
      else out.sequences[it->second].num_tokens += s.num_tokens;
    }
  return out;
}

}  // namespace detail
}  // namespace moeroute
