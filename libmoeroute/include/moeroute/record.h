// The `record` job: one model run (prompt + generation) recorded into a trace file.
#pragma once

#include <filesystem>
#include <string>

#include "moeroute/generate.h"
#include "moeroute/model.h"
#include "moeroute/trace_io.h"

namespace moeroute {

struct RecordOptions {
  std::string model = "builtin:tiny-moe";  ///< what load_model() loads
  ModelOptions model_options;              ///< device, dtype, gate patterns, routing rule
  std::string prompt;                      ///< the user message (wrapped by the chat template)
  std::string prompt_file;                 ///< read the prompt from this file instead ("-" = stdin); "" = use prompt
  std::string system;                      ///< system prompt; "" = none
  std::string chat_template;               ///< built-in name or template file; "" = the model's own (model_chat_template)
  GenerateOptions generation;              ///< max_new_tokens, sampling, stop tokens
  RecorderOptions recording;               ///< layers, logits kept, top_k
};

/// Validates the options (before loading anything), loads the model, wraps system + prompt in the
/// chat template, generates and returns the trace (meta: model, rule, device, dtype, sampling,
/// stop reason, chat template). Throws InputError for bad input.
RouterTrace record(const RecordOptions& options);

/// record() then save_trace() (logits stored in options.recording.logits_dtype); the file
/// appears only when everything succeeded. Returns the trace written.
RouterTrace record_to_file(const RecordOptions& options, const std::filesystem::path& out);

}  // namespace moeroute
