// 1-based line and column of a byte offset, for error messages about text files.
#pragma once

#include <cstddef>
#include <string_view>
#include <utility>

namespace moeroute::detail {

/// (line, column) of byte `offset` in `text`, both counted from 1; columns count bytes.
inline std::pair<std::size_t, std::size_t> line_and_column(std::string_view text, std::size_t offset) {
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

}  // namespace moeroute::detail
