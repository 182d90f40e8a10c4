// A model's chat template: its own unless the caller names one.
#include "moeroute/model_registry.h"

namespace moeroute {

ChatTemplate model_chat_template(const ModelInfo& info, std::string_view spec) {
  if (!spec.empty() && spec != "auto") return resolve_chat_template(spec, info.chat_template_dir);
  if (!info.chat_template.empty()) return resolve_chat_template(info.chat_template, info.chat_template_dir);
  // The model has a template no built-in reproduces: say so, naming its file. Without template
  // files resolve_chat_template would look in the working directory instead.
  if (info.chat_template_dir.empty()) return ChatTemplate::builtin("raw");
  return resolve_chat_template("auto", info.chat_template_dir);
}

}  // namespace moeroute
