// CausalLM over a TorchScript module (an export or a built-in model built as one).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "moeroute/causal_lm.h"
#include "torch/torch_options.h"

namespace moeroute::detail {

/// What the caller knows about a module beyond its graph.
struct ScriptModelMeta {
  std::string model_id;                        ///< name written to traces
  std::string what;                            ///< how errors name the model (its path)
  std::string routing_rule;                    ///< rule text from the model's config; "" = unknown
  std::vector<int64_t> stop_token_ids;         ///< default stop tokens
  int64_t pad_token_id = 0;                    ///< fills left padding (masked out)
  std::shared_ptr<const Tokenizer> tokenizer;  ///< may be null
  std::string chat_template = "raw";           ///< ModelInfo::chat_template
  std::string chat_template_dir;               ///< ModelInfo::chat_template_dir ("" = none)
};

/// Converts (dtype), moves (device), hooks and probes `module` with one 1-token forward; throws
/// InputError/UnsupportedError for anything that would fail later.
std::unique_ptr<CausalLM> make_torchscript_model(torch::jit::Module module, ScriptModelMeta meta,
                                                 const ModelOptions& options);

}  // namespace moeroute::detail
