#include "moeroute/record.h"

#include <fmt/format.h>

#include "io/text_file.h"
#include "moeroute/error.h"
#include "moeroute/model_registry.h"
#include "moeroute/trace_io.h"

namespace moeroute {

namespace {

std::string read_prompt(const RecordOptions& o) {
  if (o.prompt_file.empty()) return o.prompt;
  if (!o.prompt.empty()) throw InputError("give either a prompt or a prompt file, not both");
  return detail::read_text_file(o.prompt_file);
}

}  // namespace

RouterTrace record(const RecordOptions& options) {
  const RunConfig& run = options.run;
  // Everything checkable without the model is checked before loading it.
  run.generation.validate();
  const std::string prompt_text = read_prompt(options);
  if (prompt_text.empty()) throw InputError("the prompt is empty");
  // A named template or file is checked before the model loads; the model's own needs the model.
  if (!run.chat_template.empty()) model_chat_template(ModelInfo{}, run.chat_template);
  auto model = load_model(run.model, run.model_options);
  const Tokenizer* tok = model->tokenizer();
  if (!tok) throw InputError(fmt::format("model '{}' has no tokenizer, so a text prompt cannot be encoded", run.model));
  const ChatTemplate chat = model_chat_template(model->info(), run.chat_template);
  const std::string text = chat.render({options.system, prompt_text});
  auto g = generate(*model, {tok->encode(text)}, run.generation, run.recording);
  g[0].trace.meta.extra["chat_template"] = chat.name();
  return std::move(g[0].trace);
}

RouterTrace record_to_file(const RecordOptions& options, const std::filesystem::path& out) {
  TraceSaveOptions save;
  save.logits_dtype = options.run.recording.logits_dtype;
  RouterTrace trace = record(options);
  save_trace(trace, out, save);
  return trace;
}

}  // namespace moeroute
