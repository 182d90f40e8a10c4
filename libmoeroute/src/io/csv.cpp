#include "csv.h"

#include <cmath>

#include <fmt/format.h>

namespace moeroute::detail {

std::string csv_row(const std::vector<std::string>& fields) {
  std::string line;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) line += ',';
    const std::string& f = fields[i];
    if (f.find_first_of(",\"\n\r") == std::string::npos) {
      line += f;
      continue;
    }
    line += '"';
    for (char c : f) {
      if (c == '"') line += '"';
      line += c;
    }
    line += '"';
  }
  line += '\n';
  return line;
}

std::string format_number(double v) {
  if (std::isnan(v)) return "nan";
  return fmt::format("{}", v);
}

}  // namespace moeroute::detail
