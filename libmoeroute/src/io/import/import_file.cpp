// The `moeroute import` job and its report.
#include <fmt/format.h>

#include "moeroute/atomic_file.h"
#include "moeroute/error.h"
#include "moeroute/import.h"

namespace moeroute {

RouterTrace read_trace(const std::filesystem::path& path, const ImportOptions& options) {
  const ImportFormat f = options.format == ImportFormat::Auto && path != "-" ? detect_import_format(path) : options.format;
  if (f == ImportFormat::MoerouteTrace) return load_trace(path);
  ImportOptions o = options;
  o.format = f;
  return import_trace(path, o);
}

ImportReport import_to_file(const std::filesystem::path& in, const std::filesystem::path& out,
                            const ImportOptions& options, const TraceSaveOptions& save) {
  const bool csv = out.extension() == ".csv";
  if (csv || (in != "-" && is_expert_counts_dump(in))) {
    if (!csv)
      throw InputError(fmt::format("{}: holds expert counts, not per-token routing: give an output ending in .csv",
                                   in.string()));
    const ExpertCounts counts = import_expert_counts(in, options);
    write_file_atomic(out, expert_counts_csv(counts));
    ImportReport r;
    r.format = ImportFormat::SglangDump;
    r.num_layers = static_cast<int>(counts.layers.size());
    r.num_experts = counts.num_experts;
    r.sequences = static_cast<int64_t>(counts.passes.size());
    r.notes = counts.notes;
    r.notes.push_back(fmt::format("{} count slabs × {} layers × {} experts written as CSV", counts.passes.size(),
                                  counts.layers.size(), counts.num_experts));
    return r;
  }
  ImportReport report;
  const RouterTrace t = import_trace(in, options, &report);
  save_trace(t, out, save);
  return report;
}

std::string format_import_report(const ImportReport& r) {
  std::string out = fmt::format("{}: {} rows in {} sequences, {} layers, {} experts{}, top-{}\n", to_string(r.format),
                                r.rows, r.sequences, r.num_layers, r.num_experts,
                                r.num_experts_inferred ? " (inferred)" : "", r.top_k);
  if (r.bad_records > 0)
    out += fmt::format("skipped {} bad lines/records; the first: {}\n", r.bad_records, r.first_bad);
  for (const auto& n : r.notes) out += "note: " + n + "\n";
  return out;
}

}  // namespace moeroute
