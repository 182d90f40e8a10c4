// The report's embedded files (scripts, styles, Chart.js), generated at build time by
// cmake/embed_assets.cmake from the list in this directory's CMakeLists.txt.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace moeroute::detail {

struct ReportAsset {
  const char* name;           ///< the file's name in the list ("core.js")
  const unsigned char* data;  ///< its bytes (followed by a 0 byte)
  std::size_t size;           ///< byte count without the trailing 0
};

extern const ReportAsset kReportAssets[];
extern const std::size_t kReportAssetCount;

/// The content of asset `name`; throws std::logic_error when the build did not embed it.
std::string_view report_asset(std::string_view name);

/// The page's own scripts, in the order they run (every asset but report.css and chart.js).
std::vector<std::string_view> report_script_names();

}  // namespace moeroute::detail
