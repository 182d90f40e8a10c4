#include "moeroute/trace_input.h"

#include "moeroute/trace_io.h"

namespace moeroute {

void for_each_trace_chunk(const std::filesystem::path& path, const TraceChunkCallback& on_chunk,
                          const TraceInputOptions& options) {
  TraceChunkInfo info;
  info.source = path.string();
  if (!is_dataset_trace(path)) {
    on_chunk(load_trace(path), info);
    return;
  }
  const std::filesystem::path index_path = find_dataset_trace_index(path);
  const DatasetTraceIndex index = read_dataset_trace_index(index_path);
  info.index = &index;
  info.num_chunks = static_cast<int64_t>(index.shards.size());
  for (const ShardEntry& e : index.shards) {
    info.part = e.file;
    on_chunk(read_shard(index_path, index, e, {options.verify_checksums}), info);
    ++info.chunk;
  }
}

}  // namespace moeroute
