// The names of an enum's values in one table, for to_string / parse pairs.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "moeroute/error.h"

namespace moeroute::detail {

template <typename E, std::size_t N>
struct EnumNames {
  std::string_view what;                                 ///< what the values are, for errors ("kernel")
  std::array<std::pair<E, std::string_view>, N> table;   ///< every value and its name

  std::string name(E e) const {
    for (const auto& [v, n] : table)
      if (v == e) return std::string(n);
    return "?";
  }
  std::optional<E> find(std::string_view text) const {
    for (const auto& [v, n] : table)
      if (n == text) return v;
    return std::nullopt;
  }
  /// "a, b, c"
  std::string list() const {
    std::string s;
    for (const auto& [v, n] : table) s += (s.empty() ? "" : ", ") + std::string(n);
    return s;
  }
  /// The value named `text`; InputError "<what> '<text>' is not one of: <list>" otherwise.
  E parse(std::string_view text) const {
    if (const auto v = find(text)) return *v;
    throw InputError(fmt::format("{} '{}' is not one of: {}", what, text, list()));
  }
};

}  // namespace moeroute::detail
