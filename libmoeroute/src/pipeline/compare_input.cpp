#include "moeroute/compare_input.h"

#include <functional>
#include <map>

#include <fmt/format.h>

#include "io/json_input.h"
#include "io/text_file.h"
#include "moeroute/error.h"

namespace moeroute {

namespace {

using nlohmann::json;
using detail::JsonField;

int positive_int(const JsonField& v) { return static_cast<int>(v.integer(1, 1'000'000)); }

using Setter = std::function<void(CompareInput&, const JsonField&)>;

const std::map<std::string, Setter>& setters() {
  static const std::map<std::string, Setter> table = {
      {"prompt_base", [](auto& in, const JsonField& v) { in.prompt_base = v.string(); }},
      {"prompt_var", [](auto& in, const JsonField& v) { in.prompt_var = v.string(); }},
      {"question", [](auto& in, const JsonField& v) { in.question = v.string(); }},
      {"language", [](auto& in, const JsonField& v) { in.language = v.string(); }},
      {"max_new_tokens", [](auto& in, const JsonField& v) { in.max_new_tokens = positive_int(v); }},
      {"temperature",
       [](auto& in, const JsonField& v) {
         in.temperature = v.number(0.0, 100.0);
       }},
      {"top_p",
       [](auto& in, const JsonField& v) {
         in.top_p = v.number();
         if (!(in.top_p > 0.0 && in.top_p <= 1.0)) v.fail(fmt::format("must be in (0, 1], got {}", in.top_p));
       }},
      {"topk", [](auto& in, const JsonField& v) { in.topk = positive_int(v); }},
      {"model_id", [](auto& in, const JsonField& v) { in.model_id = v.string(); }},
      {"model_path", [](auto& in, const JsonField& v) { in.model_path = v.string(); }},
      {"device_map",
       [](auto& in, const JsonField& v) {
         in.device_map = v.string();
         const auto& d = in.device_map;
         if (d != "auto" && d != "cpu" && d != "cuda" && d.rfind("cuda:", 0) != 0)
           v.fail(fmt::format("'{}' is not one of: auto, cpu, cuda, cuda:N", d));
       }},
      {"topn_per_layer", [](auto& in, const JsonField& v) { in.topn_per_layer = positive_int(v); }},
      {"align", [](auto& in, const JsonField& v) { in.align = v.one_of({"teacher-forced", "free"}); }},
      {"dist", [](auto& in, const JsonField& v) { in.dist = v.one_of({"auto", "full", "topk"}); }},
      {"seed",
       [](auto& in, const JsonField& v) {
         in.seed = v.unsigned_integer();
       }},
      {"chat_template", [](auto& in, const JsonField& v) { in.chat_template = v.string(); }},
  };
  return table;
}

void apply(CompareInput& in, const JsonField& obj) {
  for (const std::string& key : obj.keys()) {
    const auto s = setters().find(key);
    if (s == setters().end()) {
      in.warnings.push_back(fmt::format("{}: unknown field '{}' ignored", obj.at(key).location(), key));
      continue;
    }
    s->second(in, obj.at(key));
  }
}

}  // namespace

CompareInput parse_compare_input(const std::string& text, const std::string& source) {
  const JsonField obj = detail::parse_json(text, source);
  obj.expect_object("input.json of moeroute compare");
  CompareInput in;
  apply(in, obj);
  for (const char* f : {"prompt_base", "prompt_var", "question"}) obj.at(f);
  if (in.model_id.empty() && in.model_path.empty())
    throw InputError(fmt::format("{}: name the model with 'model_id' or 'model_path' (e.g. \"builtin:tiny-moe\")", source));
  return in;
}

CompareInput load_compare_input(const std::filesystem::path& path) {
  return parse_compare_input(detail::read_text_file(path), path.string());
}

void apply_compare_overrides(CompareInput& in, const nlohmann::json& overrides, const std::string& source) {
  apply(in, detail::json_value(overrides, source));
}

}  // namespace moeroute
