#include "io/json_input.h"

#include <cctype>
#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "io/text_file.h"
#include "moeroute/error.h"

namespace moeroute::detail {

using nlohmann::json;

struct JsonDocument {
  std::string source;
  std::string text;  // "" when built in memory: no positions
  std::size_t first_line = 1;  // line number of text's first line in its file
  nlohmann::json root;
};

// One step from the parent: a member key or an array index. Nodes are shared by every field
// below them, so descending costs one small allocation.
struct JsonPathNode {
  std::shared_ptr<const JsonPathNode> parent;
  std::string key;
  std::size_t index = 0;
  bool is_index = false;
};

namespace {

std::vector<const JsonPathNode*> steps_of(const JsonPathNode* node) {
  std::vector<const JsonPathNode*> steps;
  for (; node; node = node->parent.get()) steps.push_back(node);
  return {steps.rbegin(), steps.rend()};
}

// A scanner over text nlohmann already accepted, so it need not re-validate anything.
class Locator {
 public:
  explicit Locator(std::string_view text) : t_(text) {}

  // Byte offset where the value at `steps` starts; npos when it cannot be found.
  std::size_t find(const std::vector<const JsonPathNode*>& steps) {
    skip_ws();
    for (const JsonPathNode* s : steps) {
      if (!(s->is_index ? enter_element(s->index) : enter_member(s->key))) return std::string_view::npos;
      skip_ws();
    }
    return i_;
  }

 private:
  void skip_ws() {
    while (i_ < t_.size() && std::isspace(static_cast<unsigned char>(t_[i_]))) ++i_;
  }
  bool at(char c) const { return i_ < t_.size() && t_[i_] == c; }

  // Skips a string starting at i_ (a quote); returns its raw body.
  std::string_view skip_string() {
    const std::size_t start = ++i_;
    while (i_ < t_.size() && t_[i_] != '"') i_ += t_[i_] == '\\' ? 2 : 1;
    const std::string_view body = t_.substr(start, i_ - start);
    ++i_;
    return body;
  }

  void skip_value() {
    skip_ws();
    if (at('"')) {
      skip_string();
      return;
    }
    if (at('{') || at('[')) {
      int depth = 0;
      do {
        if (at('"')) {
          skip_string();
          continue;
        }
        if (at('{') || at('[')) ++depth;
        if (at('}') || at(']')) --depth;
        ++i_;
      } while (depth > 0 && i_ < t_.size());
      return;
    }
    while (i_ < t_.size() && !std::isspace(static_cast<unsigned char>(t_[i_])) && t_[i_] != ',' && t_[i_] != '}' &&
           t_[i_] != ']')
      ++i_;
  }

  bool enter_member(const std::string& key) {
    if (!at('{')) return false;
    ++i_;
    while (true) {
      skip_ws();
      if (!at('"')) return false;
      const std::string_view raw = skip_string();
      std::string name(raw);
      if (raw.find('\\') != std::string_view::npos) name = nlohmann::json::parse("\"" + std::string(raw) + "\"").get<std::string>();
      skip_ws();
      ++i_;  // ':'
      skip_ws();
      if (name == key) return true;
      skip_value();
      skip_ws();
      if (!at(',')) return false;
      ++i_;
    }
  }

  bool enter_element(std::size_t index) {
    if (!at('[')) return false;
    ++i_;
    for (std::size_t n = 0;; ++n) {
      skip_ws();
      if (at(']')) return false;
      if (n == index) return true;
      skip_value();
      skip_ws();
      if (!at(',')) return false;
      ++i_;
    }
  }

