// Dataset traces: the routing of a whole dataset as safetensors shards — each an ordinary
// multi-sequence trace file (docs/trace-format.md) holding a contiguous range of samples — plus
// an index, trace.json, that lists the shards, the model, the datasets and the run options.
// Shards are numbered globally (shard j holds samples [j·S, (j+1)·S)), so any split of the work
// over processes (--shard I/N: shard j belongs to rank j mod N) writes the same shard files, and
// the per-rank indexes merge into the index one process would have written. Every shard is
// written atomically and verified before an index lists it; a restarted run keeps the shards it
// finds complete. Format and guarantees: docs/dataset-trace.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "moeroute/dataset.h"
#include "moeroute/trace.h"
#include "moeroute/trace_io.h"

namespace moeroute {

/// Version of trace.json's layout (its "format_version").
inline constexpr int kDatasetTraceFormatVersion = 1;

/// Which shards this process writes: shard j belongs to rank j mod world_size.
struct ShardSelection {
  int rank = 0;        ///< this process, in [0, world_size)
  int world_size = 1;  ///< processes splitting the dataset
  std::string origin = "default";  ///< where it came from: "--shard", "RANK/WORLD_SIZE", "SLURM_PROCID/SLURM_NTASKS", "default" ("merge" in a merged index)
};

/// "I/N" with 0 ≤ I < N. Throws InputError otherwise.
ShardSelection parse_shard_selection(const std::string& spec);

/// `spec` when not empty; else the variables torchrun sets (RANK, WORLD_SIZE), else Slurm's
/// (SLURM_PROCID, SLURM_NTASKS), else 0/1. A variable that is set but malformed, or only one of a
/// pair, throws InputError naming it. `getenv` is replaceable for tests.
ShardSelection resolve_shard_selection(const std::string& spec,
                                       const std::function<const char*(const char*)>& getenv = nullptr);

/// One shard: samples [begin, end) of the dataset.
struct ShardRange {
  int64_t index = 0;  ///< global shard number j
  int64_t begin = 0;  ///< first sample, j · shard_size
  int64_t end = 0;    ///< one past the last sample
};

/// Every global shard of a dataset of `num_samples` split into shards of `shard_size` samples, or
/// only those of `selection`'s rank.
std::vector<ShardRange> plan_shards(int64_t num_samples, int64_t shard_size, const ShardSelection& selection = {});

/// File name of global shard j ("shard-000007.safetensors").
std::string shard_file_name(int64_t index);
/// File name of a rank's index: "trace.json" for a single process, else
/// "trace-rank00003-of-00008.json".
std::string index_file_name(const ShardSelection& selection);

/// One written, verified shard as the index lists it.
struct ShardEntry {
  int64_t index = 0;         ///< global shard number
  std::string file;          ///< path relative to the index's directory
  int64_t sample_begin = 0;  ///< first sample
  int64_t sample_end = 0;    ///< one past the last
  int64_t num_rows = 0;      ///< routed tokens (trace rows) in the shard
  uint64_t bytes = 0;        ///< file size
  std::string xxh64;         ///< XXH64 of the whole file (16 hex digits)
};

/// The routing shape every shard shares (taken from the first shard written).
struct DatasetTraceShape {
  std::vector<LayerInfo> layers;
  int num_experts = 0;
  int top_k = 0;
  std::vector<std::string> fields;  ///< arrays present (RouterTrace::fields)
  std::string logits_kind;          ///< "raw", "scores", "probabilities"
  std::string logits_dtype;         ///< storage dtype of router_logits: "f32", "f16", "bf16" ("" = no logits)
};

/// trace.json (docs/dataset-trace.md, field by field).
struct DatasetTraceIndex {
  int format_version = kDatasetTraceFormatVersion;
  std::string run_id;            ///< XXH64 of the run description (model, datasets, shard size, options)
  std::string model_id;          ///< model the routing came from
  std::vector<DatasetFileSummary> datasets;  ///< the input files, in order
  int64_t num_samples = 0;       ///< samples in the whole dataset
  int64_t shard_size = 0;        ///< samples per shard
  int64_t num_shards = 0;        ///< global shards of the whole dataset
  nlohmann::json options = nlohmann::json::object();  ///< run settings (what changes the routing)
  ShardSelection selection;      ///< the rank that wrote it; 0/1 for a merged or single-process index
  std::vector<std::string> merged_from;  ///< index files a merged index was made from
  bool has_shape = false;        ///< false until the first shard is written
  DatasetTraceShape shape;
  std::vector<ShardEntry> shards;  ///< sorted by index
  bool complete = false;         ///< every shard of the selection (all shards when merged) is listed

