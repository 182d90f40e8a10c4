// The one JSON input layer: parse_json() and JsonField, a typed view of one value that knows its
// file and path, so every error reads "<file>:<line>:<column>: field '<path>': expected …, got …".
// Positions are found only when an error is reported (a rescan of the kept text), so reading
// large files (tokenizer.json) costs nothing extra.
#pragma once

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace moeroute::detail {

struct JsonDocument;
struct JsonPathNode;

class JsonField {
 public:
  const nlohmann::json& json() const { return *value_; }
  /// The file (or other source) the value came from.
  const std::string& source() const;
  /// "model.merges[3]"; "" for the root.
  std::string path() const;
  /// "<file>:<line>:<column>: field '<path>'" (no position when the source has no text).
  std::string where() const;
  /// "<file>:<line>:<column>" of this value.
  std::string location() const;

  /// Throws InputError "<where>: <what>".
  [[noreturn]] void fail(std::string_view what) const;
  /// Throws UnsupportedError with the same shape.
  [[noreturn]] void unsupported(std::string_view what) const;

  bool is_null() const { return value_->is_null(); }
  bool is_object() const { return value_->is_object(); }
  bool is_array() const { return value_->is_array(); }
  bool is_string() const { return value_->is_string(); }

  // Objects.
  /// Fails unless this is an object; `what` says which kind (e.g. "an export sidecar").
  const JsonField& expect_object(std::string_view what = "") const;
  /// Member `key` is present (null included).
  bool contains(std::string_view key) const;
  /// Member `key` is present and not null.
  bool has(std::string_view key) const;
  /// Member `key`; fails when this is not an object or the member is missing.
  JsonField at(std::string_view key) const;
  /// Member `key` when present and not null.
  std::optional<JsonField> get(std::string_view key) const;
  /// Member `key`, or a null value at that path when absent (optional sections).
  JsonField member(std::string_view key) const;
  /// Member names in the object's order of iteration (sorted).
  std::vector<std::string> keys() const;

  // Arrays.
  /// Number of elements; fails when this is not an array.
  std::size_t size() const;
  JsonField at(std::size_t i) const;
  /// Every element.
  std::vector<JsonField> elements() const;

  // Values. Each fails with "expected <kind>, got <type> <value>".
  std::string string() const;
  bool boolean() const;
  std::int64_t integer() const;
  /// An integer in [lo, hi].
  std::int64_t integer(std::int64_t lo, std::int64_t hi) const;
  /// A non-negative integer up to 2^64 − 1 (seeds).
  std::uint64_t unsigned_integer() const;
  /// A finite number (integers included).
  double number() const;
  /// A finite number in [lo, hi].
  double number(double lo, double hi) const;
  /// A string equal to one of `allowed`.
  std::string one_of(std::initializer_list<std::string_view> allowed) const;
  /// An integer or a list of integers (eos_token_id); null gives an empty list.
  std::vector<std::int64_t> integers() const;
  /// A list of strings.
  std::vector<std::string> strings() const;

  // Optional members with defaults (absent or null → fallback).
  std::string string_or(std::string_view key, std::string_view fallback) const;
  bool bool_or(std::string_view key, bool fallback) const;
  std::int64_t integer_or(std::string_view key, std::int64_t fallback) const;
  double number_or(std::string_view key, double fallback) const;

  /// The root of `doc`.
  explicit JsonField(std::shared_ptr<const JsonDocument> doc);

 private:
  JsonField(const nlohmann::json* value, std::shared_ptr<const JsonDocument> doc,
            std::shared_ptr<const JsonPathNode> path);
  std::string describe_got() const;

  const nlohmann::json* value_;
  std::shared_ptr<const JsonDocument> doc_;
  std::shared_ptr<const JsonPathNode> path_;  // null at the root
};

/// Parses `text` (named `source` in errors). Invalid JSON throws InputError
/// "<source>:<line>:<column>: invalid JSON: <what>" pointing at the offending token.
/// `first_line` is the line number of the text's first line in its file, so a record of a
/// JSON Lines file (parsed on its own) reports the file's line numbers.
JsonField parse_json(std::string text, std::string source, std::size_t first_line = 1);

/// read_text_file(path) + parse_json; `missing_hint` explains a missing file.
JsonField read_json_file(const std::filesystem::path& path, std::string_view missing_hint = {});

/// A value built in memory (e.g. from command-line flags): errors name `source`, without positions.
JsonField json_value(nlohmann::json value, std::string source);

/// "line:column" (1-based; lines counted from `first_line`) of byte `offset` in `text`.
std::string line_column(std::string_view text, std::size_t offset, std::size_t first_line = 1);

}  // namespace moeroute::detail
