#include "io/moeroute_file.h"

#include <fmt/format.h>

#include "core/parse_number.h"
#include "moeroute/error.h"

namespace moeroute::detail {

MoerouteHeader read_moeroute_header(const SafetensorsFile& st, const MoerouteFileKind& kind) {
  const std::string file = st.path().string();
  const auto& md = st.metadata();
  auto entry = [&](std::string_view key) -> const std::string& {
    const auto it = md.find(std::string(key));
    if (it == md.end())
      throw InputError(fmt::format("{}: not a moeroute {}: __metadata__ has no '{}' ({})", file, kind.what, key, kind.doc));
    return it->second;
  };
  const std::string& format = entry(kFormatKey);
  if (format != kind.format)
    throw InputError(fmt::format("{}: __metadata__['{}'] is '{}', expected '{}'{}", file, kFormatKey, format, kind.format,
                                 format.rfind("moeroute.", 0) == 0 ? fmt::format(" (this is a {} file, not a {})", format, kind.what)
                                                                  : ""));
  const std::string& version_text = entry(kFormatVersionKey);
  const auto parsed = parse_number<int>(version_text);
  if (!parsed) throw InputError(fmt::format("{}: format version '{}' is not a number", file, version_text));
  const int version = *parsed;
  if (version < 1 || version > kind.max_version)
    throw UnsupportedError(fmt::format("{}: {} format version {} is not supported (this moeroute reads 1..{})", file,
                                       kind.what, version, kind.max_version));
  return {version, parse_json(entry(kind.format), fmt::format("{}: __metadata__['{}']", file, kind.format))};
}

}  // namespace moeroute::detail
