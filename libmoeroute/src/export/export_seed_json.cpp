// --format seed-json: the seed pipeline's {config, strategy, num_experts, num_layers,
// samples[{sample_id, num_tokens, loss, layers[{layer, router_logits_shape,
// router_logits_sample, selected_experts, expert_weights}]}]}, streamed sample by sample.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "export/export_common.h"
#include "export/export_json_text.h"
#include "export/exporters.h"
#include "moeroute/atomic_file.h"
#include "moeroute/error.h"

namespace moeroute::detail {

std::vector<std::string> export_seed_json(const std::filesystem::path& input, const std::filesystem::path& out,
                                          const ExportOptions& options) {
  AtomicFileWriter file(out);
  std::string buf;
  bool header = false, first_sample = true;
  auto flush = [&](bool force) {
    if (force || buf.size() > (std::size_t{16} << 20)) {
      file.write(buf);
      buf.clear();
    }
  };
  for_each_export_chunk(input, options, [&](const RouterTrace& t, const std::vector<SequenceRows>& samples) {
    const RouterTrace& chunk = t;
        if (!chunk.has_router_logits() || !chunk.has_gate_weights())
          throw InputError(fmt::format("{}: seed-json needs router logits over all experts and gate weights, and this "
                                       "trace has [{}] (record with logits, or export --format jsonl/npy)",
                                       input.string(), fmt::join(chunk.fields(), ", ")));
        if (chunk.logits_kind != LogitsKind::Raw)
          throw InputError(fmt::format("{}: seed-json's router_logits_sample are raw logits; this trace holds {}",
                                       input.string(), to_string(chunk.logits_kind)));
        if (!header) {
        header = true;
        buf += "{\"config\": ";
        append_json_string(buf, chunk.meta.model_id);
        buf += ", \"strategy\": ";
        append_json_string(buf, options.strategy);
        buf += fmt::format(", \"num_experts\": {}, \"num_layers\": {}, \"samples\": [", chunk.num_experts,
                           chunk.num_layers());
        }
    for (const SequenceRows& s : samples) {
        const auto n = static_cast<int64_t>(s.rows.size());
        buf += first_sample ? "\n" : ",\n";
        first_sample = false;
        buf += fmt::format("{{\"sample_id\": {}, \"num_tokens\": {}, \"loss\": ", s.id, n);
        append_loss(buf, s.info);
        buf += ", \"layers\": [";
        for (int l = 0; l < t.num_layers(); ++l) {
          if (l) buf += ", ";
          buf += fmt::format("{{\"layer\": {}, \"router_logits_shape\": [{}, {}], \"router_logits_sample\": ",
                             t.layers[static_cast<size_t>(l)].index, n, t.num_experts);
          append_rows_json(buf, t, t.router_logits, l, s.rows, t.num_experts);
          buf += ", \"selected_experts\": ";
          append_rows_json(buf, t, t.topk_ids, l, s.rows, t.top_k);
          buf += ", \"expert_weights\": ";
          append_rows_json(buf, t, t.gate_weights, l, s.rows, t.top_k);
          buf += "}";
        }
        buf += "]}";
        flush(false);
    }
  });
  if (first_sample) throw InputError(fmt::format("{}: no samples to export (check --label)", input.string()));
  buf += "\n]}\n";
  flush(true);
  file.commit();
  return {out.string()};
}

}  // namespace moeroute::detail
