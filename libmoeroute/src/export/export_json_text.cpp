#include "export/export_json_text.h"

#include <cmath>
#include <iterator>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "export/export_common.h"

namespace moeroute::detail {

namespace {
inline void append_value(std::string& out, float v) { append_float(out, v); }
inline void append_value(std::string& out, int32_t v) { fmt::format_to(std::back_inserter(out), "{}", v); }
}  // namespace

template <typename T>
void append_rows_json(std::string& out, const RouterTrace& trace, const std::vector<T>& data, int layer,
                      const std::vector<int64_t>& rows, int width) {
  out += '[';
  const auto w = static_cast<size_t>(width);
  const T* base = data.data() + static_cast<size_t>(layer) * static_cast<size_t>(trace.num_positions) * w;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i) out += ", ";
    out += '[';
    const T* v = base + static_cast<size_t>(rows[i]) * w;
    for (size_t k = 0; k < w; ++k) {
      if (k) out += ", ";
      append_value(out, v[k]);
    }
    out += ']';
  }
  out += ']';
}

template void append_rows_json<float>(std::string&, const RouterTrace&, const std::vector<float>&, int,
                                      const std::vector<int64_t>&, int);
template void append_rows_json<int32_t>(std::string&, const RouterTrace&, const std::vector<int32_t>&, int,
                                        const std::vector<int64_t>&, int);

void append_json_string(std::string& out, const std::string& s) {
  out += nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void append_loss(std::string& out, const SequenceInfo* info) {
  if (!info || !std::isfinite(info->loss)) {
    out += "null";
    return;
  }
  fmt::format_to(std::back_inserter(out), "{}", info->loss);
}

}  // namespace moeroute::detail
