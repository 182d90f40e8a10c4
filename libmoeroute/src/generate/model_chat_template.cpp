// A model's chat template: its own (from its tokenizer files) unless the caller names one.
#include "moeroute/model.h"

namespace moeroute {

ChatTemplate model_chat_template(const ModelInfo& info, std::string_view spec) {
  const bool own = spec.empty() || spec == "auto";
  // Without template files the model has no chat format; resolve_chat_template would look in
  // the working directory instead.
  if (own && info.chat_template_dir.empty()) return ChatTemplate::builtin("raw");
  return resolve_chat_template(spec, info.chat_template_dir);
}

}  // namespace moeroute
