#include "moeroute/trace_concat.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "core/trace_rows.h"
#include "dataset/trace_index_util.h"
#include "moeroute/error.h"

namespace moeroute {

namespace {

void require_compatible(const RouterTrace& a, const RouterTrace& b) {
  if (!a.has_sequences() || !b.has_sequences())
    throw InputError("cannot join traces: both must carry sequence_ids (multi-sequence traces)");
  std::string d = detail::shape_mismatch(detail::shape_of(a, LogitsDtype::F32), b);
  if (d.empty() && (a.id_space != b.id_space || a.physical_to_logical != b.physical_to_logical))
    d = "expert id spaces differ";
  if (!d.empty()) throw InputError("cannot join traces: " + d);
}

// Copies rows `rows` of every layer of `src` (each row `width` values) to the end of `dst`,
// which holds `dst_rows` rows per layer before the call.
template <typename T>
void append_layer_rows(std::vector<T>& dst, int64_t dst_rows, const std::vector<T>& src, int64_t src_rows,
                       const std::vector<int64_t>& rows, int layers, int width) {
  if (src.empty()) return;
  const auto w = static_cast<size_t>(width);
  const int64_t total = dst_rows + static_cast<int64_t>(rows.size());
  std::vector<T> out(static_cast<size_t>(layers) * static_cast<size_t>(total) * w);
  for (int l = 0; l < layers; ++l) {
    T* o = out.data() + static_cast<size_t>(l) * static_cast<size_t>(total) * w;
    if (dst_rows > 0) std::copy_n(dst.data() + static_cast<size_t>(l) * static_cast<size_t>(dst_rows) * w, static_cast<size_t>(dst_rows) * w, o);
    o += static_cast<size_t>(dst_rows) * w;
    const T* s = src.data() + static_cast<size_t>(l) * static_cast<size_t>(src_rows) * w;
    for (int64_t r : rows) o = std::copy_n(s + static_cast<size_t>(r) * w, w, o);
  }
  dst = std::move(out);
}

// An optional per-row array: absent (empty) in `src`, it stays absent.
template <typename T>
void append_rows(std::vector<T>& dst, const std::vector<T>& src, const std::vector<int64_t>& rows) {
  if (src.empty()) return;
  for (int64_t r : rows) dst.push_back(src[static_cast<size_t>(r)]);
}

// Appends rows `rows` of `src` to `dst` (compatible, or empty).
void append_selected(RouterTrace& dst, const RouterTrace& src, const std::vector<int64_t>& rows) {
  const int L = src.num_layers();
  append_layer_rows(dst.topk_ids, dst.num_positions, src.topk_ids, src.num_positions, rows, L, src.top_k);
  append_layer_rows(dst.gate_weights, dst.num_positions, src.gate_weights, src.num_positions, rows, L, src.top_k);
  append_layer_rows(dst.router_logits, dst.num_positions, src.router_logits, src.num_positions, rows, L, src.num_experts);
  append_rows(dst.token_ids, src.token_ids, rows);
  append_rows(dst.token_text, src.token_text, rows);
  append_rows(dst.sequence_ids, src.sequence_ids, rows);
  append_rows(dst.positions, src.positions, rows);
  append_rows(dst.segments, src.segments, rows);
  dst.num_positions += static_cast<int64_t>(rows.size());
}

std::vector<int64_t> all_rows(const RouterTrace& t) {
  std::vector<int64_t> rows(static_cast<size_t>(t.num_positions));
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<int64_t>(i);
  return rows;
}

}  // namespace

std::vector<int64_t> sequence_order(const RouterTrace& trace) {
  std::vector<int64_t> order;
  std::unordered_set<int64_t> seen;
  for (int64_t id : trace.sequence_ids)
    if (seen.insert(id).second) order.push_back(id);
  return order;
}

std::vector<SequenceRows> sequence_rows(const RouterTrace& trace) {
  std::vector<SequenceRows> out;
  std::unordered_map<int64_t, size_t> at;
  for (int64_t r = 0; r < trace.num_positions; ++r) {
    const int64_t id = trace.sequence_of(r);
    auto [it, fresh] = at.try_emplace(id, out.size());
    if (fresh) out.push_back({id, nullptr, {}});
    out[it->second].rows.push_back(r);
  }
  for (const SequenceInfo& s : trace.sequences)
    if (const auto it = at.find(s.id); it != at.end()) out[it->second].info = &s;
  for (SequenceRows& s : out)
    std::stable_sort(s.rows.begin(), s.rows.end(),
                     [&](int64_t a, int64_t b) { return trace.position_of(a) < trace.position_of(b); });
  return out;
}

void append_trace(RouterTrace& dst, const RouterTrace& src) {
  if (dst.layers.empty()) {
    if (!src.has_sequences()) throw InputError("cannot join traces: both must carry sequence_ids (multi-sequence traces)");
    dst = src;
    return;
  }
  require_compatible(dst, src);
  std::unordered_set<int64_t> have(dst.sequence_ids.begin(), dst.sequence_ids.end());
  for (int64_t id : sequence_order(src))
    if (have.count(id)) throw InputError(fmt::format("cannot join traces: sequence {} is in both", id));
  append_selected(dst, src, all_rows(src));
  dst.sequences.insert(dst.sequences.end(), src.sequences.begin(), src.sequences.end());
}

RouterTrace select_sequences(const RouterTrace& src, const std::vector<int64_t>& ids) {
  if (!src.has_sequences()) throw InputError("select_sequences: the trace carries no sequence_ids");
  const std::unordered_set<int64_t> wanted(ids.begin(), ids.end());
  std::vector<int64_t> rows;
  for (size_t r = 0; r < src.sequence_ids.size(); ++r)
    if (wanted.count(src.sequence_ids[r])) rows.push_back(static_cast<int64_t>(r));
  RouterTrace out = detail::without_rows(src);
  append_selected(out, src, rows);
  for (const SequenceInfo& s : src.sequences)
    if (wanted.count(s.id)) out.sequences.push_back(s);
  return out;
}

RouterTrace select_rows(const RouterTrace& src, const std::vector<int64_t>& rows) {
  for (int64_t r : rows)
    if (r < 0 || r >= src.num_positions)
      throw Error(fmt::format("select_rows: row {} outside the trace's {} rows", r, src.num_positions));
  RouterTrace out = detail::without_rows(src);
  append_selected(out, src, rows);
  const std::unordered_set<int64_t> ids(out.sequence_ids.begin(), out.sequence_ids.end());
  for (const SequenceInfo& s : src.sequences)
    if (ids.count(s.id)) out.sequences.push_back(s);
  return out;
}

}  // namespace moeroute
