// The three exporters behind export_trace (one file each).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "moeroute/trace_export.h"

namespace moeroute::detail {

std::vector<std::string> export_seed_json(const std::filesystem::path& input, const std::filesystem::path& out,
                                          const ExportOptions& options);
std::vector<std::string> export_jsonl(const std::filesystem::path& input, const std::filesystem::path& out,
                                      const ExportOptions& options);
std::vector<std::string> export_npy(const std::filesystem::path& input, const std::filesystem::path& out,
                                    const ExportOptions& options);

}  // namespace moeroute::detail
