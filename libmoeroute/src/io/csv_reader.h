// Streaming RFC 4180 CSV records over a LineReader: comma-separated fields, fields quoted with
// '"' may contain commas, doubled quotes and line breaks (a record may span lines; a line break
// inside quotes is kept as "\n"). Errors name file:line:column.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/line_reader.h"

namespace moeroute::detail {

class CsvReader {
 public:
  explicit CsvReader(LineReader& lines) : lines_(lines) {}
  /// The next record; false at the end of the file. A record of one empty field (an empty line)
  /// is returned as such: the caller decides what an empty row means. Throws InputError for a
  /// quote inside an unquoted field, text after a closing quote, or a quote left open at the end.
  bool next(std::vector<std::string>& fields);
  /// Line where the record last returned starts.
  std::int64_t record_line() const { return record_line_; }

 private:
  LineReader& lines_;
  std::string line_;
  std::int64_t record_line_ = 0;
};

}  // namespace moeroute::detail
