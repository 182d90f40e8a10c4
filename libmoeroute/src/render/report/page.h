// The report's HTML document around its data: styles, Chart.js and our scripts inline, a
// Content-Security-Policy that allows exactly those scripts and no network access, and the
// Open Graph tags of a shareable page.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace moeroute::detail {

struct PageMeta {
  std::string title;        ///< <title> and og:title
  std::string description;  ///< <meta name=description> and og:description
  std::string og_image;     ///< og:image URL; "" = none
};

/// The whole page. `data` becomes <script type="application/json" id="moeroute-data">.
std::string report_page(const nlohmann::ordered_json& data, const PageMeta& meta);

/// Throws std::logic_error when `script` could close its <script> element early ("</script",
/// any case) — an embedded asset must never do that.
void check_script_safe(std::string_view name, std::string_view script);

}  // namespace moeroute::detail
