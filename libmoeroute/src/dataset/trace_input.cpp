#include "moeroute/trace_input.h"

#include <optional>

#include "core/trace_rows.h"
#include "moeroute/trace_concat.h"
#include "moeroute/trace_io.h"

namespace moeroute {

namespace {

void for_each_shard(const std::filesystem::path& path, const TraceChunkCallback& on_chunk,
                    const TraceInputOptions& options, TraceChunkInfo& info) {
  const std::filesystem::path index_path = find_dataset_trace_index(path);
  const DatasetTraceIndex index = read_dataset_trace_index(index_path);
  info.format = "dataset-trace";
  info.index = &index;
  info.num_chunks = static_cast<int64_t>(index.shards.size());
  for (const ShardEntry& e : index.shards) {
    info.part = e.file;
    on_chunk(read_shard(index_path, index, e, {options.verify_checksums}), info);
    ++info.chunk;
  }
}

// An importer's chunks, with whole_sequences the last sequence of each held back for the next.
void for_each_imported(const std::filesystem::path& path, ImportFormat format, const TraceChunkCallback& on_chunk,
                       const TraceInputOptions& options, TraceChunkInfo& info) {
  ImportOptions o = options.import;
  o.format = format;
  info.format = to_string(format);
  info.num_chunks = -1;
  const auto hand_on = [&](const RouterTrace& t) {
    on_chunk(t, info);
    ++info.chunk;
  };
  std::optional<RouterTrace> held;
  import_stream(path, o, [&](RouterTrace&& chunk) {
    if (!options.whole_sequences) return hand_on(chunk);
    if (held) {
      std::vector<RouterTrace> parts;
      parts.push_back(std::move(*held));
      parts.push_back(std::move(chunk));
      chunk = detail::concat_rows(std::move(parts));
      held.reset();
    }
    const std::vector<int64_t> order = sequence_order(chunk);
    if (order.size() <= 1) {  // one sequence (or none named): it may go on in the next chunk
      held = std::move(chunk);
      return;
    }
    held = select_sequences(chunk, {order.back()});
    hand_on(select_sequences(chunk, std::vector<int64_t>(order.begin(), order.end() - 1)));
  });
  if (held) hand_on(*held);
}

}  // namespace

void for_each_trace_chunk(const std::filesystem::path& path, const TraceChunkCallback& on_chunk,
                          const TraceInputOptions& options) {
  TraceChunkInfo info;
  info.source = path.string();
  if (is_dataset_trace(path)) return for_each_shard(path, on_chunk, options, info);
  const ImportFormat format = options.import.format == ImportFormat::Auto && path != "-"
                                  ? detect_import_format(path)
                                  : options.import.format;
  if (format == ImportFormat::MoerouteTrace) {
    info.format = "trace";
    on_chunk(load_trace(path), info);
    return;
  }
  for_each_imported(path, format, on_chunk, options, info);
}

}  // namespace moeroute