  std::string_view t_;
  std::size_t i_ = 0;
};

std::string type_of(const nlohmann::json& v) {
  if (v.is_number_integer()) return "integer";
  if (v.is_number_float()) return "number";
  return v.type_name();
}

// nlohmann reports the byte just past the offending token; users want where the token starts.
std::size_t token_start(const std::string& text, std::size_t end) {
  if (end == 0) return 0;
  if (end > text.size()) return text.size();
  std::size_t i = end - 1;
  if (text[i] == '"') {
    while (i > 0) {
      --i;
      if (text[i] == '"' && (i == 0 || text[i - 1] != '\\')) return i;
    }
    return 0;
  }
  auto part = [](char ch) { return std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-' || ch == '+'; };
  while (i > 0 && part(text[i - 1]) && part(text[i])) --i;
  return i;
}

}  // namespace

std::string line_column(std::string_view text, std::size_t offset, std::size_t first_line) {
  std::size_t line = first_line, column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return fmt::format("{}:{}", line, column);
}

JsonField::JsonField(std::shared_ptr<const JsonDocument> doc) : value_(&doc->root), doc_(std::move(doc)) {}

JsonField::JsonField(const nlohmann::json* value, std::shared_ptr<const JsonDocument> doc, std::shared_ptr<const JsonPathNode> path)
    : value_(value), doc_(std::move(doc)), path_(std::move(path)) {}

const std::string& JsonField::source() const { return doc_->source; }

std::string JsonField::path() const {
  std::string out;
  for (const JsonPathNode* s : steps_of(path_.get())) {
    if (s->is_index) out += fmt::format("[{}]", s->index);
    else out += out.empty() ? s->key : "." + s->key;
  }
  return out;
}

std::string JsonField::location() const {
  std::string out = doc_->source;
  if (!doc_->text.empty()) {
    const std::size_t offset = Locator(doc_->text).find(steps_of(path_.get()));
    if (offset != std::string_view::npos) out += ":" + line_column(doc_->text, offset, doc_->first_line);
  }
  return out;
}

std::string JsonField::where() const {
  return path_ ? fmt::format("{}: field '{}'", location(), path()) : location();
}

void JsonField::fail(std::string_view what) const { throw InputError(fmt::format("{}: {}", where(), what)); }

void JsonField::unsupported(std::string_view what) const {
  throw UnsupportedError(fmt::format("{}: {}", where(), what));
}

std::string JsonField::describe_got() const {
  std::string text = value_->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return fmt::format("got {} {}", type_of(*value_), text);
}

const JsonField& JsonField::expect_object(std::string_view what) const {
  if (!is_object())
    fail(fmt::format("expected a JSON object{}, {}", what.empty() ? "" : fmt::format(" ({})", what), describe_got()));
  return *this;
}

bool JsonField::contains(std::string_view key) const {
  return value_->is_object() && value_->find(std::string(key)) != value_->end();
}

bool JsonField::has(std::string_view key) const {
  if (!value_->is_object()) return false;
  const auto it = value_->find(std::string(key));
  return it != value_->end() && !it->is_null();
}

JsonField JsonField::at(std::string_view key) const {
  expect_object();
  auto node = std::make_shared<const JsonPathNode>(JsonPathNode{path_, std::string(key), 0, false});
  const auto it = value_->find(std::string(key));
  if (it == value_->end())
    throw InputError(
        fmt::format("{}: required field '{}' is missing", location(), JsonField(value_, doc_, node).path()));
  return JsonField(&*it, doc_, std::move(node));
}

std::optional<JsonField> JsonField::get(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  return at(key);
}

JsonField JsonField::member(std::string_view key) const {
  static const nlohmann::json null_value;
  if (contains(key)) return at(key);
  expect_object();
  return JsonField(&null_value, doc_, std::make_shared<const JsonPathNode>(JsonPathNode{path_, std::string(key), 0, false}));
}

std::vector<std::string> JsonField::keys() const {
  expect_object();
  std::vector<std::string> out;
  for (auto it = value_->begin(); it != value_->end(); ++it) out.push_back(it.key());
  return out;
}

std::size_t JsonField::size() const {
  if (!is_array()) fail(fmt::format("expected an array, {}", describe_got()));
  return value_->size();
}

JsonField JsonField::at(std::size_t i) const {
  if (i >= size()) fail(fmt::format("has {} elements, element {} was asked for", size(), i));
  return JsonField(&(*value_)[i], doc_, std::make_shared<const JsonPathNode>(JsonPathNode{path_, {}, i, true}));
}

std::vector<JsonField> JsonField::elements() const {
  std::vector<JsonField> out;
  const std::size_t n = size();
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) out.push_back(at(i));
  return out;
}

std::string JsonField::string() const {
  if (!value_->is_string()) fail(fmt::format("expected a string, {}", describe_got()));
  return value_->get<std::string>();
}

bool JsonField::boolean() const {
  if (!value_->is_boolean()) fail(fmt::format("expected true or false, {}", describe_got()));
  return value_->get<bool>();
}

std::int64_t JsonField::integer() const {
  if (!value_->is_number_integer()) fail(fmt::format("expected an integer, {}", describe_got()));
  if (value_->is_number_unsigned() && value_->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))
    fail(fmt::format("{} is too large (at most {})", value_->dump(), INT64_MAX));
  return value_->get<std::int64_t>();
}

