// Merging per-rank indexes into one (docs/dataset-trace.md, "Merging").
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "dataset/trace_index_util.h"
#include "moeroute/atomic_file.h"
#include "moeroute/dataset_trace.h"
#include "moeroute/error.h"

namespace moeroute {

namespace fs = std::filesystem;

DatasetTraceIndex merge_dataset_traces(const std::vector<fs::path>& paths, const fs::path& out,
                                       const MergeOptions& options) {
  if (paths.empty()) throw InputError("merge: no indexes given");
  std::vector<DatasetTraceIndex> parts;
  for (const fs::path& p : paths) parts.push_back(read_dataset_trace_index(p));
  const DatasetTraceIndex& first = parts.front();
  DatasetTraceIndex merged = first;
  merged.selection = {0, 1, "merge"};
  merged.merged_from.clear();
  merged.shards.clear();
  merged.has_shape = false;

  std::error_code ec;
  const fs::path out_dir = fs::absolute(out, ec).parent_path();
  std::map<int64_t, std::pair<ShardEntry, size_t>> shards;  // index → (entry, part)
  for (size_t i = 0; i < parts.size(); ++i) {
    const DatasetTraceIndex& x = parts[i];
    const std::string name = paths[i].string();
    const std::string diff = detail::run_mismatch(first, x);
    if (!diff.empty())
      throw InputError(fmt::format("merge: {} is of a different run than {}: {}", name, paths[0].string(), diff));
    if (!x.complete)
      throw InputError(fmt::format("merge: {} is incomplete: rank {} of {} lists {} of its {} shards (finish or rerun "
                                   "that rank first)",
                                   name, x.selection.rank, x.selection.world_size, x.shards.size(),
                                   plan_shards(x.num_samples, x.shard_size, x.selection).size()));
    if (x.has_shape) {
      if (!merged.has_shape) {
        merged.shape = x.shape;
        merged.has_shape = true;
      } else if (const std::string d = detail::shape_mismatch(merged.shape, x.shape); !d.empty()) {
        throw InputError(fmt::format("merge: {} has another routing shape: {}", name, d));
      }
    }
    for (const ShardEntry& e : x.shards) {
      if (const auto it = shards.find(e.index); it != shards.end())
        throw InputError(fmt::format("merge: shard {} is listed by both {} and {} (the pieces overlap)", e.index,
                                     paths[it->second.second].string(), name));
      read_shard(paths[i], x, e, {options.verify_checksums});
      ShardEntry moved = e;
      const fs::path file = fs::absolute(paths[i], ec).parent_path() / e.file;
      moved.file = fs::relative(file, out_dir, ec).generic_string();
      if (ec || moved.file.empty()) moved.file = file.string();
      shards[e.index] = {moved, i};
    }
    merged.merged_from.push_back(fs::relative(fs::absolute(paths[i], ec), out_dir, ec).generic_string());
  }
  std::vector<int64_t> missing;
  for (int64_t j = 0; j < first.num_shards; ++j)
    if (!shards.count(j)) missing.push_back(j);
  if (!missing.empty())
    throw InputError(fmt::format("merge: the indexes do not cover the dataset: {} of {} shards missing ({}{})",
                                 missing.size(), first.num_shards,
                                 fmt::join(missing.begin(), missing.begin() + std::min<size_t>(missing.size(), 10), ", "),
                                 missing.size() > 10 ? ", …" : ""));
  for (auto& [j, entry] : shards) merged.shards.push_back(entry.first);
  merged.complete = true;
  write_file_atomic(out, merged.to_json());
  return merged;
}

}  // namespace moeroute
