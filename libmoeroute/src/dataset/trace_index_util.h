// Checks shared by the dataset-trace writer, reader and merge: whether a shard file belongs to a
// run and range, and whether a trace has an index's shape.
#pragma once

#include <cstdint>
#include <string>

#include "moeroute/dataset_trace.h"

namespace moeroute::detail {

/// Keys of a shard's TraceMeta::extra that tie it to its run (docs/dataset-trace.md).
inline constexpr const char* kShardRunKey = "moeroute.dataset.run_id";
inline constexpr const char* kShardIndexKey = "moeroute.dataset.shard";
inline constexpr const char* kShardSamplesKey = "moeroute.dataset.samples";

/// "" when `shard` is shard `index` of `run` (its run id, shard number, and exactly the samples of
/// its range, each described once); else what differs.
std::string shard_mismatch(const RouterTrace& shard, const DatasetTraceIndex& run, int64_t index);

/// The shape of a trace as an index records it.
DatasetTraceShape shape_of(const RouterTrace& t, LogitsDtype dtype);
/// "" when `t` has `shape` (layers, experts, top-k, arrays, logits kind); else what differs.
std::string shape_mismatch(const DatasetTraceShape& shape, const RouterTrace& t);
/// "" when two shapes agree (logits dtype included); else what differs.
std::string shape_mismatch(const DatasetTraceShape& a, const DatasetTraceShape& b);

/// The run id: XXH64 (hex) of the canonical JSON of what determines a dataset trace's content.
std::string run_id_of(const std::string& model_id, const std::vector<DatasetFileSummary>& datasets, int64_t shard_size,
                      const nlohmann::json& options);
/// "" when two indexes describe the same run; else the first field that differs.
std::string run_mismatch(const DatasetTraceIndex& a, const DatasetTraceIndex& b);

}  // namespace moeroute::detail
