// DatasetTraceWriter: shards of one rank, written atomically and verified before the index lists
// them; resumption from whatever a crashed run left (docs/dataset-trace.md, "Crashes and resuming").
#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "dataset/trace_index_util.h"
#include "io/xxhash64.h"
#include "moeroute/atomic_file.h"
#include "moeroute/dataset_trace.h"
#include "moeroute/error.h"
#include "moeroute/trace_concat.h"

namespace moeroute {

namespace fs = std::filesystem;

namespace {

// The index a writer with these settings starts from (no shards, no shape).
DatasetTraceIndex fresh_index(const DatasetTraceOptions& options, const DatasetSummary& dataset) {
  if (options.model_id.empty()) throw InputError("a dataset trace needs a model id");
  if (!options.options.is_object()) throw InputError("dataset-trace run options must be a JSON object");
  if (options.shard_size <= 0) throw InputError(fmt::format("shard size must be ≥ 1 sample, got {}", options.shard_size));
  DatasetTraceIndex x;
  x.model_id = options.model_id;
  x.datasets = dataset.files;
  x.num_samples = dataset.num_samples;
  x.shard_size = options.shard_size;
  x.num_shards = (dataset.num_samples + options.shard_size - 1) / options.shard_size;
  x.options = options.options;
  x.selection = options.selection;
  x.run_id = detail::run_id_of(x.model_id, x.datasets, x.shard_size, x.options);
  return x;
}

void refuse_other_run(const fs::path& index_path, const DatasetTraceIndex& old, const DatasetTraceIndex& fresh) {
  const std::string diff = detail::run_mismatch(old, fresh);
  if (!diff.empty())
    throw InputError(fmt::format("{}: holds a trace of a different run ({}); use another --out directory or delete it",
                                 index_path.string(), diff));
}

}  // namespace

void check_dataset_trace_dir(const DatasetTraceOptions& options, const DatasetSummary& dataset) {
  const DatasetTraceIndex fresh = fresh_index(options, dataset);
  const fs::path index_path = options.dir / index_file_name(options.selection);
  std::error_code ec;
  if (fs::exists(index_path, ec)) refuse_other_run(index_path, read_dataset_trace_index(index_path), fresh);
}

struct DatasetTraceWriter::Impl {
  DatasetTraceOptions options;
  DatasetTraceIndex index;
  fs::path index_path;
  std::vector<ShardRange> planned;
  std::map<int64_t, ShardEntry> done;
  size_t current = 0;  // position in `planned` of the shard being filled (skipping done ones)
  RouterTrace filling;  // rows of the current shard so far
  int64_t filled = 0;   // samples in `filling`
  int64_t resumed = 0;

  void skip_done() {
    while (current < planned.size() && done.count(planned[current].index)) ++current;
  }

  int64_t next_sample() const {
    return current < planned.size() ? planned[current].begin + filled : -1;
  }

  void publish_index() {
    index.shards.clear();
    for (const auto& [j, e] : done) index.shards.push_back(e);
    index.complete = done.size() == planned.size();
    write_file_atomic(index_path, index.to_json());
  }

  // Verifies a shard file already on disk as shard `r` of this run; returns its entry.
  ShardEntry verify_existing(const ShardRange& r, const fs::path& file) {
    ShardEntry e;
    e.index = r.index;
    e.file = file.filename().string();
    e.sample_begin = r.begin;
    e.sample_end = r.end;
    e.bytes = fs::file_size(file);
    e.xxh64 = detail::xxh64_hex(detail::xxh64_file(file.string()));
    const RouterTrace t = load_trace(file);
    e.num_rows = t.num_positions;
    const std::string problem = detail::shard_mismatch(t, index, r.index);
    if (!problem.empty()) throw InputError(fmt::format("{}: {}", file.string(), problem));
    adopt_shape(t);
    return e;
  }

  void adopt_shape(const RouterTrace& t) {
    const DatasetTraceShape shape = detail::shape_of(t, options.logits_dtype);
    if (!index.has_shape) {
      index.shape = shape;
      index.has_shape = true;
      return;
    }
    const std::string d = detail::shape_mismatch(index.shape, shape);
    if (!d.empty()) throw InputError(fmt::format("{}: routing shape differs from the shards before: {}", options.dir.string(), d));
  }

  void resume(const DatasetTraceIndex& fresh) {
    std::error_code ec;
    if (fs::exists(index_path, ec)) {
      const DatasetTraceIndex old = read_dataset_trace_index(index_path);
      refuse_other_run(index_path, old, fresh);
      if (old.has_shape) {
        index.shape = old.shape;
        index.has_shape = true;
      }
      for (const ShardEntry& e : old.shards) {
        // An index only lists verified shards, but the file may have been damaged or removed since.
        read_shard(index_path, old, e);
        done[e.index] = e;
        ++resumed;
      }
    }
    for (const ShardRange& r : planned) {
      const fs::path file = options.dir / shard_file_name(r.index);
      // Temporaries of an interrupted write of this rank's shard (atomic_file.h's naming).
      const std::string tmp_prefix = "." + file.filename().string() + ".tmp";
      for (const auto& entry : fs::directory_iterator(options.dir, ec))
        if (entry.path().filename().string().rfind(tmp_prefix, 0) == 0) fs::remove(entry.path(), ec);
      if (done.count(r.index) || !fs::exists(file, ec)) continue;
      // Renamed into place but not indexed yet: the crash came between the two steps.
      done[r.index] = verify_existing(r, file);
      ++resumed;
    }
  }

