// --format npy: a directory with one NumPy array per field (docs/trace-export.md). Arrays keep the
// trace layout ([layers, rows, …]), so rows from every chunk are written at their place in each
// file; the row count is known from a first pass over the input.
#include <cmath>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "export/export_common.h"
#include "export/exporters.h"
#include "moeroute/atomic_file.h"
#include "moeroute/error.h"
#include "moeroute/output_dir.h"

namespace moeroute::detail {

namespace {

// One .npy file (format 1.0: magic, header dict padded to a multiple of 64 bytes, C-order data).
class NpyFile {
 public:
  NpyFile(const std::filesystem::path& path, const std::string& descr, std::vector<int64_t> shape, size_t item)
      : file_(path), item_(item) {
    std::string dims;
    for (int64_t d : shape) dims += fmt::format("{}, ", d);
    if (shape.size() > 1) dims.resize(dims.size() - 2);
    std::string dict = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': ({}), }}", descr, dims);
    const size_t unpadded = 10 + dict.size() + 1;
    dict.append((64 - unpadded % 64) % 64, ' ');
    dict += '\n';
    std::string header = "\x93NUMPY\x01";
    header += '\0';
    header += static_cast<char>(dict.size() & 0xff);
    header += static_cast<char>(dict.size() >> 8);
    header += dict;
    data_start_ = header.size();
    file_.write(header);
    uint64_t total = item;
    for (int64_t d : shape) total *= static_cast<uint64_t>(d);
    if (total > 0) file_.write_at(data_start_ + total - 1, std::string_view("\0", 1));  // full size even if rows stay empty
  }
  /// Writes `count` elements of `data` at element offset `at`.
  void write(uint64_t at, const void* data, size_t count) {
    file_.write_at(data_start_ + at * item_, {static_cast<const char*>(data), count * item_});
  }
  void commit() { file_.commit(); }

