#include "moeroute/trace_export.h"

#include <fmt/format.h>

#include "export/exporters.h"
#include "moeroute/error.h"

namespace moeroute {

std::string to_string(ExportFormat f) {
  switch (f) {
    case ExportFormat::Npy: return "npy";
    case ExportFormat::Jsonl: return "jsonl";
    default: return "seed-json";
  }
}

ExportFormat parse_export_format(const std::string& name) {
  for (ExportFormat f : {ExportFormat::SeedJson, ExportFormat::Npy, ExportFormat::Jsonl})
    if (name == to_string(f)) return f;
  throw InputError(fmt::format("export format '{}' is not one of: seed-json, npy, jsonl", name));
}

std::vector<std::string> export_trace(const std::filesystem::path& input, const std::filesystem::path& out,
                                      const ExportOptions& options) {
  switch (options.format) {
    case ExportFormat::Npy: return detail::export_npy(input, out, options);
    case ExportFormat::Jsonl: return detail::export_jsonl(input, out, options);
    default: return detail::export_seed_json(input, out, options);
  }
}

}  // namespace moeroute
