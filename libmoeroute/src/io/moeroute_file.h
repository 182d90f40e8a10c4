// The header every moeroute safetensors file carries (traces, KDE models): __metadata__ keys
// "moeroute.format" (what the file is), "moeroute.format_version" and a JSON description under
// the format's own key. One reader checks them for every kind of file.
#pragma once

#include <string>
#include <string_view>

#include "io/json_input.h"
#include "moeroute/safetensors.h"

namespace moeroute::detail {

inline constexpr const char* kFormatKey = "moeroute.format";
inline constexpr const char* kFormatVersionKey = "moeroute.format_version";

/// What a reader expects.
struct MoerouteFileKind {
  std::string_view format;  ///< "moeroute.trace": the value of moeroute.format and the description's key
  std::string_view what;    ///< "trace", "KDE model": for messages
  std::string_view doc;     ///< where the format is documented
  int max_version = 1;      ///< newest version this reader knows (it reads 1 … max_version)
};

struct MoerouteHeader {
  int version = 0;          ///< moeroute.format_version
  JsonField description;    ///< the JSON under the format's key, parsed (not yet checked)
};

/// Checks `st`'s __metadata__ against `kind` and parses the description. Throws InputError
/// naming the file and the key ("not a moeroute trace: __metadata__ has no 'moeroute.format'";
/// another moeroute format is named as such), UnsupportedError for versions it does not read.
MoerouteHeader read_moeroute_header(const SafetensorsFile& st, const MoerouteFileKind& kind);

}  // namespace moeroute::detail
