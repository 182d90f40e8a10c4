// The built-in demo models (docs/builtin-models.md): deterministic weights built in memory, so
// moeroute's jobs run anywhere without network or GPU. The native ones load through the same
// code as a checkpoint directory.
#pragma once

#include <memory>

#include "moeroute/causal_lm.h"

namespace moeroute::detail {

/// builtin:tiny-moe — a Qwen3-MoE-shaped TorchScript module, hooked (builtins/tiny_moe.h).
std::unique_ptr<CausalLM> load_tiny_moe(const ModelOptions& options);

/// builtin:tiny-qwen3-moe — a small native Qwen3-MoE.
std::unique_ptr<CausalLM> load_tiny_qwen3_moe(const ModelOptions& options);

/// builtin:tiny-gpt-oss — a small native gpt-oss with MXFP4 experts.
std::unique_ptr<CausalLM> load_tiny_gpt_oss(const ModelOptions& options);

}  // namespace moeroute::detail
