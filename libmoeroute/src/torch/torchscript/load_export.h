// The file loader of the TorchScript backend.
#pragma once

#include <filesystem>
#include <memory>

#include "moeroute/causal_lm.h"

namespace moeroute::detail {

/// A TorchScript export (.pt) configured from its sidecar "<file>.json" (routing rule, gate paths,
/// expert count, stop tokens, model id, tokenizer; options still override the rule, the gate
/// patterns and the tokenizer) or else from a config.json extra file in the export. Throws
/// InputError when the file is not loadable, the sidecar is invalid or contradicts the export, no
/// router is found or no routing rule is known; UnsupportedError for a forward signature
/// moeroute cannot drive.
std::unique_ptr<CausalLM> load_torchscript_export(const std::filesystem::path& file, const ModelOptions& options);

}  // namespace moeroute::detail
