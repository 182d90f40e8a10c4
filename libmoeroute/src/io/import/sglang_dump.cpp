// SGLang ExpertDistributionRecorder dumps (python/sglang/srt/eplb/expert_distribution.py;
// docs/import.md, "SGLang"), torch.save files read without LibTorch (io/torch_pickle.h):
// - per_token: {"records": [{forward_pass_id, rank, gatherer_key, input_ids, positions,
//   extend_seq_lens, forward_mode, topk_ids_of_layer [layers, tokens, 8] (physical ids, -1 where
//   unwritten), misc_objects, global_physical_count}], "last_physical_to_logical_map"} → rows;
// - per_pass: records with global_physical_count only, and stat: {"logical_count" [steps,
//   layers, logical experts]} → ExpertCounts.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "io/csv.h"
#include "io/import/importers.h"
#include "io/torch_pickle.h"
#include "io/zip_reader.h"

namespace moeroute {

namespace detail {

namespace {

// ForwardMode (sglang/srt/model_executor/forward_batch_info.py, IntEnum from auto() = 1).
constexpr int64_t kExtend = 1, kDecode = 2, kSplitPrefill = 8;

const PyValue& member(const PyValue& dict, const char* key, const std::string& where) {
  const PyValue* v = dict.get(key);
  if (!v) throw InputError(fmt::format("{}: no '{}'", where, key));
  return *v;
}

const TorchTensor& tensor_of(const PyValue& v, const char* key, const std::string& where) {
  if (v.kind != PyValue::Kind::Tensor) throw InputError(fmt::format("{}: '{}' is a {}, expected a tensor", where, key, v.type_name()));
  return v.tensor;
}

std::vector<int64_t> int_list(const PyValue& v, const char* key, const std::string& where) {
  if ((v.kind != PyValue::Kind::List && v.kind != PyValue::Kind::Tuple) || !v.int_list)
    throw InputError(fmt::format("{}: '{}' is a {}, expected a list of integers", where, key, v.type_name()));
  return v.ints;
}

int64_t int_of(const PyValue& v, const char* key, const std::string& where) {
  if (v.kind != PyValue::Kind::Int) throw InputError(fmt::format("{}: '{}' is a {}, expected an integer", where, key, v.type_name()));
  return v.integer;
}

const PyValue& records_of(const TorchFile& f) {
  const PyValue& root = f.root();
  if (root.kind != PyValue::Kind::Dict) throw InputError(fmt::format("{}: the saved object is a {}, expected a dict", f.name(), root.type_name()));
  const PyValue& records = member(root, "records", f.name() + " (an ExpertDistributionRecorder per_pass/per_token dump)");
  if (records.kind != PyValue::Kind::List) throw InputError(fmt::format("{}: 'records' is a {}, expected a list", f.name(), records.type_name()));
  return records;
}

// last_physical_to_logical_map [layers, physical] (int64), or empty.
std::vector<int64_t> physical_map(const TorchFile& f, std::vector<int64_t>& shape) {
  const PyValue* m = f.root().get("last_physical_to_logical_map");
  if (!m || m->kind == PyValue::Kind::None) return {};
  const TorchTensor& t = tensor_of(*m, "last_physical_to_logical_map", f.name());
  if (t.shape.size() != 2) throw InputError(fmt::format("{}: last_physical_to_logical_map has {} dimensions, expected 2", f.name(), t.shape.size()));
  shape = t.shape;
  return f.integers(t, "last_physical_to_logical_map");
}

class PerTokenReader {
 public:
  PerTokenReader(ImportContext& ctx, ChunkBuilder& out, const TorchFile& file) : ctx_(ctx), out_(out), f_(file) {}

  void run() {
    const PyValue& records = records_of(f_);
    map_ = physical_map(f_, map_shape_);
    int64_t index = 0;
    for (const PyPtr& rec : records.items) {
      const std::string where = fmt::format("{}: records[{}]", f_.name(), index++);
      try {
        if (!rec || rec->kind != PyValue::Kind::Dict) throw InputError(where + ": not a dict");
        pass(*rec, where);
      } catch (const InputError& e) {
        ctx_.bad_record(e);
      }
    }
    if (records.size() == 0) throw InputError(fmt::format("{}: the dump holds no records", f_.name()));
    if (skipped_modes_ > 0)
      ctx_.note(fmt::format("skipped {} forward passes that are neither EXTEND nor DECODE (mixed or speculative "
                            "batches: which tokens are prompt is not recorded)",
                            skipped_modes_));
    ctx_.note("SGLang records no request ids: each sequence is one request's tokens within one forward pass "
              "(an EXTEND chunk or a single DECODE token), labelled 'pass P slot S'");
  }