  void write_shard() {
    const ShardRange& r = planned[current];
    RouterTrace& t = filling;
    t.meta.model_id = options.model_id;
    t.meta.extra[detail::kShardRunKey] = index.run_id;
    t.meta.extra[detail::kShardIndexKey] = std::to_string(r.index);
    t.meta.extra[detail::kShardSamplesKey] = fmt::format("{}:{}", r.begin, r.end);
    const fs::path file = options.dir / shard_file_name(r.index);
    adopt_shape(t);
    const std::string bytes = serialize_trace(t, {options.logits_dtype}, file.string());
    write_file_atomic(file, bytes);
    ShardEntry e{r.index, file.filename().string(), r.begin, r.end, t.num_positions, bytes.size(),
                 detail::xxh64_hex(detail::xxh64(bytes))};
    // Read back what landed on disk before the index may claim it.
    read_shard(index_path, index, e);
    done[r.index] = e;
    publish_index();
    filling = RouterTrace();
    filled = 0;
    ++current;
    skip_done();
  }
};

DatasetTraceWriter::DatasetTraceWriter(DatasetTraceOptions options, const DatasetSummary& dataset)
    : impl_(std::make_unique<Impl>()) {
  Impl& d = *impl_;
  d.index = fresh_index(options, dataset);
  d.planned = plan_shards(dataset.num_samples, options.shard_size, options.selection);
  const DatasetTraceIndex& x = d.index;
  d.options = std::move(options);
  std::error_code ec;
  fs::create_directories(d.options.dir, ec);
  if (ec) throw IoError(fmt::format("{}: cannot create directory: {}", d.options.dir.string(), ec.message()));
  d.index_path = d.options.dir / index_file_name(d.options.selection);
  d.resume(x);
  d.skip_done();
  d.publish_index();
}

DatasetTraceWriter::~DatasetTraceWriter() = default;

std::vector<ShardRange> DatasetTraceWriter::pending() const {
  std::vector<ShardRange> out;
  for (const ShardRange& r : impl_->planned)
    if (!impl_->done.count(r.index)) out.push_back(r);
  return out;
}

int64_t DatasetTraceWriter::pending_samples() const {
  int64_t n = 0;
  for (const ShardRange& r : pending()) n += r.end - r.begin;
  return n - impl_->filled;
}

bool DatasetTraceWriter::wants(int64_t sample) const {
  const Impl& d = *impl_;
  if (sample < 0 || sample >= d.index.num_samples) return false;
  const int64_t j = sample / d.index.shard_size;
  return j % d.index.selection.world_size == d.index.selection.rank && !d.done.count(j);
}

int64_t DatasetTraceWriter::next_sample() const { return impl_->next_sample(); }

void DatasetTraceWriter::add(const RouterTrace& chunk) {
  Impl& d = *impl_;
  chunk.validate("trace chunk");
  if (!chunk.has_sequences() || chunk.sequences.empty())
    throw InputError("trace chunk: a dataset trace needs sequence ids and sequence descriptions per sample");
  if (!chunk.meta.model_id.empty() && chunk.meta.model_id != d.options.model_id)
    throw InputError(fmt::format("trace chunk: its model is '{}', the dataset trace's is '{}'", chunk.meta.model_id,
                                 d.options.model_id));
  const std::vector<int64_t> order = sequence_order(chunk);
  if (order.size() != chunk.sequences.size())
    throw InputError(fmt::format("trace chunk: {} sequences are described but {} have rows", chunk.sequences.size(),
                                 order.size()));
  size_t i = 0;
  while (i < order.size()) {
    if (d.current >= d.planned.size())
      throw InputError(fmt::format("trace chunk: sample {} arrived after this rank's last shard was written", order[i]));
    const ShardRange& r = d.planned[d.current];
    // The run of this chunk's samples that falls into the current shard.
    std::vector<int64_t> ids;
    for (; i < order.size() && order[i] < r.end; ++i) {
      if (order[i] != d.next_sample() + static_cast<int64_t>(ids.size()))
        throw InputError(fmt::format("trace chunk: got sample {}, expected sample {} (samples must arrive in order, "
                                     "each once, only from pending shards)",
                                     order[i], d.next_sample() + static_cast<int64_t>(ids.size())));
      ids.push_back(order[i]);
    }
    if (ids.empty())
      throw InputError(fmt::format("trace chunk: got sample {}, expected sample {}", order[i], d.next_sample()));
    if (ids.size() == order.size()) append_trace(d.filling, chunk);
    else append_trace(d.filling, select_sequences(chunk, ids));
    d.filled += static_cast<int64_t>(ids.size());
    if (r.begin + d.filled == r.end) d.write_shard();
  }
}

bool DatasetTraceWriter::complete() const { return impl_->index.complete; }
const DatasetTraceIndex& DatasetTraceWriter::index() const { return impl_->index; }
fs::path DatasetTraceWriter::index_path() const { return impl_->index_path; }
int64_t DatasetTraceWriter::resumed_shards() const { return impl_->resumed; }

}  // namespace moeroute
