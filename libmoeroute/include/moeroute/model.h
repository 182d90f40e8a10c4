// Loading a model to record: a Hugging Face checkpoint directory (native LibTorch models,
// docs/native-models.md), a TorchScript export (.pt) or a built-in demo model.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "moeroute/chat_template.h"
#include "moeroute/generate.h"
#include "moeroute/tokenizer.h"

namespace moeroute {

struct ModelOptions {
  std::string device = "cpu";              ///< torch device: "cpu", "cuda", "cuda:1"
  std::string dtype = "auto";              ///< "auto", "float32"/"f32", "bfloat16"/"bf16", "float16"/"f16";
                                           ///< auto: TorchScript as stored; native: float32 on CPU, stored dtype on CUDA
  std::string device_map;                  ///< native only: "" = all on `device`; "auto" = layers over all CUDA devices
  std::vector<int64_t> gpu_memory;         ///< native device_map auto: usable bytes per GPU; empty = free memory − 10 %
  std::string experts = "auto";            ///< native: experts implementation auto|loop|gather|grouped (moe_experts.h)
  std::vector<std::string> gate_patterns;  ///< router module-path globs; empty = default_gate_patterns()
  std::string routing_rule;                ///< parse_routing_rule text; "" = from the export's sidecar or config.json
  std::shared_ptr<const Tokenizer> tokenizer;  ///< tokenizer for an export; null = the model's own
  bool install_hooks = true;               ///< false runs the model unhooked (benchmarks; records nothing)
};

/// Names of the built-in models, without the "builtin:" prefix ("tiny-moe").
std::vector<std::string> builtin_model_names();

/// Loads "builtin:NAME", a Hugging Face checkpoint directory (a directory with config.json: native
/// Qwen3-MoE / gpt-oss) or a TorchScript file. An export with a sidecar "<file>.json" from
/// tools/export_torchscript.py (docs/export.md) is configured from it: routing rule, gate paths,
/// expert count, stop tokens, model id and tokenizer (options still override the rule, the gate
/// patterns and the tokenizer); otherwise from a config.json extra file in the export. Throws
/// InputError when the file is missing or not loadable, the sidecar is invalid or contradicts the
/// export, the device or dtype is unknown, no router is found or no routing rule is known, a
/// checkpoint is damaged or does not match its config, and UnsupportedError for an export's
/// forward signature or a model_type moeroute cannot drive.
std::unique_ptr<CausalLM> load_model(const std::string& model, const ModelOptions& options = {});

/// The chat template that wraps prompts for the model `info` describes: "" or "auto" = the
/// model's own (info.chat_template: for exports with a sidecar, what its tokenizer files ask
/// for, default_chat_template_name; "chatml" for builtin:tiny-moe; "raw" without either);
/// otherwise a built-in name or a template file (resolve_chat_template). Throws InputError for
/// an unknown name or file, UnsupportedError naming the file when the model's own template is
/// one no built-in reproduces.
ChatTemplate model_chat_template(const ModelInfo& info, std::string_view spec = {});

}  // namespace moeroute
