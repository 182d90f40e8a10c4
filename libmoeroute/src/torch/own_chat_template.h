// The default chat template of a model whose tokenizer files sit in a directory.
#pragma once

#include <filesystem>
#include <string>

#include "moeroute/chat_template.h"
#include "moeroute/error.h"

namespace moeroute::detail {

/// default_chat_template_name(dir), or "" when the model has a template no built-in reproduces:
/// loading still works, and model_chat_template() reports it only when the default is asked for.
inline std::string own_chat_template(const std::filesystem::path& dir) {
  try {
    return default_chat_template_name(dir);
  } catch (const UnsupportedError&) {
    return "";
  }
}

}  // namespace moeroute::detail
