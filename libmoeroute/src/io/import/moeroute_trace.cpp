// A moeroute trace as an import source, so consumers of import_stream (stats, diff) take
// traces and foreign files alike. Chunks carry explicit per-row arrays: a single-sequence trace
// becomes sequence 0 with positions 0…T−1 and segments from prompt_length.
#include <fmt/format.h>

#include "io/import/importers.h"
#include "moeroute/trace_io.h"

namespace moeroute::detail {

namespace {

template <class V>
V rows_of(const V& v, size_t width, int layers, int64_t total, int64_t begin, int64_t n) {
  V out;
  if (v.empty()) return out;
  out.reserve(static_cast<size_t>(layers) * static_cast<size_t>(n) * width);
  for (int l = 0; l < layers; ++l) {
    const auto a = v.begin() + static_cast<std::ptrdiff_t>((static_cast<size_t>(l) * static_cast<size_t>(total) +
                                                            static_cast<size_t>(begin)) * width);
    out.insert(out.end(), a, a + static_cast<std::ptrdiff_t>(static_cast<size_t>(n) * width));
  }
  return out;
}

template <class V>
V slice(const V& v, int64_t begin, int64_t n) {
  if (v.empty()) return {};
  return V(v.begin() + begin, v.begin() + begin + n);
}

}  // namespace

ImportReport stream_moeroute_trace(const std::filesystem::path& path, const ImportOptions& options,
                                   const std::function<void(RouterTrace&&)>& on_chunk) {
  RouterTrace t = load_trace(path);
  if (options.num_experts > 0 && options.num_experts != t.num_experts)
    throw InputError(fmt::format("{}: the trace has {} experts per layer but --num-experts is {}", path.string(),
                                 t.num_experts, options.num_experts));
  if (!options.layer_map.empty())
    throw InputError(fmt::format("{}: --layer-map does not apply to moeroute traces (their layers carry model indices)",
                                 path.string()));
  ImportReport report;
  report.format = ImportFormat::MoerouteTrace;
  report.num_layers = t.num_layers();
  report.num_experts = t.num_experts;
  report.top_k = t.top_k;
  report.rows = t.num_positions;
  if (!t.has_sequences()) {
    // Explicit rows: one sequence, positions 0…T−1, segments from prompt_length.
    t.sequence_ids.assign(static_cast<size_t>(t.num_positions), 0);
    t.positions.resize(static_cast<size_t>(t.num_positions));
    t.segments.resize(static_cast<size_t>(t.num_positions));
    for (int64_t r = 0; r < t.num_positions; ++r) {
      t.positions[static_cast<size_t>(r)] = r;
      t.segments[static_cast<size_t>(r)] = r < t.prompt_length ? RouterTrace::kSegmentPrompt : RouterTrace::kSegmentGenerated;
    }
    t.sequences = {{0, t.meta.model_id, std::nan(""), t.num_positions}};
    t.prompt_length = 0;
  }
  report.sequences = t.sequences.empty() ? 1 : static_cast<int64_t>(t.sequences.size());
  const int64_t step = std::max<int64_t>(1, options.chunk_rows);
  for (int64_t begin = 0; begin < t.num_positions; begin += step) {
    const int64_t n = std::min(step, t.num_positions - begin);
    RouterTrace c;
    c.meta = t.meta;
    c.layers = t.layers;
    c.num_experts = t.num_experts;
    c.top_k = t.top_k;
    c.num_positions = n;
    c.logits_kind = t.logits_kind;
    c.id_space = t.id_space;
    c.num_logical_experts = t.num_logical_experts;
    c.physical_to_logical = t.physical_to_logical;
    const int L = t.num_layers();
    c.topk_ids = rows_of(t.topk_ids, static_cast<size_t>(t.top_k), L, t.num_positions, begin, n);
    c.gate_weights = rows_of(t.gate_weights, static_cast<size_t>(t.top_k), L, t.num_positions, begin, n);
    c.router_logits = rows_of(t.router_logits, static_cast<size_t>(t.num_experts), L, t.num_positions, begin, n);
    c.token_ids = slice(t.token_ids, begin, n);
    c.token_text = slice(t.token_text, begin, n);
    c.sequence_ids = slice(t.sequence_ids, begin, n);
    c.positions = slice(t.positions, begin, n);
    c.segments = slice(t.segments, begin, n);
    for (const auto& s : t.sequences) {
      const int64_t in_chunk = std::count(c.sequence_ids.begin(), c.sequence_ids.end(), s.id);
      if (in_chunk > 0) c.sequences.push_back({s.id, s.label, s.loss, in_chunk});
    }
    ++report.chunks;
    on_chunk(std::move(c));
  }
  return report;
}

}  // namespace moeroute::detail
