// The `record` job: one model run (prompt + generation) recorded into a trace file.
#pragma once

#include <filesystem>
#include <string>

#include "moeroute/run_config.h"
#include "moeroute/trace.h"

namespace moeroute {

struct RecordOptions {
  RunConfig run;            ///< model, model options, generation, recording, chat template
  std::string prompt;       ///< the user message (wrapped by the chat template)
  std::string prompt_file;  ///< read the prompt from this file instead ("-" = stdin); "" = use prompt
  std::string system;       ///< system prompt; "" = none
};

/// Validates the options (before loading anything), loads the model, wraps system + prompt in the
/// chat template, generates and returns the trace (meta: model, rule, device, dtype, sampling,
/// stop reason, chat template). Throws InputError for bad input.
RouterTrace record(const RecordOptions& options);

/// record() then save_trace() (logits stored in options.run.recording.logits_dtype); the file
/// appears only when everything succeeded. Returns the trace written.
RouterTrace record_to_file(const RecordOptions& options, const std::filesystem::path& out);

}  // namespace moeroute
