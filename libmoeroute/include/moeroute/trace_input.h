// The one place analysis inputs are opened. A trace file is one chunk; a dataset trace (its
// directory or its trace.json) is one chunk per shard, in shard order, each checked against the
// index before it is handed on; any other file moeroute/import.h reads (llama.cpp logs, vLLM,
// SGLang, Megatron-Core) is streamed in the importer's chunks. Every command that reads routing
// (stats, export) goes through for_each_trace_chunk, so a new input kind is added here once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "moeroute/dataset_trace.h"
#include "moeroute/import.h"
#include "moeroute/trace.h"

namespace moeroute {

/// Where a chunk came from.
struct TraceChunkInfo {
  std::string source;                        ///< the input path as given
  std::string format;                        ///< "dataset-trace", "trace", or the import format (to_string(ImportFormat))
  std::string part;                          ///< the shard file for a dataset trace, "" otherwise
  const DatasetTraceIndex* index = nullptr;  ///< the dataset trace's index, or null
  int64_t chunk = 0;                         ///< 0-based chunk number within this input
  int64_t num_chunks = 1;                    ///< chunks this input has; -1 for an import stream (not known in advance)
};

struct TraceInputOptions {
  bool verify_checksums = true;  ///< dataset traces: hash every shard against the index
  ImportOptions import;          ///< how files of other systems are imported (format, experts, layer map, …)
  bool whole_sequences = false;  ///< import streams: hold a chunk's last sequence back until the next chunk, so
                                 ///< that no sequence is split over two chunks (trace files and shards always
                                 ///< hold whole sequences)
};

using TraceChunkCallback = std::function<void(const RouterTrace& chunk, const TraceChunkInfo& info)>;

/// Calls `on_chunk` for every chunk of the input at `path` (see the file comment). A sequence of
/// an import stream may continue in the next chunk unless options.whole_sequences; its rows stay
/// contiguous either way. Bad input throws InputError naming the file (and shard or line) at fault.
void for_each_trace_chunk(const std::filesystem::path& path, const TraceChunkCallback& on_chunk,
                          const TraceInputOptions& options = {});

}  // namespace moeroute
