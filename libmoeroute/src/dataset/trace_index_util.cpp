#include "dataset/trace_index_util.h"

#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "io/xxhash64.h"

namespace moeroute::detail {

std::string shard_mismatch(const RouterTrace& shard, const DatasetTraceIndex& run, int64_t index) {
  auto extra = [&](const char* key) -> std::string {
    const auto it = shard.meta.extra.find(key);
    return it == shard.meta.extra.end() ? "(absent)" : it->second;
  };
  if (extra(kShardRunKey) != run.run_id)
    return fmt::format("its run id is {}, the run's is {} (a shard of another run)", extra(kShardRunKey), run.run_id);
  if (extra(kShardIndexKey) != std::to_string(index))
    return fmt::format("it says it is shard {}, expected {}", extra(kShardIndexKey), index);
  const int64_t begin = index * run.shard_size, end = std::min(run.num_samples, begin + run.shard_size);
  const std::string samples = fmt::format("{}:{}", begin, end);
  if (extra(kShardSamplesKey) != samples)
    return fmt::format("it says it holds samples {}, expected {}", extra(kShardSamplesKey), samples);
  if (shard.meta.model_id != run.model_id)
    return fmt::format("its model is '{}', the run's is '{}'", shard.meta.model_id, run.model_id);
  if (!shard.has_sequences()) return "its rows carry no sequence ids";
  std::set<int64_t> described;
  for (const SequenceInfo& s : shard.sequences) {
    if (s.id < begin || s.id >= end) return fmt::format("it describes sample {}, outside [{}, {})", s.id, begin, end);
    described.insert(s.id);
  }
  if (static_cast<int64_t>(described.size()) != end - begin)
    return fmt::format("it describes {} of the {} samples [{}, {})", described.size(), end - begin, begin, end);
  std::set<int64_t> routed(shard.sequence_ids.begin(), shard.sequence_ids.end());
  if (routed.size() != described.size())
    return fmt::format("{} of its {} samples have routed rows", routed.size(), described.size());
  return {};
}

DatasetTraceShape shape_of(const RouterTrace& t, LogitsDtype dtype) {
  DatasetTraceShape s;
  s.layers = t.layers;
  s.num_experts = t.num_experts;
  s.top_k = t.top_k;
  s.fields = t.fields();
  s.logits_kind = moeroute::to_string(t.logits_kind);
  s.logits_dtype = t.has_router_logits() ? to_string(dtype) : "";
  return s;
}

namespace {
std::string describe_layers(const std::vector<LayerInfo>& layers) {
  std::vector<std::string> names;
  for (const LayerInfo& l : layers) names.push_back(l.name);
  return names.size() <= 3 ? fmt::format("[{}]", fmt::join(names, ", "))
                           : fmt::format("[{}, …, {}] ({} layers)", names.front(), names.back(), names.size());
}

std::string compare_common(const DatasetTraceShape& a, const std::vector<LayerInfo>& layers, int experts, int top_k,
                           const std::vector<std::string>& fields, const std::string& kind) {
  bool same_layers = a.layers.size() == layers.size();
  for (size_t i = 0; same_layers && i < layers.size(); ++i)
    same_layers = a.layers[i].name == layers[i].name && a.layers[i].index == layers[i].index;
  if (!same_layers) return fmt::format("layers {} vs {}", describe_layers(layers), describe_layers(a.layers));
  if (experts != a.num_experts || top_k != a.top_k)
    return fmt::format("{} experts, top-{} vs {} experts, top-{}", experts, top_k, a.num_experts, a.top_k);
  if (fields != a.fields) return fmt::format("arrays [{}] vs [{}]", fmt::join(fields, ", "), fmt::join(a.fields, ", "));
  if (kind != a.logits_kind) return fmt::format("logits kind {} vs {}", kind, a.logits_kind);
  return {};
}
}  // namespace

std::string shape_mismatch(const DatasetTraceShape& shape, const RouterTrace& t) {
  return compare_common(shape, t.layers, t.num_experts, t.top_k, t.fields(), moeroute::to_string(t.logits_kind));
}

std::string shape_mismatch(const DatasetTraceShape& a, const DatasetTraceShape& b) {
  std::string s = compare_common(a, b.layers, b.num_experts, b.top_k, b.fields, b.logits_kind);
  if (s.empty() && a.logits_dtype != b.logits_dtype)
    s = fmt::format("logits dtype {} vs {}", b.logits_dtype, a.logits_dtype);
  return s;
}

std::string run_id_of(const std::string& model_id, const std::vector<DatasetFileSummary>& datasets, int64_t shard_size,
                      const nlohmann::json& options) {
  // Paths are left out on purpose: the same files mounted elsewhere are the same dataset.
  nlohmann::json d = nlohmann::json::array();
  for (const DatasetFileSummary& f : datasets)
    d.push_back({{"label", f.label}, {"format", moeroute::to_string(f.format)}, {"num_samples", f.num_samples},
                 {"xxh64", f.xxh64}});
  const nlohmann::json run = {{"model_id", model_id}, {"datasets", d}, {"shard_size", shard_size}, {"options", options}};
  return xxh64_hex(xxh64(run.dump()));
}

std::string run_mismatch(const DatasetTraceIndex& a, const DatasetTraceIndex& b) {
  if (a.model_id != b.model_id) return fmt::format("model '{}' vs '{}'", a.model_id, b.model_id);
  if (a.datasets.size() != b.datasets.size())
    return fmt::format("{} vs {} dataset files", a.datasets.size(), b.datasets.size());
  for (size_t i = 0; i < a.datasets.size(); ++i) {
    const DatasetFileSummary &x = a.datasets[i], &y = b.datasets[i];
    if (x.label != y.label || x.xxh64 != y.xxh64 || x.num_samples != y.num_samples || x.format != y.format)
      return fmt::format("dataset file {} is {} ('{}', {} samples, XXH64 {}) vs {} ('{}', {} samples, XXH64 {})", i,
                         x.path, x.label, x.num_samples, x.xxh64, y.path, y.label, y.num_samples, y.xxh64);
  }
  if (a.shard_size != b.shard_size) return fmt::format("shard size {} vs {}", a.shard_size, b.shard_size);
  if (a.options != b.options) return fmt::format("options {} vs {}", a.options.dump(), b.options.dump());
  if (a.run_id != b.run_id) return fmt::format("run id {} vs {}", a.run_id, b.run_id);
  return {};
}

}  // namespace moeroute::detail
