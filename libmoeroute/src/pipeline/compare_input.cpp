#include "moeroute/compare_input.h"

#include <cctype>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "core/text_position.h"
#include "moeroute/error.h"

namespace moeroute {

namespace {

using nlohmann::json;

// "line:column" (1-based) of byte offset `pos` in `text`.
std::string line_column(const std::string& text, size_t pos) {
  const auto [line, column] = detail::line_and_column(text, pos);
  return fmt::format("{}:{}", line, column);
}

// nlohmann reports the byte just past the offending token; users want where the token starts.
size_t token_start(const std::string& text, size_t end) {
  if (end == 0 || end > text.size()) return end > text.size() ? text.size() : 0;
  size_t i = end - 1;
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

struct Ctx {
  const std::string& source;
  InputError bad(const std::string& field, const std::string& what) const {
    return InputError(fmt::format("{}: field '{}': {}", source, field, what));
  }
};

std::string type_name(const json& v) { return v.is_number_integer() ? "integer" : v.type_name(); }

std::string get_string(const Ctx& c, const std::string& f, const json& v) {
  if (!v.is_string()) throw c.bad(f, fmt::format("expected a string, got {} {}", type_name(v), v.dump()));
  return v.get<std::string>();
}
int64_t get_int(const Ctx& c, const std::string& f, const json& v) {
  if (!v.is_number_integer()) throw c.bad(f, fmt::format("expected an integer, got {} {}", type_name(v), v.dump()));
  return v.get<int64_t>();
}
double get_number(const Ctx& c, const std::string& f, const json& v) {
  if (!v.is_number()) throw c.bad(f, fmt::format("expected a number, got {} {}", type_name(v), v.dump()));
  return v.get<double>();
}
std::string one_of(const Ctx& c, const std::string& f, const json& v, std::initializer_list<const char*> allowed) {
  const std::string s = get_string(c, f, v);
  for (const char* a : allowed)
    if (s == a) return s;
  throw c.bad(f, fmt::format("'{}' is not one of: {}", s, fmt::join(allowed, ", ")));
}
int positive_int(const Ctx& c, const std::string& f, const json& v) {
  const int64_t n = get_int(c, f, v);
  if (n <= 0 || n > 1'000'000) throw c.bad(f, fmt::format("must be in [1, 1000000], got {}", n));
  return static_cast<int>(n);
}

using Setter = std::function<void(CompareInput&, const Ctx&, const std::string&, const json&)>;

const std::map<std::string, Setter>& setters() {
  static const std::map<std::string, Setter> table = {
      {"prompt_base", [](auto& in, auto& c, auto& f, auto& v) { in.prompt_base = get_string(c, f, v); }},
      {"prompt_var", [](auto& in, auto& c, auto& f, auto& v) { in.prompt_var = get_string(c, f, v); }},
      {"question", [](auto& in, auto& c, auto& f, auto& v) { in.question = get_string(c, f, v); }},
      {"language", [](auto& in, auto& c, auto& f, auto& v) { in.language = get_string(c, f, v); }},
      {"max_new_tokens", [](auto& in, auto& c, auto& f, auto& v) { in.max_new_tokens = positive_int(c, f, v); }},
      {"temperature",
       [](auto& in, auto& c, auto& f, auto& v) {
         in.temperature = get_number(c, f, v);
         if (!(in.temperature >= 0.0 && in.temperature <= 100.0))
           throw c.bad(f, fmt::format("must be in [0, 100], got {}", in.temperature));
       }},
      {"top_p",
       [](auto& in, auto& c, auto& f, auto& v) {
         in.top_p = get_number(c, f, v);
         if (!(in.top_p > 0.0 && in.top_p <= 1.0)) throw c.bad(f, fmt::format("must be in (0, 1], got {}", in.top_p));
       }},
      {"topk", [](auto& in, auto& c, auto& f, auto& v) { in.topk = positive_int(c, f, v); }},
      {"model_id", [](auto& in, auto& c, auto& f, auto& v) { in.model_id = get_string(c, f, v); }},
      {"model_path", [](auto& in, auto& c, auto& f, auto& v) { in.model_path = get_string(c, f, v); }},
      {"device_map",
       [](auto& in, auto& c, auto& f, auto& v) {
         in.device_map = get_string(c, f, v);
         const auto& d = in.device_map;
         if (d != "auto" && d != "cpu" && d != "cuda" && d.rfind("cuda:", 0) != 0)
           throw c.bad(f, fmt::format("'{}' is not one of: auto, cpu, cuda, cuda:N", d));
       }},
      {"topn_per_layer", [](auto& in, auto& c, auto& f, auto& v) { in.topn_per_layer = positive_int(c, f, v); }},
      {"align", [](auto& in, auto& c, auto& f, auto& v) { in.align = one_of(c, f, v, {"teacher-forced", "free"}); }},
      {"dist", [](auto& in, auto& c, auto& f, auto& v) { in.dist = one_of(c, f, v, {"auto", "full", "topk"}); }},
      {"seed",
       [](auto& in, auto& c, auto& f, auto& v) {
         const int64_t s = get_int(c, f, v);
         if (s < 0) throw c.bad(f, fmt::format("must be ≥ 0, got {}", s));
         in.seed = static_cast<uint64_t>(s);
       }},
      {"chat_template", [](auto& in, auto& c, auto& f, auto& v) { in.chat_template = get_string(c, f, v); }},
  };
  return table;
}

void apply(CompareInput& in, const json& obj, const std::string& source) {
  const Ctx c{source};
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const auto s = setters().find(it.key());
    if (s == setters().end()) {
      in.warnings.push_back(fmt::format("{}: unknown field '{}' ignored", source, it.key()));
      continue;
    }
    s->second(in, c, it.key(), it.value());
  }
}

}  // namespace

CompareInput parse_compare_input(const std::string& text, const std::string& source) {
  json obj;
  try {
    obj = json::parse(text);
  } catch (const json::parse_error& e) {
    std::string what = e.what();
    const auto colon = what.rfind(": ");
    if (colon != std::string::npos) what = what.substr(colon + 2);
    // The classic mistake (the seed's own example has it): a field without a comma before it.
    if (what.find("expected '}'") != std::string::npos || what.find("expected ']'") != std::string::npos)
      what += " (missing ',' before this token?)";
    throw InputError(fmt::format("{}:{}: invalid JSON: {}", source, line_column(text, token_start(text, e.byte)), what));
  }
  if (!obj.is_object()) throw InputError(fmt::format("{}: expected a JSON object, got {}", source, obj.type_name()));
  CompareInput in;
  apply(in, obj, source);
  for (const char* f : {"prompt_base", "prompt_var", "question"})
    if (!obj.contains(f)) throw InputError(fmt::format("{}: required field '{}' (a string) is missing", source, f));
  if (in.model_id.empty() && in.model_path.empty())
    throw InputError(fmt::format("{}: name the model with 'model_id' or 'model_path' (e.g. \"builtin:tiny-moe\")", source));
  return in;
}

CompareInput load_compare_input(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw InputError(fmt::format("{}: cannot open", path.string()));
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_compare_input(ss.str(), path.string());
}

void apply_compare_overrides(CompareInput& in, const nlohmann::json& overrides, const std::string& source) {
  apply(in, overrides, source);
}

}  // namespace moeroute
