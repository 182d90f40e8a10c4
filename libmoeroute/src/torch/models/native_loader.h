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

/// builtin:tiny-qwen3-moe — a small Qwen3-MoE with deterministic weights, loaded through the same
/// code as a checkpoint (docs/builtin-models.md).
std::unique_ptr<CausalLM> load_tiny_qwen3_moe(const ModelOptions& options);

/// builtin:tiny-gpt-oss — a small gpt-oss with deterministic weights (MXFP4 experts), loaded
/// through the same code as a checkpoint (docs/builtin-models.md).
std::unique_ptr<CausalLM> load_tiny_gpt_oss(const ModelOptions& options);

}  // namespace moeroute::detail
