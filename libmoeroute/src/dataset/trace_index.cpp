// trace.json: writing, reading and checking it against its shard files (docs/dataset-trace.md).
#include <algorithm>
#include <fstream>
#include <regex>
#include <set>

#include <fmt/format.h>

#include "dataset/trace_index_util.h"
#include "io/json_input.h"
#include "io/xxhash64.h"
#include "moeroute/dataset_trace.h"
#include "moeroute/error.h"

namespace moeroute {

namespace fs = std::filesystem;

namespace {
constexpr const char* kIndexFormat = "moeroute.dataset-trace";

// What a --shard I/N run names its index (shard_plan.cpp's index_file_name).
bool is_rank_index_name(const std::string& name) {
  static const std::regex pattern(R"(trace-rank\d+-of-\d+\.json)");
  return std::regex_match(name, pattern);
}
}  // namespace

std::string DatasetTraceIndex::to_json() const {
  nlohmann::ordered_json j;
  j["format"] = kIndexFormat;
  j["format_version"] = format_version;
  j["run_id"] = run_id;
  j["model_id"] = model_id;
  auto& ds = j["datasets"] = nlohmann::ordered_json::array();
  for (const DatasetFileSummary& d : datasets)
    ds.push_back({{"path", d.path},
                  {"label", d.label},
                  {"format", to_string(d.format)},
                  {"first_sample", d.first_sample},
                  {"num_samples", d.num_samples},
                  {"bytes", d.bytes},
                  {"xxh64", d.xxh64}});
  j["num_samples"] = num_samples;
  j["shard_size"] = shard_size;
  j["num_shards"] = num_shards;
  j["options"] = options;
  j["selection"] = {{"rank", selection.rank}, {"world_size", selection.world_size}, {"origin", selection.origin}};
  if (!merged_from.empty()) j["merged_from"] = merged_from;
  if (has_shape) {
    nlohmann::ordered_json layers = nlohmann::ordered_json::array();
    for (const LayerInfo& l : shape.layers) layers.push_back({{"name", l.name}, {"index", l.index}});
    j["shape"] = {{"layers", layers},
                  {"num_experts", shape.num_experts},
                  {"top_k", shape.top_k},
                  {"fields", shape.fields},
                  {"logits_kind", shape.logits_kind},
                  {"logits_dtype", shape.logits_dtype}};
  } else {
    j["shape"] = nullptr;
  }
  j["complete"] = complete;
  auto& sh = j["shards"] = nlohmann::ordered_json::array();
  for (const ShardEntry& s : shards)
    sh.push_back({{"index", s.index},
                  {"file", s.file},
                  {"samples", {s.sample_begin, s.sample_end}},
                  {"num_rows", s.num_rows},
                  {"bytes", s.bytes},
                  {"xxh64", s.xxh64}});
  return j.dump(2) + "\n";
}

DatasetTraceIndex read_dataset_trace_index(const fs::path& path) {
  const detail::JsonField j = detail::read_json_file(path);
  j.expect_object("a dataset-trace index");
  if (j.at("format").string() != kIndexFormat)
    j.at("format").fail(fmt::format("expected \"{}\" (not a dataset-trace index)", kIndexFormat));
  DatasetTraceIndex x;
  x.format_version = static_cast<int>(j.at("format_version").integer());
  if (x.format_version < 1 || x.format_version > kDatasetTraceFormatVersion)
    j.at("format_version").unsupported(fmt::format("version {} is not supported (this moeroute reads 1..{})",
                                                   x.format_version, kDatasetTraceFormatVersion));
  x.run_id = j.at("run_id").string();
  x.model_id = j.at("model_id").string();
  for (const auto& d : j.at("datasets").elements()) {
    DatasetFileSummary s;
    s.path = d.at("path").string();
    s.label = d.at("label").string();
    s.format = parse_dataset_format(d.at("format").one_of({"jsonl", "text", "csv"}));
    s.first_sample = d.at("first_sample").integer(0, INT64_MAX);
    s.num_samples = d.at("num_samples").integer(0, INT64_MAX);
    s.bytes = d.at("bytes").unsigned_integer();
    s.xxh64 = d.at("xxh64").string();
    x.datasets.push_back(std::move(s));
  }
  x.num_samples = j.at("num_samples").integer(0, INT64_MAX);
  x.shard_size = j.at("shard_size").integer(1, INT64_MAX);
  x.num_shards = j.at("num_shards").integer(0, INT64_MAX);
  if (x.num_shards != (x.num_samples + x.shard_size - 1) / x.shard_size)
    j.at("num_shards").fail(fmt::format("{} samples in shards of {} make {} shards, not {}", x.num_samples,
                                        x.shard_size, (x.num_samples + x.shard_size - 1) / x.shard_size, x.num_shards));
  const auto opts = j.at("options");
  opts.expect_object("run options");
  x.options = opts.json();
  const auto sel = j.at("selection");
  x.selection.world_size = static_cast<int>(sel.at("world_size").integer(1, INT32_MAX));
  x.selection.rank = static_cast<int>(sel.at("rank").integer(0, x.selection.world_size - 1));
  x.selection.origin = sel.string_or("origin", "default");
  if (j.has("merged_from")) x.merged_from = j.at("merged_from").strings();
  if (j.has("shape")) {
    const auto s = j.at("shape");
    x.has_shape = true;
    for (const auto& l : s.at("layers").elements())
      x.shape.layers.push_back({l.at("name").string(), static_cast<int>(l.at("index").integer(INT32_MIN, INT32_MAX))});
    x.shape.num_experts = static_cast<int>(s.at("num_experts").integer(1, INT32_MAX));
    x.shape.top_k = static_cast<int>(s.at("top_k").integer(1, x.shape.num_experts));
    x.shape.fields = s.at("fields").strings();
    x.shape.logits_kind = s.at("logits_kind").one_of({"raw", "scores", "probabilities"});
    x.shape.logits_dtype = s.at("logits_dtype").one_of({"", "f32", "f16", "bf16"});
  }
  x.complete = j.at("complete").boolean();
  std::set<int64_t> seen;
  for (const auto& e : j.at("shards").elements()) {
    ShardEntry s;
    s.index = e.at("index").integer(0, x.num_shards - 1);
    s.file = e.at("file").string();
    const auto samples = e.at("samples");
    if (samples.size() != 2) samples.fail("expected [first sample, one past the last]");
    s.sample_begin = samples.at(0).integer(0, x.num_samples);
    s.sample_end = samples.at(1).integer(0, x.num_samples);
    const ShardRange want{s.index, s.index * x.shard_size, std::min(x.num_samples, (s.index + 1) * x.shard_size)};
    if (s.sample_begin != want.begin || s.sample_end != want.end)
      samples.fail(fmt::format("shard {} holds samples [{}, {}) in shards of {}, not [{}, {})", s.index, want.begin,
                               want.end, x.shard_size, s.sample_begin, s.sample_end));
    s.num_rows = e.at("num_rows").integer(0, INT64_MAX);
    s.bytes = e.at("bytes").unsigned_integer();
    s.xxh64 = e.at("xxh64").string();
    if (!seen.insert(s.index).second) e.at("index").fail(fmt::format("shard {} is listed twice", s.index));
    if (s.index % x.selection.world_size != x.selection.rank)
      e.at("index").fail(fmt::format("shard {} does not belong to rank {} of {}", s.index, x.selection.rank,
                                     x.selection.world_size));
    x.shards.push_back(std::move(s));
  }
  if (!x.shards.empty() && !x.has_shape) j.at("shape").fail("an index that lists shards needs their shape");
  std::sort(x.shards.begin(), x.shards.end(), [](const ShardEntry& a, const ShardEntry& b) { return a.index < b.index; });
  const size_t planned = plan_shards(x.num_samples, x.shard_size, x.selection).size();
  if (x.complete != (x.shards.size() == planned))
    j.at("complete").fail(fmt::format("says {} but {} of the {} shards of rank {} of {} are listed",
                                      x.complete ? "true" : "false", x.shards.size(), planned, x.selection.rank,
                                      x.selection.world_size));
  return x;
}

std::vector<fs::path> rank_indexes_in(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file() && is_rank_index_name(e.path().filename().string())) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

fs::path find_dataset_trace_index(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) {
    if (!fs::exists(path, ec)) throw InputError(fmt::format("{}: no such file or directory", path.string()));
    return path;
  }
  const fs::path index = path / "trace.json";
  if (fs::exists(index, ec)) return index;
  const auto ranks = rank_indexes_in(path);
  if (!ranks.empty())
    throw InputError(fmt::format("{}: holds {} per-rank indexes ({}, …) but no trace.json: run `moeroute merge {}` "
                                 "first, or name one rank's index to read only its shards",
                                 path.string(), ranks.size(), ranks.front().filename().string(), path.string()));
  throw InputError(fmt::format("{}: a directory without trace.json is not a dataset trace", path.string()));
}

