#include "moeroute/record.h"

#include <fmt/format.h>

#include "moeroute/error.h"

namespace moeroute {

RouterTrace record(const RecordOptions& options) {
  // Everything checkable without the model is checked before loading it.
  options.generation.validate();
  if (options.prompt.empty()) throw InputError("the prompt is empty");
  if (options.recording.top_k < 0) throw InputError(fmt::format("top_k must be ≥ 0, got {}", options.recording.top_k));
  if (!options.model_options.routing_rule.empty()) parse_routing_rule(options.model_options.routing_rule);
  auto model = load_model(options.model, options.model_options);
  const Tokenizer* tok = model->tokenizer();
  if (!tok)
    throw InputError(fmt::format("model '{}' has no tokenizer, so a text prompt cannot be encoded", options.model));
  const auto prompt = tok->encode(options.prompt);
  auto g = generate(*model, {prompt}, options.generation, options.recording);
  return std::move(g[0].trace);
}

void record_to_file(const RecordOptions& options, const std::filesystem::path& out) {
  TraceSaveOptions save;
  save.logits_dtype = options.recording.logits_dtype;
  save_trace(record(options), out, save);
}

}  // namespace moeroute
