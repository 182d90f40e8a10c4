#include "tokenizer/json_field.h"

#include <fmt/format.h>

#include "moeroute/error.h"

namespace moeroute::detail {

namespace {

std::string join_path(const std::string& base, std::string_view key) {
  return base.empty() ? std::string(key) : fmt::format("{}.{}", base, key);
}

const char* type_name(const nlohmann::json& j) { return j.type_name(); }

}  // namespace

void JsonField::fail(std::string_view what) const {
  if (path.empty()) throw InputError(fmt::format("{}: {}", file, what));
  throw InputError(fmt::format("{}: field '{}': {}", file, path, what));
}

void JsonField::unsupported(std::string_view what) const {
  throw UnsupportedError(fmt::format("{}: field '{}': {}", file, path, what));
}

bool JsonField::has(std::string_view key) const {
  if (!value.is_object()) return false;
  const auto it = value.find(std::string(key));
  return it != value.end() && !it->is_null();
}

JsonField JsonField::at(std::string_view key) const {
  if (!value.is_object()) fail(fmt::format("expected an object, found {}", type_name(value)));
  const auto it = value.find(std::string(key));
  if (it == value.end()) {
    JsonField{value, file, join_path(path, key)}.fail("missing");
  }
  return JsonField{*it, file, join_path(path, key)};
}

JsonField JsonField::at(std::size_t i) const {
  if (!value.is_array()) fail(fmt::format("expected an array, found {}", type_name(value)));
  return JsonField{value.at(i), file, fmt::format("{}[{}]", path, i)};
}

std::string JsonField::string() const {
  if (!value.is_string()) fail(fmt::format("expected a string, found {}", type_name(value)));
  return value.get<std::string>();
}

bool JsonField::boolean() const {
  if (!value.is_boolean()) fail(fmt::format("expected true or false, found {}", type_name(value)));
  return value.get<bool>();
}

std::int64_t JsonField::integer() const {
  if (!value.is_number_integer()) fail(fmt::format("expected an integer, found {}", type_name(value)));
  return value.get<std::int64_t>();
}

std::size_t JsonField::array_size() const {
  if (!value.is_array()) fail(fmt::format("expected an array, found {}", type_name(value)));
  return value.size();
}

std::string JsonField::string_or(std::string_view key, std::string_view fallback) const {
  return has(key) ? at(key).string() : std::string(fallback);
}

bool JsonField::bool_or(std::string_view key, bool fallback) const {
  return has(key) ? at(key).boolean() : fallback;
}

}  // namespace moeroute::detail
