#include "render/report/assets.h"

#include <stdexcept>
#include <string>

namespace moeroute::detail {

std::string_view report_asset(std::string_view name) {
  for (std::size_t i = 0; i < kReportAssetCount; ++i)
    if (name == kReportAssets[i].name)
      return {reinterpret_cast<const char*>(kReportAssets[i].data), kReportAssets[i].size};
  throw std::logic_error("report asset '" + std::string(name) + "' was not embedded (libmoeroute/src/render/report/CMakeLists.txt)");
}

std::vector<std::string_view> report_script_names() {
  // The embedding order of CMakeLists.txt: core helpers, one file per view, start-up last.
  std::vector<std::string_view> names;
  for (std::size_t i = 0; i < kReportAssetCount; ++i) {
    const std::string_view n = kReportAssets[i].name;
    if (n != "report.css" && n != "chart.js") names.push_back(n);
  }
  return names;
}

}  // namespace moeroute::detail
