// The one place analysis inputs are opened. A trace file is one chunk; a dataset trace (its
// directory or its trace.json) is one chunk per shard, in shard order, each checked against the
// index before it is handed on. Every command that reads routing (stats, export) goes through
// for_each_trace_chunk, so a new input kind (an importer's stream) is added here once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "moeroute/dataset_trace.h"
#include "moeroute/trace.h"

namespace moeroute {

/// Where a chunk came from.
struct TraceChunkInfo {
  std::string source;                        ///< the input path as given
  std::string part;                          ///< the shard file for a dataset trace, "" for a trace file
  const DatasetTraceIndex* index = nullptr;  ///< the dataset trace's index, or null for a trace file
  int64_t chunk = 0;                         ///< 0-based chunk number within this input
  int64_t num_chunks = 1;                    ///< chunks this input has
};

struct TraceInputOptions {
  bool verify_checksums = true;  ///< dataset traces: hash every shard against the index
};

using TraceChunkCallback = std::function<void(const RouterTrace& chunk, const TraceChunkInfo& info)>;

/// Calls `on_chunk` for every chunk of the input at `path` (see the file comment). Bad input
/// throws InputError naming the file (and shard) at fault.
void for_each_trace_chunk(const std::filesystem::path& path, const TraceChunkCallback& on_chunk,
                          const TraceInputOptions& options = {});

}  // namespace moeroute