 private:
  AtomicFileWriter file_;
  size_t item_;
  uint64_t data_start_ = 0;
};

struct Layout {
  int64_t rows = 0;
  int L = 0, E = 0, K = 0;
  bool weights = false, logits = false, tokens = false;
};

}  // namespace

std::vector<std::string> export_npy(const std::filesystem::path& input, const std::filesystem::path& out,
                                    const ExportOptions& options) {
  Layout lay;
  nlohmann::ordered_json meta;
  nlohmann::ordered_json sequences = nlohmann::ordered_json::array();
  std::vector<std::string> token_text;
  for_each_export_chunk(input, options, [&](const RouterTrace& t, const std::vector<SequenceRows>& samples) {
    if (meta.empty()) {
      lay = {0, t.num_layers(), t.num_experts, t.top_k, t.has_gate_weights(), t.has_router_logits() && options.logits,
             t.has_token_ids()};
      meta["model_id"] = t.meta.model_id;
      meta["source"] = t.meta.source;
      meta["routing_rule"] = t.meta.routing_rule;
      meta["num_experts"] = t.num_experts;
      meta["top_k"] = t.top_k;
      nlohmann::ordered_json layers = nlohmann::ordered_json::array();
      for (const LayerInfo& l : t.layers) layers.push_back({{"name", l.name}, {"index", l.index}});
      meta["layers"] = layers;
      meta["logits_kind"] = to_string(t.logits_kind);
      meta["id_space"] = to_string(t.id_space);
    }
    for (const SequenceRows& s : samples) {
      lay.rows += static_cast<int64_t>(s.rows.size());
      sequences.push_back({{"id", s.id},
                           {"label", label_of(s)},
                           {"loss", s.info && std::isfinite(s.info->loss) ? nlohmann::ordered_json(s.info->loss) : nlohmann::ordered_json(nullptr)},
                           {"num_tokens", s.info ? s.info->num_tokens : static_cast<int64_t>(s.rows.size())},
                           {"rows", s.rows.size()}});
      if (t.has_token_text())
        for (int64_t r : s.rows) token_text.push_back(t.token_text[static_cast<size_t>(r)]);
    }
  });
  if (lay.rows == 0) throw InputError(fmt::format("{}: no samples to export (check --label)", input.string()));

  OutputDir dir(out);
  const int64_t T = lay.rows, L = lay.L, K = lay.K, E = lay.E;
  NpyFile topk(dir.staged_path("topk_ids.npy"), "<i4", {L, T, K}, 4);
  NpyFile seq(dir.staged_path("sequence_ids.npy"), "<i8", {T}, 8);
  NpyFile pos(dir.staged_path("positions.npy"), "<i8", {T}, 8);
  NpyFile seg(dir.staged_path("segments.npy"), "|u1", {T}, 1);
  std::unique_ptr<NpyFile> weights, logits, tokens;
  if (lay.weights) weights = std::make_unique<NpyFile>(dir.staged_path("gate_weights.npy"), "<f4", std::vector<int64_t>{L, T, K}, 4);
  if (lay.logits) logits = std::make_unique<NpyFile>(dir.staged_path("router_logits.npy"), "<f4", std::vector<int64_t>{L, T, E}, 4);
  if (lay.tokens) tokens = std::make_unique<NpyFile>(dir.staged_path("token_ids.npy"), "<i8", std::vector<int64_t>{T}, 8);

  int64_t at = 0;  // output row of the chunk's first selected row
  for_each_export_chunk(input, options, [&](const RouterTrace& t, const std::vector<SequenceRows>& samples) {
    std::vector<int64_t> rows;
    for (const SequenceRows& s : samples) rows.insert(rows.end(), s.rows.begin(), s.rows.end());
    if (rows.empty()) return;
    const size_t n = rows.size();
    std::vector<int64_t> seq_ids(n), positions(n), token_ids(n);
    std::vector<uint8_t> segments(n);
    for (size_t i = 0; i < n; ++i) {
      seq_ids[i] = t.sequence_of(rows[i]);
      positions[i] = t.position_of(rows[i]);
      segments[i] = t.is_prompt(rows[i]) ? RouterTrace::kSegmentPrompt : RouterTrace::kSegmentGenerated;
      if (tokens) token_ids[i] = t.token_ids[static_cast<size_t>(rows[i])];
    }
    seq.write(static_cast<uint64_t>(at), seq_ids.data(), n);
    pos.write(static_cast<uint64_t>(at), positions.data(), n);
    seg.write(static_cast<uint64_t>(at), segments.data(), n);
    if (tokens) tokens->write(static_cast<uint64_t>(at), token_ids.data(), n);
    // Per layer, the selected rows gathered into one block at their place in the [L, T, …] array.
    auto per_layer = [&](NpyFile& f, const auto& data, int width) {
      using V = typename std::decay_t<decltype(data)>::value_type;
      std::vector<V> block(n * static_cast<size_t>(width));
      for (int64_t l = 0; l < L; ++l) {
        const V* base = data.data() + static_cast<size_t>(l * t.num_positions * width);
        for (size_t i = 0; i < n; ++i)
          std::copy_n(base + static_cast<size_t>(rows[i] * width), width, block.data() + i * static_cast<size_t>(width));
        f.write(static_cast<uint64_t>((l * T + at) * width), block.data(), block.size());
      }
    };
    per_layer(topk, t.topk_ids, lay.K);
    if (weights) per_layer(*weights, t.gate_weights, lay.K);
    if (logits) per_layer(*logits, t.router_logits, lay.E);
    at += static_cast<int64_t>(n);
  });
  topk.commit();
  seq.commit();
  pos.commit();
  seg.commit();
  for (auto* f : {weights.get(), logits.get(), tokens.get()})
    if (f) f->commit();
  meta["num_rows"] = T;
  meta["sequences"] = sequences;
  if (!token_text.empty()) meta["token_text"] = token_text;
  dir.write("meta.json", meta.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n");
  return dir.commit();
}

}  // namespace moeroute::detail
