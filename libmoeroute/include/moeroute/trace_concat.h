// Row-wise surgery on multi-sequence traces: appending the rows of one trace to another and
// taking the rows of some sequences out. Used to assemble dataset-trace shards from the chunks a
// tracing run produces, and to split chunks at shard boundaries.
#pragma once

#include <cstdint>
#include <vector>

#include "moeroute/trace.h"

namespace moeroute {

/// Appends every row of `src` to `dst` (layer by layer), with its per-row arrays and sequence
/// descriptions. An empty `dst` (no layers) becomes a copy of `src`. Both must carry sequence ids
/// and agree on layers, experts, top-k, which optional arrays are present, logits kind and id space;
/// a sequence id already in `dst` is refused. Throws InputError naming the mismatch.
void append_trace(RouterTrace& dst, const RouterTrace& src);

/// The rows of `src` whose sequence id is in `ids` (row order kept), with those sequences'
/// descriptions; everything else (meta, layers, kinds) copied. `src` must carry sequence ids.
RouterTrace select_sequences(const RouterTrace& src, const std::vector<int64_t>& ids);

/// Rows `rows` of `src` in the order given, with the descriptions of the sequences they belong
/// to; everything else copied as select_sequences does. Works on single-sequence traces too.
RouterTrace select_rows(const RouterTrace& src, const std::vector<int64_t>& rows);

/// Sequence ids in order of first appearance in the rows.
std::vector<int64_t> sequence_order(const RouterTrace& trace);

/// One sequence's rows.
struct SequenceRows {
  int64_t id = 0;               ///< sequence id (0 for a single-sequence trace)
  const SequenceInfo* info = nullptr;  ///< its description in trace.sequences, or null
  std::vector<int64_t> rows;    ///< its rows, by position
};
/// Every sequence of `trace` in order of first appearance (a single-sequence trace: one, id 0,
/// all rows).
std::vector<SequenceRows> sequence_rows(const RouterTrace& trace);

}  // namespace moeroute
