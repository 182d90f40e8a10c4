// builtin:tiny-gpt-oss — a small gpt-oss with deterministic weights, held in memory as the
// tensors of a Hugging Face checkpoint (MXFP4 experts included) and loaded by the same code as a
// real checkpoint directory (docs/builtin-models.md).
#pragma once

#include <memory>

#include "moeroute/generate.h"
#include "moeroute/model.h"

namespace moeroute::detail {

/// Special tokens after the 256 bytes: ids 256 … 262 (harmony's markers).
std::vector<std::string> tiny_gpt_oss_special_tokens();

/// The config.json text of builtin:tiny-gpt-oss.
std::string tiny_gpt_oss_config_json();

std::unique_ptr<CausalLM> load_tiny_gpt_oss(const ModelOptions& options);

}  // namespace moeroute::detail
