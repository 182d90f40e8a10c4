// Typed access to tokenizer.json fields whose errors name the file and the field's path
// (e.g. `tokenizer.json: field 'model.merges[3]': expected two tokens separated by a space`).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace moeroute::detail {

/// A JSON value plus where it came from, for error messages.
struct JsonField {
  const nlohmann::json& value;
  const std::string& file;  // the file (or other source) the JSON was read from
  std::string path;         // dotted path of this value inside the file ("" for the root)

  /// Throws InputError "<file>: field '<path>': <what>".
  [[noreturn]] void fail(std::string_view what) const;
  /// Throws UnsupportedError with the same shape.
  [[noreturn]] void unsupported(std::string_view what) const;

  /// The member `key` of this object (throws when this is not an object or `key` is missing).
  JsonField at(std::string_view key) const;
  /// The member `key`, or a null JsonField when absent or null.
  bool has(std::string_view key) const;
  /// Element `i` of this array.
  JsonField at(std::size_t i) const;

  bool is_null() const { return value.is_null(); }
  std::string string() const;
  bool boolean() const;
  std::int64_t integer() const;
  /// Number of elements; throws when this is not an array.
  std::size_t array_size() const;

  /// Convenience for optional members with defaults.
  std::string string_or(std::string_view key, std::string_view fallback) const;
  bool bool_or(std::string_view key, bool fallback) const;
};

}  // namespace moeroute::detail
