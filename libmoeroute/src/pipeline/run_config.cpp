#include "moeroute/run_config.h"

#include <functional>
#include <map>

#include <fmt/format.h>

#include "moeroute/chat_template.h"
#include "moeroute/error.h"
#include "pipeline/run_fields.h"

namespace moeroute {

namespace {

using detail::JsonField;
using Setter = std::function<void(RunConfig&, const JsonField&)>;

// Bounds every job shares (max_new_tokens: kMaxNewTokensLimit, checked against the model's context at run time).
constexpr int64_t kMaxThreads = 4096;

int to_int(int64_t v) { return static_cast<int>(v); }

DeviceMap device_map_field(const JsonField& v) {
  if (!v.is_object()) return DeviceMap::parse(v.string(), v.where());
  DeviceMap m;
  m.kind = DeviceMap::Kind::Explicit;
  for (const std::string& prefix : v.keys()) {
    const JsonField d = v.at(prefix);
    // transformers writes devices as GPU ordinals (0, 1) or names ("cpu", "cuda:1").
    const std::string device = d.json().is_number_integer() ? fmt::format("cuda:{}", d.integer(0, 1023)) : d.string();
    m.entries.emplace_back(prefix, DeviceMap::check_device(device, d.where()));
  }
  if (m.entries.empty()) v.fail("an explicit device map needs at least one entry");
  return m;
}

const std::map<std::string, Setter>& setters() {
  static const std::map<std::string, Setter> table = {
      {"model_id", [](RunConfig& c, const JsonField& v) { c.model = v.string(); }},
      {"model_path", [](RunConfig& c, const JsonField& v) { c.model = v.string(); }},
      {"device_map", [](RunConfig& c, const JsonField& v) { c.model_options.device_map = device_map_field(v); }},
      {"dtype", [](RunConfig& c, const JsonField& v) { c.model_options.dtype = parse_model_dtype(v.string(), v.where()); }},
      {"weight_dtype",
       [](RunConfig& c, const JsonField& v) { c.model_options.weight_dtype = parse_model_dtype(v.string(), v.where()); }},
      {"experts",
       [](RunConfig& c, const JsonField& v) { c.model_options.experts = parse_experts_impl(v.string(), v.where()); }},
      {"cuda_graphs", [](RunConfig& c, const JsonField& v) { c.model_options.cuda_graphs = v.boolean(); }},
      {"threads", [](RunConfig& c, const JsonField& v) { c.model_options.threads = to_int(v.integer(0, kMaxThreads)); }},
      {"gpu_memory",
       [](RunConfig& c, const JsonField& v) {
         c.model_options.gpu_memory.clear();
         for (const JsonField& e : v.elements()) c.model_options.gpu_memory.push_back(e.integer(1, INT64_MAX));
       }},
      {"routing_rule",
       [](RunConfig& c, const JsonField& v) {
         try {
           c.model_options.routing_rule = parse_routing_rule(v.string());
         } catch (const InputError& e) {
           v.fail(e.what());
         }
       }},
      {"gate_patterns", [](RunConfig& c, const JsonField& v) { c.model_options.gate_patterns = v.strings(); }},
      {"max_new_tokens",
       [](RunConfig& c, const JsonField& v) { c.generation.max_new_tokens = to_int(v.integer(1, kMaxNewTokensLimit)); }},
      {"temperature", [](RunConfig& c, const JsonField& v) { c.generation.sampling.temperature = v.number(0.0, 100.0); }},
      {"top_p",
       [](RunConfig& c, const JsonField& v) {
         const double p = v.number();
         if (!(p > 0.0 && p <= 1.0)) v.fail(fmt::format("expected a number in (0, 1], got {}", p));
         c.generation.sampling.top_p = p;
       }},
      {"seed", [](RunConfig& c, const JsonField& v) { c.generation.sampling.seed = v.unsigned_integer(); }},
      {"stop_token_ids",
       [](RunConfig& c, const JsonField& v) {
         c.generation.stop_token_ids.clear();
         for (const JsonField& e : v.elements()) c.generation.stop_token_ids.push_back(e.integer(0, INT64_MAX));
       }},
      {"topk", [](RunConfig& c, const JsonField& v) { c.recording.top_k = to_int(v.integer(0, 1 << 20)); }},
      {"layers",
       [](RunConfig& c, const JsonField& v) {
         c.recording.layers.clear();
         for (const JsonField& e : v.elements()) c.recording.layers.push_back(to_int(e.integer(0, 1 << 20)));
       }},
      {"keep_logits", [](RunConfig& c, const JsonField& v) { c.recording.keep_logits = v.boolean(); }},
      {"logits_dtype",
       [](RunConfig& c, const JsonField& v) { c.recording.logits_dtype = parse_logits_dtype(v.one_of({"f32", "f16", "bf16"})); }},
      {"chat_template", [](RunConfig& c, const JsonField& v) { c.chat_template = v.string(); }},
      {"date",
       [](RunConfig& c, const JsonField& v) {
         c.date = v.string();
         check_template_date(c.date, v.where());
       }},
      {"strict_context", [](RunConfig& c, const JsonField& v) { c.generation.strict_context = v.boolean(); }},
  };
  return table;
}

}  // namespace

void check_prompt_size(const std::string& text, const std::string& what) {
  if (text.size() > kMaxPromptBytes)
    throw InputError(fmt::format("{} is {} bytes; prompts are limited to {} MiB (far beyond any model's context)", what,
                                 text.size(), kMaxPromptBytes >> 20));
}

const std::vector<std::string>& run_field_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& [name, setter] : setters()) out.push_back(name);
    return out;
  }();
  return names;
}

namespace detail {

std::vector<std::string> apply_run_fields(RunConfig& config, const JsonField& fields) {
  fields.expect_object();
  std::vector<std::string> other;
  for (const std::string& key : fields.keys()) {
    const auto s = setters().find(key);
    if (s == setters().end()) {
      other.push_back(key);
      continue;
    }
    if (key == "model_id" && fields.has("model_path")) continue;  // model_path wins
    s->second(config, fields.at(key));
  }
  return other;
}

}  // namespace detail

std::vector<std::string> apply_run_fields(RunConfig& config, const nlohmann::json& fields, const std::string& source) {
  return detail::apply_run_fields(config, detail::json_value(fields, source));
}

}  // namespace moeroute
