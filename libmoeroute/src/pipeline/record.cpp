#include "moeroute/record.h"

#include <fmt/format.h>

#include "io/text_file.h"
#include "moeroute/atomic_file.h"
#include "moeroute/chat_template.h"
#include "moeroute/error.h"
#include "moeroute/model_registry.h"
#include "moeroute/trace_io.h"

namespace moeroute {

namespace {

std::string read_prompt(const RecordOptions& o) {
  if (o.prompt_file.empty()) {
    check_prompt_size(o.prompt, "the prompt");
    return o.prompt;
  }
  if (!o.prompt.empty()) throw InputError("give either a prompt or a prompt file, not both");
  detail::ReadTextOptions read;
  read.max_bytes = kMaxPromptBytes;
  return detail::read_text_file(o.prompt_file, read);
}

RouterTrace record_checked(const RecordOptions& options) {
  const RunConfig& run = options.run;
  const std::string prompt_text = read_prompt(options);
  if (prompt_text.empty()) throw InputError("the prompt is empty");
  check_prompt_size(options.system, "the system prompt");
  // A named template or file is checked before the model loads; the model's own needs the model.
  const auto check_template = [&](const ChatTemplate& t) {
    if (!options.system.empty() && !t.places_system())
      throw InputError(fmt::format("chat template '{}' has no {{system}} placeholder: the system prompt would be "
                                   "dropped",
                                   t.name()));
  };
  if (!run.chat_template.empty()) check_template(model_chat_template(ModelInfo{}, run.chat_template));
  auto model = load_model(run.model, run.model_options);
  const Tokenizer* tok = model->tokenizer();
  if (!tok) throw InputError(fmt::format("model '{}' has no tokenizer, so a text prompt cannot be encoded", run.model));
  const ChatTemplate chat = model_chat_template(model->info(), run.chat_template);
  check_template(chat);
  ChatTemplateOptions to;
  to.current_date = run.date.empty() ? today_local_date() : run.date;
  const std::string text = chat.render({options.system, prompt_text}, to);
  auto g = generate(*model, {tok->encode(text)}, run.generation, run.recording);
  round_logits(g[0].trace, run.recording.logits_dtype);  // what record_to_file saves
  g[0].trace.meta.extra["chat_template"] = chat.name();
  if (chat.uses_date()) g[0].trace.meta.extra["template_date"] = to.current_date;
  return std::move(g[0].trace);
}

}  // namespace

RouterTrace record(const RecordOptions& options) {
  // Everything checkable without the model is checked before loading it.
  options.run.generation.validate();
  return record_checked(options);
}

RouterTrace record_to_file(const RecordOptions& options, const std::filesystem::path& out) {
  TraceSaveOptions save;
  save.logits_dtype = options.run.recording.logits_dtype;
  options.run.generation.validate();
  check_output_file(out);  // before the model runs, not after
  RouterTrace trace = record_checked(options);
  save_trace(trace, out, save);
  return trace;
}

}  // namespace moeroute
