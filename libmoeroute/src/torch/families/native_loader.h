// Entry points of the native backend for load_model.
#pragma once

#include <filesystem>
#include <memory>

#include "moeroute/causal_lm.h"

namespace moeroute::detail {

/// A Hugging Face checkpoint directory: config.json selects the family; weights from
/// model.safetensors or the sharded index; tokenizer.json when present (or options.tokenizer);
/// stop tokens from config.json and generation_config.json.
/// `model_id` names the model in traces and errors' first words (the directory or its Hub id).
std::unique_ptr<CausalLM> load_native_checkpoint(const std::filesystem::path& dir, const std::string& model_id,
                                                 const ModelOptions& options);

}  // namespace moeroute::detail
