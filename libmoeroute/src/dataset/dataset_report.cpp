#include "moeroute/dataset_report.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "moeroute/error.h"

namespace moeroute {

std::string dataset_report(const DatasetReportOptions& o) {
  const DatasetSummary summary = scan_dataset(o.files, o.dataset);
  if (o.chat_template.empty() || o.chat_template == "auto")
    throw InputError("dataset: --template auto needs a model; name a built-in template or a template file");
  const ChatTemplate chat = resolve_chat_template(o.chat_template, {});
  std::vector<DatasetSample> shown;
  {
    DatasetReader reader(o.files, o.dataset);
    DatasetSample s;
    while (static_cast<int>(shown.size()) < o.show && reader.next(s)) shown.push_back(s);
  }
  if (o.json) {
    nlohmann::ordered_json j;
    j["num_samples"] = summary.num_samples;
    j["labels"] = summary.labels;
    auto& files = j["files"] = nlohmann::ordered_json::array();
    for (const DatasetFileSummary& f : summary.files)
      files.push_back({{"path", f.path}, {"label", f.label}, {"format", to_string(f.format)},
                       {"first_sample", f.first_sample}, {"num_samples", f.num_samples}, {"bytes", f.bytes},
                       {"xxh64", f.xxh64}});
    j["warnings"] = summary.warnings;
    auto& samples = j["samples"] = nlohmann::ordered_json::array();
    for (const DatasetSample& s : shown)
      samples.push_back({{"index", s.index}, {"label", s.label}, {"origin", s.origin},
                         {"conversation", !s.messages.empty()}, {"text", sample_text(s, chat)}});
    return j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
  }
  std::string out = fmt::format("{} samples in {} file{}, labels: {}\n", summary.num_samples, summary.files.size(),
                                summary.files.size() == 1 ? "" : "s", fmt::join(summary.labels, ", "));
  for (const DatasetFileSummary& f : summary.files)
    out += fmt::format("  {} ({}, label '{}'): samples {}–{} ({}), {} bytes, XXH64 {}\n", f.path, to_string(f.format),
                       f.label, f.first_sample, f.first_sample + f.num_samples - 1, f.num_samples, f.bytes, f.xxh64);
  for (const std::string& w : summary.warnings) out += "warning: " + w + "\n";
  for (const DatasetSample& s : shown)
    out += fmt::format("\n[{}] {} ({}{}):\n{}\n", s.index, s.label, s.origin,
                       s.messages.empty() ? "" : fmt::format(", {} messages, template {}", s.messages.size(), chat.name()),
                       sample_text(s, chat));
  return out;
}

}  // namespace moeroute