 private:
  void pass(const PyValue& rec, const std::string& where) {
    if (!rec.get("topk_ids_of_layer"))
      throw InputError(fmt::format("{}: no topk_ids_of_layer: a per_pass dump holds counts only (moeroute import "
                                   "FILE -o counts.csv)",
                                   where));
    const int64_t pass_id = int_of(member(rec, "forward_pass_id", where), "forward_pass_id", where);
    const int64_t mode = int_of(member(rec, "forward_mode", where), "forward_mode", where);
    const auto input_ids = int_list(member(rec, "input_ids", where), "input_ids", where);
    const auto positions = int_list(member(rec, "positions", where), "positions", where);
    const TorchTensor& t = tensor_of(member(rec, "topk_ids_of_layer", where), "topk_ids_of_layer", where);
    const auto n = static_cast<int64_t>(input_ids.size());
    if (static_cast<int64_t>(positions.size()) != n)
      throw InputError(fmt::format("{}: {} input_ids but {} positions", where, n, positions.size()));
    if (t.shape.size() != 3 || t.shape[1] != n)
      throw InputError(fmt::format("{}: topk_ids_of_layer has shape [{}], expected [layers, {} tokens, width]", where,
                                   fmt::join(t.shape, ", "), n));
    if (n == 0) return;
    if (mode != kExtend && mode != kDecode && mode != kSplitPrefill) {
      ++skipped_modes_;
      return;
    }
    // Requests of the pass: EXTEND tokens split by extend_seq_lens, DECODE one token each.
    std::vector<int64_t> lens;
    if (mode == kDecode) {
      lens.assign(static_cast<size_t>(n), 1);
    } else {
      const PyValue& l = member(rec, "extend_seq_lens", where);
      lens = l.kind == PyValue::Kind::None ? std::vector<int64_t>{n} : int_list(l, "extend_seq_lens", where);
      int64_t sum = 0;
      for (int64_t x : lens) sum += x;
      if (sum != n) throw InputError(fmt::format("{}: extend_seq_lens sum to {} but the pass has {} tokens", where, sum, n));
    }
    const auto ids = f_.int32s(t, where + ": topk_ids_of_layer");
    const int layers = static_cast<int>(t.shape[0]);
    const int width = static_cast<int>(t.shape[2]);
    if (!out_.begun()) start(ids, layers, width, n, where);
    if (layers != layers_ || width != width_)
      throw InputError(fmt::format("{}: topk_ids_of_layer is [{}, ·, {}], the first record's [{}, ·, {}]", where, layers,
                                   width, layers_, width_));
    // Kept layers hold exactly top_k ids ≥ 0, then -1 padding; dropped (dense) layers only -1.
    const auto k = static_cast<size_t>(out_.top_k());
    block_.resize(kept_.size() * static_cast<size_t>(n) * k);
    for (int l = 0; l < layers; ++l) {
      const auto slot = std::find(kept_.begin(), kept_.end(), l);
      for (int64_t r = 0; r < n; ++r) {
        const int32_t* p = ids.data() + (static_cast<int64_t>(l) * n + r) * width;
        for (int j = 0; j < width; ++j) {
          const bool routed = slot != kept_.end() && static_cast<size_t>(j) < k;
          if (routed ? p[j] < 0 : p[j] != -1)
            throw InputError(fmt::format("{}: topk_ids_of_layer[{}, {}, {}] = {}, but layer {} {}", where, l, r, j, p[j], l,
                                         slot == kept_.end() ? "held only -1 (no MoE layer) in the first record"
                                                             : fmt::format("routes top-{} (then -1 padding)", k)));
        }
        if (slot != kept_.end())
          std::copy_n(p, k, block_.data() + (static_cast<size_t>(slot - kept_.begin()) * static_cast<size_t>(n) + static_cast<size_t>(r)) * k);
      }
    }
    check_expert_ids(block_.data(), static_cast<int64_t>(block_.size()), out_.num_experts(),
                     [&] { return where + ": topk_ids_of_layer (physical expert slots)"; });
    rows_.resize(static_cast<size_t>(n));
    const uint8_t seg = mode == kDecode ? RouterTrace::kSegmentGenerated : RouterTrace::kSegmentPrompt;
    int64_t r = 0;
    for (size_t q = 0; q < lens.size(); ++q) {
      out_.label_sequence(sequence_, fmt::format("pass {} slot {}", pass_id, q));
      for (int64_t i = 0; i < lens[q]; ++i, ++r)
        rows_[static_cast<size_t>(r)] = {sequence_, positions[static_cast<size_t>(r)], seg, input_ids[static_cast<size_t>(r)]};
      ++sequence_;
    }
    for (const auto& row : rows_)
      if (row.position < 0) throw InputError(fmt::format("{}: negative position {}", where, row.position));
    out_.append(n, block_.data(), n * static_cast<int64_t>(k), static_cast<int64_t>(k), nullptr, rows_.data());
  }

