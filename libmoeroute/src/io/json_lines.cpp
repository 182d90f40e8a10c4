#include "io/json_lines.h"

#include <fmt/format.h>

#include "io/line_reader.h"

namespace moeroute::detail {

int64_t for_each_json_line(const std::filesystem::path& path,
                           const std::function<void(const JsonField&, int64_t)>& fn,
                           const std::function<void(const InputError&)>& bad) {
  LineReader in(path);
  std::string_view line;
  int64_t records = 0;
  while (in.next(line)) {
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    ++records;
    try {
      fn(parse_json(std::string(line), in.name(), static_cast<size_t>(in.line_number())), in.line_number());
    } catch (const InputError& e) {
      if (in.last_line_unterminated())
        bad(InputError(std::string(e.what()) + " (the file ends in the middle of this line: truncated?)"));
      else
        bad(e);
    }
  }
  if (records == 0)
    throw InputError(fmt::format("{}: {}", in.name(), in.bytes_read() == 0 ? "the file is empty" : "no JSON records"));
  return records;
}

}  // namespace moeroute::detail
