#include "render/report/page.h"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "render/report/assets.h"
#include "render/report/encode.h"
#include "render/text_encoding.h"

namespace moeroute::detail {

void check_script_safe(std::string_view name, std::string_view script) {
  std::string lower(script);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower.find("</script") != std::string::npos || lower.find("<!--") != std::string::npos)
    throw std::logic_error("report asset " + std::string(name) + " contains </script or <!--, which would break the page");
}

std::string report_page(const nlohmann::ordered_json& data, const PageMeta& meta) {
  const std::string_view chart = report_asset("chart.js");
  std::string app;
  for (std::string_view name : report_script_names()) {
    // Each file in its own function scope: their top-level names cannot collide; MR is global.
    app += "// ---- ";
    app += name;
    app += "\n(function () {\n";
    app += report_asset(name);
    app += "\n})();\n";
  }
  check_script_safe("chart.js", chart);
  check_script_safe("the report scripts", app);

  // Only these two inline scripts may run; nothing may be fetched (default-src 'none'); images
  // only from data: URLs (canvas exports). The JSON data block is not a script CSP runs.
  const std::string csp = "default-src 'none'; script-src '" + csp_hash(chart) + "' '" + csp_hash(app) +
                          "'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";
  std::string html;
  html.reserve(chart.size() + app.size() + 4096);
  html += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  html += "<meta http-equiv=\"Content-Security-Policy\" content=\"" + plot::detail::xml_escape(csp) + "\">\n";
  html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  html += "<title>" + plot::detail::xml_escape(meta.title) + "</title>\n";
  html += "<meta name=\"description\" content=\"" + plot::detail::xml_escape(meta.description) + "\">\n";
  html += "<meta name=\"generator\" content=\"moeroute\">\n";
  html += "<meta property=\"og:type\" content=\"website\">\n";
  html += "<meta property=\"og:title\" content=\"" + plot::detail::xml_escape(meta.title) + "\">\n";
  html += "<meta property=\"og:description\" content=\"" + plot::detail::xml_escape(meta.description) + "\">\n";
  if (!meta.og_image.empty()) {
    html += "<meta property=\"og:image\" content=\"" + plot::detail::xml_escape(meta.og_image) + "\">\n";
    html += "<meta name=\"twitter:card\" content=\"summary_large_image\">\n";
  }
  html += "<style>\n";
  html += report_asset("report.css");
  html += "</style>\n</head>\n<body>\n<noscript>This report draws everything with JavaScript; please enable it.</noscript>\n";
  html += "<div id=\"app\"></div>\n<script type=\"application/json\" id=\"moeroute-data\">";
  html += script_safe_json(data);
  html += "</script>\n<script>";
  html += chart;
  html += "</script>\n<script>";
  html += app;
  html += "</script>\n</body>\n</html>\n";
  return html;
}

}  // namespace moeroute::detail