bool is_dataset_trace(const fs::path& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return true;
  // By its name (what tracing and merging write, even if damaged: read_dataset_trace_index then
  // says what is wrong) or, under any other name (`merge -o run.json`), by its format field near
  // the start: other JSON files (SGLang responses, vLLM records) go to the importers.
  const std::string name = path.filename().string();
  if (name == "trace.json" || is_rank_index_name(name)) return true;
  if (!fs::is_regular_file(path, ec)) return false;
  std::ifstream in(path, std::ios::binary);
  std::string head(4096, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  return head.find(fmt::format("\"{}\"", kIndexFormat)) != std::string::npos;
}

RouterTrace read_shard(const fs::path& index_path, const DatasetTraceIndex& index, const ShardEntry& entry,
                       const ShardReadOptions& options) {
  const fs::path file = index_path.parent_path() / entry.file;
  const std::string name = file.string();
  auto disagree = [&](const std::string& what) {
    throw InputError(fmt::format("{}: shard {} ({}) disagrees with the index: {}", index_path.string(), entry.index,
                                 name, what));
  };
  std::error_code ec;
  if (!fs::exists(file, ec)) disagree("the file does not exist");
  const uint64_t size = fs::file_size(file, ec);
  if (ec || size != entry.bytes) disagree(fmt::format("it has {} bytes, the index says {}", size, entry.bytes));
  if (options.verify_checksums) {
    const std::string got = detail::xxh64_hex(detail::xxh64_file(name));
    if (got != entry.xxh64) disagree(fmt::format("its XXH64 is {}, the index says {}", got, entry.xxh64));
  }
  RouterTrace t = load_trace(file);
  const std::string problem = detail::shard_mismatch(t, index, entry.index);
  if (!problem.empty()) disagree(problem);
  if (t.num_positions != entry.num_rows)
    disagree(fmt::format("it has {} rows, the index says {}", t.num_positions, entry.num_rows));
  if (index.has_shape) {
    const std::string shape = detail::shape_mismatch(index.shape, t);
    if (!shape.empty()) disagree(shape);
  }
  return t;
}

}  // namespace moeroute
