// The safetensors __metadata__ keys every moeroute file carries: which kind of file it is and the
// version of that kind's layout (traces: docs/trace-format.md; stats states: docs/metrics.md).
#pragma once

namespace moeroute::detail {

inline constexpr const char* kFormatKey = "moeroute.format";
inline constexpr const char* kVersionKey = "moeroute.format_version";

}  // namespace moeroute::detail