  /// Serialised trace.json.
  std::string to_json() const;
};

/// Reads and validates an index (its own consistency: versions, ranges, duplicates). Does not
/// open the shards. Throws InputError naming file, line and field.
DatasetTraceIndex read_dataset_trace_index(const std::filesystem::path& path);

/// The index a path names: a trace.json (or rank index) file, or a directory holding trace.json.
/// A directory with only rank indexes is refused with a hint to run `moeroute merge`.
std::filesystem::path find_dataset_trace_index(const std::filesystem::path& path);

/// True when `path` names a dataset trace rather than a trace file or another system's file: a
/// directory, a file named trace.json or trace-rank*-of-*.json, or any file whose first 4 KiB hold
/// the index's format name (a merged index written elsewhere with `merge -o`).
bool is_dataset_trace(const std::filesystem::path& path);

struct ShardReadOptions {
  bool verify_checksums = true;  ///< hash every shard file and compare with the index (reads each file twice)
};

/// Opens shard `entry` of the index at `index_path`, checks that file and index agree (size,
/// checksum, run id, sample range, rows, shape) and returns its trace. Disagreement throws
/// InputError naming the shard and what differs.
RouterTrace read_shard(const std::filesystem::path& index_path, const DatasetTraceIndex& index, const ShardEntry& entry,
                       const ShardReadOptions& options = {});

/// Settings of a tracing run that writes a dataset trace.
struct DatasetTraceOptions {
  std::filesystem::path dir;            ///< output directory (created)
  std::string model_id;                 ///< recorded in the index and in every shard
  nlohmann::json options = nlohmann::json::object();  ///< run settings that change the routing (dtype, max tokens, template, …): recorded and compared on resume
  int64_t shard_size = 64;              ///< samples per shard (memory: a shard's rows are held until it is written)
  ShardSelection selection;             ///< this process's part
  LogitsDtype logits_dtype = LogitsDtype::F32;  ///< storage dtype of router logits in the shards
};

/// Throws the InputError DatasetTraceWriter's constructor would for bad options or for an index of
/// another run in options.dir, without creating or writing anything: a tracing run checks this
/// before it loads its model.
void check_dataset_trace_dir(const DatasetTraceOptions& options, const DatasetSummary& dataset);

/// Writes the shards of one rank. Usage (what `moeroute trace` does):
///
///     DatasetTraceWriter w(options, scan_dataset(files, dataset_options));
///     for each sample s of the dataset with w.wants(s.index): run the model in batches and
///         w.add(chunk)  // chunk: the batch's routing, sequence id = sample index
///     w.complete() is then true and the index says so.
///
/// A chunk's sequences must be the next samples the writer expects (pending shards in order,
/// samples in order); a chunk may span shards. When a shard's last sample arrives the shard is
/// serialised, written atomically (temp file + fsync + rename), read back, validated and hashed,
/// and only then added to the index, which is rewritten atomically.
class DatasetTraceWriter {
 public:
  /// Opens `options.dir` for this rank. An existing index there must describe the same run
  /// (model, datasets by checksum, shard size, options) — else InputError saying what differs.
  /// Shards it lists are kept if their files verify; shard files it does not list (a crash after
  /// the rename, before the index update) are adopted when they verify as this run's; leftover
  /// temporary files of this rank's shards are removed. The index is written at once.
  DatasetTraceWriter(DatasetTraceOptions options, const DatasetSummary& dataset);
  ~DatasetTraceWriter();
  DatasetTraceWriter(const DatasetTraceWriter&) = delete;
  DatasetTraceWriter& operator=(const DatasetTraceWriter&) = delete;

  /// Shards of this rank not written yet, in order.
  std::vector<ShardRange> pending() const;
  /// Samples still to be traced, over all pending shards.
  int64_t pending_samples() const;
  /// Whether sample `index` belongs to a pending shard (the samples to run the model on).
  bool wants(int64_t sample_index) const;
  /// The next sample the writer expects, or -1 when complete.
  int64_t next_sample() const;

  /// Takes the routing of whole samples (see the class comment). Each sequence needs its
  /// SequenceInfo (label, loss, num_tokens). Throws InputError for a chunk out of order, a missing
  /// or repeated sample, or one whose shape differs from the shards already written.
  void add(const RouterTrace& chunk);

  /// Every shard of this rank is written.
  bool complete() const;
  const DatasetTraceIndex& index() const;
  std::filesystem::path index_path() const;
  /// Shards kept from an earlier run (listed or adopted) when the writer was opened.
  int64_t resumed_shards() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct MergeOptions {
  bool verify_checksums = true;  ///< hash every shard file against the indexes
};

/// Merges per-rank indexes into one index at `out` (shard paths rewritten relative to it):
/// they must be complete, of the same run (model, datasets, shard size, options, shape), list
/// disjoint shards and together cover the whole dataset; every shard file must exist and match.
/// Returns the merged index. Throws InputError naming the index or shard at fault.
DatasetTraceIndex merge_dataset_traces(const std::vector<std::filesystem::path>& indexes,
                                       const std::filesystem::path& out, const MergeOptions& options = {});

/// The rank indexes (trace-rank*-of-*.json) in a directory, sorted.
std::vector<std::filesystem::path> rank_indexes_in(const std::filesystem::path& dir);

}  // namespace moeroute
