// Whole-string number parsing for option and metadata values: "12" → 12, "12x", "" → nothing.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace moeroute::detail {

/// The int or double (std::stoi / std::stod syntax) that is all of `text`, else nullopt
/// (trailing characters, out of range, empty).
template <typename T>
std::optional<T> parse_number(const std::string& text) {
  size_t used = 0;
  T value{};
  try {
    if constexpr (std::is_same_v<T, int>) value = std::stoi(text, &used);
    else value = std::stod(text, &used);
  } catch (const std::logic_error&) {
    return std::nullopt;
  }
  if (used == 0 || used != text.size()) return std::nullopt;
  return value;
}

}  // namespace moeroute::detail
