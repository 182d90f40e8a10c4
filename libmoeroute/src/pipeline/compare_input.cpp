#include "moeroute/compare_input.h"

#include <functional>
#include <map>

#include <fmt/format.h>

#include "io/json_input.h"
#include "io/text_file.h"
#include "moeroute/error.h"
#include "pipeline/run_fields.h"

namespace moeroute {

namespace {

using detail::JsonField;
using Setter = std::function<void(CompareInput&, const JsonField&)>;

// compare's own fields; the run fields (model, generation, recording) are apply_run_fields'.
const std::map<std::string, Setter>& setters() {
  static const std::map<std::string, Setter> table = {
      {"prompt_base", [](CompareInput& in, const JsonField& v) { in.prompt_base = v.string(); }},
      {"prompt_var", [](CompareInput& in, const JsonField& v) { in.prompt_var = v.string(); }},
      {"question", [](CompareInput& in, const JsonField& v) { in.question = v.string(); }},
      {"language", [](CompareInput& in, const JsonField& v) { in.language = v.string(); }},
      {"topn_per_layer",
       [](CompareInput& in, const JsonField& v) { in.topn_per_layer = static_cast<int>(v.integer(1, 1'000'000)); }},
      {"align",
       [](CompareInput& in, const JsonField& v) { in.align = parse_pair_alignment(v.one_of({"teacher-forced", "free"})); }},
      {"dist", [](CompareInput& in, const JsonField& v) { in.dist = parse_dist_kind(v.one_of({"auto", "full", "topk"})); }},
  };
  return table;
}

void apply(CompareInput& in, const JsonField& obj) {
  for (const std::string& key : detail::apply_run_fields(in.run, obj)) {
    const auto s = setters().find(key);
    if (s == setters().end()) {
      in.warnings.push_back(fmt::format("{}: unknown field '{}' ignored", obj.at(key).location(), key));
      continue;
    }
    s->second(in, obj.at(key));
  }
}

}  // namespace

RunConfig CompareInput::default_run() {
  RunConfig run;
  run.model.clear();  // input.json must name one
  run.generation.max_new_tokens = 128;
  run.recording.keep_logits = true;
  return run;
}

CompareInput parse_compare_input(const std::string& text, const std::string& source) {
  const JsonField obj = detail::parse_json(text, source);
  obj.expect_object("input.json of moeroute compare");
  CompareInput in;
  apply(in, obj);
  for (const char* f : {"prompt_base", "prompt_var", "question"}) obj.at(f);
  if (in.run.model.empty())
    throw InputError(fmt::format("{}: name the model with 'model_id' or 'model_path' (e.g. \"builtin:tiny-moe\")", source));
  return in;
}

CompareInput load_compare_input(const std::filesystem::path& path) {
  detail::ReadTextOptions read;
  read.max_bytes = kMaxPromptBytes;
  return parse_compare_input(detail::read_text_file(path, read), path.string());
}

void apply_compare_overrides(CompareInput& in, const nlohmann::json& overrides, const std::string& source) {
  apply(in, detail::json_value(overrides, source));
}

}  // namespace moeroute