std::int64_t JsonField::integer(std::int64_t lo, std::int64_t hi) const {
  if (!value_->is_number_integer()) fail(fmt::format("expected an integer in [{}, {}], {}", lo, hi, describe_got()));
  const bool huge = value_->is_number_unsigned() && value_->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX);
  const std::int64_t v = huge ? INT64_MAX : value_->get<std::int64_t>();
  if (huge || v < lo || v > hi) fail(fmt::format("expected an integer in [{}, {}], got {}", lo, hi, value_->dump()));
  return v;
}

std::uint64_t JsonField::unsigned_integer() const {
  if (!value_->is_number_integer() || (!value_->is_number_unsigned() && value_->get<std::int64_t>() < 0))
    fail(fmt::format("expected an integer in [0, {}], {}", UINT64_MAX, describe_got()));
  return value_->get<std::uint64_t>();
}

double JsonField::number() const {
  if (!value_->is_number()) fail(fmt::format("expected a number, {}", describe_got()));
  const double v = value_->get<double>();
  if (!std::isfinite(v)) fail("expected a finite number");
  return v;
}

double JsonField::number(double lo, double hi) const {
  const double v = number();
  if (!(v >= lo && v <= hi)) fail(fmt::format("expected a number in [{}, {}], got {}", lo, hi, value_->dump()));
  return v;
}

std::string JsonField::one_of(std::initializer_list<std::string_view> allowed) const {
  const std::string s = string();
  for (std::string_view a : allowed)
    if (s == a) return s;
  fail(fmt::format("'{}' is not one of: {}", s, fmt::join(allowed, ", ")));
}

std::vector<std::int64_t> JsonField::integers() const {
  if (is_null()) return {};
  if (value_->is_number_integer()) return {integer()};
  if (!is_array()) fail(fmt::format("expected an integer or a list of integers, {}", describe_got()));
  std::vector<std::int64_t> out;
  for (const JsonField& e : elements()) out.push_back(e.integer());
  return out;
}

std::vector<std::string> JsonField::strings() const {
  if (!is_array()) fail(fmt::format("expected a list of strings, {}", describe_got()));
  std::vector<std::string> out;
  for (const JsonField& e : elements()) out.push_back(e.string());
  return out;
}

std::string JsonField::string_or(std::string_view key, std::string_view fallback) const {
  return has(key) ? at(key).string() : std::string(fallback);
}

bool JsonField::bool_or(std::string_view key, bool fallback) const { return has(key) ? at(key).boolean() : fallback; }

std::int64_t JsonField::integer_or(std::string_view key, std::int64_t fallback) const {
  return has(key) ? at(key).integer() : fallback;
}

double JsonField::number_or(std::string_view key, double fallback) const {
  return has(key) ? at(key).number() : fallback;
}

JsonField parse_json(std::string text, std::string source, std::size_t first_line) {
  auto doc = std::make_shared<JsonDocument>();
  doc->first_line = first_line;
  try {
    doc->root = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    std::string what = e.what();
    const auto colon = what.rfind(": ");
    if (colon != std::string::npos) what = what.substr(colon + 2);
    // The classic mistake (the seed's own example has it): a member without a comma before it.
    if (what.find("expected '}'") != std::string::npos || what.find("expected ']'") != std::string::npos)
      what += " (missing ',' before this token?)";
    throw InputError(fmt::format("{}:{}: invalid JSON: {}", source,
                                 line_column(text, token_start(text, e.byte), first_line), what));
  }
  doc->source = std::move(source);
  doc->first_line = first_line;
  doc->text = std::move(text);
  return JsonField(std::shared_ptr<const JsonDocument>(std::move(doc)));
}

JsonField read_json_file(const std::filesystem::path& path, std::string_view missing_hint) {
  ReadTextOptions o;
  o.missing_hint = missing_hint;
  return parse_json(read_text_file(path, o), path.string());
}

JsonField json_value(nlohmann::json value, std::string source) {
  auto doc = std::make_shared<JsonDocument>();
  doc->source = std::move(source);
  doc->root = std::move(value);
  return JsonField(std::shared_ptr<const JsonDocument>(std::move(doc)));
}

}  // namespace moeroute::detail
