#include "io/csv_reader.h"

#include <fmt/format.h>

#include "moeroute/error.h"

namespace moeroute::detail {

bool CsvReader::next(std::vector<std::string>& fields) {
  fields.clear();
  if (!lines_.next(line_)) return false;
  record_line_ = lines_.line_number();
  auto fail = [&](std::size_t column, const std::string& what) {
    throw InputError(fmt::format("{}:{}:{}: {}", lines_.name(), lines_.line_number(), column + 1, what));
  };
  std::string field;
  std::size_t i = 0;
  while (true) {
    if (i < line_.size() && line_[i] == '"') {
      // Quoted field: runs to the quote that is not doubled, across lines if need be.
      const std::int64_t open_line = lines_.line_number();
      const std::size_t open_column = i;
      ++i;
      while (true) {
        if (i >= line_.size()) {
          if (!lines_.next(line_))
            throw InputError(fmt::format("{}:{}:{}: quoted field is never closed", lines_.name(), open_line,
                                         open_column + 1));
          field += '\n';
          i = 0;
          continue;
        }
        if (line_[i] == '"') {
          if (i + 1 < line_.size() && line_[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field += line_[i++];
      }
      if (i < line_.size() && line_[i] != ',') fail(i, "text after the closing quote of a field (expected ',')");
    } else {
      const std::size_t comma = line_.find(',', i);
      const std::size_t end = comma == std::string::npos ? line_.size() : comma;
      const std::size_t quote = line_.find('"', i);
      if (quote < end) fail(quote, "'\"' inside an unquoted field (RFC 4180: quote the field and double the quote)");
      field.assign(line_, i, end - i);
      i = end;
    }
    fields.push_back(std::move(field));
    field.clear();
    if (i >= line_.size()) return true;
    ++i;  // the comma
  }
}

}  // namespace moeroute::detail
