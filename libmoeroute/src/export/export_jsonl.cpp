// --format jsonl: one record per sample and layer (docs/trace-export.md).
#include <fmt/format.h>

#include "export/export_common.h"
#include "export/export_json_text.h"
#include "export/exporters.h"
#include "moeroute/atomic_file.h"
#include "moeroute/error.h"

namespace moeroute::detail {

std::vector<std::string> export_jsonl(const std::filesystem::path& input, const std::filesystem::path& out,
                                      const ExportOptions& options) {
  AtomicFileWriter file(out);
  std::string buf;
  int64_t records = 0;
  for_each_export_chunk(input, options, [&](const RouterTrace& t, const std::vector<SequenceRows>& samples) {
   for (const SequenceRows& s : samples) {
    const auto n = static_cast<int64_t>(s.rows.size());
    std::string common = fmt::format("{{\"sample_id\": {}, \"label\": ", s.id);
    append_json_string(common, label_of(s));
    common += fmt::format(", \"num_tokens\": {}, \"loss\": ", n);
    append_loss(common, s.info);
    std::string positions = ", \"positions\": [", tokens;
    for (size_t i = 0; i < s.rows.size(); ++i)
      positions += fmt::format("{}{}", i ? ", " : "", t.position_of(s.rows[i]));
    positions += "]";
    if (t.has_token_ids()) {
      tokens = ", \"token_ids\": [";
      for (size_t i = 0; i < s.rows.size(); ++i)
        tokens += fmt::format("{}{}", i ? ", " : "", t.token_ids[static_cast<size_t>(s.rows[i])]);
      tokens += "]";
    }
    for (int l = 0; l < t.num_layers(); ++l) {
      buf += common;
      buf += fmt::format(", \"layer\": {}, \"layer_name\": ", t.layers[static_cast<size_t>(l)].index);
      append_json_string(buf, t.layers[static_cast<size_t>(l)].name);
      buf += positions;
      buf += tokens;
      buf += ", \"selected_experts\": ";
      append_rows_json(buf, t, t.topk_ids, l, s.rows, t.top_k);
      if (t.has_gate_weights()) {
        buf += ", \"expert_weights\": ";
        append_rows_json(buf, t, t.gate_weights, l, s.rows, t.top_k);
      }
      if (options.logits && t.has_router_logits()) {
        buf += fmt::format(", \"logits_kind\": \"{}\", \"router_logits\": ", to_string(t.logits_kind));
        append_rows_json(buf, t, t.router_logits, l, s.rows, t.num_experts);
      }
      buf += "}\n";
      ++records;
    }
    if (buf.size() > (std::size_t{16} << 20)) {
      file.write(buf);
      buf.clear();
    }
   }
  });
  if (records == 0) throw InputError(fmt::format("{}: no samples to export (check --label)", input.string()));
  file.write(buf);
  file.commit();
  return {out.string()};
}

}  // namespace moeroute::detail
