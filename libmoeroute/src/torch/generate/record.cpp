#include "moeroute/record.h"

#include <fmt/format.h>

#include "io/text_file.h"
#include "moeroute/error.h"

namespace moeroute {

namespace {

std::string read_prompt(const RecordOptions& o) {
  if (o.prompt_file.empty()) return o.prompt;
  if (!o.prompt.empty()) throw InputError("give either a prompt or a prompt file, not both");
  return detail::read_text_file(o.prompt_file);
}

}  // namespace

RouterTrace record(const RecordOptions& options) {
  // Everything checkable without the model is checked before loading it.
  options.generation.validate();
  if (options.recording.top_k < 0) throw InputError(fmt::format("top_k must be ≥ 0, got {}", options.recording.top_k));
  if (!options.model_options.routing_rule.empty()) parse_routing_rule(options.model_options.routing_rule);
  const std::string prompt_text = read_prompt(options);
  if (prompt_text.empty()) throw InputError("the prompt is empty");
  // A named template or file is checked before the model loads; the model's own needs the model.
  if (!options.chat_template.empty()) model_chat_template(ModelInfo{}, options.chat_template);
  auto model = load_model(options.model, options.model_options);
  const Tokenizer* tok = model->tokenizer();
  if (!tok)
    throw InputError(fmt::format("model '{}' has no tokenizer, so a text prompt cannot be encoded", options.model));
  const ChatTemplate chat = model_chat_template(model->info(), options.chat_template);
  const std::string text = chat.render({options.system, prompt_text});
  auto g = generate(*model, {tok->encode(text)}, options.generation, options.recording);
  g[0].trace.meta.extra["chat_template"] = chat.name();
  return std::move(g[0].trace);
}

RouterTrace record_to_file(const RecordOptions& options, const std::filesystem::path& out) {
  TraceSaveOptions save;
  save.logits_dtype = options.recording.logits_dtype;
  RouterTrace trace = record(options);
  save_trace(trace, out, save);
  return trace;
}

}  // namespace moeroute