  void start(const std::vector<int32_t>& ids, int layers, int width, int64_t n, const std::string& where) {
    layers_ = layers;
    width_ = width;
    int top_k = 0;
    for (int l = 0; l < layers; ++l) {
      int written = 0;
      for (int64_t r = 0; r < n; ++r)
        for (int j = 0; j < width; ++j)
          if (ids[static_cast<size_t>((static_cast<int64_t>(l) * n + r) * width + j)] >= 0) written = std::max(written, j + 1);
      if (written == 0) continue;
      kept_.push_back(l);
      if (top_k == 0) top_k = written;
      if (written != top_k)
        throw InputError(fmt::format("{}: layer {} routes {} experts per token but layer {} {}", where, l, written,
                                     kept_.front(), top_k));
    }
    if (kept_.empty()) throw InputError(fmt::format("{}: topk_ids_of_layer holds no expert id (all -1)", where));
    if (kept_.size() < static_cast<size_t>(layers))
      ctx_.note(fmt::format("{} of {} layers hold only -1 (dense layers) and were dropped", layers - static_cast<int>(kept_.size()), layers));
    int E = 0;
    if (!map_.empty()) {
      if (map_shape_[0] != layers)
        throw InputError(fmt::format("{}: last_physical_to_logical_map has {} layers, topk_ids_of_layer {}", f_.name(),
                                     map_shape_[0], layers));
      E = static_cast<int>(map_shape_[1]);
    }
    out_.begin(source_layers(kept_, "layers.", ctx_), top_k, E, RowFields{true, true, false});
    out_.meta().extra["import.layer_numbering"] = ctx_.options.layer_map.empty() ? "SGLang layer index (model layer)" : "--layer-map";
    out_.meta().extra["import.absent"] = "gate_weights,router_logits";
    if (!map_.empty()) {
      std::vector<int32_t> kept_map;
      int64_t max_logical = 0;
      for (int l : kept_)
        for (int64_t e = 0; e < map_shape_[1]; ++e) {
          const int64_t v = map_[static_cast<size_t>(l * map_shape_[1] + e)];
          if (v < 0) throw InputError(fmt::format("{}: last_physical_to_logical_map[{}, {}] = {}", f_.name(), l, e, v));
          max_logical = std::max(max_logical, v);
          kept_map.push_back(static_cast<int32_t>(v));
        }
      out_.set_physical(std::move(kept_map), static_cast<int>(max_logical + 1));
      ctx_.note("expert ids are physical slots; physical_to_logical is the dump's last_physical_to_logical_map (the "
                "map at dump time: EPLB may have moved experts while recording)");
    } else {
      out_.set_physical({}, 0);
      ctx_.note("expert ids are physical slots and the dump has no physical-to-logical map");
    }
  }

  ImportContext& ctx_;
  ChunkBuilder& out_;
  const TorchFile& f_;
  std::vector<int64_t> map_, map_shape_;
  std::vector<int> kept_;
  int layers_ = 0, width_ = 0;
  int64_t sequence_ = 0, skipped_modes_ = 0;
  std::vector<int32_t> block_;
  std::vector<RowInfo> rows_;
};

}  // namespace

void import_sglang_dump(ImportContext& ctx, ChunkBuilder& out) {
  const TorchFile f(ctx.path);
  if (f.root().get("logical_count"))
    throw InputError(fmt::format("{}: an SGLang 'stat' dump holds expert counts, not per-token routing: moeroute import "
                                 "FILE -o counts.csv writes them",
                                 ctx.name));
  PerTokenReader(ctx, out, f).run();
}

}  // namespace detail

bool is_expert_counts_dump(const std::filesystem::path& path) {
  if (detect_import_format(path) != ImportFormat::SglangDump) return false;
  // Cheap: the pickle spells every dict key out at its first use, so the keys tell the mode
  // without building the (possibly large) records.
  const detail::ZipReader zip(path);
  const std::string pkl = zip.read_all(*zip.find_suffix("data.pkl"));
  if (pkl.find("logical_count") != std::string::npos) return true;
  return pkl.find("global_physical_count") != std::string::npos && pkl.find("topk_ids_of_layer") == std::string::npos;
}

ExpertCounts import_expert_counts(const std::filesystem::path& path, const ImportOptions& options) {
  using namespace detail;
  const TorchFile f(path);
  ExpertCounts out;
  std::vector<int64_t> layer_numbers;
  if (const PyValue* lc = f.root().get("logical_count")) {
    const TorchTensor& t = tensor_of(*lc, "logical_count", f.name());
    if (t.shape.size() != 3) throw InputError(fmt::format("{}: logical_count has {} dimensions, expected [steps, layers, experts]", f.name(), t.shape.size()));
    out.counts = f.integers(t, "logical_count");
    out.num_experts = static_cast<int>(t.shape[2]);
    for (int64_t s = 0; s < t.shape[0]; ++s) out.passes.push_back(s);
    for (int64_t l = 0; l < t.shape[1]; ++l) layer_numbers.push_back(l);
    out.source = "sglang-stat";
    out.notes.push_back("stat dump: logical_count per buffered step (summed over ranks by SGLang)");
  } else {
    const PyValue& records = records_of(f);
    std::vector<int64_t> map_shape;
    const auto map = physical_map(f, map_shape);
    out.source = "sglang-per-pass";
    int64_t index = 0;
    for (const PyPtr& rec : records.items) {
      const std::string where = fmt::format("{}: records[{}]", f.name(), index++);
      if (!rec || rec->kind != PyValue::Kind::Dict) throw InputError(where + ": not a dict");
      const TorchTensor& t = tensor_of(member(*rec, "global_physical_count", where), "global_physical_count", where);
      if (t.shape.size() != 2) throw InputError(fmt::format("{}: global_physical_count has {} dimensions, expected 2", where, t.shape.size()));
      const auto physical = f.integers(t, where + ": global_physical_count");
      const int64_t L = t.shape[0], P = t.shape[1];
      if (layer_numbers.empty()) {
        for (int64_t l = 0; l < L; ++l) layer_numbers.push_back(l);
        if (!map.empty() && (map_shape[0] != L || map_shape[1] != P))
          throw InputError(fmt::format("{}: last_physical_to_logical_map is [{}], counts are [{}, {}]", f.name(),
                                       fmt::join(map_shape, ", "), L, P));
        int64_t logical = P;
        if (!map.empty()) logical = *std::max_element(map.begin(), map.end()) + 1;
        out.num_experts = static_cast<int>(logical);
      }
      if (L != static_cast<int64_t>(layer_numbers.size())) throw InputError(fmt::format("{}: {} layers, the first record {}", where, L, layer_numbers.size()));
      out.passes.push_back(int_of(member(*rec, "forward_pass_id", where), "forward_pass_id", where));
      const size_t base = out.counts.size();
      out.counts.resize(base + static_cast<size_t>(L) * static_cast<size_t>(out.num_experts), 0);
      for (int64_t l = 0; l < L; ++l)
        for (int64_t p = 0; p < P; ++p) {
          const int64_t e = map.empty() ? p : map[static_cast<size_t>(l * P + p)];
          if (e < 0 || e >= out.num_experts) throw InputError(fmt::format("{}: physical slot {} maps to {}", where, p, e));
          out.counts[base + static_cast<size_t>(l * out.num_experts + e)] += physical[static_cast<size_t>(l * P + p)];
        }
    }
    out.notes.push_back(map.empty() ? "per_pass dump without a map: counts are per physical slot"
                                    : "per_pass dump: physical-slot counts summed per logical expert with last_physical_to_logical_map");
  }
  if (!options.layer_map.empty() && options.layer_map.size() != layer_numbers.size())
    throw InputError(fmt::format("{}: --layer-map gives {} layers but the dump has {}", f.name(), options.layer_map.size(), layer_numbers.size()));
  for (size_t i = 0; i < layer_numbers.size(); ++i) {
    const int idx = options.layer_map.empty() ? static_cast<int>(layer_numbers[i]) : options.layer_map[i];
    out.layers.push_back({"layers." + std::to_string(idx), idx});
  }
  return out;
}

std::string expert_counts_csv(const ExpertCounts& c) {
  std::string out = detail::csv_row({"pass", "layer", "expert", "count"});
  const size_t L = c.layers.size(), E = static_cast<size_t>(c.num_experts);
  for (size_t p = 0; p < c.passes.size(); ++p)
    for (size_t l = 0; l < L; ++l)
      for (size_t e = 0; e < E; ++e)
        out += detail::csv_row({std::to_string(c.passes[p]), std::to_string(c.layers[l].index), std::to_string(e),
                                std::to_string(c.counts[(p * L + l) * E + e])});
  return out;
}

}  // namespace moeroute
